import { describe, expect, it } from '@jest/globals';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getStatus } from '../client/promotions.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';
import { approveToSuccess } from './support/approve.js';

/**
 * A holder terminated while its bump is being pushed: its push must not land after the lock moved on
 * (reverted nothing, granted the next one), where it would ride along into the next apply or sit on
 * the branch unapproved.
 */
const suite = useTemporal();
const MANUAL = { approval: 'manual', proposals: false } as const;

/**
 * A pre-receive hook that holds every push open until released and records each push's hook process,
 * so the test can wait until no push is in flight (a push killed with its git process included).
 */
async function holdPushes(repo: TestRepo) {
  const marker = (name: string) => join(repo.root, name);
  const hook = join(repo.url, 'hooks', 'pre-receive');
  await writeFile(
    hook,
    [
      '#!/bin/sh',
      `echo $$ >> '${marker('push-started')}'`,
      `while [ ! -f '${marker('push-release')}' ]; do sleep 0.05; done`,
      '',
    ].join('\n'),
  );
  await chmod(hook, 0o755);
  const pids = async () =>
    existsSync(marker('push-started'))
      ? (await readFile(marker('push-started'), 'utf8')).trim().split('\n').map(Number)
      : [];
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    started: async () => (await pids()).length,
    inFlight: async () => (await pids()).filter(alive).length,
    release: () => writeFile(marker('push-release'), ''),
  };
}

describe('a holder terminated while its bump is being pushed', () => {
  it('never gets its push onto the branch after the lock moved on', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    expect(await repo.file('environments/staging.yaml')).not.toContain('tag: "1.5.0"');
    const client = suite.temporal.client;
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const pushes = await holdPushes(repo);
        const start = (app: string, tag: string) => startTagPromotion(client, taskQueue, repo, { app, tag });
        const holder = await start('api', '1.5.0');
        await eventually('the bump to start pushing', async () =>
          (await pushes.started()) > 0 ? true : undefined,
        );
        const next = await start('web', '2.1.0');
        await eventually('the next one to queue', async () => {
          const state = await getStatus(client, next.workflowId);
          return state.environments[0]?.status === 'queued' ? state : undefined;
        });

        await client.workflow.getHandle(holder.workflowId).terminate('operator terminated it mid-push');
        // The lock finds the holder gone and moves on: the next one's bump starts pushing too.
        await eventually('the next one to be granted', async () => {
          const state = await getStatus(client, next.workflowId);
          return ['bumping', 'diffing', 'waiting-approval'].includes(state.environments[0]?.status ?? '')
            ? state
            : undefined;
        });
        await pushes.release();

        await approveToSuccess(client, next.workflowId, 'staging', 'carol');
        await eventually('no push in flight', async () =>
          (await pushes.inFlight()) === 0 ? true : undefined,
        );

        // The terminated holder's tag is neither on the branch nor deployed.
        const values = await repo.file('environments/staging.yaml');
        expect(values).toContain('tag: "2.1.0"');
        expect(values).not.toContain('tag: "1.5.0"');
        expect(await repo.live('staging')).not.toContain('tag: "1.5.0"');
      },
      // The lock waits out the git step's heartbeat timeout (30 s) before it moves on.
      { lockDrainMs: 40_000 },
    );
  });
});
