import { normalizeGrpcEndpointAddress } from '@temporalio/common/lib/internal-non-workflow/parse-host-uri.js';
import { BadInputError, NotFoundError, unknownId } from '../common/errors.js';
import {
  blockAmong,
  blockText,
  EMPTY_RULES,
  GOVERNANCE_WORKFLOW_ID,
  type GovernanceRules,
} from '../common/governance.js';
import { promotionWorkflowId } from '../common/ids.js';
import { PromoteApps } from '../common/search-attributes.js';
import type {
  AppRequest,
  Decision,
  DecisionInput,
  PromotionRequest,
  PromotionState,
} from '../common/types.js';
import { connectionConfig } from '../worker/connection-config.js';
import { taskQueue } from '../worker/task-queue.js';
import { tracingEnabled } from '../worker/tracing.js';
import { promotionMemo } from '../common/promotion-memo.js';
import { promoteAppsValues, promotionSummary } from './start-shape.js';
import { CLI_CONNECT_TIMEOUT_MS, ServerUnreachableError } from './unreachable.js';
import { Channel, ConnectError } from './wire/grpc.js';
import { GRPC, GrpcError, LightClient, type UpdateOutcome } from './wire/light-client.js';

/*
 * The light path of `promote start`, `approve`, `reject` and `status`: the calls they make in the
 * common case, sent by client/wire/ without loading the SDK client (a third of a second of start-up,
 * most of these commands' time). Whenever it cannot answer as the SDK path would (tracing on, a proxy,
 * connection settings it does not know, a closed run, an outcome to explain), it returns undefined
 * before changing anything, or hands over to the SDK path's own code for what follows, so every
 * answer and error reads as before.
 */

const CLIENT_VERSION = '1.24.0'; // @temporalio/client's, which the SDK path sends (test/light-client.test.ts checks)
const PROXY_VARIABLES = [
  'grpc_proxy',
  'https_proxy',
  'http_proxy',
  'GRPC_PROXY',
  'HTTPS_PROXY',
  'HTTP_PROXY',
];
const KNOWN_OPTIONS = new Set(['address', 'tls', 'apiKey', 'metadata']);
const KNOWN_TLS = new Set(['serverRootCACertificate', 'clientCertPair', 'serverNameOverride']);

type TlsOption = NonNullable<Parameters<typeof Channel.open>[0]['tls']>;

/** The TLS settings the light path can honour; null when there are others (the SDK path then connects). */
function tlsOf(tls: unknown, apiKey: unknown): TlsOption | undefined | null {
  const given = tls ?? (apiKey !== undefined ? true : undefined);
  if (!given) return undefined;
  if (given === true) return {};
  if (typeof given !== 'object') return null;
  if (Object.keys(given).some((key) => !KNOWN_TLS.has(key))) return null;
  const { serverRootCACertificate, clientCertPair, serverNameOverride } = given as {
    serverRootCACertificate?: Uint8Array;
    clientCertPair?: { crt: Uint8Array; key: Uint8Array };
    serverNameOverride?: string;
  };
  return {
    ...(serverRootCACertificate ? { serverRootCACertificate: Buffer.from(serverRootCACertificate) } : {}),
    ...(clientCertPair
      ? { clientCertPair: { crt: Buffer.from(clientCertPair.crt), key: Buffer.from(clientCertPair.key) } }
      : {}),
    ...(serverNameOverride ? { serverNameOverride } : {}),
  };
}

/** Connects the light client, or says (undefined) that the SDK client should. */
export async function lightClient(): Promise<LightClient | undefined> {
  if (tracingEnabled() || PROXY_VARIABLES.some((name) => process.env[name])) return undefined;
  const { connectionOptions, namespace } = connectionConfig();
  if (Object.keys(connectionOptions).some((key) => !KNOWN_OPTIONS.has(key))) return undefined;
  const {
    address: given,
    tls,
    apiKey,
    metadata,
  } = connectionOptions as {
    address: string;
    tls?: unknown;
    apiKey?: unknown;
    metadata?: Record<string, string>;
  };
  const tlsOption = tlsOf(tls, apiKey);
  if (tlsOption === null || (apiKey !== undefined && typeof apiKey !== 'string')) return undefined;
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata ?? {})) headers[key.toLowerCase()] = value;
  if (apiKey && headers.authorization) return undefined; // the SDK path refuses both, with its message
  Object.assign(headers, {
    'client-name': 'temporal-typescript',
    'client-version': CLIENT_VERSION,
    'temporal-namespace': namespace,
    ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  });
  let address: string;
  try {
    address = normalizeGrpcEndpointAddress(given, 7233);
  } catch {
    return undefined;
  }
  try {
    const channel = await Channel.open({
      address,
      ...(tlsOption ? { tls: tlsOption } : {}),
      metadata: headers,
      connectTimeoutMs: CLI_CONNECT_TIMEOUT_MS,
    });
    return new LightClient(channel, namespace);
  } catch (error) {
    if (!(error instanceof ConnectError)) throw error;
    if (error.code === 'ECONNREFUSED')
      throw new ServerUnreachableError(given, new Error('connection refused'));
    if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN')
      throw new ServerUnreachableError(given, new Error(`unknown host (${error.code})`));
    if (error.code === 'TIMEOUT') throw new ServerUnreachableError(given, new Error('deadline'));
    return undefined; // TLS and the like: the SDK path reports them in its words
  }
}

/** The rules the governance workflow holds (none while it does not run); undefined: ask the SDK path. */
async function readRules(light: LightClient): Promise<GovernanceRules | undefined> {
  try {
    const answer = await light.queryOpen(GOVERNANCE_WORKFLOW_ID, 'rules');
    return answer.open ? (answer.value as GovernanceRules) : EMPTY_RULES;
  } catch (error) {
    if (error instanceof GrpcError && error.code === GRPC.notFound) return EMPTY_RULES;
    if (error instanceof GrpcError) return undefined;
    throw error;
  }
}

/**
 * `promote start` without --wait: refuses a blocked tag, then one update-with-start that answers once
 * a worker accepted the request. Returns the id, or undefined when nothing was started and the SDK
 * path should do it all. Once started, anything but an accepted answer is the SDK path's waitAccepted.
 */
export async function startLight(light: LightClient, request: PromotionRequest): Promise<string | undefined> {
  const carried: readonly AppRequest[] = request.rollback?.toTag
    ? [{ app: request.rollback.app, tag: request.rollback.toTag }]
    : request.apps;
  if (carried.length > 0) {
    const rules = await readRules(light);
    if (!rules) return undefined;
    const block = blockAmong(rules, carried);
    if (block)
      throw new BadInputError(
        `${blockText(block)} (since ${block.at}); nothing was started. \`promote unblock ${block.app}=${block.tag}\` lifts it`,
      );
  }
  const workflowId = promotionWorkflowId(request);
  const deadline = Date.now() + 60_000;
  let outcome: UpdateOutcome | undefined;
  try {
    outcome = await light.updateWithStart(
      {
        workflowId,
        workflowType: 'promote',
        taskQueue: taskQueue(),
        args: [request],
        searchAttributes: [
          { name: PromoteApps.name, type: PromoteApps.type, value: promoteAppsValues(request) },
        ],
        summary: promotionSummary(request),
        memo: promotionMemo(request.repo),
      },
      { name: 'accepted', args: [] },
      deadline,
    );
  } catch (error) {
    if (error instanceof GrpcError) return undefined; // the server took neither operation
    throw error;
  }
  if (!outcome?.ok) {
    // Started, but the answer is not "accepted" (bad input ended the run, no worker in time): the SDK
    // path's polling says what happened, exactly as when its own update-with-start did not answer.
    const { connectForCli } = await import('./errors.js');
    const { waitAccepted } = await import('./promotions.js');
    await waitAccepted(await connectForCli(), workflowId, Math.max(1_000, deadline - Date.now()));
  }
  return workflowId;
}

/** A running promotion's state; undefined when it is not running (or unknown): the SDK path reads it. */
export async function statusLight(light: LightClient, id: string): Promise<PromotionState | undefined> {
  try {
    const answer = await light.queryOpen(id, 'status');
    return answer.open ? (answer.value as PromotionState) : undefined;
  } catch (error) {
    if (error instanceof GrpcError) return undefined;
    throw error;
  }
}

/**
 * `promote approve`/`reject` (without --sign-key): the decide update, naming the commit shown right now
 * when approving without --commit, as `decide` in promotions.ts does. Undefined: the SDK path decides.
 */
export async function decideLight(
  light: LightClient,
  id: string,
  input: DecisionInput,
): Promise<Decision | undefined> {
  let named = input;
  if (input.approved && !input.commit) {
    const state = await statusLight(light, id);
    if (!state) return undefined;
    const env = state.environments.find((e) => e.name === input.env);
    if (env?.status === 'waiting-approval' && env.commit) named = { ...input, commit: env.commit };
  }
  let outcome: UpdateOutcome;
  try {
    outcome = await light.update(id, 'decide', [named]);
  } catch (error) {
    if (error instanceof GrpcError && error.code === GRPC.notFound)
      throw new NotFoundError(unknownId(id, 'running '), { cause: error });
    if (error instanceof GrpcError)
      throw new Error(`Workflow Update failed: ${error.details}`, { cause: error });
    throw error;
  }
  if (!outcome.ok) throw new BadInputError(outcome.message);
  return outcome.value as Decision;
}
