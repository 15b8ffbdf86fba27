import { LogLevel, WebClient, type WebClientOptions } from '@slack/web-api';
import type { AnnounceResult, Announcement, MessageRef, Notifier } from '../notifier.js';
import {
  decidedMessage,
  eventMessage,
  outcomeLine,
  rootMessage,
  type Links,
  type SlackMessage,
} from './blocks.js';

export interface SlackNotifierOptions {
  token: string;
  /** Slack's API base (default https://slack.com/api/); tests point it at a local stand-in. */
  slackApiUrl?: string;
  /** Temporal Web UI base URL and namespace, for links to a promotion. */
  webUiUrl?: string;
  namespace?: string;
  /** Retries per call on 5xx, network errors and 429 (after its Retry-After); then undelivered. */
  retries?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

const FINAL = new Set<Announcement['outcome']>(['deployed', 'failed', 'rejected', 'superseded', 'cancelled']);

/**
 * Announces a promotion in Slack: one root message per promotion and channel, kept current with
 * `chat.update`, and a thread reply per environment event. Every call performs at most one
 * `chat.postMessage`, as its last step (the updates before it are idempotent), and returns the posted
 * message's ts for the workflow to keep: a retried activity never posts the same message twice.
 * Announcements without a channel (promote.yaml has no Slack section) are not Slack's.
 */
export class SlackNotifier implements Notifier {
  readonly client: WebClient;
  private readonly links: Links;

  constructor(options: SlackNotifierOptions) {
    const clientOptions: WebClientOptions = {
      logLevel: LogLevel.ERROR,
      timeout: options.timeoutMs ?? 10_000,
      // Bounded: Slack down must not hold a promotion for long (the WebClient default retries for 30 minutes).
      retryConfig: {
        retries: options.retries ?? 3,
        factor: 2,
        minTimeout: 500,
        maxTimeout: 4_000,
        randomize: true,
      },
      ...(options.slackApiUrl ? { slackApiUrl: options.slackApiUrl } : {}),
    };
    this.client = new WebClient(options.token, clientOptions);
    const base = (options.webUiUrl ?? 'http://localhost:8233').replace(/\/+$/, '');
    const namespace = encodeURIComponent(options.namespace ?? 'default');
    this.links = { promotion: (id) => `${base}/namespaces/${namespace}/workflows/${encodeURIComponent(id)}` };
  }

  async announce(a: Announcement): Promise<AnnounceResult> {
    if (!a.channel) return {};
    const messages = a.messages ?? {};
    const rootKey = `root:${a.channel}`;
    const root = rootMessage(a, this.links);
    if (a.outcome === 'promotion') {
      const existing = messages[rootKey];
      if (existing) {
        await this.update(existing, root);
        return {};
      }
      return { messages: { [rootKey]: await this.post(a.channel, root) } };
    }

    // Keep every root of this promotion current (idempotent, so safe before the post).
    for (const [key, ref] of Object.entries(messages)) {
      if (key.startsWith('root:')) await this.update(ref, root);
    }
    const approval = messages[`approval:${a.env}`];
    // A partial approval updates the request in place (who approved, buttons kept); nothing is posted.
    if (a.outcome === 'approvals') {
      if (approval) await this.update(approval, eventMessage(a));
      return {};
    }
    if (approval && FINAL.has(a.outcome)) {
      const request = eventMessage({ ...a, outcome: 'waiting-approval' });
      await this.update(approval, decidedMessage(request, outcomeLine(a)));
    }
    // An alert is also shown in the channel, not only in the promotion's thread.
    const broadcast = a.outcome === 'compensation-failed';
    const posted = await this.post(a.channel, eventMessage(a), messages[rootKey]?.ts, broadcast);
    return a.outcome === 'waiting-approval' ? { messages: { [`approval:${a.env}`]: posted } } : {};
  }

  private async post(
    channel: string,
    message: SlackMessage,
    threadTs?: string,
    broadcast = false,
  ): Promise<MessageRef> {
    const base = { channel, text: message.text, blocks: message.blocks, unfurl_links: false };
    const result = await this.client.chat.postMessage(
      threadTs
        ? broadcast
          ? { ...base, thread_ts: threadTs, reply_broadcast: true }
          : { ...base, thread_ts: threadTs }
        : base,
    );
    if (!result.ts || !result.channel) throw new Error('chat.postMessage returned no ts');
    return { channel: result.channel, ts: result.ts };
  }

  private async update(ref: MessageRef, message: SlackMessage): Promise<void> {
    await this.client.chat.update({
      channel: ref.channel,
      ts: ref.ts,
      text: message.text,
      blocks: message.blocks,
    });
  }
}
