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

/**
 * Keeps the last `limit` characters of output that is only shown: the end of a failing command's
 * output is where the reason is. The cut is never silent: a marker says how many bytes are missing
 * (`cutBefore`: bytes the caller already dropped before `text`).
 */
export function tail(text: string, limit: number, cutBefore = 0): string {
  if (text.length <= limit && cutBefore === 0) return text;
  let start = Math.max(0, text.length - limit);
  const code = text.charCodeAt(start);
  if (start > 0 && code >= 0xdc00 && code <= 0xdfff) start++; // never half a surrogate pair
  const cut = cutBefore + Buffer.byteLength(text.slice(0, start));
  return `… (${cut} bytes cut)\n${text.slice(start)}`;
}
