import { beforeAll, describe } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { waitFinished } from '../../client/promotions.js';
import type { Announcement } from '../../activities/notifier.js';
import { createPromoteWorker } from '../../worker/create-worker.js';
import { useFaultServer } from './world.js';

/**
 * A notifier that fails (Slack down, a webhook timing out): announcing is best-effort, so an
 * undelivered announcement must never change what happened to a deployment. The worker runs in this
 * process, because the notifier is a dependency of the worker, not something `promote worker` exposes.
 */
const faults = useFaultServer('notifier');
beforeAll(() => {
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
});

describe('a notifier that fails', () => {
  faults.test(
    'a notifier that fails',
    {},
    async (run) => {
      const server = run.server;
      const cacheDir = await mkdtemp(join(tmpdir(), 'promote-cache-'));
      const connection = await NativeConnection.connect({ address: server.address });
      try {
        // Seeded: which outcomes fail to be announced; every announcement fails at least once.
        const failing = new Set<Announcement['outcome']>(['deployed', 'rejected', 'failed']);
        const failAlways = run.random.chance(0.5);
        run.note(
          `announcements of ${[...failing].join(', ')} fail ${failAlways ? 'every time' : 'on the first try'}`,
        );
        const attempts = new Map<string, number>();
        let broken = true;
        const worker = await createPromoteWorker({
          connection,
          client: run.client,
          namespace: 'default',
          taskQueue: run.taskQueue,
          cacheDir,
          lockLeaseMs: 1_000,
          // The file's pre-built bundle (source maps are inline in it).
          workflowBundle: { code: await readFile(server.workflowBundle, 'utf8'), sourceMap: '' },
          notifier: {
            announce: (a) => {
              const key = `${a.promotionId}/${a.env}/${a.outcome}`;
              const n = (attempts.get(key) ?? 0) + 1;
              attempts.set(key, n);
              if (broken && failing.has(a.outcome) && (failAlways || n === 1))
                return Promise.reject(new Error(`chat service unavailable (attempt ${n})`));
              return Promise.resolve();
            },
          },
        });
        await worker.runUntil(async () => {
          const approved = await run.start({ apps: [{ app: 'api', tag: '1.5.0' }] }, 'succeeded');
          const rejected = await run.start({ apps: [{ app: 'web', tag: '2.1.0' }] }, 'rejected');
          run.approver = (id) => id === approved;
          await run.verify({
            startWorker: false,
            nextApp: 'api',
            // The chat service is back for the next promotion.
            heal: () => {
              broken = false;
            },
            extra: async () => {
              const outcomes = [
                [approved, 'succeeded'],
                [rejected, 'rejected'],
              ] as const;
              const found = [];
              for (const [id, wanted] of outcomes) {
                const state = await waitFinished(run.client, id);
                if (state.status !== wanted)
                  found.push({
                    invariant: 'a notifier never changes a deployment’s outcome',
                    detail: `${id} ended ${state.status}, not ${wanted}: ${state.error ?? ''}`,
                  });
              }
              return found;
            },
          });
        });
      } finally {
        await connection.close();
        await rm(cacheDir, { recursive: true, force: true });
      }
    },
    'alone',
  );
});
