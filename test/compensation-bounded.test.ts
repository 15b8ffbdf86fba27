import { describe, expect, it } from '@jest/globals';
import { decide, getStatus, startPromotion, waitFinished, waitForApproval } from '../client/promotions.js';
import type { PromotionRequest, PromotionState } from '../common/types.js';
import { cliOn, flags } from './support/cli.js';
import { SlackApiStandIn } from './support/slack-api.js';
import { slackNotifier } from './support/slack-notifier.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { envStatus, eventually } from './support/wait.js';
import { holderThenQueued, promotionRequest } from './support/requests.js';

/**
 * A compensation that can never succeed — the deployment branch refuses the revert for good — must not
 * hold the environment for days: it retries within a bounded budget (or until an operator gives up),
 * then the environment ends `compensation-failed`, the lock is released, an alert goes out and the
 * status says what a person must still do.
 */
const suite = useTemporal();
let repo: TestRepo;

// A manual environment held through its approval (proposals: false): rejecting it reverts the bump.
const MANUAL = { approval: 'manual', proposals: false } as const;

const request = (overrides: Partial<PromotionRequest> = {}) => promotionRequest(repo, overrides);

const staging = (state: PromotionState) => state.environments.find((e) => e.name === 'staging');

/** Branch protection refuses the revert, then carol rejects the promotion holding staging. */
async function rejectWithRevertsRefused(id: string): Promise<void> {
  await repo.refuseReverts();
  await decide(suite.temporal.client, id, {
    env: 'staging',
    approved: false,
    by: 'carol',
    comment: 'not today',
  });
}

/** Holds staging, rejected: a second promotion (web) queues behind it. */
async function heldThenRejected(taskQueue: string) {
  const { first, second } = await holderThenQueued(suite.temporal.client, taskQueue, request());
  await rejectWithRevertsRefused(first.workflowId);
  return { first, second };
}

describe('compensation that can never succeed', () => {
  it('ends compensation-failed within its budget, releases the environment and names what is left', async () => {
    repo = await TestRepo.create({ environments: [{ name: 'staging', ...MANUAL }] });
    await suite.temporal.withWorker(
      async ({ taskQueue, announcements }) => {
        const { first, second } = await heldThenRejected(taskQueue);

        const ended = await waitFinished(suite.temporal.client, first.workflowId);
        expect(ended.status).toBe('rejected');
        const env = staging(ended);
        expect(env?.status).toBe('compensation-failed');
        expect(env?.revertCommit).toBeUndefined();
        // What a person must still do: the bump's commit, the file and the values to restore.
        expect(env?.compensation?.left).toContain(env?.commit?.slice(0, 12) ?? 'no commit');
        expect(env?.compensation?.left).toContain('environments/staging.yaml');
        expect(env?.compensation?.left).toContain('api 1.4.0');
        expect(env?.compensation?.error).toContain('protected branch');
        expect(env?.compensation?.abandoned).toBeUndefined();
        expect(ended.error).toContain('compensation failed');
        // The alert: an announcement of its own, naming what is left.
        const alert = announcements.find((a) => a.outcome === 'compensation-failed');
        expect(alert?.env).toBe('staging');
        expect(alert?.detail).toContain('environments/staging.yaml');

        // The environment is free again: the next promotion proceeds.
        await waitForApproval(suite.temporal.client, second.workflowId, 'staging');
        await decide(suite.temporal.client, second.workflowId, {
          env: 'staging',
          approved: true,
          by: 'carol',
        });
        expect((await waitFinished(suite.temporal.client, second.workflowId)).status).toBe('succeeded');
        const subjects = (await repo.commits()).map((c) => c.subject);
        expect(subjects.slice(0, 2)).toEqual([
          'feat(staging): update web to 2.1.0',
          'feat(staging): update api to 1.5.0',
        ]);

        // The text view says it too.
        const text = await cliOn(suite.temporal.address, taskQueue)(['status', first.workflowId]);
        expect(text.stdout).toContain('compensation-failed');
        expect(text.stdout).toContain('left for a person');
      },
      { compensationRetryMs: 4_000 },
    );
  });

  it('alerts in Slack: a reply in the promotion thread, broadcast to the channel, naming what is left', async () => {
    const slack = await new SlackApiStandIn('xoxb-0000000000-test-token').start();
    try {
      repo = await TestRepo.create({
        environments: [{ name: 'staging', ...MANUAL }],
        extraConfig: "notifications:\n  slack:\n    channel: '#deploys'\n",
      });
      const notifier = slackNotifier(slack);
      await suite.temporal.withWorker(
        async ({ taskQueue }) => {
          const { first } = await heldThenRejected(taskQueue);
          await waitFinished(suite.temporal.client, first.workflowId);
          const alert = slack.messages.find((m) => m.text.startsWith('Action needed in staging'));
          expect(alert?.threadTs).toBeDefined();
          expect(alert?.broadcast).toBe(true);
          expect(JSON.stringify(alert?.blocks)).toContain('environments/staging.yaml');
        },
        { compensationRetryMs: 3_000, notifier },
      );
    } finally {
      await slack.stop();
    }
  });

  it('can be abandoned by an operator, who is recorded with the reason', async () => {
    repo = await TestRepo.create({
      environments: [
        { name: 'staging', ...MANUAL },
        { name: 'prod', ...MANUAL },
      ],
    });
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const cli = cliOn(suite.temporal.address, taskQueue);
        const first = await startPromotion(suite.temporal.client, request({ to: 'staging' }), { taskQueue });
        // The operator dana abandons the first promotion's compensation in `env`, saying why.
        const abandon = (env: string, reason: string) =>
          cli(['abandon', first.workflowId, ...flags({ env, reason, as: 'dana' })]);
        await waitForApproval(suite.temporal.client, first.workflowId, 'staging');
        // Nothing to abandon while it waits for approval: bad input, nothing changed.
        const early = await abandon('staging', 'x');
        expect(early.code).toBe(2);
        expect(early.stderr).toContain('is not compensating');

        const second = await startPromotion(
          suite.temporal.client,
          request({ apps: [{ app: 'web', tag: '2.1.0' }], to: 'staging' }),
          { taskQueue },
        );
        await envStatus(suite.temporal.client, second.workflowId, 'staging', 'queued');
        await rejectWithRevertsRefused(first.workflowId);
        await eventually('staging to be compensating', async () => {
          const env = staging(await getStatus(suite.temporal.client, first.workflowId));
          return env?.compensation && !env.compensation.left ? env : undefined;
        });
        // The budget (an hour) is far away: nobody would see this end today without an operator.
        expect(staging(await getStatus(suite.temporal.client, second.workflowId))?.status).toBe('queued');

        const noReason = await abandon('staging', ' ');
        expect(noReason.code).toBe(2);
        const wrongEnv = await abandon('prod', 'x');
        expect(wrongEnv.code).toBe(2);
        expect(wrongEnv.stderr).toContain('prod');

        const given = await abandon('staging', 'branch protection; reverting by hand in PR 42');
        expect(given.stderr).toBe('');
        expect(given.code).toBe(0);
        expect(given.stdout).toContain('dana');

        await waitFinished(suite.temporal.client, first.workflowId);
        const shown = await cli(['status', first.workflowId, '--json']);
        expect(shown.code).toBe(0);
        const env = staging(JSON.parse(shown.stdout) as PromotionState);
        expect(env?.status).toBe('compensation-failed');
        expect(env?.compensation?.abandoned).toMatchObject({
          by: 'dana',
          reason: 'branch protection; reverting by hand in PR 42',
        });
        expect(env?.compensation?.left).toContain('environments/staging.yaml');

        // Released: the queued promotion gets staging.
        await waitForApproval(suite.temporal.client, second.workflowId, 'staging');
      },
      { compensationRetryMs: 60 * 60_000 },
    );
  });
});
