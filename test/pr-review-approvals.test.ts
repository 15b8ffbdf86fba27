import { afterEach, describe, expect, it } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { decide, getStatus, waitFinished } from '../client/promotions.js';
import { startGitHubReceiver, type RunningGitHubReceiver } from '../client/github-receiver.js';
import type { EnvironmentState, PromotionState } from '../common/types.js';
import { pullRequestReviewSignal } from '../common/definitions.js';
import { promoteCli } from './support/cli.js';
import { GitHubStandIn } from './support/github-standin.js';
import { gitHubTestRepo, startGitHubPromotion } from './support/github-repo.js';
import { startTagPromotion } from './support/requests.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';

/** Issue 19 item 4: pull request reviews on GitHub as approvals, read by the worker, never taken on trust. */
const suite = useTemporal();
const SECRET = 'webhook-secret-for-tests';
let github: GitHubStandIn | undefined;
let receiver: RunningGitHubReceiver | undefined;
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
  await github?.stop();
  github = undefined;
});

/** A deployment repository on the GitHub stand-in; staging is manual, its approvers mapped to logins. */
async function gitHubRepo(options: { minApprovals?: number; reviewPoll: string }) {
  const made = await gitHubTestRepo(
    {
      environments: [
        { name: 'dev', approval: 'auto' },
        {
          name: 'staging',
          approval: 'manual',
          approvers: ['alice', 'bob'],
          ...(options.minApprovals ? { minApprovals: options.minApprovals } : {}),
        },
      ],
      extraConfig: `github:\n  users: { alice: alice-gh, bob: Bob-GH }\n  reviewPoll: ${options.reviewPoll}\n`,
    },
    'reviews',
  );
  github = made.github;
  return { ...made, standIn: made.github };
}

/** A test on a fresh GitHub deployment repository (see gitHubRepo) with a worker using its stand-in. */
async function onGitHubRepo(
  options: Parameters<typeof gitHubRepo>[0],
  body: (
    ctx: Awaited<ReturnType<typeof gitHubRepo>> & { taskQueue: string; client: Client },
  ) => Promise<void>,
): Promise<void> {
  const made = await gitHubRepo(options);
  await suite.temporal.withWorker(
    ({ taskQueue }) => body({ ...made, taskQueue, client: suite.temporal.client }),
    { github: made.factory },
  );
}

/** Starts the GitHub webhook receiver (stopped after the test) and returns the address deliveries go to. */
async function startWebhookReceiver(): Promise<string> {
  receiver = await startGitHubReceiver({ client: suite.temporal.client, secret: SECRET }, 0);
  return `http://127.0.0.1:${receiver.port}/github/webhook`;
}

function staging(state: PromotionState): EnvironmentState {
  const env = state.environments.find((e) => e.name === 'staging');
  if (!env) throw new Error('no staging in the promotion');
  return env;
}

function waitingWithPull(id: string): Promise<PromotionState> {
  return eventually(`${id} to wait for approval on a pull request`, async () => {
    const state = await getStatus(suite.temporal.client, id);
    const env = staging(state);
    return env.status === 'waiting-approval' && env.proposal?.pullRequest !== undefined ? state : undefined;
  });
}

describe('pull request reviews as approvals', () => {
  it('counts approving reviews at the head by mapped logins, delivered by signed webhooks only', () =>
    onGitHubRepo(
      { minApprovals: 2, reviewPoll: 'off' },
      async ({ repo, spec, standIn, taskQueue, client }) => {
        const hook = await startWebhookReceiver();
        const handle = await startGitHubPromotion(client, taskQueue, spec);
        const id = handle.workflowId;
        const shown = staging(await waitingWithPull(id));
        const pr = shown.proposal?.pullRequest ?? 0;
        const head = shown.commit;

        // A delivery signed with another secret, or not signed: 401, and nothing reaches the promotion.
        const forged = await standIn.submitReview(pr, { login: 'alice-gh', state: 'APPROVED' });
        expect(
          await GitHubStandIn.deliverWebhook(hook, 'pull_request_review', forged.payload, 'guess'),
        ).toMatchObject({
          status: 401,
        });
        expect(
          await GitHubStandIn.deliverWebhook(hook, 'pull_request_review', forged.payload, undefined),
        ).toMatchObject({ status: 401 });
        // Ignored: an approval by a login nobody mapped, one given at an older head, a nudge naming a
        // review GitHub does not have, and a decide claiming to be a review.
        const unmapped = await standIn.submitReview(pr, { login: 'mallory', state: 'APPROVED' });
        const stale = await standIn.submitReview(pr, {
          login: 'bob-gh',
          state: 'APPROVED',
          commitId: shown.proposal?.base ?? '',
        });
        for (const { payload } of [unmapped, stale]) {
          const delivered = await GitHubStandIn.deliverWebhook(hook, 'pull_request_review', payload, SECRET);
          expect(delivered).toMatchObject({ status: 202 });
          expect(JSON.parse(delivered.body)).toEqual({ nudged: [id] });
        }
        await handle.signal(pullRequestReviewSignal, { pullRequest: pr, reviewId: 424242 });
        await expect(
          decide(client, id, {
            env: 'staging',
            approved: true,
            by: 'bob',
            commit: head,
            via: 'github-review',
          }),
        ).rejects.toThrow(/via must be one of cli-declared, slack/);

        // alice approves at the head: one of two approvals, from the review the worker read.
        const approved = await standIn.submitReview(pr, { login: 'alice-gh', state: 'APPROVED' });
        await GitHubStandIn.deliverWebhook(hook, 'pull_request_review', approved.payload, SECRET);
        const partial = await eventually('alice to count', async () => {
          const env = staging(await getStatus(client, id));
          return env.decisions?.length ? env : undefined;
        });
        expect(partial.status).toBe('waiting-approval');
        expect(partial.decisions).toEqual([
          expect.objectContaining({
            approved: true,
            by: 'alice',
            via: 'github-review',
            commit: head,
            review: expect.objectContaining({ id: approved.review.id, pullRequest: pr, login: 'alice-gh' }),
          }),
        ]);
        expect(partial.decisions?.[0]?.review?.url).toContain(`#pullrequestreview-${approved.review.id}`);

        // bob (Bob-GH in promote.yaml: logins are case-insensitive) completes the quorum: it lands.
        const second = await standIn.submitReview(pr, { login: 'bob-gh', state: 'APPROVED' });
        await GitHubStandIn.deliverWebhook(hook, 'pull_request_review', second.payload, SECRET);
        const final = await waitFinished(client, id);
        expect(final.status).toBe('succeeded');
        expect(staging(final).decisions?.map((d) => [d.by, d.via, d.review?.id])).toEqual([
          ['alice', 'github-review', approved.review.id],
          ['bob', 'github-review', second.review.id],
        ]);
        expect(standIn.pulls.get(pr)).toMatchObject({ merged: true });
        expect(await repo.live('staging')).toContain('tag: "1.5.0"');

        const audit = await promoteCli(['audit', id], { address: suite.temporal.address, taskQueue });
        expect(audit.code).toBe(0);
        expect(audit.stdout).toContain('approved by alice via github-review');
        expect(audit.stdout).toContain(
          `GitHub review ${approved.review.id} by alice-gh on pull request #${pr}`,
        );
      },
    ));

  it('a review requesting changes by an approver rejects the promotion', () =>
    onGitHubRepo({ reviewPoll: 'off' }, async ({ repo, spec, standIn, taskQueue, client }) => {
      const hook = await startWebhookReceiver();
      const handle = await startGitHubPromotion(client, taskQueue, spec, '1.6.0');
      const pr = staging(await waitingWithPull(handle.workflowId)).proposal?.pullRequest ?? 0;
      const review = await standIn.submitReview(pr, {
        login: 'bob-gh',
        state: 'CHANGES_REQUESTED',
        body: 'not during the freeze',
      });
      await GitHubStandIn.deliverWebhook(hook, 'pull_request_review', review.payload, SECRET);
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('rejected');
      expect(staging(final).decision).toMatchObject({
        approved: false,
        by: 'bob',
        via: 'github-review',
        comment: 'not during the freeze',
        review: { id: review.review.id, pullRequest: pr, login: 'bob-gh' },
      });
      expect(standIn.pulls.get(pr)).toMatchObject({ state: 'closed', merged: false });
      expect(await repo.file('environments/staging.yaml')).toContain('tag: "1.4.0"');
    }));

  it('without webhooks, the poll of the pull request reviews finds the approval', () =>
    onGitHubRepo({ reviewPoll: '1s' }, async ({ repo, spec, standIn, taskQueue, client }) => {
      const handle = await startGitHubPromotion(client, taskQueue, spec, '1.7.0');
      const shown = staging(await waitingWithPull(handle.workflowId));
      const pr = shown.proposal?.pullRequest ?? 0;
      await standIn.submitReview(pr, { login: 'mallory', state: 'APPROVED' });
      await standIn.submitReview(pr, {
        login: 'bob-gh',
        state: 'APPROVED',
        commitId: shown.proposal?.base ?? '',
      });
      const approved = await standIn.submitReview(pr, { login: 'alice-gh', state: 'APPROVED' });
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      expect(staging(final).decisions).toEqual([
        expect.objectContaining({
          by: 'alice',
          via: 'github-review',
          review: expect.objectContaining({ id: approved.review.id }),
        }),
      ]);
      expect(await repo.live('staging')).toContain('tag: "1.7.0"');
    }));

  it('the poll keeps reading after a review that policy refuses: a later valid approval counts', () =>
    onGitHubRepo({ reviewPoll: '1s' }, async ({ repo, spec, standIn, taskQueue, client }) => {
      // alice starts it: her own approving review is refused (no self-approval), bob's still counts.
      const handle = await startTagPromotion(client, taskQueue, spec, {
        tag: '1.8.0',
        requestedBy: 'alice',
      });
      const pr = staging(await waitingWithPull(handle.workflowId)).proposal?.pullRequest ?? 0;
      const listings = () =>
        standIn.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/pulls/${pr}/reviews`)).length;
      const own = await standIn.submitReview(pr, { login: 'alice-gh', state: 'APPROVED' });
      // The poll has read alice's review (two listings since: the one that saw it and the next).
      const before = listings();
      await eventually('the poll to read the refused review and poll again', () =>
        Promise.resolve(listings() >= before + 2 ? true : undefined),
      );
      expect(staging(await getStatus(client, handle.workflowId))).toMatchObject({
        status: 'waiting-approval',
      });
      expect(staging(await getStatus(client, handle.workflowId)).decisions ?? []).toEqual([]);

      const approved = await standIn.submitReview(pr, { login: 'bob-gh', state: 'APPROVED' });
      const final = await waitFinished(client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      expect(staging(final).decisions?.map((d) => [d.by, d.via, d.review?.id])).toEqual([
        ['bob', 'github-review', approved.review.id],
      ]);
      expect(staging(final).decisions?.some((d) => d.review?.id === own.review.id)).toBe(false);
      expect(await repo.live('staging')).toContain('tag: "1.8.0"');
    }));
});
