import { workerSecretValues } from './worker-secrets.js';

/**
 * Secrets can reach command output through remote URLs (https://user:token@host), tokens echoed by
 * tools, a dumped environment or a verbose HTTP client. Everything that is stored or shown (activity
 * results and errors, status, Slack, pull request bodies, logs, traces) passes through `redact`: it
 * masks the value of every secret the worker holds (./worker-secrets.ts), then these shapes.
 */
const MASK = '***';

/** Names that say their value is a secret: `PROMOTE_GIT_TOKEN=…`, `apiKey: …`, `"password": "…"`. */
const SECRET_NAME =
  '[A-Za-z0-9_.-]*(?:token|passw(?:or)?d|secret|api[_-]?key|access[_-]?key|private[_-]?key|signing[_-]?key|credentials?)';

const PATTERNS: [RegExp, string][] = [
  // PEM blocks whole (keys and certificates alike), also when the output was cut before their end.
  [/-----BEGIN [A-Z0-9 ]*-----[\s\S]*?(?:-----END [A-Z0-9 ]*-----|$)/g, `-----BEGIN ${MASK}-----`],
  // …or cut after their beginning (a tail of a long output): everything up to the END line.
  [/^(?:(?!-----BEGIN )[\s\S])*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g, `-----END ${MASK}-----`],
  [/(?<=[a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+(:[^/@\s]*)?(?=@)/gi, MASK], // userinfo in URLs
  // Authorization and Proxy-Authorization headers: the credential after the scheme.
  [
    /\b(authorization["']?\s*[:=]\s*["']?)((?:bearer|basic|token|bot|digest|negotiate)\s+)?[^\s"',;]+/gi,
    `$1$2${MASK}`,
  ],
  [/\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}/gi, `$1${MASK}`],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g, MASK], // GitHub tokens
  [/\bxox[abposre]-[A-Za-z0-9-]{10,}\b/g, MASK], // Slack bot, user, refresh (xoxe-) tokens
  [/\bxoxe\.xox[a-z]-[A-Za-z0-9-]{10,}\b/g, MASK], // Slack rotating tokens
  [/\bxapp-[A-Za-z0-9-]{10,}\b/g, MASK], // Slack app-level tokens
  [/\bglpat-[A-Za-z0-9_-]{20,}\b/g, MASK], // GitLab personal access tokens
  [/\bgl(?:dt|oas|rt|cbt|ptt|ft|imt|agent|soat|wt)-[A-Za-z0-9_-]{20,}\b/g, MASK], // other GitLab tokens
  // NAME=value and `name: value` forms, quoted or not.
  [
    new RegExp(
      `(?<![A-Za-z0-9_.-])(${SECRET_NAME}["']?\\s*[=:]\\s*)(?:"[^"\\n]*"|'[^'\\n]*'|(?!\\*\\*\\*|<masked )[^\\s"',;]+)`,
      'gi',
    ),
    `$1${MASK}`,
  ],
];

export function redact(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  const secrets = [...extraSecrets.filter((s) => s.length >= 4), ...workerSecretValues()].sort(
    (a, b) => b.length - a.length,
  );
  for (const secret of secrets) out = out.split(secret).join(MASK);
  for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** `redact` through every string of a JSON-like value (an announcement, a failure's details). */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (depth > 8 || !value || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, depth + 1)) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, depth + 1)])) as T;
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
