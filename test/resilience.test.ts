import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { decide, getStatus, startPromotion, waitFinished, waitForApproval } from '../client/promotions.js';
import type { DevServer } from '../server/dev-server.js';
import { startTestDevServer } from './support/dev-server.js';
import { TestRepo } from './support/repo.js';
import { envStatus, eventually } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';

/**
 * Real process failures: the worker is `promote worker` in its own process group and gets SIGKILLed
 * mid-step; the dev server is stopped and started again on the same database file.
 */

let repo: TestRepo | undefined;
let server: DevServer | undefined;
let dir: string | undefined;
const workers: WorkerProcess[] = [];
let connection: Connection | undefined;

afterEach(async () => {
  for (const w of workers.splice(0)) await w.kill().catch(() => undefined);
  await connection?.close();
  await server?.stop();
  await repo?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function setUp(options: Parameters<typeof TestRepo.create>[0]) {
  repo = await TestRepo.create(options);
  dir = await mkdtemp(join(tmpdir(), 'promote-resilience-'));
  const dbFile = join(dir, 'temporal.db');
  server = await startTestDevServer({ dbFile });
  const port = Number(server.address.split(':').pop());
  connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  let n = 0;
  const env = (): Record<string, string> => ({
    TEMPORAL_ADDRESS: server?.address ?? '',
    PROMOTE_TASK_QUEUE: 'resilience',
    PROMOTE_CACHE_DIR: join(dir ?? '', `cache-${++n}`),
    PROMOTE_DEMO_CLUSTER: repo?.cluster ?? '',
    PROMOTE_LOCK_LEASE_MS: '1000',
    PROMOTE_LOCK_REASSERT_MS: '3000',
    PROMOTE_SHUTDOWN_GRACE_MS: '10000',
  });
  const startWorker = async () => {
    const worker = await WorkerProcess.start(env());
    workers.push(worker);
    return worker;
  };
  const restartServer = async () => {
    await server?.stop();
    server = await startTestDevServer({ dbFile, port });
  };
  return { client, startWorker, restartServer };
}

describe('a worker killed mid-apply', () => {
  async function promoteAndKill(killApplyToo: boolean) {
    const { client, startWorker } = await setUp({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'auto' },
      ],
    });
    await writeFile(join(repo!.cluster, 'slow-apply'), '3');
    const first = await startWorker();
    const handle = await startPromotion(
      client,
      { repo: repo!.url, apps: [{ app: 'api', tag: '1.5.0' }] },
      { taskQueue: 'resilience' },
    );
    await envStatus(client, handle.workflowId, 'dev', 'applying');
    await eventually('apply to start', async () => ((await repo!.deployLog()).length > 0 ? true : undefined));

    await first.kill();
    if (killApplyToo) await repo!.killApply();
    await startWorker();
    const final = await waitFinished(client, handle.workflowId);

    expect(final.status).toBe('succeeded');
    // No duplicate commit: the retried bump found its own by its trailers.
    expect((await repo!.commits()).map((c) => c.subject)).toEqual([
      'feat(staging): update api to 1.5.0',
      'feat(dev): update api to 1.5.0',
      'chore: deployment repository for the shop services',
    ]);
    expect(await repo!.live('dev')).toBe(await repo!.file('environments/dev.yaml'));
    expect(await repo!.live('staging')).toBe(await repo!.file('environments/staging.yaml'));
    return (await repo!.deployLog()).map((l) => l.split(' ').slice(1, 3).join(' '));
  }

  it('applies again when the machine died with the apply (it never finished)', async () => {
    expect(await promoteAndKill(true)).toEqual([
      'start dev',
      'start dev',
      'done dev',
      'start staging',
      'done staging',
    ]);
    // A lost apply is retried only after its heartbeat timeout and retry interval (docs/operations.md).
  }, 600_000);

  it('does not apply again when the apply outlived its worker and finished', async () => {
    // deploy.status reports the commit as live, so the retried activity skips the apply.
    expect(await promoteAndKill(false)).toEqual(['start dev', 'done dev', 'start staging', 'done staging']);
  }, 600_000);
});

describe('the dev server restarted mid-promotion', () => {
  it('keeps the promotion, which continues from where it waited', async () => {
    const { client, startWorker, restartServer } = await setUp({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual' },
      ],
    });
    await startWorker();
    const handle = await startPromotion(
      client,
      { repo: repo!.url, apps: [{ app: 'web', tag: '2.1.0' }] },
      { taskQueue: 'resilience' },
    );
    await waitForApproval(client, handle.workflowId, 'staging');
    const before = await repo!.commits();

    await restartServer();
    await eventually(
      'the promotion to be readable again',
      async () => (await getStatus(client, handle.workflowId)).status,
    );
    await decide(client, handle.workflowId, { env: 'staging', approved: true, by: 'carol' });
    const final = await waitFinished(client, handle.workflowId);

    expect(final.status).toBe('succeeded');
    expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
    // Approval was the only step left: the approved proposal landed, nothing was repeated.
    const after = await repo!.commits();
    expect(after.slice(1)).toEqual(before);
    expect(after[0]?.subject).toBe('feat(staging): update web to 2.1.0');
    expect(await repo!.live('staging')).toContain('tag: "2.1.0"');
  });
});

describe('twenty promotions at once against the same environments', () => {
  it('never overlap their applies, lose none, and leave Git and the cluster in agreement, despite a SIGKILL', async () => {
    const apps = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`svc${String(i + 1).padStart(2, '0')}`, '1.0.0']),
    );
    const { client, startWorker } = await setUp({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual' },
      ],
      apps,
    });
    const doomed = await startWorker();
    await startWorker();
    const handles = await Promise.all(
      Object.keys(apps).map((app) =>
        startPromotion(
          client,
          { repo: repo!.url, apps: [{ app, tag: '2.0.0' }] },
          { taskQueue: 'resilience' },
        ),
      ),
    );
    const approve = (app: string) => Number(app.slice(3)) % 4 !== 0; // every fourth is rejected
    let killed = false;
    const decided = new Set<string>();
    await eventually(
      'every promotion to finish',
      async () => {
        const states = await Promise.all(handles.map((h) => getStatus(client, h.workflowId)));
        for (const state of states) {
          const app = state.apps[0]?.app ?? '';
          if (state.environments[1]?.status === 'waiting-approval' && !decided.has(state.id)) {
            decided.add(state.id);
            await decide(client, state.id, {
              env: 'staging',
              approved: approve(app),
              by: 'carol',
              ...(approve(app) ? {} : { comment: 'not this one' }),
            });
          }
        }
        if (!killed && decided.size >= 5) {
          killed = true;
          await doomed.kill();
          await startWorker();
        }
        return states.every((s) => ['succeeded', 'rejected', 'failed', 'cancelled'].includes(s.status))
          ? states
          : undefined;
      },
      // The killed worker's apply, if any, is retried only after heartbeat timeout + retry interval.
      580_000,
      // Twenty status reads per round: poll gently so the test does not starve the workers on 2 cores.
      1_000,
    ).then((states) => {
      for (const state of states) {
        const app = state.apps[0]?.app ?? '';
        expect([state.id, state.status]).toEqual([state.id, approve(app) ? 'succeeded' : 'rejected']);
      }
    });

    // The deploy command's own log: per environment, every start is followed by its own end.
    const log = await repo!.deployLog();
    for (const env of ['dev', 'staging']) {
      const events = log.map((l) => l.split(' ')).filter((p) => p[2] === env);
      for (let i = 0; i < events.length; i++) {
        const [, event, , commit] = events[i] ?? [];
        if (event === 'start') {
          const next = events[i + 1];
          // The only start without its done is one the SIGKILL cut short; its retry starts next.
          if (next?.[1] !== 'done') expect([next?.[1], next?.[3]]).toEqual(['start', commit]);
          else expect(next[3]).toBe(commit);
        }
      }
    }
    const devValues = await repo!.file('environments/dev.yaml');
    const stagingValues = await repo!.file('environments/staging.yaml');
    for (const app of Object.keys(apps)) {
      const block = (text: string) =>
        text.slice(text.indexOf(`${app}:`), text.indexOf('replicas', text.indexOf(`${app}:`)));
      expect(block(devValues)).toContain('tag: "2.0.0"');
      expect(block(stagingValues)).toContain(approve(app) ? 'tag: "2.0.0"' : 'tag: "1.0.0"');
    }
    expect(await repo!.live('dev')).toBe(devValues);
    expect(await repo!.live('staging')).toBe(stagingValues);
    const subjects = (await repo!.commits()).map((c) => c.subject);
    expect(subjects.filter((s) => s.startsWith('feat(dev)'))).toHaveLength(20);
    // Staging proposes: only the 15 approved bumps reach the branch, and rejections leave no revert.
    expect(subjects.filter((s) => s.startsWith('feat(staging)'))).toHaveLength(15);
    expect(subjects.filter((s) => s.startsWith('revert('))).toHaveLength(0);
    expect(await repo!.branches()).toEqual(['main']);
  }, 600_000);
});
