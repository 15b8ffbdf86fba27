import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { git } from '../activities/git.js';

export interface SampleEnvironment {
  name: string;
  approval: 'auto' | 'manual';
  approvers?: string[];
  /** Overrides `notifications.slack.channel` for this environment. */
  slackChannel?: string;
  /** promote.yaml `lockTimeout`, e.g. `2s`. */
  lockTimeout?: string;
  /** promote.yaml `proposalBranch` template. */
  proposalBranch?: string;
  /** `false`: the environment is held through the approval (no proposal branch). */
  proposals?: boolean;
  /** `required`: decisions must be SSH-signed (docs/signed-approvals.md). */
  signedApprovals?: 'required';
  /** promote.yaml `minApprovals`: distinct approvals needed. */
  minApprovals?: number;
  /** promote.yaml `allowSelfApproval`. */
  allowSelfApproval?: boolean;
}

export interface SampleRepoOptions {
  /** Where the bare "remote" repository is created. */
  dir: string;
  environments?: SampleEnvironment[];
  /** App name → initial tag. */
  apps?: Record<string, string>;
  /** The simulated cluster's folder, written into scripts/deploy.sh (default: `cluster` beside `dir`). */
  cluster?: string;
  /** YAML appended to promote.yaml (e.g. a `notifications:` section). */
  extraConfig?: string;
}

export const DEFAULT_ENVIRONMENTS: SampleEnvironment[] = [
  { name: 'dev', approval: 'auto' },
  { name: 'staging', approval: 'manual' },
  { name: 'prod', approval: 'manual', approvers: ['alice', 'bob'] },
];

export const DEFAULT_APPS: Record<string, string> = { api: '1.4.0', web: '2.0.3' };

const AUTHOR = ['-c', 'user.name=Platform Team', '-c', 'user.email=platform@example.com'];

function promoteYaml(environments: SampleEnvironment[], apps: string[]): string {
  const envs = environments
    .map(
      (e) =>
        `  - name: ${e.name}\n    valuesFile: environments/${e.name}.yaml\n    approval: ${e.approval}\n` +
        (e.approvers ? `    approvers: [${e.approvers.join(', ')}]\n` : '') +
        (e.slackChannel ? `    notifications: { slack: { channel: '${e.slackChannel}' } }\n` : '') +
        (e.lockTimeout ? `    lockTimeout: ${e.lockTimeout}\n` : '') +
        (e.proposalBranch ? `    proposalBranch: ${e.proposalBranch}\n` : '') +
        (e.proposals !== undefined ? `    proposals: ${e.proposals}\n` : '') +
        (e.signedApprovals ? `    signedApprovals: ${e.signedApprovals}\n` : '') +
        (e.minApprovals !== undefined ? `    minApprovals: ${e.minApprovals}\n` : '') +
        (e.allowSelfApproval !== undefined ? `    allowSelfApproval: ${e.allowSelfApproval}\n` : ''),
    )
    .join('');
  const appBlocks = apps
    .map((a) => `  ${a}:\n    tagPath: ${a}.image.tag\n    revisionPath: ${a}.image.revision\n`)
    .join('');
  return `# How Promote moves image tags through this repository's environments.
branch: main
environments: # promotion order
${envs}apps:
${appBlocks}deploy:
  type: command
  diff: ["./scripts/deploy.sh", "diff", "{env}"]
  apply: ["./scripts/deploy.sh", "apply", "{env}"]
  rollback: ["./scripts/deploy.sh", "rollback", "{env}"]
  status: ["./scripts/deploy.sh", "status", "{env}"]
`;
}

/**
 * The app blocks of an environment's values file, one per app: its image (the repository, and the tag
 * Promote bumps) and its replicas. The command sample also records the image's upstream revision; the
 * Helm sample shares the same blocks without it.
 */
export function appValueBlocks(
  apps: Record<string, string>,
  { replicas, withRevision }: { replicas: number; withRevision: boolean },
): string {
  const revision = withRevision ? "    revision: 'unknown'   # upstream commit of the image\n" : '';
  return Object.entries(apps)
    .map(
      ([app, tag]) => `${app}:
  image:
    repository: registry.example.com/shop/${app}
    # bumped by Promote; never edit by hand
    tag: "${tag}"
${revision}  replicas: ${replicas}
`,
    )
    .join('\n');
}

function valuesYaml(env: string, apps: Record<string, string>): string {
  const blocks = appValueBlocks(apps, { replicas: env === 'prod' ? 3 : 1, withRevision: true });
  return `# Values for the ${env} environment; shared settings live in environments/base.yaml.
environment: ${env}  # the human-readable label used in announcements

${blocks}`;
}

const HELMFILE = `# One release per environment, values layered base → environment.
environments:
  dev: {}
  staging: {}
  prod: {}
---
releases:
  - name: shop
    namespace: shop-{{ .Environment.Name }}
    chart: ./charts/shop
    values:
      - environments/base.yaml
      - environments/{{ .Environment.Name }}.yaml
`;

const BASE_VALUES = `# Settings shared by every environment.
slack:
  secretRef: shop-slack
`;

/** A single-quoted shell word: the folder may hold spaces or quotes. */
function shellWord(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * SIMULATED CLUSTER. There is no Kubernetes here: "deploying" copies the environment's values file
 * into <cluster>/<env>.yaml (the "live" state) and appends a line to deploy.log. The script runs in
 * the worker's checkout, far from the demo, so the folder is written into it when the repository is
 * created: any worker on this machine (`promote dev`, `promote worker`, the demo's) deploys to the
 * same place. PROMOTE_DEMO_CLUSTER in the worker's environment overrides it.
 * Real repositories point deploy.diff/apply at helmfile instead.
 */
const deploySh = (cluster: string) => `#!/usr/bin/env bash
# SIMULATED CLUSTER — a stand-in for \`helmfile -e <env> diff|apply\` in this demo repository.
# "Deploying" copies environments/<env>.yaml to <cluster>/<env>.yaml and logs to deploy.log.
set -euo pipefail
action="$1"; env="$2"
# The cluster folder the demo created next to this repository; PROMOTE_DEMO_CLUSTER overrides it.
default_cluster=${shellWord(cluster)}
cluster="\${PROMOTE_DEMO_CLUSTER:-$default_cluster}"
mkdir -p "$cluster"
live="$cluster/$env.yaml"
wanted="environments/$env.yaml"
log() { echo "$(date -u +%FT%T.%NZ) $1 $env \${PROMOTE_COMMIT:-?} \${PROMOTE_ID:-?}" >> "$cluster/deploy.log"; }
deploy() {
  cp "$wanted" "$live.tmp" && mv "$live.tmp" "$live"
  echo "\${PROMOTE_COMMIT:-unknown}" > "$cluster/$env.commit"
}
[ -f "$wanted" ] || { echo "no values file $wanted" >&2; exit 1; }
case "$action" in
  diff)
    if [ -f "$live" ]; then diff -u --label "live/$env" --label "$wanted" "$live" "$wanted" || true
    else echo "(new release) $wanted"; fi ;;
  status)
    cat "$cluster/$env.commit" 2>/dev/null || true ;;
  apply)
    trap 'log terminated; exit 143' TERM
    echo $$ > "$cluster/apply.pid"
    log start
    if [ -f "$cluster/fail-apply-$env" ]; then log failed; echo "simulated failure: $(cat "$cluster/fail-apply-$env")" >&2; exit 3; fi
    if [ -f "$cluster/slow-apply" ]; then sleep "$(cat "$cluster/slow-apply")" & wait $!; fi
    deploy
    log done
    echo "release shop in $env updated" ;;
  rollback)
    log rollback
    deploy
    echo "release shop in $env rolled back" ;;
  *) echo "usage: deploy.sh diff|apply|rollback|status ENV" >&2; exit 2 ;;
esac
`;

/**
 * Makes the simulated cluster run what the repository's first commit describes, as a real cluster
 * would before Promote is introduced, so the first diff shows a real change.
 */
export async function seedSimulatedCluster(repoDir: string, clusterDir: string): Promise<void> {
  await mkdir(clusterDir, { recursive: true });
  const files = (await git(['ls-tree', '--name-only', 'main', 'environments/'], { cwd: repoDir }))
    .trim()
    .split('\n');
  for (const path of files) {
    const env = path.replace(/^environments\//, '').replace(/\.yaml$/, '');
    if (env === 'base') continue;
    await writeFile(join(clusterDir, `${env}.yaml`), await git(['show', `main:${path}`], { cwd: repoDir }));
  }
}

/** Creates a bare deployment repository, modelled on a helmfile layout, with one initial commit. */
export async function createSampleRepo(options: SampleRepoOptions): Promise<string> {
  const environments = options.environments ?? DEFAULT_ENVIRONMENTS;
  const apps = options.apps ?? DEFAULT_APPS;
  const files: Record<string, string> = {
    'promote.yaml': promoteYaml(environments, Object.keys(apps)) + (options.extraConfig ?? ''),
    'helmfile.yaml': HELMFILE,
    'environments/base.yaml': BASE_VALUES,
    'scripts/deploy.sh': deploySh(resolve(options.cluster ?? join(dirname(options.dir), 'cluster'))),
    ...Object.fromEntries(environments.map((e) => [`environments/${e.name}.yaml`, valuesYaml(e.name, apps)])),
  };
  await seedBareRepo(options.dir, files, { executables: ['scripts/deploy.sh'] });
  return options.dir;
}

/** How {@link seedBareRepo} makes its one commit; the samples' own unless said. */
export interface SeedCommit {
  /** Paths among the files to mark executable. */
  executables?: string[];
  message?: string;
  /** `git -c` settings naming the author. */
  author?: string[];
}

/**
 * Creates a bare repository at `dir` (replacing whatever was there) whose main branch holds `files` in
 * one commit: both samples and the benchmark's repositories start so.
 */
export async function seedBareRepo(
  dir: string,
  files: Record<string, string>,
  {
    executables = [],
    message = 'chore: deployment repository for the shop services',
    author = AUTHOR,
  }: SeedCommit = {},
): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await git(['init', '--quiet', '--bare', '--initial-branch=main'], { cwd: dir });
  const work = await mkdtemp(join(tmpdir(), 'promote-seed-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), text);
    }
    for (const path of executables) await chmod(join(work, path), 0o755);
    await git(['init', '--quiet', '--initial-branch=main'], { cwd: work });
    await git(['add', '.'], { cwd: work });
    await git([...author, 'commit', '--quiet', '-m', message], { cwd: work });
    await git(['push', '--quiet', dir, 'main'], { cwd: work });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
