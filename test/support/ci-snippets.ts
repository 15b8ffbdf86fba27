import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../server/tools.js';

export interface SnippetRun {
  code: number;
  output: string;
  /** GitHub: what the step wrote to $GITHUB_OUTPUT; GitLab: the dotenv report. */
  outputs: Record<string, string>;
}

/** A folder with a `promote` on PATH that runs this checkout's CLI, as the action's install step leaves it. */
async function promoteOnPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'promote-ci-bin-'));
  const shim = join(dir, 'promote');
  await writeFile(
    shim,
    `#!/bin/sh\nexec "${process.execPath}" "${join(PROJECT_ROOT, 'bin', 'promote.js')}" "$@"\n`,
  );
  await chmod(shim, 0o755);
  return dir;
}

function dotenv(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

interface ActionStep {
  id?: string;
  shell?: string;
  env?: Record<string, string>;
  run?: string;
}

/**
 * Runs the `promote` step of ci/github/action.yml as the runner would: its env with `${{ inputs.* }}`
 * replaced by the given inputs, its script under `bash --noprofile --norc -eo pipefail`.
 */
export async function runGithubAction(
  inputs: Record<string, string>,
  env: Record<string, string>,
): Promise<SnippetRun> {
  const action = parse(await readFile(join(PROJECT_ROOT, 'ci', 'github', 'action.yml'), 'utf8')) as {
    inputs: Record<string, { default?: string }>;
    runs: { steps: ActionStep[] };
  };
  const step = action.runs.steps.find((s) => s.id === 'promote');
  if (!step?.run) throw new Error('ci/github/action.yml has no step with id "promote"');
  const input = (name: string) => {
    const value = inputs[name] ?? action.inputs[name]?.default;
    if (value === undefined) throw new Error(`input ${name} is required`);
    return value;
  };
  const stepEnv = Object.fromEntries(
    Object.entries(step.env ?? {}).map(([key, value]) => [
      key,
      value.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (_m, name: string) => input(name)),
    ]),
  );
  const dir = await mkdtemp(join(tmpdir(), 'promote-gha-'));
  const outputFile = join(dir, 'output');
  const script = join(dir, 'step.sh');
  await writeFile(outputFile, '');
  await writeFile(script, step.run);
  const bin = await promoteOnPath();
  const result = await execa('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
    reject: false,
    all: true,
    env: { ...env, ...stepEnv, GITHUB_OUTPUT: outputFile, PATH: `${bin}:${process.env.PATH ?? ''}` },
    timeout: 180_000,
  });
  const outputs = dotenv(await readFile(outputFile, 'utf8'));
  await Promise.all([dir, bin].map((d) => rm(d, { recursive: true, force: true })));
  return { code: result.exitCode ?? -1, output: result.all ?? '', outputs };
}

const shellQuote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the `.promote` template of ci/gitlab/promote.gitlab-ci.yml as a job extending it would run:
 * predefined CI variables, then the template's variables (expanded, as GitLab does), then the job's,
 * then the script lines in one `bash -eo pipefail` shell.
 */
export async function runGitlabJob(
  variables: Record<string, string>,
  env: Record<string, string>,
): Promise<SnippetRun> {
  const file = parse(await readFile(join(PROJECT_ROOT, 'ci', 'gitlab', 'promote.gitlab-ci.yml'), 'utf8')) as {
    '.promote': { variables: Record<string, string>; script: string[] };
  };
  const template = file['.promote'];
  const dir = await mkdtemp(join(tmpdir(), 'promote-gitlab-'));
  const lines = [
    // Template values may refer to other variables ($CI_PROJECT_URL…): let the shell expand them.
    ...Object.entries(template.variables).map(([k, v]) => `export ${k}="${v}"`),
    ...Object.entries(variables).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    ...template.script,
  ];
  await writeFile(join(dir, 'job.sh'), `${lines.join('\n')}\n`);
  const bin = await promoteOnPath();
  const result = await execa('bash', ['-eo', 'pipefail', join(dir, 'job.sh')], {
    cwd: dir,
    reject: false,
    all: true,
    env: { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    timeout: 180_000,
  });
  const report = await readFile(join(dir, 'promote.env'), 'utf8').catch(() => '');
  await Promise.all([dir, bin].map((d) => rm(d, { recursive: true, force: true })));
  return { code: result.exitCode ?? -1, output: result.all ?? '', outputs: dotenv(report) };
}
