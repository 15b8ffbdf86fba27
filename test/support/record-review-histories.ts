// Histories of the approval paths added for issue 19 items 2 and 4, recorded from the code that takes
// them under new names: pull request reviews as approvals ('pr-review-approvals', by webhook nudge and
// by poll) and partial approvals shown in Slack ('approval-progress'). Each runs only when its file is
// missing.
import { startGitHubReceiver } from '../../client/github-receiver.js';
import { decide, getStatus, startPromotion, waitFinished, waitForApproval } from '../../client/promotions.js';
import type { EnvironmentState, PromotionState } from '../../common/types.js';
import { createNotifier } from '../../worker/notifier.js';
import { gitHubTestRepo } from './github-repo.js';
import { GitHubStandIn } from './github-standin.js';
import { TestRepo } from './repo.js';
import { SlackApiStandIn } from './slack-api.js';
import type { Recorder } from './record-scenario.js';
import { eventually } from './wait.js';

const SECRET = 'webhook-secret-for-histories';
const SLACK_TOKEN = 'xoxb-0000000000-history-token';
const slackConfig =
  "notifications:\n  slack:\n    channel: '#deploys'\n    users: { alice: U0ALICE, bob: U0BOB }\n";

/** staging proposes on a pull request; alice and bob approve it, mapped to GitHub logins. */
function reviewedStaging(minApprovals: number | undefined, reviewPoll: string, extra = '') {
  return {
    environments: [
      { name: 'dev', approval: 'auto' as const },
      {
        name: 'staging',
        approval: 'manual' as const,
        approvers: ['alice', 'bob'],
        ...(minApprovals ? { minApprovals } : {}),
      },
    ],
    extraConfig: `github:\n  users: { alice: alice-gh, bob: bob-gh }\n  reviewPoll: ${reviewPoll}\n${extra}`,
  };
}

const staging = (state: PromotionState): EnvironmentState | undefined =>
  state.environments.find((e) => e.name === 'staging');

export async function recordReviewHistories({ temporal, client, save, missing }: Recorder): Promise<void> {
  const slack = await new SlackApiStandIn(SLACK_TOKEN).start();
  const notifier = createNotifier(
    'default',
    { SLACK_BOT_TOKEN: SLACK_TOKEN, SLACK_API_URL: slack.url },
    { announce: () => Promise.resolve() },
  );

  /** The pull request staging waits on. */
  const waitingPull = (id: string) =>
    eventually(`${id} to wait for approval on a pull request`, async () => {
      const env = staging(await getStatus(client, id));
      return env?.status === 'waiting-approval' && env.proposal?.pullRequest !== undefined
        ? env.proposal.pullRequest
        : undefined;
    });
  /** The promotion's Slack approval request says alice approved, 1 of 2 (its buttons name the id). */
  const slackShowsProgress = (id: string) =>
    eventually(`${id}'s Slack request to show 1 of 2`, () =>
      Promise.resolve(
        slack.messages.some((m) => {
          const blocks = JSON.stringify(m.blocks);
          return blocks.includes(id) && blocks.includes('1 of 2 approvals (alice)');
        })
          ? true
          : undefined,
      ),
    );
  const decisionsIn = (id: string, count: number) =>
    eventually(`${count} decision(s) in ${id}`, async () =>
      (staging(await getStatus(client, id))?.decisions?.length ?? 0) >= count ? true : undefined,
    );

  /**
   * A promotion of api on a GitHub deployment repository with a webhook receiver; `run` drives its
   * reviews and returns once it ended. Skipped when its history exists.
   */
  async function reviewed(
    name: string,
    options: ReturnType<typeof reviewedStaging>,
    requestedBy: string,
    run: (ctx: {
      id: string;
      pr: number;
      github: GitHubStandIn;
      nudge: (payload: unknown) => Promise<void>;
    }) => Promise<void>,
  ): Promise<void> {
    if (!missing(name)) return;
    const { repo, github, factory, spec } = await gitHubTestRepo(options);
    const receiver = await startGitHubReceiver({ client, secret: SECRET }, 0);
    const hook = `http://127.0.0.1:${receiver.port}/github/webhook`;
    const nudge = async (payload: unknown) => {
      const delivered = await GitHubStandIn.deliverWebhook(hook, 'pull_request_review', payload, SECRET);
      if (delivered.status !== 202)
        throw new Error(`webhook not taken: ${delivered.status} ${delivered.body}`);
    };
    try {
      const id = await temporal.withWorker(
        async ({ taskQueue }) => {
          const h = await startPromotion(
            client,
            { repo: spec, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy },
            { taskQueue },
          );
          await run({ id: h.workflowId, pr: await waitingPull(h.workflowId), github, nudge });
          await waitFinished(client, h.workflowId);
          return h.workflowId;
        },
        { github: factory, notifier },
      );
      await save(client, name, id);
    } finally {
      await receiver.stop();
      await github.stop();
      await repo.remove();
    }
  }

  try {
    // A quorum of two reached by two approving reviews delivered by webhooks; the first one shows as
    // partial progress in the Slack request ('approval-progress').
    await reviewed(
      'promote-review-quorum-approved',
      reviewedStaging(2, 'off', slackConfig),
      'ci-bot',
      async ({ id, pr, github, nudge }) => {
        await nudge((await github.submitReview(pr, { login: 'alice-gh', state: 'APPROVED' })).payload);
        await decisionsIn(id, 1);
        await slackShowsProgress(id);
        await nudge((await github.submitReview(pr, { login: 'bob-gh', state: 'APPROVED' })).payload);
      },
    );

    // A review requesting changes by an approver rejects: the pull request is closed, nothing lands.
    await reviewed(
      'promote-review-changes-requested',
      reviewedStaging(undefined, 'off'),
      'ci-bot',
      async ({ pr, github, nudge }) => {
        const review = await github.submitReview(pr, {
          login: 'bob-gh',
          state: 'CHANGES_REQUESTED',
          body: 'not during the freeze',
        });
        await nudge(review.payload);
      },
    );

    // Without webhooks: the poll reads the requester's own approval (refused), polls on, and counts
    // the approver's review that comes later.
    await reviewed(
      'promote-review-polled-after-refusal',
      reviewedStaging(undefined, '1s'),
      'alice',
      async ({ pr, github }) => {
        const listings = () =>
          github.requests.filter((r) => r.method === 'GET' && r.path.endsWith(`/pulls/${pr}/reviews`)).length;
        await github.submitReview(pr, { login: 'alice-gh', state: 'APPROVED' });
        const before = listings();
        await eventually('the poll to read the refused review and poll again', () =>
          Promise.resolve(listings() >= before + 2 ? true : undefined),
        );
        await github.submitReview(pr, { login: 'bob-gh', state: 'APPROVED' });
      },
    );

    // A quorum of two from the CLI with Slack notifications: the request shows '1 of 2 approvals'.
    if (missing('promote-slack-partial-approvals')) {
      const repo = await TestRepo.create({
        environments: [{ name: 'staging', approval: 'manual', approvers: ['alice', 'bob'], minApprovals: 2 }],
        extraConfig: slackConfig,
      });
      try {
        const id = await temporal.withWorker(
          async ({ taskQueue }) => {
            const h = await startPromotion(
              client,
              { repo: repo.url, apps: [{ app: 'api', tag: '1.5.0' }], requestedBy: 'ci-bot' },
              { taskQueue },
            );
            const commit = staging(await waitForApproval(client, h.workflowId, 'staging'))?.commit;
            await decide(client, h.workflowId, { env: 'staging', approved: true, by: 'alice', commit });
            await slackShowsProgress(h.workflowId);
            await decide(client, h.workflowId, { env: 'staging', approved: true, by: 'bob', commit });
            await waitFinished(client, h.workflowId);
            return h.workflowId;
          },
          { notifier },
        );
        await save(client, 'promote-slack-partial-approvals', id);
      } finally {
        await repo.remove();
      }
    }
  } finally {
    await slack.stop();
  }
}
