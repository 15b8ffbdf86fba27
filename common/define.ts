import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';

/*
 * The workflow's signals, queries and updates are only a type and a name: these build them as the
 * SDK's defineQuery/defineSignal/defineUpdate do, without loading @temporalio/workflow. The CLI names
 * them on every `status`, `approve` and `start`, and must not pay for the workflow runtime to do so.
 * test/definitions.test.ts checks they equal what the SDK builds.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- the SDK's own definition types take `any[]` arguments */
export function defineQuery<Ret, Args extends any[] = [], Name extends string = string>(
  name: Name,
): QueryDefinition<Ret, Args, Name> {
  return { type: 'query', name } as unknown as QueryDefinition<Ret, Args, Name>;
}

export function defineSignal<Args extends any[] = [], Name extends string = string>(
  name: Name,
): SignalDefinition<Args, Name> {
  return { type: 'signal', name } as unknown as SignalDefinition<Args, Name>;
}

export function defineUpdate<Ret, Args extends any[] = [], Name extends string = string>(
  name: Name,
): UpdateDefinition<Ret, Args, Name> {
  return { type: 'update', name } as unknown as UpdateDefinition<Ret, Args, Name>;
}
/* eslint-enable @typescript-eslint/no-explicit-any */
