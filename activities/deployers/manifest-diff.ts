// A diff of Kubernetes manifests without the helm-diff plugin: what a release runs (`helm get
// manifest`) against what the commit would deploy (`helm template`), object by object, Secret data
// masked so no secret reaches a status, a log or workflow history.
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import { parseAllDocuments, stringify } from 'yaml';

export const DIFF_LIMIT = 64 * 1024;

interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, unknown>;
  stringData?: Record<string, unknown>;
}

function mask(value: unknown): string {
  // A short digest still shows that a value changed without showing it.
  return `<masked sha256:${createHash('sha256').update(String(value)).digest('hex').slice(0, 8)}>`;
}

/** Splits a multi-document manifest into `kind/name` → normalised YAML, Secret values masked. */
export function normaliseManifest(text: string): Map<string, string> {
  const objects = new Map<string, string>();
  for (const doc of parseAllDocuments(text)) {
    const object = doc.toJS() as K8sObject | null;
    if (!object || typeof object !== 'object') continue;
    if (object.kind === 'Secret') {
      for (const field of ['data', 'stringData'] as const) {
        const data = object[field];
        if (data && typeof data === 'object')
          object[field] = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, mask(v)]));
      }
    }
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
