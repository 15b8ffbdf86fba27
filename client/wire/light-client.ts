import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import protobuf from 'protobufjs/light.js';
import { defaultPayloadConverter } from '@temporalio/common/lib/converter/payload-converter.js';
import { typedSearchAttributePayloadConverter } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import {
  TypedSearchAttributeUpdateValue,
  type SearchAttributeType,
} from '@temporalio/common/lib/search-attributes.js';
import type { Payload } from '@temporalio/common/lib/interfaces.js';
import { DESCRIPTORS } from './descriptor.js';
import { SERVICE } from './service.js';
import { Channel, GrpcError, GRPC } from './grpc.js';

/*
 * The few WorkflowService calls `promote start`, `approve`, `reject` and `status` make, on Temporal's
 * public gRPC API as the SDK client sends them: the same request fields, the same identity and
 * headers, payloads made by the SDK's own default payload converter (json/plain), so a worker reads
 * a promotion started here exactly as one started by the SDK client. test/light-client.test.ts runs
 * them against the real dev server.
 */

// Enum values of Temporal's API (temporal/api/enums/v1), as @temporalio/proto numbers them.
const CONFLICT_USE_EXISTING = 2; // WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING
const TASK_QUEUE_KIND_NORMAL = 1;
const STAGE_ACCEPTED = 2; // UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED
const STAGE_COMPLETED = 3;
const QUERY_REJECT_NOT_OPEN = 2; // QUERY_REJECT_CONDITION_NOT_OPEN

const roots = new Map<string, protobuf.Root>();
/** A message type of one RPC, from that RPC's own descriptor (built on its first call). */
function type(method: string, name: string): protobuf.Type {
  let root = roots.get(method);
  if (!root) {
    const descriptor = DESCRIPTORS[method];
    if (!descriptor) throw new Error(`no descriptor for ${method}`);
    root = protobuf.Root.fromJSON(descriptor);
    roots.set(method, root);
  }
  return root.lookupType(name);
}

const WS = 'temporal.api.workflowservice.v1';

/** The outcome of an update: its value, or the failure the workflow's handler or validator raised. */
export type UpdateOutcome = { ok: true; value: unknown } | { ok: false; message: string };

export type QueryAnswer = { open: true; value: unknown } | { open: false };

interface FailureObject {
  message?: string;
}
interface OutcomeObject {
  success?: { payloads?: Payload[] };
  failure?: FailureObject;
}

function firstValue(payloads: Payload[] | undefined): unknown {
  const payload = payloads?.[0];
  return payload === undefined ? undefined : defaultPayloadConverter.fromPayload(payload);
}

function outcomeOf(outcome: OutcomeObject): UpdateOutcome {
  if (outcome.failure) return { ok: false, message: outcome.failure.message ?? 'update failed' };
  return { ok: true, value: firstValue(outcome.success?.payloads) };
}

export interface StartInput {
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  args: unknown[];
  searchAttributes: { name: string; type: SearchAttributeType; value: string[] }[];
  summary: string;
  /** The start's memo: each field a JSON payload, as the SDK's client encodes `memo`. */
  memo: Record<string, unknown>;
}

export class LightClient {
  readonly identity = `${process.pid}@${hostname()}`;

  constructor(
    private readonly channel: Channel,
    readonly namespace: string,
  ) {}

  private async call<T>(method: string, request: object, deadline?: number): Promise<T> {
    const requestType = type(method, `${WS}.${method}Request`);
    const bytes = requestType.encode(requestType.fromObject(request)).finish();
    const response = await this.channel.unary(`/${SERVICE}/${method}`, bytes, deadline);
    const responseType = type(method, `${WS}.${method}Response`);
    return responseType.toObject(responseType.decode(response), { longs: String, enums: Number }) as T;
  }

  private payloads(values: unknown[]): Payload[] {
    return values.map((value) => defaultPayloadConverter.toPayload(value));
  }

  /**
   * A query that only a running workflow answers: `{ open: false }` when the run has closed (the SDK
   * path then reads its result). NOT_FOUND comes back as a GrpcError.
   */
  async queryOpen(workflowId: string, queryType: string, deadline?: number): Promise<QueryAnswer> {
    const response = await this.call<{ queryResult?: { payloads?: Payload[] }; queryRejected?: object }>(
      'QueryWorkflow',
      {
        namespace: this.namespace,
        execution: { workflowId },
        query: { queryType, queryArgs: { payloads: [] }, header: { fields: {} } },
        queryRejectCondition: QUERY_REJECT_NOT_OPEN,
      },
      deadline,
    );
    if (response.queryRejected) return { open: false };
    return { open: true, value: firstValue(response.queryResult?.payloads) };
  }

  private updateRequest(workflowId: string, name: string, args: unknown[]) {
    return {
      namespace: this.namespace,
      workflowExecution: { workflowId },
      waitPolicy: { lifecycleStage: STAGE_COMPLETED },
      request: {
        meta: { updateId: randomUUID(), identity: this.identity },
        input: { header: { fields: {} }, name, args: { payloads: this.payloads(args) } },
      },
    };
  }

  /** Waits for an accepted update's outcome, as the SDK client does when the server answered early. */
  private async pollOutcome(workflowId: string, runId: string, updateId: string, deadline?: number) {
    for (;;) {
      const response = await this.call<{ outcome?: OutcomeObject }>(
        'PollWorkflowExecutionUpdate',
        {
          namespace: this.namespace,
          updateRef: { workflowExecution: { workflowId, runId }, updateId },
          identity: this.identity,
          waitPolicy: { lifecycleStage: STAGE_COMPLETED },
        },
        deadline,
      );
      if (response.outcome) return outcomeOf(response.outcome);
    }
  }

  /** An update of a running workflow, waiting for its outcome. */
  async update(workflowId: string, name: string, args: unknown[], deadline?: number): Promise<UpdateOutcome> {
    const request = this.updateRequest(workflowId, name, args);
    interface Response {
      stage?: number;
      outcome?: OutcomeObject;
      updateRef?: { workflowExecution?: { runId?: string } };
    }
    let response: Response;
    do response = await this.call<Response>('UpdateWorkflowExecution', request, deadline);
    while ((response.stage ?? 0) < STAGE_ACCEPTED);
    if (response.outcome) return outcomeOf(response.outcome);
    const runId = response.updateRef?.workflowExecution?.runId ?? '';
    return this.pollOutcome(workflowId, runId, request.request.meta.updateId, deadline);
  }

  /**
   * Update-with-start (ExecuteMultiOperation), the request the SDK's executeUpdateWithStart sends. A
   * GrpcError means the server took neither operation; once it answers, the workflow runs.
   */
  async updateWithStart(
    start: StartInput,
    update: { name: string; args: unknown[] },
    deadline?: number,
  ): Promise<UpdateOutcome> {
    const startRequest = {
      namespace: this.namespace,
      identity: this.identity,
      requestId: randomUUID(),
      workflowId: start.workflowId,
      workflowIdConflictPolicy: CONFLICT_USE_EXISTING,
      workflowType: { name: start.workflowType },
      input: { payloads: this.payloads(start.args) },
      taskQueue: { kind: TASK_QUEUE_KIND_NORMAL, name: start.taskQueue },
      searchAttributes: {
        indexedFields: Object.fromEntries(
          start.searchAttributes.map(({ name, type, value }) => [
            name,
            typedSearchAttributePayloadConverter.toPayload(new TypedSearchAttributeUpdateValue(type, value)),
          ]),
        ),
      },
      header: { fields: {} },
      memo: {
        fields: Object.fromEntries(
          Object.entries(start.memo).map(([key, value]) => [key, defaultPayloadConverter.toPayload(value)]),
        ),
      },
      userMetadata: { summary: defaultPayloadConverter.toPayload(start.summary) },
    };
    const updateRequest = this.updateRequest(start.workflowId, update.name, update.args);
    interface Response {
      responses?: {
        updateWorkflow?: {
          stage?: number;
          outcome?: OutcomeObject;
          updateRef?: { workflowExecution?: { runId?: string } };
        };
      }[];
    }
    const request = {
      namespace: this.namespace,
      operations: [{ startWorkflow: startRequest }, { updateWorkflow: updateRequest }],
    };
    let answer: NonNullable<Response['responses']>[number]['updateWorkflow'];
    do {
      const response = await this.call<Response>('ExecuteMultiOperation', request, deadline);
      answer = response.responses?.[1]?.updateWorkflow;
    } while ((answer?.stage ?? 0) < STAGE_ACCEPTED);
    if (answer?.outcome) return outcomeOf(answer.outcome);
    const runId = answer?.updateRef?.workflowExecution?.runId ?? '';
    return this.pollOutcome(start.workflowId, runId, updateRequest.request.meta.updateId, deadline);
  }

  close(): void {
    this.channel.close();
  }
}

export { GrpcError, GRPC };
