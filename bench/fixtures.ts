import { mkdir, rm } from 'node:fs/promises';
import { execa } from 'execa';
import { git } from '../activities/git.js';
import { seedBareRepo } from '../demo/sample-repo.js';

export interface BenchEnvironment {
  name: string;
  approval: 'auto' | 'manual';
}

export const AUTO_ENVIRONMENTS: BenchEnvironment[] = [
  { name: 'dev', approval: 'auto' },
  { name: 'staging', approval: 'auto' },
  { name: 'prod', approval: 'auto' },
];

/** Deploy commands that return at once: the benchmark measures what Promote adds around them. */
export const INSTANT_DEPLOY = { diff: ['/bin/true'], apply: ['/bin/true'] };

/**
 * A deploy command that records when it ran ("<epoch ns> <action> <env> <promotion id>") in
 * $BENCH_STAMPS, so reaction times are measured from the command's own clock.
 */
export const STAMP_DEPLOY = {
  diff: ['./scripts/stamp.sh', 'diff'],
  apply: ['./scripts/stamp.sh', 'apply'],
};

const STAMP_SH = `#!/bin/sh
echo "$(date +%s%N) $1-start $PROMOTE_ENV $PROMOTE_ID" >> "\${BENCH_STAMPS:?}"
echo "$(date +%s%N) $1-end $PROMOTE_ENV $PROMOTE_ID" >> "$BENCH_STAMPS"
`;

const AUTHOR = ['-c', 'user.name=Bench', '-c', 'user.email=bench@localhost'];

export function appNames(count: number): string[] {
  return Array.from(
    { length: count },
    (_, i) => (count <= 2 ? ['api', 'web'][i] : `app${String(i).padStart(3, '0')}`) ?? `app${i}`,
  );
}

function promoteYaml(
  environments: BenchEnvironment[],
  apps: string[],
  deploy: { diff: string[]; apply: string[] },
): string {
  const argv = (a: string[]) => `[${a.map((s) => JSON.stringify(s)).join(', ')}]`;
  return [
    'branch: main',
    'environments:',
    ...environments.map(
      (e) => `  - name: ${e.name}\n    valuesFile: environments/${e.name}.yaml\n    approval: ${e.approval}`,
    ),
    'apps:',
    ...apps.map((a) => `  ${a}:\n    tagPath: ${a}.image.tag`),
    'deploy:',
    '  type: command',
    `  diff: ${argv(deploy.diff)}`,
    `  apply: ${argv(deploy.apply)}`,
    '',
  ].join('\n');
}

function valuesYaml(env: string, apps: string[]): string {
  const blocks = apps.map(
    (app) =>
      `${app}:\n  image:\n    repository: registry.example.com/${app}\n    tag: "1.0.0"\n  replicas: 1\n`,
  );
  return `# ${env}\n${blocks.join('\n')}`;
}

/** A deployment repository shaped like the demo's: promote.yaml, one values file per environment. */
export async function createBenchRepo(options: {
  url: string;
  apps: string[];
  environments: BenchEnvironment[];
  deploy: { diff: string[]; apply: string[] };
}): Promise<string> {
  await seedBareRepo(
    options.url,
    {
      'promote.yaml': promoteYaml(options.environments, options.apps, options.deploy),
      'scripts/stamp.sh': STAMP_SH,
      ...Object.fromEntries(
        options.environments.map((e) => [`environments/${e.name}.yaml`, valuesYaml(e.name, options.apps)]),
      ),
    },
    { executables: ['scripts/stamp.sh'], message: 'initial', author: AUTHOR },
  );
  return options.url;
}

export const LARGE_REPO = { commits: 10_000, valuesFiles: 500 };

/**
 * A deployment repository with a long history: LARGE_REPO.valuesFiles values files, then one tag
 * change per commit, round robin, up to LARGE_REPO.commits commits. Built with git fast-import.
 */
export async function createLargeRepo(url: string, size = LARGE_REPO): Promise<{ valuesFile: string }> {
  await rm(url, { recursive: true, force: true });
  await mkdir(url, { recursive: true });
  await git(['init', '--quiet', '--bare', '--initial-branch=main'], { cwd: url });
  const file = (i: number) => `environments/service-${String(i).padStart(3, '0')}.yaml`;
  const values = (i: number, tag: string) =>
    `# values of service ${i}\nsvc:\n  image:\n    repository: registry.example.com/svc${i}\n    tag: "${tag}"\n  replicas: 2\n  resources:\n    limits: { cpu: 500m, memory: 256Mi }\n`;
  const chunks: string[] = [];
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const stamp = 1_700_000_000;
  let initial = '';
  for (let i = 0; i < size.valuesFiles; i++)
    initial += `M 100644 inline ${file(i)}\n${data(values(i, '1.0.0'))}`;
  chunks.push(
    `commit refs/heads/main\ncommitter Bench <bench@localhost> ${stamp} +0000\n${data('initial')}${initial}`,
  );
  for (let c = 1; c < size.commits; c++) {
    const i = c % size.valuesFiles;
    chunks.push(
      `commit refs/heads/main\ncommitter Bench <bench@localhost> ${stamp + c} +0000\n${data(`feat: svc${i} to 1.0.${c}`)}M 100644 inline ${file(i)}\n${data(values(i, `1.0.${c}`))}`,
    );
  }
  await execa('git', ['fast-import', '--quiet'], { cwd: url, input: chunks.join('') });
  return { valuesFile: file(42) };
}
