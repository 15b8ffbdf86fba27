import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhooks } from '@octokit/webhooks';
import type { Client } from '@temporalio/client';
import { repositoryKey } from '../common/ids.js';
import { PromoteState } from '../common/search-attributes.js';
import type { PromotionState } from '../common/types.js';
import { pullRequestReviewSignal, statusQuery } from '../common/definitions.js';

/** GitHub's webhook payloads are at most 25 MB; a review event is a few kilobytes. */
const MAX_BODY_BYTES = 1024 * 1024;

export interface GitHubReceiverOptions {
  client: Client;
  /** The webhook's secret: every delivery's `X-Hub-Signature-256` is checked with it. */
  secret: string;
  log?: (line: string) => void;
}

export interface RunningGitHubReceiver {
  port: number;
  stop(): Promise<void>;
}

/** What a `pull_request_review` delivery says, as far as the receiver reads it. */
interface ReviewEvent {
  action?: string;
  review?: { id?: unknown };
  pull_request?: { number?: unknown; body?: unknown };
  repository?: { full_name?: unknown };
}

/**
 * `promote github`: receives GitHub's `pull_request_review` webhooks at POST /github/webhook. A delivery
 * whose signature does not check is answered 401 and nothing else happens. A signed one only nudges the
 * promotion whose proposal is that pull request: it sends the review id, and the workflow reads the
 * review from GitHub itself (so neither this process nor anyone who can reach Temporal can forge one).
 */
export async function startGitHubReceiver(
  options: GitHubReceiverOptions,
  port: number,
): Promise<RunningGitHubReceiver> {
  const webhooks = new Webhooks({ secret: options.secret });
  const log = options.log ?? (() => undefined);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/github/webhook') return answer(res, 404, { message: 'not found' });
    if (req.method !== 'POST') return answer(res, 405, { message: 'POST only' });
    const body = await readBody(req);
    if (body === undefined) return answer(res, 413, { message: 'payload too large' });
    const signature = header(req, 'x-hub-signature-256');
    const valid = signature ? await webhooks.verify(body, signature).catch(() => false) : false;
    if (!valid) {
      log(`refused a delivery with a ${signature ? 'bad' : 'missing'} signature`);
      return answer(res, 401, { message: 'bad or missing X-Hub-Signature-256' });
    }
    const event = header(req, 'x-github-event');
    if (event !== 'pull_request_review') return answer(res, 200, { ignored: event ?? 'no event' });
    let payload: ReviewEvent;
    try {
      payload = JSON.parse(body) as ReviewEvent;
    } catch {
      return answer(res, 400, { message: 'the payload is not JSON' });
    }
    const reviewId = payload.review?.id;
    const pullRequest = payload.pull_request?.number;
    const fullName = payload.repository?.full_name;
    if (
      payload.action !== 'submitted' ||
      !Number.isSafeInteger(reviewId) ||
      !Number.isSafeInteger(pullRequest) ||
      typeof fullName !== 'string'
    )
      return answer(res, 200, { ignored: `pull_request_review ${String(payload.action)}` });
    const nudged = await nudge(
      `github:${fullName}`,
      pullRequest as number,
      reviewId as number,
      typeof payload.pull_request?.body === 'string' ? payload.pull_request.body : '',
    );
    log(
      `review ${String(reviewId)} of ${fullName}#${String(pullRequest)}: nudged ${nudged.join(', ') || 'nobody'}`,
    );
    return answer(res, 202, { nudged });
  }

  /** Sends the review id to each running promotion whose waiting proposal is this pull request. */
  async function nudge(
    repo: string,
    pullRequest: number,
    reviewId: number,
    prBody: string,
  ): Promise<string[]> {
    // The pull request's body names its promotion (Promote wrote it); visibility finds the others.
    const named = [...prBody.matchAll(/Promotion `([^`\s]{1,200})`/g)].map((m) => m[1] as string);
    const candidates = new Set(named);
    const query = `WorkflowType = 'promote' AND ExecutionStatus = 'Running' AND ${PromoteState.name} = 'waiting-approval'`;
    try {
      for await (const execution of options.client.workflow.list({ query }))
        candidates.add(execution.workflowId);
    } catch (error) {
      log(`visibility is not available (${String(error)}); nudging the promotion the pull request names`);
    }
    const key = repositoryKey(repo);
    const nudged: string[] = [];
    for (const id of candidates) {
      const handle = options.client.workflow.getHandle(id);
      const state: PromotionState | undefined = await handle.query(statusQuery).catch(() => undefined);
      if (!state || repositoryKey(state.repo) !== key) continue;
      const waiting = state.environments.some(
        (e) => e.status === 'waiting-approval' && e.proposal?.pullRequest === pullRequest,
      );
      if (!waiting) continue;
      await handle.signal(pullRequestReviewSignal, { pullRequest, reviewId });
      nudged.push(id);
    }
    return nudged;
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      log(`delivery failed: ${String(error)}`);
      if (!res.headersSent)
        answer(res, 500, { message: 'the delivery could not be handled; GitHub may redeliver it' });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
