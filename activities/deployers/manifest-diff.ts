// A diff of Kubernetes manifests without the helm-diff plugin: what a release runs (`helm get
// manifest`) against what the commit would deploy (`helm template`), object by object, Secret data
// masked so no secret reaches a status, a log or workflow history.
import { createHmac, randomBytes } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { parseAllDocuments, stringify } from 'yaml';

export const DIFF_LIMIT = 64 * 1024;

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
  items?: unknown[];
}

/**
 * This worker's masking key, random per process. A plain hash of a guessable value ("password",
 * "changeme") would give the value away to anyone who hashes the guess; a keyed one does not. Both
 * sides of one diff are masked with the same key, so a changed value still shows as changed.
 */
const MASK_KEY = randomBytes(32);

export function maskSecretValue(value: unknown, key: Buffer = MASK_KEY): string {
  const digest = createHmac('sha256', key).update(String(value)).digest('hex').slice(0, 12);
  return `<masked hmac-sha256:${digest}>`;
}

function maskSecret(object: K8sObject): void {
  for (const field of ['data', 'stringData'] as const) {
    const data = object[field];
    if (data && typeof data === 'object')
      object[field] = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, maskSecretValue(v)]));
    // Not a map (a malformed Secret): masked whole all the same.
    else if (data !== undefined) object[field] = { value: maskSecretValue(data) };
  }
}

/** Secrets, also inside a `List` (`kind: List`, `SecretList`), have their values masked. */
function maskSecrets(object: K8sObject): void {
  if (object.kind === 'Secret') maskSecret(object);
  if (Array.isArray(object.items))
    for (const item of object.items) if (item && typeof item === 'object') maskSecrets(item);
}

/** Splits a multi-document manifest into `kind/name` → normalised YAML, Secret values masked. */
export function normaliseManifest(text: string): Map<string, string> {
  const objects = new Map<string, string>();
  let unreadable = 0;
  for (const doc of parseAllDocuments(text)) {
    // A document that does not parse cleanly cannot be told apart from a Secret: it is not shown.
    if (doc.errors.length > 0) {
      objects.set(`?/unreadable-document-${++unreadable}`, '<not shown: the document does not parse>\n');
      continue;
    }
    const object = doc.toJS() as K8sObject | null;
    if (!object || typeof object !== 'object') continue;
    maskSecrets(object);
    const key = `${object.kind ?? '?'}/${object.metadata?.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata?.name ?? '?'}`;
    objects.set(key, stringify(object, { sortMapEntries: true }));
  }
  return objects;
}

function joined(objects: Map<string, string>): string {
  return [...objects.keys()]
    .sort()
    .map((key) => `# ${key}\n${objects.get(key)}`)
    .join('---\n');
}

/** A unified diff of one release; empty when nothing changes. */
export function manifestDiff(release: string, deployed: string | undefined, rendered: string): string {
  const before = joined(normaliseManifest(deployed ?? ''));
  const after = joined(normaliseManifest(rendered));
  if (before === after) return '';
  return createTwoFilesPatch(
    `${release} (deployed)`,
    `${release} (commit)`,
    before,
    after,
    undefined,
    undefined,
    { context: 3 },
  );
}

/** Caps the whole diff at 64 KiB, marking where it was cut. */
export function capDiff(text: string, limit = DIFF_LIMIT): string {
  if (Buffer.byteLength(text) <= limit) return text;
  const cut = Buffer.from(text)
    .subarray(0, limit)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return `${cut}\n… diff cut at ${limit / 1024} KiB (${Buffer.byteLength(text)} bytes in all)\n`;
}
