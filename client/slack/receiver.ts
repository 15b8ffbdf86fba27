import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import bolt from '@slack/bolt';
import type { BlockAction, ButtonAction, SlackViewAction, ViewSubmitAction } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Client } from '@temporalio/client';
import {
  APPROVE_ACTION,
  decidedMessage,
  decisionLine,
  REJECT_ACTION,
  REJECT_VIEW,
  withApprovals,
  type ApprovalButtonValue,
} from '../../activities/slack/blocks.js';
import { quorumText } from '../../common/approval-policy.js';
import type { Decision, DecisionInput } from '../../common/types.js';
import { decide as decideUpdate, getStatus } from '../promotions.js';
import { ReplayGuard } from './replay-guard.js';

const { App, HTTPReceiver, LogLevel, SocketModeReceiver } = bolt;

export interface SlackReceiverOptions {
  /** Temporal client: reads promotions and sends the approval Update. */
  client: Client;
  botToken: string;
  /** HTTP mode: requests are verified with it (HMAC, 5-minute window). */
  signingSecret?: string;
  /** Socket Mode: no public endpoint; Slack's connection is authenticated with it. */
  appToken?: string;
  socket?: boolean;
  slackApiUrl?: string;
  /** Sends the decision; the CLI's own client operation unless a caller wraps it. */
  decide?: (client: Client, id: string, input: DecisionInput) => Promise<Decision>;
  log?: (line: string) => void;
}

export interface RunningReceiver {
  /** The HTTP port (HTTP mode). */
  port?: number;
  stop(): Promise<void>;
}

interface ApprovalContext {
  value: ApprovalButtonValue;
  user: string;
  channel: string | undefined;
  messageTs: string | undefined;
  /** A stable id of this click (or modal submission): the workflow refuses it a second time. */
  actionId: string;
}

/** The approver behind a Slack user, or why they may not decide. */
type Verdict = { by: string } | { refusal: string };

/** Who pressed which button where; the click's trigger id makes it one the workflow takes only once. */
function clickContext(value: ApprovalButtonValue, body: BlockAction<ButtonAction>): ApprovalContext {
  return {
    value,
    user: body.user.id,
    channel: body.channel?.id,
    messageTs: body.message?.ts,
    actionId: `slack-action:${body.trigger_id}`,
  };
}

function parseValue(raw: string | undefined): ApprovalButtonValue | undefined {
  try {
    const value = JSON.parse(raw ?? '') as Partial<ApprovalButtonValue>;
    if (typeof value.id === 'string' && typeof value.env === 'string' && typeof value.commit === 'string')
      return { id: value.id, env: value.env, commit: value.commit };
  } catch {
    // falls through: not one of our buttons
  }
  return undefined;
}

/**
 * Approvals from Slack buttons. Every press is checked before anything is sent: the user must map to
 * an approver (`notifications.slack.users`), the environment must still wait for approval of the very
 * commit the button was shown for (else the button is stale), and the request must not be a replay.
 * A refusal is an ephemeral message to the presser; nothing reaches the workflow. An accepted press
 * sends the same Update as `promote approve`, whose validator has the last word.
 */
export async function startSlackReceiver(
  options: SlackReceiverOptions,
  port?: number,
): Promise<RunningReceiver> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const decide = options.decide ?? decideUpdate;
  const clientOptions = options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {};
  const receiver = options.socket
    ? new SocketModeReceiver({
        appToken: options.appToken ?? '',
        logLevel: LogLevel.ERROR,
        installerOptions: { clientOptions },
      })
    : new HTTPReceiver({
        signingSecret: options.signingSecret ?? '',
        endpoints: '/slack/events',
        logLevel: LogLevel.ERROR,
      });
  const app = new App({ token: options.botToken, receiver, clientOptions, logLevel: LogLevel.ERROR });
  const replays = new ReplayGuard();

  // A request Slack signed once may be captured and sent again within the 5-minute window: its
  // trigger id is single-use, so a second sight of one is refused before any handler runs.
  app.use(async (args) => {
    const body = args.body as { trigger_id?: string };
    if (body.trigger_id && !replays.firstSight(body.trigger_id)) {
      log(`refused a replayed Slack request (trigger ${body.trigger_id})`);
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      return;
    }
    await args.next();
  });

  async function verdict(context: ApprovalContext): Promise<Verdict> {
    const { value, user } = context;
    const state = await getStatus(options.client, value.id).catch(() => undefined);
    if (!state) return { refusal: `Promotion ${value.id} was not found.` };
    const by = Object.entries(state.slackUsers ?? {}).find(([, id]) => id === user)?.[0];
    if (!by) {
      return {
        refusal: `Your Slack account is not one of Promote's approvers (notifications.slack.users in promote.yaml); nothing was changed.`,
      };
    }
    // Kept by the workflow, not this process: a replay sent to another receiver replica is refused too.
    if (state.seenActions?.includes(`${context.actionId}@${value.commit}`))
      return { refusal: 'This Slack action was already used (a replayed request); nothing was changed.' };
    const env = state.environments.find((e) => e.name === value.env);
    if (!env || env.status !== 'waiting-approval' || env.decision || env.commit !== value.commit) {
      const now = env
        ? `${env.name} is ${env.decision ? (env.decision.approved ? 'approved' : 'rejected') : env.status}`
        : 'unknown environment';
      return { refusal: `This approval request is stale (${now}); nothing was changed.` };
    }
    if (env.approvers && !env.approvers.includes(by)) {
      return {
        refusal: `${by} may not decide for ${env.name}: its approvers are ${env.approvers.join(', ')}.`,
      };
    }
    return { by };
  }

  async function refuse(client: WebClient, context: ApprovalContext, text: string): Promise<void> {
    log(`refused a Slack decision by ${context.user} for ${context.value.id}/${context.value.env}: ${text}`);
    if (context.channel)
      await client.chat.postEphemeral({ channel: context.channel, user: context.user, text });
  }

  /** Sends the decision and replaces the buttons with who decided; refusals from the workflow are ephemeral. */
  async function apply(
    client: WebClient,
    context: ApprovalContext,
    input: DecisionInput,
    request: { text: string; blocks: KnownBlock[] } | undefined,
  ): Promise<void> {
    try {
      await decide(options.client, context.value.id, input);
    } catch (error) {
      await refuse(client, context, error instanceof Error ? error.message : String(error));
      return;
    }
    log(
      `${input.by} ${input.approved ? 'approved' : 'rejected'} ${context.value.id} in ${input.env} from Slack`,
    );
    const outcome = decisionLine(input.approved, `<@${context.user}>`, input.comment);
    if (context.channel && context.messageTs && request) {
      // An approval short of the quorum keeps the buttons for the next approver and says who approved.
      const after = await getStatus(options.client, context.value.id).catch(() => undefined);
      const env = after?.environments.find((e) => e.name === input.env);
      const gathering = input.approved && env?.status === 'waiting-approval' && !env.decision;
      const progress = gathering ? quorumText(env) : undefined;
      await client.chat.update({
        channel: context.channel,
        ts: context.messageTs,
        ...(progress ? withApprovals(request, progress) : decidedMessage(request, outcome)),
      });
    }
  }

  /** A click's or a modal's decision: checked against the approval policy, then sent as the person's own. */
  async function decideFromSlack(
    client: WebClient,
    context: ApprovalContext,
    decision: { approved: boolean; comment?: string },
    request: { text: string; blocks: KnownBlock[] } | undefined,
  ): Promise<void> {
    const checked = await verdict(context);
    if ('refusal' in checked) return refuse(client, context, checked.refusal);
    const { value } = context;
    await apply(
      client,
      context,
      {
        env: value.env,
        approved: decision.approved,
        by: checked.by,
        ...(decision.comment !== undefined ? { comment: decision.comment } : {}),
        commit: value.commit,
        actionId: context.actionId,
        via: 'slack',
      },
      request,
    );
  }

  app.action<BlockAction<ButtonAction>>(APPROVE_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const value = parseValue(action.value);
    if (!value) return;
    await decideFromSlack(
      client,
      clickContext(value, body),
      { approved: true },
      body.message
        ? { text: String(body.message.text ?? ''), blocks: (body.message.blocks ?? []) as KnownBlock[] }
        : undefined,
    );
  });

  app.action<BlockAction<ButtonAction>>(REJECT_ACTION, async ({ ack, body, action, client }) => {
    await ack();
    const value = parseValue(action.value);
    if (!value) return;
    const context = clickContext(value, body);
    const checked = await verdict(context);
    if ('refusal' in checked) return refuse(client, context, checked.refusal);
    const blocks = (body.message?.blocks ?? []) as KnownBlock[];
    const kept = blocks.filter((b) => b.type !== 'actions');
    const metadata = JSON.stringify({
      ...value,
      channel: context.channel,
      ts: context.messageTs,
      text: String(body.message?.text ?? ''),
      // The request's blocks ride along when they fit, so the outcome can replace just its buttons.
      ...(JSON.stringify(kept).length < 2_000 ? { blocks: kept } : {}),
    });
    await client.views.open({
      trigger_id: body.trigger_id,
      view: {
        type: 'modal',
        callback_id: REJECT_VIEW,
        private_metadata:
          metadata.length <= 3_000
            ? metadata
            : JSON.stringify({ ...value, channel: context.channel, ts: context.messageTs }),
        title: { type: 'plain_text', text: `Reject ${value.env}`.slice(0, 24) },
        submit: { type: 'plain_text', text: 'Reject' },
        close: { type: 'plain_text', text: 'Cancel' },
        blocks: [
          {
            type: 'input',
            block_id: 'reason',
            label: { type: 'plain_text', text: 'Why?' },
            element: { type: 'plain_text_input', action_id: 'reason', multiline: true },
          },
        ],
      },
    });
  });

  app.view<SlackViewAction>(REJECT_VIEW, async ({ ack, body, view, client }) => {
    const reason = view.state.values.reason?.reason?.value?.trim();
    if (!reason) {
      await ack({ response_action: 'errors', errors: { reason: 'A rejection needs a reason.' } });
      return;
    }
    await ack();
    const meta = JSON.parse(view.private_metadata || '{}') as ApprovalButtonValue & {
      channel?: string;
      ts?: string;
      text?: string;
      blocks?: KnownBlock[];
    };
    const value = parseValue(JSON.stringify(meta));
    if (!value) return;
    const context = {
      value,
      user: (body as ViewSubmitAction).user.id,
      channel: meta.channel,
      messageTs: meta.ts,
      // One modal, one submission: the view id is Slack's, unique per opened modal.
      actionId: `slack-view:${body.view.id}`,
    };
    await decideFromSlack(
      client,
      context,
      { approved: false, comment: reason },
      meta.blocks ? { text: meta.text ?? '', blocks: meta.blocks } : undefined,
    );
  });

  app.error((error) => {
    log(`Slack receiver error: ${error.message}`);
    return Promise.resolve();
  });

  const started = (await app.start(port ?? 0)) as unknown;
  const address = options.socket ? undefined : ((started as Server).address() as AddressInfo | null);
  return {
    ...(address ? { port: address.port } : {}),
    stop: async () => {
      await app.stop();
    },
  };
}
