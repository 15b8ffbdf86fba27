/* eslint-disable @typescript-eslint/no-explicit-any --
   rendered manifests are plain data, which the chart tests check field by field */
import { join } from 'node:path';
import { execa } from 'execa';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../../server/tools.js';

export const CHART = join(PROJECT_ROOT, 'charts', 'promote');

export interface Manifest {
  kind: string;
  metadata: { name: string };
  spec?: any;
  data?: Record<string, string>;
  automountServiceAccountToken?: boolean;
}

/** The chart as the real `helm template` renders it with these `--set` values, one manifest a document. */
export async function template(helm: string, ...set: string[]): Promise<Manifest[]> {
  const { stdout } = await execa(helm, ['template', 'rel', CHART, ...set.flatMap((s) => ['--set', s])]);
  return parseAllDocuments(stdout)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** One rendered manifest by kind and name; its absence names what was rendered instead. */
export function find(manifests: Manifest[], kind: string, name: string): any {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found)
    throw new Error(
      `no ${kind} ${name} in ${manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ')}`,
    );
  return found;
}
