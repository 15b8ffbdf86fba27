import { describe, expect, it } from '@jest/globals';
import { decide, getStatus, waitFinished } from '../client/promotions.js';
import type { EnvironmentState, PromotionState } from '../common/types.js';
import { decideSignal } from '../common/definitions.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { startTagPromotion } from './support/requests.js';

/** Issue 19: who approved is checked against who asked, and a quorum needs distinct people. */
const suite = useTemporal();

function staging(state: PromotionState): EnvironmentState {
  const env = state.environments.find((e) => e.name === 'staging');
  if (!env) throw new Error('no staging in the promotion');
  return env;
}

/** Waits until staging asks for approval of `commit`-other-than `not` (a rebuilt proposal). */
function waiting(id: string, not?: string): Promise<PromotionState> {
  return eventually(`${id} to wait for approval in staging`, async () => {
    const state = await getStatus(suite.temporal.client, id);
    const env = staging(state);
    return env.status === 'waiting-approval' && env.commit && env.commit !== not ? state : undefined;
  });
}

const groups = 'approverGroups:\n  leads: [alice, bob, carol]\n';

describe('self-approval', () => {
  it('refuses the requester and the CI actor, on the CLI and as a signal, and takes someone else', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'staging', approval: 'manual' }] });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[]) =>
        promoteCli(args, {
          address: suite.temporal.address,
          taskQueue,
          env: { PROMOTE_USER: 'alice', GITHUB_ACTOR: 'carol' },
        });
      const started = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--json']);
      expect(started).toMatchObject({ code: 0 });
      const { id } = JSON.parse(started.stdout) as { id: string };
      const shown = await waiting(id);
      expect(shown).toMatchObject({ requestedBy: 'alice', ciActor: 'carol' });

      for (const who of ['alice', 'carol']) {
        const own = await cli(['approve', id, '--env', 'staging', '--as', who]);
        expect(own.code).toBe(2);
        expect(own.stderr).toContain(`${who} started this promotion and may not approve it`);
      }
      // A signal cannot be refused, only ignored: the later approval by bob is the one that counts.
      const handle = suite.temporal.client.workflow.getHandle(id);
      const commit = staging(shown).commit;
      await handle.signal(decideSignal, { env: 'staging', approved: true, by: 'alice', commit });
      await handle.signal(decideSignal, { env: 'staging', approved: true, by: 'bob', commit });

      const final = await waitFinished(suite.temporal.client, id);
      expect(final.status).toBe('succeeded');
      expect(staging(final).decisions).toEqual([
        expect.objectContaining({ approved: true, by: 'bob', via: 'cli-declared', commit }),
      ]);
      expect(await repo.live('staging')).toContain('tag: "1.5.0"');
    });
  });

  it('lets the requester approve where allowSelfApproval is set', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'staging', approval: 'manual', allowSelfApproval: true }],
    });
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[]) =>
        promoteCli(args, { address: suite.temporal.address, taskQueue, env: { PROMOTE_USER: 'alice' } });
      const started = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--json']);
      const { id } = JSON.parse(started.stdout) as { id: string };
      await waiting(id);
      expect(await cli(['approve', id, '--env', 'staging'])).toMatchObject({ code: 0 });
      const final = await waitFinished(suite.temporal.client, id);
      expect(final.status).toBe('succeeded');
      expect(staging(final).decision).toMatchObject({ approved: true, by: 'alice' });
    });
  });
});

/** staging needs two approvals from the leads group. */
function quorumOfTwoLeadsRepo(): Promise<TestRepo> {
  return TestRepo.create({
    environments: [{ name: 'staging', approval: 'manual', approvers: ['leads'], minApprovals: 2 }],
    extraConfig: groups,
  });
}

/**
 * api to 1.5.0, requested by ci-bot, waiting in staging for a quorum of two leads; `test` gets the
 * repository, the worker's task queue, the promotion's id and the commit it waits on.
 */
async function whileQuorumWaits(
  test: (promotion: {
    repo: TestRepo;
    taskQueue: string;
    id: string;
    commit: string | undefined;
  }) => Promise<void>,
): Promise<void> {
  const repo = await quorumOfTwoLeadsRepo();
  await suite.temporal.withWorker(async ({ taskQueue }) => {
    const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo.url, {
      requestedBy: 'ci-bot',
    });
    const id = handle.workflowId;
    await test({ repo, taskQueue, id, commit: staging(await waiting(id)).commit });
  });
}

describe('a quorum of two', () => {
  it('is reached only by two distinct people of the group, each shown in status and the audit trail', async () => {
    await whileQuorumWaits(async ({ taskQueue, id, commit }) => {
      const client = suite.temporal.client;
      const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });

      await expect(
        decide(client, id, { env: 'staging', approved: true, by: 'mallory', commit }),
      ).rejects.toThrow(/mallory may not decide for staging: its approvers are alice, bob, carol/);
      expect(await cli(['approve', id, '--env', 'staging', '--as', 'alice'])).toMatchObject({ code: 0 });
      const once = await cli(['approve', id, '--env', 'staging', '--as', 'alice']);
      expect(once.code).toBe(2);
      expect(once.stderr).toMatch(
        /alice already approved staging: it needs 2 approvals from distinct people/,
      );

      const half = await getStatus(client, id);
      expect(staging(half)).toMatchObject({ status: 'waiting-approval', minApprovals: 2 });
      expect(staging(half).decision).toBeUndefined();
      const text = await cli(['status', id]);
      expect(text.stdout).toContain('1 of 2 approvals (alice)');

      expect(await cli(['approve', id, '--env', 'staging', '--as', 'bob'])).toMatchObject({ code: 0 });
      const final = await waitFinished(client, id);
      expect(final.status).toBe('succeeded');
      expect(staging(final).decisions?.map((d) => [d.by, d.via, d.commit])).toEqual([
        ['alice', 'cli-declared', commit],
        ['bob', 'cli-declared', commit],
      ]);

      const audit = await cli(['audit', id, '--json']);
      expect(audit.code).toBe(0);
      const trail = JSON.parse(audit.stdout) as {
        requestedBy: string;
        environments: { env: string; decisions: { by: string; via: string; commit: string }[] }[];
      };
      expect(trail.requestedBy).toBe('ci-bot');
      expect(trail.environments[0]?.decisions).toEqual([
        expect.objectContaining({
          by: 'alice',
          via: 'cli-declared',
          commit,
          verification: expect.anything(),
        }),
        expect.objectContaining({ by: 'bob', via: 'cli-declared', commit }),
      ]);
      const human = await cli(['audit', id]);
      expect(human.stdout).toMatch(/approved by alice via cli-declared at [0-9a-f]{12}/);
    });
  });

  it('ends with a rejection by any one approver', async () => {
    await whileQuorumWaits(async ({ repo, id, commit }) => {
      const client = suite.temporal.client;
      await decide(client, id, { env: 'staging', approved: true, by: 'alice', commit });
      await decide(client, id, {
        env: 'staging',
        approved: false,
        by: 'carol',
        comment: 'not on a Friday',
        commit,
      });
      const final = await waitFinished(client, id);
      expect(final.status).toBe('rejected');
      expect(staging(final).decision).toMatchObject({ approved: false, by: 'carol' });
      expect(staging(final).decisions?.map((d) => [d.by, d.approved])).toEqual([
        ['alice', true],
        ['carol', false],
      ]);
      expect(await repo.live('staging')).not.toContain('1.5.0');
    });
  });

  it('is asked afresh for a rebuilt proposal', async () => {
    await whileQuorumWaits(async ({ repo, id, commit: stale }) => {
      const client = suite.temporal.client;
      // The very line the proposal changes moves on the deployment branch: landing must rebuild.
      await repo.editFile('environments/staging.yaml', 'tag: "1.4.0"', 'tag: "1.4.1"', 'hotfix api');
      await decide(client, id, { env: 'staging', approved: true, by: 'alice', commit: stale });
      await decide(client, id, { env: 'staging', approved: true, by: 'bob', commit: stale });

      const rebuilt = staging(await waiting(id, stale));
      expect(rebuilt.proposal?.rebuilds).toBe(1);
      expect(rebuilt.decision).toBeUndefined();
      // alice's approval of the old commit does not count for the new one: she may approve again.
      await decide(client, id, { env: 'staging', approved: true, by: 'alice', commit: rebuilt.commit });
      const half = staging(await getStatus(client, id));
      expect(half.status).toBe('waiting-approval');
      await decide(client, id, { env: 'staging', approved: true, by: 'carol', commit: rebuilt.commit });

      const final = await waitFinished(client, id);
      expect(final.status).toBe('succeeded');
      expect(staging(final).decisions?.map((d) => [d.by, d.commit])).toEqual([
        ['alice', stale],
        ['bob', stale],
        ['alice', rebuilt.commit],
        ['carol', rebuilt.commit],
      ]);
    });
  });
});
