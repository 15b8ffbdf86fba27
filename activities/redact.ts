/**
 * Secrets can reach command output through remote URLs (https://user:token@host) or tokens echoed
 * by tools. Everything that leaves a process boundary as an error message or log passes through here.
 */
const PATTERNS: RegExp[] = [
  /(?<=[a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+(:[^/@\s]*)?(?=@)/gi, // userinfo in URLs
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, // GitHub tokens
  /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, // Slack tokens
  /(?<=\b(?:token|password|secret|authorization)[=:]\s*)\S+/gi,
];

export function redact(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  for (const pattern of PATTERNS) out = out.replace(pattern, '***');
  return out;
}

/** Keeps the last `limit` characters: the end of a failing command's output is where the reason is. */
export function tail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `…${text.slice(text.length - limit)}`;
}
