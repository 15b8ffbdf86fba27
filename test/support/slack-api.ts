import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** A message as the stand-in keeps it: what was posted, and every later update. */
export interface StoredMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  /** A thread reply also shown in the channel (`reply_broadcast`). */
  broadcast?: boolean;
  text: string;
  blocks: unknown[];
  updates: number;
}

export interface Ephemeral {
  channel: string;
  user: string;
  text: string;
}

type FaultKind =
  { kind: 'rate-limited'; retryAfter: number } | { kind: 'server-error' } | { kind: 'error'; error: string };
/** A fault for the next matching call; with `channel`, only calls for that channel (as sent) fail. */
type Fault = FaultKind & { channel?: string };

/**
 * A local stand-in for Slack's Web API, faithful to the parts Promote uses: `auth.test`,
 * `apps.connections.open` (with a Socket Mode WebSocket),
 * `chat.postMessage`, `chat.update`, `chat.postEphemeral` and `views.open`, form-encoded requests with a
 * bearer token, and Slack's response shapes — `{ok: true, …}`, `{ok: false, error}` with HTTP 200,
 * `429` with `Retry-After`, and `500`s. The real `WebClient` talks to it through `slackApiUrl`.
 */
export class SlackApiStandIn {
  readonly messages: StoredMessage[] = [];
  readonly ephemerals: Ephemeral[] = [];
  readonly views: { triggerId: string; view: Record<string, unknown> }[] = [];
  /** Every request, by method, including refused ones. */
  readonly calls: string[] = [];
  /** Every `chat.update` applied, in order, as it left the message (a test can see each step, not just the end). */
  readonly chatUpdates: { channel: string; ts: string; text: string; blocks: unknown[] }[] = [];
  private readonly faults = new Map<string, Fault[]>();
  private clock = 1_700_000_000;
  private server: Server | undefined;
  private sockets: WebSocketServer | undefined;
  private readonly acks = new Map<string, () => void>();
  private envelopes = 0;
  /** Socket Mode connections that completed Slack's handshake (a `hello` was sent). */
  readonly connections: WebSocket[] = [];

  constructor(
    readonly token: string,
    /** Channel name → id; ids are accepted as they are. */
    readonly channels: Record<string, string> = { deploys: 'C0DEPLOYS' },
    /** The app-level token Socket Mode connects with. */
    readonly appToken = 'xapp-1-A0PROMOTE-0000-socket',
  ) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('the Slack stand-in is not listening');
    return `http://127.0.0.1:${address.port}/api/`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    // Socket Mode: apps.connections.open hands out this URL; Slack says hello, sends envelopes, expects acks.
    this.sockets = new WebSocketServer({ server: this.server, path: '/link' });
    this.sockets.on('connection', (socket) => {
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString('utf8')) as { envelope_id?: string };
        if (message.envelope_id) this.acks.get(message.envelope_id)?.();
      });
      socket.send(
        JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0PROMOTE' } }),
      );
      this.connections.push(socket);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Delivers an interactive payload over Socket Mode; resolves when the app acknowledges it. */
  async sendInteractive(payload: unknown): Promise<void> {
    const socket = this.connections.at(-1);
    if (!socket) throw new Error('no Socket Mode connection');
    const envelopeId = `env-${++this.envelopes}`;
    const acked = new Promise<void>((resolve) => this.acks.set(envelopeId, resolve));
    socket.send(
      JSON.stringify({
        envelope_id: envelopeId,
        type: 'interactive',
        payload,
        accepts_response_payload: true,
      }),
    );
    await acked;
  }

  async stop(): Promise<void> {
    for (const socket of this.connections) socket.terminate();
    await new Promise<void>((resolve) => (this.sockets ? this.sockets.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** The next `times` calls of `method` fail this way. */
  fail(method: string, fault: Fault, times = 1): void {
    const queue = this.faults.get(method) ?? [];
    for (let i = 0; i < times; i++) queue.push(fault);
    this.faults.set(method, queue);
  }

  /** Top-level messages (thread roots) in a channel id. */
  roots(channel: string): StoredMessage[] {
    return this.messages.filter((m) => m.channel === channel && !m.threadTs);
  }

  thread(root: StoredMessage): StoredMessage[] {
    return this.messages.filter((m) => m.threadTs === root.ts);
  }

  /** Slack's limits that a long message would hit: 50 blocks, 3,000 characters of section text. */
  private blocksValid(blocks: unknown[]): boolean {
    if (blocks.length > 50) return false;
    return blocks.every((b) => {
      const text = (b as { type?: string; text?: { text?: string } }).text?.text;
      return text === undefined || text.length <= 3_000;
    });
  }

  private channelId(channel: string | undefined): string | undefined {
    if (!channel) return undefined;
    const name = channel.replace(/^#/, '');
    if (this.channels[name]) return this.channels[name];
    return Object.values(this.channels).includes(channel) ? channel : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    this.calls.push(method);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };

    const queue = this.faults.get(method) ?? [];
    const index = queue.findIndex((f) => f.channel === undefined || f.channel === form.get('channel'));
    const fault = index >= 0 ? queue.splice(index, 1)[0] : undefined;
    if (fault?.kind === 'rate-limited')
      return json(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfter) });
    if (fault?.kind === 'server-error') {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<html><body>Internal Server Error</body></html>');
      return;
    }
    if (fault?.kind === 'error') return json(200, { ok: false, error: fault.error });
    if (method === 'apps.connections.open') {
      if (req.headers.authorization !== `Bearer ${this.appToken}`)
        return json(200, { ok: false, error: 'invalid_auth' });
      const address = this.server?.address() as AddressInfo;
      return json(200, { ok: true, url: `ws://127.0.0.1:${address.port}/link` });
    }
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return json(200, { ok: false, error: 'invalid_auth' });

    const param = (name: string) => form.get(name) ?? undefined;
    const parsed = (name: string): unknown[] => JSON.parse(param(name) ?? '[]') as unknown[];
    switch (method) {
      case 'auth.test':
        return json(200, {
          ok: true,
          url: 'https://shop.slack.com/',
          team: 'Shop',
          user: 'promote',
          team_id: 'T0SHOP',
          user_id: 'U0PROMOTE',
          bot_id: 'B0PROMOTE',
        });
      case 'chat.postMessage': {
        const channel = this.channelId(param('channel'));
        if (!channel) return json(200, { ok: false, error: 'channel_not_found' });
        if (!param('text') && !param('blocks')) return json(200, { ok: false, error: 'no_text' });
        if (!this.blocksValid(parsed('blocks'))) return json(200, { ok: false, error: 'invalid_blocks' });
        const threadTs = param('thread_ts');
        if (threadTs && !this.messages.some((m) => m.ts === threadTs && m.channel === channel))
          return json(200, { ok: false, error: 'thread_not_found' });
        const ts = `${++this.clock}.000100`;
        const message: StoredMessage = {
          channel,
          ts,
          text: param('text') ?? '',
          blocks: parsed('blocks'),
          updates: 0,
          ...(threadTs ? { threadTs } : {}),
          ...(threadTs && param('reply_broadcast') === 'true' ? { broadcast: true } : {}),
        };
        this.messages.push(message);
        return json(200, {
          ok: true,
          channel,
          ts,
          message: {
            type: 'message',
            text: message.text,
            blocks: message.blocks,
            ts,
            ...(threadTs ? { thread_ts: threadTs } : {}),
          },
        });
      }
      case 'chat.update': {
        const channel = param('channel');
        if (!channel || !Object.values(this.channels).includes(channel))
          return json(200, { ok: false, error: 'channel_not_found' });
        const message = this.messages.find((m) => m.channel === channel && m.ts === param('ts'));
        if (!message) return json(200, { ok: false, error: 'message_not_found' });
        if (!this.blocksValid(parsed('blocks'))) return json(200, { ok: false, error: 'invalid_blocks' });
        message.text = param('text') ?? message.text;
        if (param('blocks')) message.blocks = parsed('blocks');
        message.updates++;
        this.chatUpdates.push({ channel, ts: message.ts, text: message.text, blocks: message.blocks });
        return json(200, {
          ok: true,
          channel,
          ts: message.ts,
          text: message.text,
          message: { text: message.text, blocks: message.blocks },
        });
      }
      case 'chat.postEphemeral': {
        const channel = this.channelId(param('channel'));
        const user = param('user');
        if (!channel) return json(200, { ok: false, error: 'channel_not_found' });
        if (!user) return json(200, { ok: false, error: 'user_not_in_channel' });
        this.ephemerals.push({ channel, user, text: param('text') ?? '' });
        return json(200, { ok: true, message_ts: `${++this.clock}.000200` });
      }
      case 'views.open': {
        const triggerId = param('trigger_id');
        if (!triggerId) return json(200, { ok: false, error: 'invalid_trigger_id' });
        const view = JSON.parse(param('view') ?? '{}') as Record<string, unknown>;
        this.views.push({ triggerId, view });
        return json(200, { ok: true, view: { id: `V${this.views.length}`, ...view } });
      }
      default:
        return json(200, { ok: false, error: 'unknown_method' });
    }
  }
}
