import { readFileSync, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CONFIG_FILE } from '../common/constants.js';
import { repoProblem } from '../common/request.js';
import { parseAppTag, parseSource, tagProblem, type Source } from '../common/tags.js';
import {
  PROMOTION_STATUSES,
  type AppRequest,
  type PromotionRequest,
  type PromotionState,
} from '../common/types.js';
import type { ListOptions } from './list.js';
import { BadInputError, NotFoundError } from '../common/errors.js';
import { renderStatus } from './render.js';
import { addDiffCommand } from './diff-command.js';
import { wantsColor } from './diff-view.js';
import { resolveRepoLocation } from './repo-location.js';
import { printable } from './printable.js';

/**
 * The Temporal client and worker, yaml and zod take most of a second to load: each command loads what
 * it uses when it runs, so `promote --help` and usage errors answer at once. Same names as the modules'
 * own functions, so command actions read as if they were imported.
 */
function lazily<A extends unknown[], R>(load: () => Promise<(...args: A) => R>) {
  return async (...args: A) => (await load())(...args);
}
const connectClient = lazily(async () => (await import('./errors.js')).connectForCli);
// The light path (light.ts): start, approve, reject and status without loading the SDK client.
const lightClient = lazily(async () => (await import('./light.js')).lightClient);
const startLight = lazily(async () => (await import('./light.js')).startLight);
const decideLight = lazily(async () => (await import('./light.js')).decideLight);
const statusLight = lazily(async () => (await import('./light.js')).statusLight);
const startAccepted = lazily(async () => (await import('./promotions.js')).startAccepted);
const waitFinished = lazily(async () => (await import('./promotions.js')).waitFinished);
const approveShown = lazily(async () => (await import('./approve.js')).approveShown);
const decide = lazily(async () => (await import('./promotions.js')).decide);
const signDecision = lazily(async () => (await import('./sign-approval.js')).signDecision);
const getStatus = lazily(async () => (await import('./promotions.js')).getStatus);
const cancelPromotion = lazily(async () => (await import('./promotions.js')).cancelPromotion);
const abandonCompensation = lazily(async () => (await import('./promotions.js')).abandonCompensation);
const listPromotions = lazily(async () => (await import('./list.js')).listPromotions);
const renderList = lazily(async () => (await import('./list.js')).renderList);
const noMatch = lazily(async () => (await import('./list.js')).noMatch);
const watchPromotion = lazily(async () => (await import('./watch.js')).watchPromotion);
const readOverview = lazily(async () => (await import('./overview.js')).readOverview);
const renderOverview = lazily(async () => (await import('./overview.js')).renderOverview);
const runDev = lazily(async () => (await import('./serve.js')).runDev);
const runWorker = lazily(async () => (await import('./serve.js')).runWorker);
const runGitHubReceiver = lazily(async () => (await import('./github-command.js')).runGitHubReceiver);
const runSlackReceiver = lazily(async () => (await import('./slack/command.js')).runSlackReceiver);
const governanceClient = () => import('./governance.js');
const validateConfigFile = lazily(async () => (await import('./validate-file.js')).validateConfigFile);

/** What `start` and `rollback` share: where, and how to report. */
interface RunOptions {
  repo?: string;
  wait?: boolean;
  json?: boolean;
}

interface StartOptions extends RunOptions {
  app: string[];
  source: string[];
  to?: string;
  only?: string;
  force?: boolean;
}

interface RollbackOptions extends RunOptions {
  env: string;
  app: string;
  toTag?: string;
}

/** Exit codes are a contract for CI: 0 ok, 1 promotion failed/rejected/cancelled, 2 bad usage or input. */
export const EXIT = { ok: 0, failed: 1, badInput: 2 } as const;

class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message: string,
  ) {
    super(message);
  }
}

function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Echoes of what came from outside (who decided, error messages) never carry terminal control. */
function shown(text: string): string {
  return printable(text);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function port(value: string): number {
  // Digits only: Number() would also take 0x1F90, 1e3 and ' 80'.
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new InvalidArgumentError('must be a port number (1-65535)');
  return n;
}

/** A count such as `--limit`: digits only, at least 1 (parseInt would take `10abc` and `-1`, and NaN means no limit). */
function positiveInteger(value: string): number {
  const n = /^[0-9]+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError('must be a whole number of at least 1');
  return n;
}

function whoAmI(): string {
  return (
    process.env.PROMOTE_USER ??
    process.env.GITHUB_ACTOR ??
    process.env.GITLAB_USER_LOGIN ??
    userInfo().username
  );
}

/**
 * The CI identity this client runs as, read from the environment rather than declared: recorded at
 * start so the CI user that triggered a promotion cannot approve it either.
 */
function ciActor(): string | undefined {
  const actor = process.env.GITHUB_ACTOR ?? process.env.GITLAB_USER_LOGIN;
  return actor && actor.trim() !== '' ? actor : undefined;
}

/** Who started a request: the declared requester, and the CI actor when it is someone else. */
function requester(): Pick<PromotionRequest, 'requestedBy' | 'ciActor'> {
  const requestedBy = whoAmI();
  const actor = ciActor();
  return { requestedBy, ...(actor && actor !== requestedBy ? { ciActor: actor } : {}) };
}

function exitFor(state: PromotionState): number {
  return state.status === 'succeeded' ? EXIT.ok : EXIT.failed;
}

function repoOption(repo: string | undefined): string {
  const value = repo ?? process.env.PROMOTE_REPO;
  if (!value) throw new BadInputError('no repository: pass --repo <git url or path> or set PROMOTE_REPO');
  const resolved = resolveRepoLocation(value);
  const problem = repoProblem(resolved);
  if (problem) throw new BadInputError(problem);
  return resolved;
}

export function buildRequest(options: StartOptions): PromotionRequest {
  const repo = repoOption(options.repo);
  if (options.to && options.only) throw new BadInputError('--to and --only cannot be combined');
  if (options.app.length === 0) throw new BadInputError('no app given: pass --app app=tag (repeatable)');
  const sources = new Map<string, Source>();
  const apps: AppRequest[] = [];
  try {
    for (const text of options.source) {
      const { app, source } = parseSource(text);
      sources.set(app, source);
    }
    for (const text of options.app) {
      const { app, tag } = parseAppTag(text);
      if (apps.some((a) => a.app === app)) throw new Error(`app ${app} is given twice`);
      const source = sources.get(app);
      apps.push({ app, tag, ...(source ? { source } : {}) });
    }
  } catch (error) {
    throw new BadInputError((error as Error).message);
  }
  for (const app of sources.keys()) {
    if (!apps.some((a) => a.app === app))
      throw new BadInputError(`--source names ${app}, which is not among the --app values`);
  }
  return {
    repo,
    apps,
    ...requester(),
    ...(options.to ? { to: options.to } : {}),
    ...(options.only ? { only: options.only } : {}),
    ...(options.force ? { force: true } : {}),
  };
}

/** Each `--source` commit's time, for the lead time of `promote report` (client/source-time.ts). */
async function withSourceTimes(request: PromotionRequest): Promise<PromotionRequest> {
  if (!request.apps.some((a) => a.source)) return request;
  const { withSourceTimes: read } = await import('./source-time.js');
  return read(request, (line) => process.stderr.write(`promote: ${line}\n`));
}

/** Starts a request, waits until a worker accepted it, and reports like `start` does. */
async function runStart(
  request: PromotionRequest,
  options: { wait?: boolean; json?: boolean },
): Promise<void> {
  const light = options.wait ? undefined : await lightClient();
  const started = light ? await startLight(light, request) : undefined;
  if (started) {
    print(options.json ? JSON.stringify({ id: started }) : started);
    return;
  }
  const client = await connectClient();
  // A blocked tag is refused before anything starts (the promotion checks again before each step).
  const carried = request.rollback?.toTag
    ? [{ app: request.rollback.app, tag: request.rollback.toTag }]
    : request.apps;
  await (await governanceClient()).refuseBlocked(client, carried);
  // One round trip: started, and accepted by a worker that read promote.yaml (or bad input, exit 2).
  const handle = await startAccepted(client, request);
  if (!options.wait) {
    print(options.json ? JSON.stringify({ id: handle.workflowId }) : handle.workflowId);
    return;
  }
  if (options.json) {
    const state = await waitFinished(client, handle.workflowId);
    print(JSON.stringify(state));
    process.exitCode = exitFor(state);
    return;
  }
  process.stderr.write(
    `started ${handle.workflowId}; following it (Ctrl-C stops following, not the promotion)\n`,
  );
  process.exitCode = exitFor(await watchPromotion(client, handle.workflowId));
}

/** A setting that would let the worker run or send credentials where it should not: bad input, exit 2. */
function trustSettingsAsBadInput(command: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof Error && error.name === 'TrustSettingsError')
      throw new CliExit(EXIT.badInput, `promote ${command}: ${error.message}`);
    throw error;
  };
}

/** The version CI logs and bug reports quote: package.json's, read without loading anything else. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** How a decider was proven, when it was: a declared name prints as before (` (ssh-signature)` otherwise). */
function provenBy(decision: { via?: string }): string {
  return decision.via && decision.via !== 'cli-declared' ? ` (${decision.via})` : '';
}

export function buildProgram(): Command {
  const program = new Command('promote')
    .description('Move container image tags through environments with durable Temporal workflows')
    .version(packageVersion(), '-V, --version', 'print the version of Promote')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('dev')
    .description('run an embedded Temporal dev server (Web UI included) and a worker')
    .addOption(new Option('--port <port>', 'gRPC port').default(7233).argParser(port))
    .addOption(new Option('--ui-port <port>', 'Web UI port').default(8233).argParser(port))
    .option('--no-worker', 'run the server alone')
    .option('--db-file <path>', 'SQLite file that keeps workflows across restarts', '.promote/temporal.db')
    .option('--cluster', 'also run a local Kubernetes API server (etcd + kube-apiserver) for helm deploys')
    .action(
      async (options: {
        port: number;
        uiPort: number;
        worker: boolean;
        dbFile: string;
        cluster?: boolean;
      }) => {
        await runDev(options).catch(trustSettingsAsBadInput('dev'));
      },
    );

  program
    .command('worker')
    .description('run a worker against TEMPORAL_ADDRESS (default localhost:7233)')
    .action(async () => {
      await runWorker().catch(trustSettingsAsBadInput('worker'));
    });

  program
    .command('slack')
    .description('receive Approve/Reject button presses from Slack (HTTP at /slack/events, or Socket Mode)')
    .addOption(new Option('--port <port>', 'HTTP port for /slack/events').default(3000).argParser(port))
    .option('--socket', 'use Socket Mode (SLACK_APP_TOKEN) instead of a public HTTP endpoint')
    .action(async (options: { port: number; socket?: boolean }) => {
      await runSlackReceiver(options);
    });

  program
    .command('github')
    .description(
      'receive GitHub pull request review webhooks (HTTP at /github/webhook): reviews as approvals',
    )
    .addOption(new Option('--port <port>', 'HTTP port for /github/webhook').default(3001).argParser(port))
    .action(async (options: { port: number }) => {
      await runGitHubReceiver(options);
    });

  program
    .command('validate')
    .description('check a promote.yaml locally')
    .argument('[file]', 'config file', CONFIG_FILE)
    .action(async (file: string) => {
      const { ConfigError, configSizeProblem } = await import('../config/load.js');
      let text: string;
      try {
        // Refused before reading: a huge file (or /dev/zero) is never loaded into memory.
        const tooLarge = statSync(file).isFile() ? configSizeProblem(statSync(file).size) : undefined;
        if (tooLarge) throw new ConfigError(file, [tooLarge]);
        text = readFileSync(file, 'utf8');
      } catch (error) {
        if (error instanceof ConfigError) throw new CliExit(EXIT.badInput, error.message);
        throw new CliExit(
          EXIT.badInput,
          `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        );
      }
      try {
        const config = await validateConfigFile(file, text);
        const envs = config.environments.map((e) => `${e.name}${e.approval === 'manual' ? ' (manual)' : ''}`);
        print(`${file} is valid: ${envs.join(' → ')}; apps: ${Object.keys(config.apps).join(', ')}`);
      } catch (error) {
        if (error instanceof ConfigError) throw new CliExit(EXIT.badInput, error.message);
        throw error;
      }
    });

  program
    .command('start')
    .description('start a promotion (or re-attach to the identical one already running)')
    .option('--repo <url>', 'deployment repository: git URL or path (default $PROMOTE_REPO)')
    .option('--app <app=tag>', 'app and tag to promote (repeatable)', collect, [])
    .option(
      '--source <app=repo@ref>',
      'upstream source of an app, quoted in the commit; its commit time, read from a local checkout, starts the lead time of `promote report` (repeatable)',
      collect,
      [],
    )
    .option('--to <env>', 'stop after this environment')
    .option(
      '--only <env>',
      "deploy this one environment, if its 'requires' environment already runs the tags",
    )
    .option('--force', 'deploy even where the values already hold the tags')
    .option('--wait', 'wait for the promotion to finish; exit 1 unless it succeeded')
    .option('--json', 'machine-readable output')
    .action(async (options: StartOptions) => {
      await runStart(await withSourceTimes(buildRequest(options)), options);
    });

  program
    .command('rollback')
    .description("promote an environment's previous tag of an app back into it, under its approval policy")
    .option('--repo <url>', 'deployment repository: git URL or path (default $PROMOTE_REPO)')
    .requiredOption('--env <env>', 'environment to roll back')
    .requiredOption('--app <app>', 'app to roll back')
    .option(
      '--to-tag <tag>',
      "tag to return to (default: the one before the current, from the repository's history)",
    )
    .option('--wait', 'wait for the rollback to finish; exit 1 unless it succeeded')
    .option('--json', 'machine-readable output')
    .action(async (options: RollbackOptions) => {
      const problem = options.toTag === undefined ? undefined : tagProblem(options.toTag);
      if (problem) throw new BadInputError(problem);
      const request: PromotionRequest = {
        repo: repoOption(options.repo),
        apps: [],
        rollback: { env: options.env, app: options.app, ...(options.toTag ? { toTag: options.toTag } : {}) },
        ...requester(),
      };
      // A promotion soaking the tag being rolled back in that environment stops (docs/governance.md).
      const soaking = await (
        await governanceClient()
      ).breakSoaks(
        await connectClient(),
        request.repo,
        options.env,
        `${options.app} rolled back in ${options.env}`,
      );
      for (const id of soaking) process.stderr.write(`stopping ${id}: its soak in ${options.env} failed\n`);
      await runStart(request, options);
    });

  program
    .command('list')
    .description('list promotions (Temporal visibility)')
    .option('--app <app>', 'only promotions of this app')
    .option('--env <env>', 'only promotions currently at (or ended in) this environment')
    .addOption(
      new Option('--state <state>', 'only promotions in this state').choices([...PROMOTION_STATUSES]),
    )
    .option('--limit <n>', 'at most this many', positiveInteger, 50)
    .option('--json', 'machine-readable output')
    .action(async (options: ListOptions & { json?: boolean }) => {
      const client = await connectClient();
      const rows = await listPromotions(client, options);
      if (options.json) {
        print(JSON.stringify(rows, null, 2));
        return;
      }
      print(rows.length ? await renderList(rows) : await noMatch(client, options));
      // Blocks and freezes in force follow the list: what would stop the next promotion.
      const { readRules, renderRules } = await governanceClient();
      const rules = renderRules(await readRules(client));
      if (rules.length > 0) print(['', ...rules].join('\n'));
    });

  program
    .command('report')
    .description('delivery metrics from the promotions started in a window (docs/report.md)')
    .option('--since <when>', 'window start: 30d, 12h, 45m back, or an ISO date/time', '30d')
    .option('--env <env>', 'only this environment')
    .option('--json', 'machine-readable output')
    .action(async (options: { since: string; env?: string; json?: boolean }) => {
      const { parseSince, renderReport } = await import('./report.js');
      const now = new Date();
      const since = parseSince(options.since, now);
      if (!since)
        throw new BadInputError(
          `invalid --since ${JSON.stringify(options.since)}: use 30d, 12h, 45m or a past ISO date such as 2026-01-31`,
        );
      const { readReport } = await import('./report-command.js');
      const report = await readReport(await connectClient(), {
        since,
        now,
        ...(options.env ? { env: options.env } : {}),
      });
      print(options.json ? JSON.stringify(report, null, 2) : printable(renderReport(report)));
    });

  program
    .command('overview')
    .description('app × environment matrix: tags in Git, drift from what runs, last promotion of each')
    .option('--repo <url>', 'deployment repository: git URL or path (default $PROMOTE_REPO)')
    .option('--json', 'machine-readable output')
    .action(async (options: { repo?: string; json?: boolean }) => {
      const repo = repoOption(options.repo);
      const overview = await readOverview(await connectClient(), repo);
      print(options.json ? JSON.stringify(overview, null, 2) : await renderOverview(overview));
    });

  addGovernanceCommands(program);

  program
    .command('approve')
    .description('approve the environment a promotion is waiting on')
    .argument('<id>', 'promotion id')
    .requiredOption('--env <env>', 'environment to approve')
    .option('--as <name>', 'who approves (default: $PROMOTE_USER or the login name)')
    .option('--comment <text>', 'comment recorded with the decision')
    .option('--commit <sha>', 'the proposal commit approved (default: the one `promote status` shows)')
    .option(
      '--sign-key <path>',
      'sign the approval with this SSH key (ssh-keygen -Y sign); see docs/signed-approvals.md',
    )
    .option('--override-window', 'deploy even while the environment is closed (its windows, freezes)')
    .option('--reason <text>', 'why the window is overridden: recorded in the audit trail')
    .action(
      async (
        id: string,
        options: {
          env: string;
          as?: string;
          comment?: string;
          commit?: string;
          signKey?: string;
          overrideWindow?: boolean;
          reason?: string;
        },
      ) => {
        const plain = !options.overrideWindow && !options.reason && !options.signKey;
        const light = plain ? await lightClient() : undefined;
        const input = {
          env: options.env,
          approved: true,
          by: options.as ?? whoAmI(),
          ...(options.comment ? { comment: options.comment } : {}),
          ...(options.commit ? { commit: options.commit } : {}),
        };
        const decided = light ? await decideLight(light, id, input) : undefined;
        if (decided) {
          print(shown(`${options.env} approved by ${decided.by}${provenBy(decided)}`));
          return;
        }
        const client = await connectClient();
        if (options.overrideWindow) {
          if (!options.reason?.trim()) throw new BadInputError('--override-window needs --reason');
          const { overrideWindow } = await governanceClient();
          const by = options.as ?? whoAmI();
          await overrideWindow(client, id, { env: options.env, by, reason: options.reason });
          print(shown(`${options.env}: window overridden by ${by}`));
          // Only an environment waiting for approval has a decision to take as well.
          const state = await getStatus(client, id);
          if (state.environments.find((e) => e.name === options.env)?.status !== 'waiting-approval') return;
        } else if (options.reason)
          throw new BadInputError('--reason goes with --override-window (use --comment)');
        const signing = options.signKey
          ? await signDecision(client, id, {
              env: options.env,
              approved: true,
              key: options.signKey,
              ...(options.commit ? { commit: options.commit } : {}),
            })
          : undefined;
        const commit = options.commit ?? signing?.commit;
        const decision = await approveShown(client, id, {
          env: options.env,
          by: options.as ?? whoAmI(),
          ...(options.comment ? { comment: options.comment } : {}),
          ...(commit ? { commit } : {}),
          ...(signing ? { signed: signing.signed } : {}),
        });
        print(shown(`${options.env} approved by ${decision.by}${provenBy(decision)}`));
      },
    );

  program
    .command('reject')
    .description('reject the environment a promotion is waiting on')
    .argument('<id>', 'promotion id')
    .requiredOption('--env <env>', 'environment to reject')
    .option('--as <name>', 'who rejects (default: $PROMOTE_USER or the login name)')
    .requiredOption('--reason <text>', 'why: recorded with the decision')
    .option(
      '--sign-key <path>',
      'sign the rejection with this SSH key (ssh-keygen -Y sign); see docs/signed-approvals.md',
    )
    .action(async (id: string, options: { env: string; as?: string; reason: string; signKey?: string }) => {
      const light = options.signKey ? undefined : await lightClient();
      const input = {
        env: options.env,
        approved: false,
        by: options.as ?? whoAmI(),
        comment: options.reason,
      };
      const decided = light ? await decideLight(light, id, input) : undefined;
      if (decided) {
        print(shown(`${options.env} rejected by ${decided.by}${provenBy(decided)}`));
        return;
      }
      const client = await connectClient();
      const signing = options.signKey
        ? await signDecision(client, id, { env: options.env, approved: false, key: options.signKey })
        : undefined;
      const decision = await decide(client, id, {
        env: options.env,
        approved: false,
        by: options.as ?? whoAmI(),
        comment: options.reason,
        ...(signing ? { commit: signing.commit, signed: signing.signed } : {}),
      });
      print(shown(`${options.env} rejected by ${decision.by}${provenBy(decision)}`));
    });

  program
    .command('abandon')
    .description("give up an environment's compensation (revert, rollback) that cannot finish, now")
    .argument('<id>', 'promotion id')
    .requiredOption('--env <env>', 'the environment whose compensation to give up')
    .requiredOption('--reason <text>', 'why: recorded with who gave up')
    .option('--as <name>', 'who gives up (default: $PROMOTE_USER or the login name)')
    .action(async (id: string, options: { env: string; as?: string; reason: string }) => {
      if (!options.reason.trim()) throw new BadInputError('--reason must say why');
      const client = await connectClient();
      const env = await abandonCompensation(client, id, {
        env: options.env,
        by: options.as ?? whoAmI(),
        reason: options.reason,
      });
      const by = env.compensation?.abandoned?.by ?? options.as ?? whoAmI();
      print(`${env.name}: compensation abandoned by ${by}; ${env.name} is released`);
      if (env.compensation?.left) print(`left for a person: ${env.compensation.left}`);
    });

  program
    .command('status')
    .description("show a promotion's state")
    .argument('<id>', 'promotion id')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      const light = await lightClient();
      const state =
        (light ? await statusLight(light, id) : undefined) ?? (await getStatus(await connectClient(), id));
      print(options.json ? JSON.stringify(state, null, 2) : renderStatus(state, { color: wantsColor() }));
    });

  program
    .command('audit')
    .description('every approval and rejection of a promotion: who, how verified, when, which commit')
    .argument('<id>', 'promotion id')
    .option('--json', 'machine-readable output')
    .option(
      '--allowed-signers <file>',
      'verify signed decisions against this allowed_signers file (default: the one in the repository at each proposal base)',
    )
    .action(async (id: string, options: { json?: boolean; allowedSigners?: string }) => {
      if (options.allowedSigners) {
        try {
          readFileSync(options.allowedSigners, 'utf8');
        } catch (error) {
          throw new CliExit(
            EXIT.badInput,
            `cannot read --allowed-signers ${options.allowedSigners}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
          );
        }
      }
      const client = await connectClient();
      const { auditTrail, auditFailed, renderAudit } = await import('./audit.js');
      const { sshSignatureVerifier } = await import('./audit-signatures.js');
      const signatures = sshSignatureVerifier(
        options.allowedSigners ? { allowedSigners: options.allowedSigners } : {},
      );
      const trail = await auditTrail(await getStatus(client, id), {
        'ssh-signature': signatures.verify,
      }).finally(() => signatures.close());
      print(options.json ? JSON.stringify(trail, null, 2) : renderAudit(trail));
      if (auditFailed(trail)) process.exitCode = EXIT.failed;
    });

  addDiffCommand(program);

  program
    .command('watch')
    .description('follow a promotion live until it ends; exit 0 if it succeeded, 1 otherwise')
    .argument('<id>', 'promotion id')
    .option('--json', 'one JSON state per line at each change; the last line is the final state')
    .action(async (id: string, options: { json?: boolean }) => {
      const client = await connectClient();
      process.exitCode = exitFor(await watchPromotion(client, id, options));
    });

  program
    .command('cancel')
    .description('cancel a running promotion')
    .argument('<id>', 'promotion id')
    .action(async (id: string) => {
      const client = await connectClient();
      await cancelPromotion(client, id);
      print(`cancellation requested for ${id}`);
    });

  return program;
}

/** Release governance (issue 22): `block`/`unblock`; rules kept in the governance workflow. */
function addGovernanceCommands(program: Command): void {
  const appTag = (text: string) => {
    try {
      return parseAppTag(text);
    } catch (error) {
      throw new BadInputError((error as Error).message);
    }
  };
  program
    .command('block')
    .description('block app=tag: refused at start; running promotions carrying it stop and compensate')
    .argument('<app=tag>', 'the version to block')
    .requiredOption('--reason <text>', 'why: recorded with who blocked it')
    .option('--as <name>', 'who blocks (default: $PROMOTE_USER or the login name)')
    .option('--json', 'machine-readable output')
    .action(async (target: string, options: { reason: string; as?: string; json?: boolean }) => {
      const { app, tag } = appTag(target);
      if (!options.reason.trim()) throw new BadInputError('--reason must say why');
      const client = await connectClient();
      const { blockTag } = await governanceClient();
      const result = await blockTag(client, { app, tag, by: options.as ?? whoAmI(), reason: options.reason });
      if (options.json) print(JSON.stringify(result, null, 2));
      else {
        print(shown(`${app}=${tag} blocked`));
        for (const id of result.signalled) print(shown(`  stopping ${id}`));
      }
    });
  program
    .command('unblock')
    .description('lift a block: app=tag may be promoted again')
    .argument('<app=tag>', 'the version to unblock')
    .option('--reason <text>', 'why: recorded with who unblocked it')
    .option('--as <name>', 'who unblocks (default: $PROMOTE_USER or the login name)')
    .option('--json', 'machine-readable output')
    .action(async (target: string, options: { reason?: string; as?: string; json?: boolean }) => {
      const { app, tag } = appTag(target);
      const client = await connectClient();
      const { changeRules } = await governanceClient();
      const { unblockUpdate } = await import('../common/governance-definitions.js');
      const rules = await changeRules(client, unblockUpdate, {
        app,
        tag,
        by: options.as ?? whoAmI(),
        ...(options.reason ? { reason: options.reason } : {}),
      });
      print(options.json ? JSON.stringify(rules, null, 2) : shown(`${app}=${tag} unblocked`));
    });
  program
    .command('freeze')
    .description('close an environment until a time: promotions reaching it wait (status waiting-window)')
    .requiredOption('--env <env>', "the environment to close ('*': every environment)")
    .requiredOption('--until <time>', 'ISO time, or a duration from now such as 4h or 3d')
    .requiredOption('--reason <text>', 'why: shown to the promotions waiting, recorded with who froze it')
    .option('--as <name>', 'who freezes (default: $PROMOTE_USER or the login name)')
    .option('--json', 'machine-readable output')
    .action(async (options: { env: string; until: string; reason: string; as?: string; json?: boolean }) => {
      const { freezeEnvironment, untilTime } = await governanceClient();
      const until = untilTime(options.until);
      if (!options.reason.trim()) throw new BadInputError('--reason must say why');
      const client = await connectClient();
      const result = await freezeEnvironment(client, {
        env: options.env,
        until,
        reason: options.reason,
        by: options.as ?? whoAmI(),
      });
      print(options.json ? JSON.stringify(result, null, 2) : shown(`${options.env} frozen until ${until}`));
    });
  program
    .command('unfreeze')
    .description('end a freeze made by promote freeze now')
    .requiredOption('--env <env>', "the environment to open ('*': the freeze of every environment)")
    .option('--reason <text>', 'why: recorded with who unfroze it')
    .option('--as <name>', 'who unfreezes (default: $PROMOTE_USER or the login name)')
    .option('--json', 'machine-readable output')
    .action(async (options: { env: string; reason?: string; as?: string; json?: boolean }) => {
      const { unfreezeEnvironment } = await governanceClient();
      const client = await connectClient();
      const result = await unfreezeEnvironment(client, {
        env: options.env,
        by: options.as ?? whoAmI(),
        ...(options.reason ? { reason: options.reason } : {}),
      });
      print(options.json ? JSON.stringify(result, null, 2) : shown(`${options.env} unfrozen`));
    });
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
        ? EXIT.ok
        : EXIT.badInput;
    }
    if (error instanceof CliExit) {
      process.stderr.write(`${shown(error.message)}\n`);
      return error.exitCode;
    }
    if (error instanceof BadInputError || error instanceof NotFoundError) {
      process.stderr.write(`promote: ${shown(error.message)}\n`);
      return EXIT.badInput;
    }
    process.stderr.write(`promote: ${shown(error instanceof Error ? error.message : String(error))}\n`);
    return EXIT.failed;
  }
}
