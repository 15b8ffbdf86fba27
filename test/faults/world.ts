import { afterAll, beforeAll, it } from '@jest/globals';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { freePort } from '../../server/ports.js';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { decide, getStatus, startPromotion, waitFinished, NotFoundError } from '../../client/promotions.js';
import { environmentLockId, repositoryKey } from '../../common/ids.js';
import type { PromotionRequest, PromotionState, PromotionStatus } from '../../common/types.js';
import type { SampleEnvironment } from '../../demo/sample-repo.js';
import type { DevServer } from '../../server/dev-server.js';
import { startTestDevServer } from '../support/dev-server.js';
import type { GitHubStandIn } from '../support/github-standin.js';
import { TestRepo } from '../support/repo.js';
import { eventually } from '../support/wait.js';
import { WorkerProcess } from '../support/worker-process.js';
import { writeWorkflowBundle } from '../../worker/bundle.js';
import { janitorScheduleId } from '../../worker/janitor-schedule.js';
import { FAULT_DEPLOY_SH } from './fault-deploy.js';
import { checkInvariants, type Violation } from './invariants.js';
import { announceSeed, nextSeed, rng, type Random } from './seed.js';

/** One dev server per fault file, on its own database file so it can be restarted mid-promotion. */
export class FaultServer {
  private constructor(
    private server: DevServer,
    readonly dir: string,
    readonly client: Client,
    private readonly connection: Connection,
    readonly workflowBundle: string,
  ) {}

  static async start(): Promise<FaultServer> {
    const dir = await mkdtemp(join(tmpdir(), 'promote-faults-'));
    // Workers start from one pre-built bundle, as in the container image: a file's dozens of worker
    // starts would otherwise each run webpack, which on a busy 2-core machine is most of the suite's CPU.
    const workflowBundle = await writeWorkflowBundle(join(dir, 'workflow-bundle.js'));
    const server = await startTestDevServer({ dbFile: join(dir, 'temporal.db') });
    const connection = await Connection.connect({ address: server.address });
    return new FaultServer(server, dir, new Client({ connection }), connection, workflowBundle);
  }

  /** One server for a file's concurrent runs, started on first use. */
  static shared(): { server(): Promise<FaultServer>; stop(): Promise<void> } {
    let started: Promise<FaultServer> | undefined;
    return {
      server: () => (started ??= FaultServer.start()),
      stop: async () => {
        if (started) await (await started).stop();
      },
    };
  }

  get address(): string {
    return this.server.address;
  }

  /** Stops the server and starts it again on the same database file and port (its clients reconnect). */
  async restart(): Promise<void> {
    const port = Number(this.server.address.split(':').pop());
    await this.server.stop();
    this.server = await startTestDevServer({ dbFile: join(this.dir, 'temporal.db'), port });
  }

  async stop(): Promise<void> {
    await this.connection.close();
    await this.server.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A fault file's one dev server, and its runs on it. */
export interface FaultFile {
  server(): Promise<FaultServer>;
  /** A fresh run on the file's server for `body`, disposed afterwards whatever `body` did. */
  run<T>(options: RunOptions, body: (run: FaultRun) => Promise<T>): Promise<T>;
  /**
   * One seeded test: named `scenario [seed N]` (the seed drawn now, in declaration order), `body` on a
   * fresh run of that scenario; concurrent with the file's other runs unless `alone`.
   */
  test(
    scenario: string,
    options: Omit<RunOptions, 'scenario' | 'seed'>,
    body: (run: FaultRun) => Promise<void>,
    alone?: 'alone',
  ): void;
}

/**
 * The set-up every fault file shares: its seed announced before its tests, one server for its
 * concurrent runs (started on first use: runs may start before beforeAll has finished, and all await
 * the one start), stopped after its tests.
 */
export function useFaultServer(file: string): FaultFile {
  const shared = FaultServer.shared();
  beforeAll(() => {
    announceSeed(file);
  });
  afterAll(async () => {
    await shared.stop();
  });
  const run: FaultFile['run'] = async (options, body) => {
    const started = await FaultRun.create(await shared.server(), options);
    try {
      return await body(started);
    } finally {
      await started.dispose();
    }
  };
  return {
    server: () => shared.server(),
    run,
    test: (scenario, options, body, alone) => {
      const declare = alone ? it.each([nextSeed()]) : it.concurrent.each([nextSeed()]);
      declare(`${scenario} [seed %d]`, (seed) => run({ ...options, scenario, seed }, body));
    },
  };
}

export interface RunOptions {
  scenario: string;
  seed: number;
  environments?: SampleEnvironment[];
  apps?: Record<string, string>;
}

const DEFAULT_ENVS: SampleEnvironment[] = [
  { name: 'dev', approval: 'auto' },
  { name: 'staging', approval: 'manual' },
];

/**
 * Staging held by its holder through the approval wait (no proposal branch), so a second promotion
 * queues behind it: the runs about lock hand-over, a lost lock and compensation that keeps the
 * environment closed. The others run the default flow, where staging proposes.
 */
export const HELD_THROUGH_APPROVAL: SampleEnvironment[] = [
  { name: 'dev', approval: 'auto' },
  { name: 'staging', approval: 'manual', proposals: false },
];

let runCounter = 0;

/**
 * What a scenario says a promotion must end as: a status, or `terminated` when the scenario itself
 * terminates it. A fault the product is built to ride out (a SIGKILL, a server restart, a short outage,
 * a concurrent pusher) must not change the outcome: `failed` is declared only where the fault is meant
 * to fail the promotion.
 */
export type ExpectedOutcome = PromotionStatus | 'terminated';

/** A snapshot in one line for a run's notes: each promotion's `env:status` and pending activities. */
export function snapshotText(s: Snapshot): string {
  return [...s.environments]
    .map(
      ([id, envs]) =>
        `${id.slice(-8)} ${[...envs].map(([e, st]) => `${e}:${st}`).join(',')} [${(s.activities.get(id) ?? []).join(',')}]`,
    )
    .join(' / ');
}

/** What was going on at one instant (a kill, a restart): read right before the fault. */
export interface Snapshot {
  /** Each promotion's environments as `env:status`. */
  environments: Map<string, Map<string, string>>;
  /** Each promotion's pending activity types (from describe). */
  activities: Map<string, string[]>;
  /** Promotions still running at that instant. */
  running: Set<string>;
  /** The deploy command's own log at that instant. */
  log: string[];
}

export interface VerifyOptions {
  /** The app of the final promotion (default web). */
  nextApp?: string;
  settleTimeoutMs?: number;
  nextTimeoutMs?: number;
  /** False when the scenario runs its own (in-process) worker. */
  startWorker?: boolean;
  /** Ends the scenario's own fault before the next promotion (files-based faults are cleared anyway). */
  heal?: () => Promise<void> | void;
  /** Scenario-specific invariants, checked after the faults and before the next promotion. */
  extra?: () => Promise<Violation[]>;
}

/**
 * One seeded fault run: a fresh deployment repository whose deploy commands are the fault suite's
 * simulated cluster, its own task queue, `promote worker` processes, and the promotions it started.
 */
export class FaultRun {
  readonly random: Random;
  readonly promotions: string[] = [];
  /** What each promotion asked for (a terminated one has no state to ask). */
  readonly requests = new Map<string, Omit<PromotionRequest, 'repo'>>();
  /** Promotions the scenario terminated on purpose (they cannot end by themselves). */
  readonly terminated = new Set<string>();
  /** The outcome each promotion must end with, declared by the scenario when it starts it. */
  readonly expected = new Map<string, ExpectedOutcome>();
  readonly notes: string[] = [];
  readonly workers: WorkerProcess[] = [];
  private workerCount = 0;
  /** `git daemon` serving the repository over git:// when the scenario needs a remote it can cut. */
  private daemon: { port: number; process: ResultPromise } | undefined;
  /** The GitHub stand-in serving the repository, when a scenario uses one: its open pull requests count as leftovers. */
  github?: GitHubStandIn;
  /** Approve (true) or reject (false) a waiting environment; by default everything is approved. */
  approver: (id: string, env: string) => boolean = () => true;

  private constructor(
    readonly server: FaultServer,
    readonly options: RunOptions,
    readonly repo: TestRepo,
    readonly dir: string,
    readonly taskQueue: string,
    readonly environments: SampleEnvironment[],
  ) {
    this.random = rng(options.seed);
  }

  static async create(server: FaultServer, options: RunOptions): Promise<FaultRun> {
    const environments = options.environments ?? DEFAULT_ENVS;
    const repo = await TestRepo.create({
      environments,
      ...(options.apps ? { apps: options.apps } : {}),
    });
    const dir = await mkdtemp(join(tmpdir(), 'promote-fault-run-'));
    const script = join(dir, 'fault-deploy.sh');
    await writeFile(script, FAULT_DEPLOY_SH);
    await chmod(script, 0o755);
    // The repository's deploy commands become the fault suite's simulated cluster (absolute argv).
    await repo.deployThrough(script, 'chore: deploy through the fault suite cluster');
    const taskQueue = `faults-${process.pid}-${++runCounter}`;
    return new FaultRun(server, options, repo, dir, taskQueue, environments);
  }

  get client(): Client {
    return this.server.client;
  }

  /** The URL promotions use: the bare repository's path, or git:// once `serveOverNetwork` ran. */
  get remoteUrl(): string {
    // The run's own directory is in the path: runs sharing a dev server must not share a lock, and the
    // lock is keyed by host and path only (a port says how a repository is reached, not which it is).
    return this.daemon
      ? `git://127.0.0.1:${this.daemon.port}/${basename(this.repo.root)}/deployment.git`
      : this.repo.url;
  }

  /**
   * Serves the repository with `git daemon` so an outage is a real network failure (connection
   * refused), not a missing repository (which is bad input, rightly not retried).
   */
  async serveOverNetwork(port?: number): Promise<void> {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const chosen = port ?? (await freePort());
      // Its own process group, no pipes: an outage kills it with every connection it is serving.
      const child = execa(
        'git',
        [
          'daemon',
          '--reuseaddr',
          '--export-all',
          '--enable=receive-pack',
          '--listen=127.0.0.1',
          `--port=${chosen}`,
          `--base-path=${dirname(this.repo.root)}`,
          this.repo.root,
        ],
        { reject: false, stdio: 'ignore', detached: true },
      );
      this.daemon = { port: chosen, process: child };
      const ready = await eventually(
        'git daemon to serve or exit',
        async () => {
          if (child.exitCode !== null) return false;
          const probe = await execa('git', ['ls-remote', this.remoteUrl], { reject: false, timeout: 10_000 });
          return probe.exitCode === 0 ? true : undefined;
        },
        30_000,
        100,
      );
      if (ready) return;
      await this.stopDaemon();
      // Its port was taken between choosing and binding (or, on a restart, not yet released): retry.
      await this.sleep(500);
    }
    throw new Error(`git daemon did not start on ${port ?? 'a fresh port'} after 10 attempts`);
  }

  private async stopDaemon(): Promise<void> {
    const child = this.daemon?.process;
    if (!child?.pid) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await child;
  }

  /** The network outage begins: the daemon and its connections die, new ones are refused. */
  async cutNetwork(): Promise<void> {
    if (!this.daemon) throw new Error('serveOverNetwork first');
    await this.stopDaemon();
  }

  /** The outage ends: the daemon serves again on the same port. */
  async restoreNetwork(): Promise<void> {
    if (!this.daemon) throw new Error('serveOverNetwork first');
    await this.serveOverNetwork(this.daemon.port);
  }

  get label(): string {
    return `${this.options.scenario} [seed ${this.options.seed}]`;
  }

  note(message: string): void {
    this.notes.push(message);
  }

  workerEnv(taskQueue = this.taskQueue): Record<string, string> {
    return {
      TEMPORAL_ADDRESS: this.server.address,
      PROMOTE_TASK_QUEUE: taskQueue,
      PROMOTE_CACHE_DIR: join(this.dir, `cache-${++this.workerCount}`),
      PROMOTE_DEMO_CLUSTER: this.repo.cluster,
      PROMOTE_LOCK_LEASE_MS: '1000',
      // Queued and holding promotions re-assert their lock request this often (a lost lock is rebuilt).
      PROMOTE_LOCK_REASSERT_MS: '2000',
      // The janitor deletes what terminated promotions left (checked by the no-leftovers invariant).
      PROMOTE_JANITOR_INTERVAL_MS: '5000',
      PROMOTE_WORKFLOW_BUNDLE: this.server.workflowBundle,
    };
  }

  /**
   * A `promote worker` on the run's task queue, or on another one of this run (`otherQueue`); `env`
   * adds settings (a Worker Deployment version, a shutdown grace).
   */
  async startWorker(taskQueue = this.taskQueue, env: Record<string, string> = {}): Promise<WorkerProcess> {
    const worker = await WorkerProcess.start({ ...this.workerEnv(taskQueue), ...env });
    this.workers.push(worker);
    return worker;
  }

  /** One worker stopped as a deploy stops it: SIGTERM, and it exits once its running activities end. */
  async stopWorker(worker: WorkerProcess): Promise<void> {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    await worker.stop();
  }

  /**
   * One worker's pod dies (SIGKILL): the worker and the deploy commands it started (its children,
   * each in its own process group), while the run's other workers and their commands keep running.
   */
  async killWorkerWithCommands(worker: WorkerProcess): Promise<void> {
    const pids = await readdir(join(this.repo.cluster, 'pids')).catch(() => [] as string[]);
    const parentOf = async (pid: number) => {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      // Field 4 of /proc/PID/stat, after the parenthesised command name: the parent's pid.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? 0);
    };
    const startedBy = async (pid: number) => {
      for (let p = pid, depth = 0; p > 1 && depth < 5; p = await parentOf(p), depth++) {
        if (p === worker.pid) return true;
      }
      return false;
    };
    const commands: number[] = [];
    for (const pid of pids.map(Number).filter((p) => p > 0)) if (await startedBy(pid)) commands.push(pid);
    // A machine dies all at once: the worker and its commands are killed in one synchronous step, the
    // worker first. Killed one after the other (with awaits between), a live worker would see its
    // deploy command die of SIGKILL and report a failed apply, which no dying machine can do.
    for (const target of [-(worker.pid ?? 0), ...commands.flatMap((pid) => [-pid, pid])]) {
      try {
        if (target !== 0) process.kill(target, 'SIGKILL');
      } catch {
        // Already gone, or not a group leader.
      }
    }
    for (const pid of commands) await rm(join(this.repo.cluster, 'pids', String(pid)), { force: true });
    await this.killWorker(worker);
  }

  /** A second task queue of this run: promotions started on it run on their own workers. */
  get otherQueue(): string {
    return `${this.taskQueue}-b`;
  }

  /** One worker's machine dies (SIGKILL), the others keep running. */
  async killWorker(worker: WorkerProcess): Promise<void> {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    await worker.kill();
  }

  /** The machine dies: SIGKILL to every worker of this run and every deploy command still running. */
  async killMachine(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((w) => w.kill()));
    const pids = await readdir(join(this.repo.cluster, 'pids')).catch(() => [] as string[]);
    for (const pid of pids.map(Number).filter((p) => p > 0)) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // Already gone, or not a group leader.
        }
      }
    }
    await rm(join(this.repo.cluster, 'pids'), { recursive: true, force: true });
  }

  /** Starts a promotion whose end the scenario declares (checked exactly by the invariants). */
  async start(
    request: Omit<PromotionRequest, 'repo'>,
    expect: ExpectedOutcome,
    taskQueue = this.taskQueue,
  ): Promise<string> {
    const handle = await startPromotion(this.client, { repo: this.remoteUrl, ...request }, { taskQueue });
    if (!this.promotions.includes(handle.workflowId)) this.promotions.push(handle.workflowId);
    this.requests.set(handle.workflowId, request);
    this.expected.set(handle.workflowId, expect);
    return handle.workflowId;
  }

  /**
   * A holder and a waiter for staging: `api` 1.5.0 (ending `holderEnds`) holds it waiting for approval,
   * then `web` 2.1.0 (to succeed, started on `waiterQueue`) queues behind it.
   */
  async holderAndWaiter(
    holderEnds: ExpectedOutcome,
    waiterQueue = this.taskQueue,
  ): Promise<{ holder: string; waiter: string }> {
    const holder = await this.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, holderEnds);
    await this.reach(holder, 'staging', ['waiting-approval']);
    const waiter = await this.start({ apps: [{ app: 'web', tag: '2.1.0' }] }, 'succeeded', waiterQueue);
    await this.reach(waiter, 'staging', ['queued']);
    return { holder, waiter };
  }

  /** A person's decision on promotion `id` in `env` (staging unless said), as alice. */
  async decide(id: string, approved: boolean, comment?: string, env = 'staging'): Promise<void> {
    await decide(this.client, id, {
      env,
      approved,
      by: 'alice',
      ...(comment === undefined ? {} : { comment }),
    });
  }

  /**
   * The workflow ids the lock of `env` may have: keyed by the repository however spelled (runs from
   * before that: by the URL as given).
   */
  lockIds(env: string): string[] {
    return [repositoryKey(this.remoteUrl), this.remoteUrl].map((repo) => environmentLockId(repo, env));
  }

  /** An operator terminates the environment lock of `env`; fails when the run has none. */
  async terminateLock(env: string, reason: string): Promise<void> {
    let terminated = false;
    for (const id of this.lockIds(env)) {
      await this.client.workflow
        .getHandle(id)
        .terminate(reason)
        .then(() => (terminated = true))
        .catch(() => undefined);
    }
    if (!terminated) throw new Error(`found no environment lock of ${env} to terminate`);
  }

  async status(id: string): Promise<PromotionState> {
    return getStatus(this.client, id);
  }

  /** The promotions' environments, pending activities and the deploy log, read as close together as can be. */
  async snapshot(): Promise<Snapshot> {
    const environments = new Map<string, Map<string, string>>();
    const activities = new Map<string, string[]>();
    const running = new Set<string>();
    await Promise.all(
      this.promotions.map(async (id) => {
        const [description, state] = await Promise.all([
          this.client.workflow.getHandle(id).describe(),
          this.status(id).catch(() => undefined),
        ]);
        if (description.status.name === 'RUNNING') running.add(id);
        activities.set(
          id,
          (description.raw.pendingActivities ?? []).map((a) => a.activityType?.name ?? '?'),
        );
        environments.set(id, new Map((state?.environments ?? []).map((e) => [e.name, e.status])));
      }),
    );
    return { environments, activities, running, log: await this.repo.deployLog() };
  }

  /** Polls until promotion `id` has `env` in one of `statuses` (the promotion may also have ended). */
  async reach(id: string, env: string, statuses: string[], timeoutMs = 240_000): Promise<PromotionState> {
    return eventually(
      `${id} to reach ${statuses.join('|')} in ${env}`,
      async () => {
        const state = await this.status(id);
        const current = state.environments.find((e) => e.name === env)?.status;
        return current && statuses.includes(current) ? state : undefined;
      },
      timeoutMs,
      50,
    );
  }

  /** Polls the deploy command's own log until a line matches. */
  async logged(pattern: RegExp, timeoutMs = 240_000): Promise<string> {
    return eventually(
      `the deploy log to show ${String(pattern)}`,
      async () => (await this.repo.deployLog()).find((line) => pattern.test(line)),
      timeoutMs,
      50,
    );
  }

  async setFile(name: string, text: string): Promise<void> {
    await writeFile(join(this.repo.cluster, name), text);
  }

  async removeFile(name: string): Promise<void> {
    await rm(join(this.repo.cluster, name), { force: true });
  }

  /** Clears injected slowness and failures, as after an incident. */
  async clearFaults(): Promise<void> {
    for (const file of await readdir(this.repo.cluster)) {
      if (file.startsWith('delay-') || file.startsWith('fail-apply-')) await this.removeFile(file);
    }
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }

  /**
   * Drives every promotion of the run to its end: decides each environment that waits for approval
   * (per `approver`), until all are closed. Terminated ones are closed already.
   */
  async settle(timeoutMs = 360_000): Promise<void> {
    // A lost deploy step is retried after its 60 s heartbeat timeout plus the 2 min back-off (one apply at a
    // time, even across attempts: docs/operations.md), so a SIGKILL during diff or apply settles in minutes.
    const decided = new Set<string>();
    await eventually(
      `every promotion of ${this.label} to end`,
      async () => {
        let open = 0;
        for (const id of this.promotions) {
          const description = await this.client.workflow.getHandle(id).describe();
          if (description.status.name !== 'RUNNING') continue;
          open++;
          const state = await this.status(id).catch(() => undefined);
          for (const env of state?.environments ?? []) {
            const key = `${id}/${env.name}`;
            if (env.status !== 'waiting-approval' || decided.has(key)) continue;
            const approved = this.approver(id, env.name);
            await decide(this.client, id, {
              env: env.name,
              approved,
              by: 'alice',
              ...(approved ? {} : { comment: `rejected by seed ${this.options.seed}` }),
            }).catch((error: unknown) => {
              if (!(error instanceof NotFoundError)) throw error;
            });
            decided.add(key);
          }
        }
        return open === 0 ? true : undefined;
      },
      timeoutMs,
      300,
    );
  }

  /** The next promotion of every environment: a fresh tag, approved everywhere, must succeed. */
  async nextPromotion(app: string, timeoutMs = 150_000): Promise<PromotionState> {
    this.approver = () => true;
    const id = await this.start(
      { apps: [{ app, tag: `9.${this.options.seed % 1000}.${runCounter}` }] },
      'succeeded',
    );
    await this.settle(timeoutMs);
    return waitFinished(this.client, id);
  }

  /**
   * Checks every invariant, runs the next promotion of every environment, checks again, and throws one
   * error naming the scenario, its seed and each violated invariant.
   */
  async verify(options: VerifyOptions = {}): Promise<void> {
    const violations: Violation[] = [];
    const add = (found: Violation[]) => {
      for (const v of found) {
        if (!violations.some((w) => w.invariant === v.invariant && w.detail === v.detail)) violations.push(v);
      }
    };
    try {
      await this.settle(options.settleTimeoutMs);
    } catch (error) {
      add([{ invariant: 'each promotion ended succeeded, rejected or compensated', detail: String(error) }]);
    }
    add(await checkInvariants(this, false));
    if (options.extra) add(await options.extra());
    await this.clearFaults();
    await options.heal?.();
    if (options.startWorker !== false && this.workers.length === 0) await this.startWorker();
    const next = 'the next promotion of every environment completes';
    try {
      const state = await this.nextPromotion(options.nextApp ?? 'web', options.nextTimeoutMs);
      if (state.status !== 'succeeded')
        add([{ invariant: next, detail: `${state.id} ended ${state.status}: ${state.error ?? ''}` }]);
    } catch (error) {
      add([{ invariant: next, detail: String(error) }]);
    }
    add(await checkInvariants(this, true));
    if (violations.length > 0) {
      const lines = violations.map((v) => `  ✗ ${v.invariant}: ${v.detail}`);
      throw new Error(
        `${this.label}: ${violations.length} invariant violation(s)\n${lines.join('\n')}\n` +
          `  faults injected: ${this.notes.join('; ') || 'none'}\n` +
          `  replay: FAULT_SEED=${this.options.seed} npm run test:faults -- -t '${this.options.scenario}'`,
      );
    }
  }

  async dispose(): Promise<void> {
    await this.killMachine();
    await this.stopDaemon();
    for (const id of this.promotions) {
      await this.client.workflow
        .getHandle(id)
        .terminate('fault run finished')
        .catch(() => undefined);
    }
    for (const queue of [this.taskQueue, this.otherQueue]) {
      for await (const execution of this.client.workflow.list({
        query: `TaskQueue = '${queue}' AND ExecutionStatus = 'Running'`,
      })) {
        await this.client.workflow
          .getHandle(execution.workflowId)
          .terminate('fault run finished')
          .catch(() => undefined);
      }
    }
    // Each worker keeps its task queue's janitor schedule: gone with the run, it must not keep firing.
    for (const queue of [this.taskQueue, this.otherQueue]) {
      await this.client.schedule
        .getHandle(janitorScheduleId(queue))
        .delete()
        .catch(() => undefined);
    }
    await this.repo.remove();
    await rm(this.dir, { recursive: true, force: true });
  }
}
