import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHmac, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decide, getStatus, waitFinished, waitForApproval } from '../client/promotions.js';
import { startSlackReceiver, type RunningReceiver } from '../client/slack/receiver.js';
import type { DecisionInput } from '../common/types.js';
import { slackNotifier } from './support/slack-notifier.js';
import { SlackApiStandIn, type StoredMessage } from './support/slack-api.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../server/tools.js';
import { startTagPromotion } from './support/requests.js';

const suite = useTemporal();
const TOKEN = 'xoxb-0000000000-receiver-token';
const SIGNING_SECRET = 'b0c1d2e3f4a5968778695a4b3c2d1e0f';
let slack: SlackApiStandIn;
let receiver: RunningReceiver;
let updatesSent: DecisionInput[];

/** The production decide, counted: a refused request must not send an Update at all. */
function countedDecide(client: Client, id: string, input: DecisionInput): ReturnType<typeof decide> {
  updatesSent.push(input);
  return decide(client, id, input);
}

beforeEach(async () => {
  slack = await new SlackApiStandIn(TOKEN).start();
  updatesSent = [];
  receiver = await startSlackReceiver({
    client: suite.temporal.client,
    botToken: TOKEN,
    signingSecret: SIGNING_SECRET,
    slackApiUrl: slack.url,
    decide: countedDecide,
    log: () => undefined,
  });
});
afterEach(async () => {
  await receiver.stop();
  await slack.stop();
});

interface Signed {
  body: string;
  timestamp: number;
  signature: string;
}

/** Signs a request body as Slack does: v0=HMAC-SHA256(secret, "v0:<timestamp>:<body>"). */
function sign(payload: unknown, options: { secret?: string; timestamp?: number } = {}): Signed {
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', options.secret ?? SIGNING_SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex')}`;
  return { body, timestamp, signature };
}

async function send(request: Signed, port = receiver.port): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/slack/events`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(request.timestamp),
      'x-slack-signature': request.signature,
    },
    body: request.body,
  });
  await response.text();
  return response.status;
}

/** A `block_actions` payload for pressing a button of a posted message, as Slack sends it. */
function press(message: StoredMessage, actionId: string, user: string, value?: string): unknown {
  const actions = (message.blocks as { type: string; elements?: { action_id: string; value: string }[] }[])
    .find((b) => b.type === 'actions')
    ?.elements?.find((e) => e.action_id === actionId);
  return {
    type: 'block_actions',
    user: { id: user, username: user.toLowerCase(), team_id: 'T0SHOP' },
    api_app_id: 'A0PROMOTE',
    token: 'legacy-verification-token',
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomUUID()}`,
    team: { id: 'T0SHOP', domain: 'shop' },
    channel: { id: message.channel, name: 'deploys' },
    message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks },
    response_url: 'https://hooks.slack.com/actions/T0SHOP/1/abc',
    actions: [
      {
        type: 'button',
        action_id: actionId,
        block_id: 'promote_approval',
        value: value ?? actions?.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
}

const hasButtons = (m: Pick<StoredMessage, 'blocks'> | undefined) =>
  (m?.blocks ?? []).some((b) => (b as { type?: string }).type === 'actions');

function approvalRequest(env: string): StoredMessage | undefined {
  return slack.messages.find((m) => m.threadTs && m.text.startsWith(`${env} waits for approval`));
}

/** Waits until `env`'s approval request in Slack no longer shows its buttons (`what` names the wait). */
async function buttonsReplaced(env: string, what: string): Promise<void> {
  await eventually(what, () => Promise.resolve(hasButtons(approvalRequest(env)) ? undefined : true));
}

describe('approvals from Slack buttons', () => {
  it('lands a correct approval and refuses forged, stale, replayed and unauthorized ones', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'staging', approval: 'manual', approvers: ['alice', 'bob'] },
        { name: 'prod', approval: 'manual', approvers: ['alice'] },
      ],
      extraConfig: `notifications:
  slack:
    channel: '#deploys'
    users: { alice: U0ALICE, bob: U0BOB, carol: U0CAROL }
`,
    });
    const notifier = slackNotifier(slack);
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo);
        const id = handle.workflowId;
        const waiting = await waitForApproval(suite.temporal.client, id, 'staging');
        const request = await eventually('the approval request in Slack', () =>
          Promise.resolve(approvalRequest('staging')),
        );
        expect(hasButtons(request)).toBe(true);

        // Forged: signed with the wrong secret. Stale: correctly signed, but 10 minutes old.
        expect(
          await send(sign(press(request, 'promote_approve', 'U0ALICE'), { secret: 'not-the-secret' })),
        ).toBe(401);
        const old = Math.floor(Date.now() / 1000) - 600;
        expect(await send(sign(press(request, 'promote_approve', 'U0ALICE'), { timestamp: old }))).toBe(401);

        // Unknown Slack user; a known user who is not an approver here; a button of an older proposal.
        const refusals: [unknown, RegExp][] = [
          [press(request, 'promote_approve', 'U0MALLORY'), /not one of Promote's approvers/],
          [press(request, 'promote_approve', 'U0CAROL'), /carol may not decide for staging/],
          [
            press(
              request,
              'promote_approve',
              'U0ALICE',
              JSON.stringify({ id, env: 'staging', commit: '0000000000000000000000000000000000000000' }),
            ),
            /stale/,
          ],
        ];
        for (const [payload, reason] of refusals) {
          const before = slack.ephemerals.length;
          expect(await send(sign(payload))).toBe(200);
          const ephemeral = await eventually('an ephemeral refusal', () =>
            Promise.resolve(slack.ephemerals[before]),
          );
          expect(ephemeral.text).toMatch(reason);
        }
        expect(updatesSent).toEqual([]);
        expect((await getStatus(suite.temporal.client, id)).environments[0]?.status).toBe('waiting-approval');
        // The workflow itself refuses a decision for a proposal it no longer waits on (a race past the receiver).
        await expect(
          decide(suite.temporal.client, id, {
            env: 'staging',
            approved: true,
            by: 'alice',
            commit: '0000000000000000000000000000000000000000',
          }),
        ).rejects.toThrow(/this approval request is stale/);

        // Alice approves: the Update lands and the buttons give way to the outcome.
        const approval = sign(press(request, 'promote_approve', 'U0ALICE'));
        expect(await send(approval)).toBe(200);
        const prodWaiting = await waitForApproval(suite.temporal.client, id, 'prod');
        expect(prodWaiting.environments[0]).toMatchObject({
          status: 'succeeded',
          decision: { approved: true, by: 'alice' },
        });
        expect(updatesSent).toEqual([
          {
            env: 'staging',
            approved: true,
            by: 'alice',
            commit: waiting.environments[0]?.commit,
            actionId: expect.stringMatching(/^slack-action:/),
            via: 'slack',
          },
        ]);
        await buttonsReplaced('staging', 'the buttons replaced');
        expect(JSON.stringify(approvalRequest('staging')?.blocks)).toContain('Approved by <@U0ALICE>');

        // The same signed request again, within its 5-minute window: a replay.
        const ephemeralsBefore = slack.ephemerals.length;
        expect(await send(approval)).toBe(200);
        expect(updatesSent).toHaveLength(1);
        expect(slack.ephemerals).toHaveLength(ephemeralsBefore);

        // Reject in prod: the button opens a modal asking why; the submission rejects.
        const prodRequest = await eventually('the prod approval request', () =>
          Promise.resolve(approvalRequest('prod')),
        );
        expect(await send(sign(press(prodRequest, 'promote_reject', 'U0ALICE')))).toBe(200);
        const modal = await eventually('the reject modal', () => Promise.resolve(slack.views[0]));
        const submission = {
          type: 'view_submission',
          team: { id: 'T0SHOP', domain: 'shop' },
          user: { id: 'U0ALICE', username: 'alice', team_id: 'T0SHOP' },
          api_app_id: 'A0PROMOTE',
          token: 'legacy-verification-token',
          trigger_id: `${Date.now()}.${randomUUID()}`,
          view: {
            id: 'V1',
            type: 'modal',
            callback_id: modal.view.callback_id,
            private_metadata: modal.view.private_metadata,
            state: {
              values: { reason: { reason: { type: 'plain_text_input', value: 'error budget spent' } } },
            },
          },
        };
        expect(await send(sign(submission))).toBe(200);
        const final = await waitFinished(suite.temporal.client, id);
        expect(final.status).toBe('rejected');
        expect(final.environments[1]?.decision).toMatchObject({
          approved: false,
          by: 'alice',
          comment: 'error budget spent',
          via: 'slack',
        });
        expect(updatesSent).toHaveLength(2);
        await buttonsReplaced('prod', 'the prod buttons replaced');
      },
      { notifier },
    );
  });

  it('keeps the buttons on an approval short of the quorum, for the next approver', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'staging', approval: 'manual', approvers: ['alice', 'bob'], minApprovals: 2 }],
      extraConfig: `notifications:
  slack:
    channel: '#deploys'
    users: { alice: U0ALICE, bob: U0BOB }
`,
    });
    const notifier = slackNotifier(slack);
    await suite.temporal.withWorker(
      async ({ taskQueue }) => {
        const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo);
        const id = handle.workflowId;
        await waitForApproval(suite.temporal.client, id, 'staging');
        const request = await eventually('the approval request in Slack', () =>
          Promise.resolve(approvalRequest('staging')),
        );
        const updatesOfRequest = () => slack.chatUpdates.filter((u) => u.ts === request.ts);
        const updatedBefore = updatesOfRequest().length;
        expect(await send(sign(press(request, 'promote_approve', 'U0ALICE')))).toBe(200);
        // Slack is answered first; the Update follows.
        await eventually("alice's Update sent", () =>
          Promise.resolve(updatesSent.length === 1 ? true : undefined),
        );
        // The request says who approved and keeps the buttons for bob (receiver and workflow both update it).
        const partial = await eventually('the request showing 1 of 2', () => {
          const current = approvalRequest('staging');
          return Promise.resolve(
            JSON.stringify(current?.blocks).includes('1 of 2 approvals (alice)') ? current : undefined,
          );
        });
        expect(hasButtons(partial)).toBe(true);
        // Both have updated it (the receiver after its Update, the workflow from its decision) and no
        // step on the way dropped the buttons, even for a moment: the end state alone would not show a
        // receiver that removed them before the workflow put them back.
        await eventually('the receiver and the workflow to update the request', () =>
          Promise.resolve(updatesOfRequest().length >= updatedBefore + 2 ? true : undefined),
        );
        const beforeQuorum = updatesOfRequest();
        expect(beforeQuorum.filter((u) => !hasButtons(u)).map((u) => u.text)).toEqual([]);
        expect(JSON.stringify(partial?.blocks)).not.toContain('Approved by');
        expect((await getStatus(suite.temporal.client, id)).environments[0]?.status).toBe('waiting-approval');

        expect(await send(sign(press(partial, 'promote_approve', 'U0BOB')))).toBe(200);
        const final = await waitFinished(suite.temporal.client, id);
        expect(final.status).toBe('succeeded');
        expect(updatesSent).toHaveLength(2);
        await buttonsReplaced('staging', 'the buttons replaced once the quorum is reached');
      },
      { notifier },
    );
  });

  it('takes approvals over Socket Mode, with the same checks', async () => {
    const repo = await TestRepo.create({
      environments: [{ name: 'staging', approval: 'manual', approvers: ['alice'] }],
      extraConfig: "notifications:\n  slack:\n    channel: '#deploys'\n    users: { alice: U0ALICE }\n",
    });
    const socketReceiver = await startSlackReceiver({
      client: suite.temporal.client,
      botToken: TOKEN,
      appToken: slack.appToken,
      socket: true,
      slackApiUrl: slack.url,
      decide: countedDecide,
      log: () => undefined,
    });
    const notifier = slackNotifier(slack);
    try {
      await suite.temporal.withWorker(
        async ({ taskQueue }) => {
          const handle = await startTagPromotion(suite.temporal.client, taskQueue, repo);
          await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
          const request = await eventually('the approval request in Slack', () =>
            Promise.resolve(approvalRequest('staging')),
          );
          await slack.sendInteractive(press(request, 'promote_approve', 'U0MALLORY'));
          const refusal = await eventually('an ephemeral refusal', () =>
            Promise.resolve(slack.ephemerals[0]),
          );
          expect(refusal).toMatchObject({
            user: 'U0MALLORY',
            text: expect.stringContaining('not one of') as unknown,
          });
          expect(updatesSent).toEqual([]);

          await slack.sendInteractive(press(request, 'promote_approve', 'U0ALICE'));
          const final = await waitFinished(suite.temporal.client, handle.workflowId);
          expect(final.status).toBe('succeeded');
          expect(final.environments[0]?.decision).toMatchObject({ approved: true, by: 'alice' });
          expect(updatesSent).toHaveLength(1);
        },
        { notifier },
      );
    } finally {
      await socketReceiver.stop();
    }
  });
});

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

describe('Slack approvals across receiver replicas', () => {
  it('refuses a click replayed to a second receiver process: the workflow remembers it, not the process', async () => {
    const repo = await TestRepo.create({
      environments: [
        { name: 'staging', approval: 'manual', approvers: ['alice'] },
        { name: 'prod', approval: 'manual', approvers: ['alice'] },
      ],
      extraConfig: `notifications:
  slack:
    channel: '#deploys'
    users: { alice: U0ALICE }
`,
    });
    const notifier = slackNotifier(slack);
    const port = await freePort();
    // The second replica: the real `promote slack` command, its own process with its own memory.
    const second = execa(
      process.execPath,
      [join(PROJECT_ROOT, 'bin', 'promote.js'), 'slack', '--port', String(port)],
      {
        env: {
          TEMPORAL_ADDRESS: suite.temporal.address,
          SLACK_BOT_TOKEN: TOKEN,
          SLACK_SIGNING_SECRET: SIGNING_SECRET,
          SLACK_API_URL: slack.url,
        },
        reject: false,
        stdin: 'ignore',
      },
    );
    try {
      await eventually('the second receiver to listen', () =>
        fetch(`http://127.0.0.1:${port}/slack/events`, { method: 'POST', body: '' }).then(
          () => true,
          () => undefined,
        ),
      );
      await suite.temporal.withWorker(
        async ({ taskQueue }) => {
          const client = suite.temporal.client;
          const id = (await startTagPromotion(client, taskQueue, repo)).workflowId;
          const waiting = await waitForApproval(client, id, 'staging');
          const request = await eventually('the approval request in Slack', () =>
            Promise.resolve(approvalRequest('staging')),
          );
          const approval = sign(press(request, 'promote_approve', 'U0ALICE'));
          expect(await send(approval)).toBe(200);
          const prodWaiting = await waitForApproval(client, id, 'prod');
          expect(prodWaiting.environments[0]?.decision).toMatchObject({ approved: true, by: 'alice' });
          expect(prodWaiting.seenActions).toEqual([
            expect.stringMatching(new RegExp(`^slack-action:.*@${waiting.environments[0]?.commit ?? ''}$`)),
          ]);

          // The very same signed request, within its window, to the other replica.
          const before = slack.ephemerals.length;
          expect(await send(approval, port)).toBe(200);
          const refusal = await eventually('an ephemeral refusal from the second receiver', () =>
            Promise.resolve(slack.ephemerals[before]),
          );
          expect(refusal.text).toMatch(/already used \(a replayed request\)/);
          expect(updatesSent).toHaveLength(1);

          // The workflow refuses it too, whoever sends it past a receiver.
          await expect(
            decide(client, id, {
              env: 'staging',
              approved: true,
              by: 'alice',
              commit: waiting.environments[0]?.commit ?? '',
              actionId: updatesSent[0]?.actionId ?? '',
            }),
          ).rejects.toThrow(/already/);
          await client.workflow.getHandle(id).cancel();
        },
        { notifier },
      );
    } finally {
      second.kill('SIGTERM');
      await second;
    }
  });
});
