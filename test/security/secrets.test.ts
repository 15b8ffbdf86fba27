import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide, getStatus, startPromotion, waitFinished } from '../../client/promotions.js';
import { promoteCli } from '../support/cli.js';
import { GitHubStandIn } from '../support/github-standin.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';
import { TestRepo } from '../support/repo.js';
import { SlackApiStandIn } from '../support/slack-api.js';
import { useTemporal } from '../support/suite.js';
import { envStatus, eventually } from '../support/wait.js';
import { WorkerProcess } from '../support/worker-process.js';
import { DEV_AUTO_THEN_STAGING_MANUAL } from '../support/environments.js';

/**
 * Issue 18, item 4: a real `promote worker` holding planted secrets runs a promotion whose deploy and
 * diff commands print their environment, an Authorization header, a PEM block and tokens of every
 * well-known shape. No planted value may appear in any byte of what is stored or shown.
 */
const suite = useTemporal();
const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const alnum = (length: number) =>
  Array.from(randomBytes(length), (b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789'[b % 46]).join('');

/** Secrets the worker holds, by the variable that holds them. */
const held = {
  PROMOTE_GIT_TOKEN: `planted-git-${hex(12)}`,
  GITHUB_TOKEN: `planted-github-${hex(12)}`,
  SLACK_BOT_TOKEN: `xoxb-1234567890-planted${hex(10)}`,
  SLACK_SIGNING_SECRET: `planted-signing-${hex(12)}`,
  /** Read from SLACK_APP_TOKEN_FILE. */
  SLACK_APP_TOKEN: `xapp-1-A0HELD-${hex(12)}`,
  /** Named by the operator in PROMOTE_SECRET_ENV. */
  DB_PASSWORD: `planted-db-${hex(12)}`,
};
/** Secrets only the deploy command prints: the redaction patterns must catch them. */
const printed = {
  bearer: `planted-bearer-${hex(12)}`,
  appToken: `xapp-1-A0OTHER-${hex(12)}`,
  rotation: `xoxe-1-${hex(16)}`,
  gitlab: `glpat-${alnum(20)}`,
  classic: `ghp_${alnum(36)}`,
  fineGrained: `github_pat_${alnum(22)}_${alnum(59)}`,
  pemBody: `MIIEplanted${alnum(52)}`,
  assignment: `planted-api-key-${hex(12)}`,
};
const PLANTED = {
  ...held,
  ...Object.fromEntries(Object.entries(printed).map(([k, v]) => [`printed ${k}`, v])),
};

const SLACK_CONFIG = `notifications:
  slack:
    channel: '#deploys'
`;

/**
 * The deploy command: dumps its environment for the test, prints the leaks (as diff lines, so they
 * reach the Slack and pull request summaries), then does the sample repository's real work. staging's
 * apply fails with the leaks on stderr, so failure messages and compensation are searched too.
 */
function leakyScript(): string {
  const leaks = [
    `Authorization: Bearer ${printed.bearer}`,
    `export PROMOTE_GIT_TOKEN=${held.PROMOTE_GIT_TOKEN}`,
    `using ${held.GITHUB_TOKEN} and ${held.DB_PASSWORD} and ${held.SLACK_SIGNING_SECRET}`,
    `slack ${held.SLACK_BOT_TOKEN} ${held.SLACK_APP_TOKEN} ${printed.appToken} ${printed.rotation}`,
    `gitlab ${printed.gitlab} github ${printed.classic} ${printed.fineGrained}`,
    `API_KEY=${printed.assignment}`,
    '-----BEGIN RSA PRIVATE KEY-----',
    printed.pemBody,
    '-----END RSA PRIVATE KEY-----',
  ];
  return `#!/usr/bin/env bash
set -uo pipefail
action="$1"; env="$2"
# SECRETS_TEST_DUMP reaches the command only because the operator names it in PROMOTE_DEPLOY_ENV.
[ -n "\${SECRETS_TEST_DUMP:-}" ] && env > "$SECRETS_TEST_DUMP/env-$action-$env"
leak() {
${leaks.map((l) => `  echo '+${l}'`).join('\n')}
  env | sed 's/^/+env /'
}
case "$action" in
  diff) leak; exec bash ./scripts/deploy.sh diff "$env" ;;
  apply)
    if [ "$env" = staging ]; then env >&2; leak >&2; exit 3; fi
    leak; exec bash ./scripts/deploy.sh apply "$env" ;;
  *) exec bash ./scripts/deploy.sh "$action" "$env" ;;
esac
`;
}

/**
 * A history as JSON, with every payload's bytes (base64 in protobuf's JSON) as the text they carry: the
 * search must see what an activity returned, not its encoding.
 */
function stringifyHistory(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) =>
    key === 'data' && typeof v === 'string' ? `${v} ${Buffer.from(v, 'base64').toString('utf8')}` : v,
  );
}

function leaksIn(where: string, text: string): string[] {
  return Object.entries(PLANTED)
    .filter(([, value]) => text.includes(value))
    .map(([name]) => `${name} in ${where}`);
}

let dir: string;
let slack: SlackApiStandIn;
let github: GitHubStandIn | undefined;
let traces: OtlpReceiver;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promote-secrets-'));
  slack = await new SlackApiStandIn(held.SLACK_BOT_TOKEN).start();
  traces = await OtlpReceiver.start();
});
afterAll(async () => {
  await slack.stop();
  await traces.stop();
  await github?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('secrets never leave the worker', () => {
  it('keeps every planted secret out of status, diff, history, Slack, pull requests, logs and traces', async () => {
    const repo = await TestRepo.create({
      environments: DEV_AUTO_THEN_STAGING_MANUAL,
      extraConfig: SLACK_CONFIG,
    });
    const name = `deployment-secrets-${process.pid}`;
    await repo.commitFile('scripts/leaky.sh', leakyScript(), 'chore: a deploy command that talks too much');
    const config = (await repo.file('promote.yaml')).replaceAll(
      '["./scripts/deploy.sh", ',
      '["bash", "./scripts/leaky.sh", ',
    );
    await repo.commitFile(
      'promote.yaml',
      `repository: {provider: github, owner: shop, repo: ${name}}\n${config}`,
      'chore: leaky deploy commands, on GitHub',
    );
    github = await GitHubStandIn.start({ repoPath: repo.url, token: held.GITHUB_TOKEN, repo: name });

    const dump = join(dir, 'env');
    await rm(dump, { recursive: true, force: true });
    await mkdir(dump, { recursive: true });
    const appTokenFile = join(dir, 'slack-app-token');
    await writeFile(appTokenFile, `${held.SLACK_APP_TOKEN}\n`);
    const taskQueue = `secrets-${process.pid}`;
    const worker = await WorkerProcess.start({
      TEMPORAL_ADDRESS: suite.temporal.address,
      PROMOTE_TASK_QUEUE: taskQueue,
      PROMOTE_CACHE_DIR: join(dir, 'cache'),
      PROMOTE_SHUTDOWN_GRACE_MS: '5000',
      PROMOTE_DEMO_CLUSTER: repo.cluster,
      PROMOTE_GITHUB_API_URL: github.baseUrl,
      // The stand-in serves plain http on loopback: the worker sends the GitHub token there only when named.
      PROMOTE_HTTP_LOOPBACK_HOSTS: new URL(github.baseUrl).host,
      SLACK_API_URL: slack.url,
      PROMOTE_GIT_TOKEN: held.PROMOTE_GIT_TOKEN,
      GITHUB_TOKEN: held.GITHUB_TOKEN,
      SLACK_BOT_TOKEN: held.SLACK_BOT_TOKEN,
      SLACK_SIGNING_SECRET: held.SLACK_SIGNING_SECRET,
      SLACK_APP_TOKEN_FILE: appTokenFile,
      DB_PASSWORD: held.DB_PASSWORD,
      PROMOTE_SECRET_ENV: 'DB_PASSWORD',
      SECRETS_TEST_DUMP: dump,
      PROMOTE_DEPLOY_ENV: 'SECRETS_TEST_DUMP',
      PROMOTE_OTLP_ENDPOINT: traces.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    });
    const outputs: [string, string][] = [];
    const cli = async (where: string, args: string[]) => {
      const result = await promoteCli(args, { address: suite.temporal.address, taskQueue });
      outputs.push([`promote ${where}`, `${result.stdout}\n${result.stderr}`]);
      return result;
    };
    let id: string;
    try {
      const handle = await startPromotion(
        suite.temporal.client,
        { repo: `github:shop/${name}`, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'test' },
        { taskQueue },
      );
      id = handle.workflowId;
      const waiting = await envStatus(suite.temporal.client, id, 'staging', 'waiting-approval');
      // The diff really ran through the leaky command: its harmless lines are there.
      expect(waiting.environments[1]?.diff).toContain('+env PATH=');
      expect((await cli('status', ['status', id])).code).toBe(0);
      expect((await cli('status --json', ['status', id, '--json'])).code).toBe(0);
      expect((await cli('diff', ['diff', id])).code).toBe(0);
      expect((await cli('diff --json', ['diff', id, '--json'])).code).toBe(0);
      expect((await cli('diff --env dev', ['diff', id, '--env', 'dev'])).code).toBe(0);

      await decide(suite.temporal.client, id, { env: 'staging', approved: true, by: 'alice' });
      const final = await waitFinished(suite.temporal.client, id);
      expect(final.status).toBe('failed'); // staging's apply exits 3, its output on stderr.
      expect(final.environments[1]?.error ?? final.error).toMatch(/apply command .* exited with 3/);
      await cli('status (final)', ['status', id]);
      await cli('status --json (final)', ['status', id, '--json']);
      await cli('diff --json (final)', ['diff', id, '--env', 'staging', '--json']);
      // Announcements are posted by activities that may still run after the workflow's end.
      await eventually('the failure announced', () =>
        Promise.resolve(slack.messages.some((m) => /fail/i.test(JSON.stringify(m))) ? true : undefined),
      );
    } finally {
      await worker.stop();
    }

    // Every workflow the promotion ran (itself, its environment locks), event by event.
    const histories: string[] = [];
    for await (const execution of suite.temporal.client.workflow.list({
      query: `TaskQueue = '${taskQueue}'`,
    })) {
      const history = await suite.temporal.client.workflow
        .getHandle(execution.workflowId, execution.runId)
        .fetchHistory();
      histories.push(stringifyHistory(history));
    }
    // The decoding works: the diff's harmless lines are in the activities' results.
    expect(histories.join('')).toContain('+env PATH=');

    const leaks = [
      ...outputs.flatMap(([where, text]) => leaksIn(where, text)),
      ...leaksIn('workflow history', histories.join('\n')),
      ...leaksIn('Slack messages', JSON.stringify([slack.messages, slack.ephemerals, slack.views])),
      ...leaksIn('pull requests', JSON.stringify([...github.pulls.values()])),
      ...leaksIn('the worker log', worker.log),
      ...leaksIn('trace exports', traces.bodies.join('\n')),
      ...leaksIn('the final state', JSON.stringify(await getStatus(suite.temporal.client, id))),
    ];
    expect(leaks).toEqual([]);
    // The searches looked at real content: the pull request carries the diff, Slack the promotion.
    expect(JSON.stringify([...github.pulls.values()])).toContain('+env PATH=');
    expect(slack.messages.length).toBeGreaterThan(0);
    expect(traces.spans.some((span) => span.name === 'RunActivity:deploy')).toBe(true);

    // The deploy commands ran with the allow-listed environment, not the worker's own.
    const dumps = await readdir(dump);
    expect(dumps).toEqual(expect.arrayContaining(['env-diff-staging', 'env-apply-staging']));
    for (const file of dumps) {
      const text = await readFile(join(dump, file), 'utf8');
      const names = text
        .split('\n')
        .map((line) => line.split('=')[0])
        .filter(Boolean);
      expect(names).toEqual(expect.arrayContaining(['PATH', 'HOME', 'SECRETS_TEST_DUMP', 'PROMOTE_ENV']));
      for (const secretName of [
        'PROMOTE_GIT_TOKEN',
        'GITHUB_TOKEN',
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        'SLACK_APP_TOKEN_FILE',
        'DB_PASSWORD',
        'TEMPORAL_ADDRESS',
      ])
        expect(names).not.toContain(secretName);
      expect(leaksIn(file, text)).toEqual([]);
    }
  });
});
