import type * as workflow from '../workflows/definitions.js';

/**
 * The promotion workflow's query and updates as the CLI calls them. A definition is only a name and a
 * type: built here as plain objects, the CLI does not load @temporalio/workflow (and its share of
 * @temporalio/common) just to name them. Same names and types as workflows/definitions.ts, which the
 * workflow registers its handlers with; test/client-definitions.test.ts keeps the two equal.
 */
function define<D>(type: 'query' | 'update', name: string): D {
  return { type, name } as unknown as D;
}

export const statusQuery = define<typeof workflow.statusQuery>('query', 'status');
export const acceptedUpdate = define<typeof workflow.acceptedUpdate>('update', 'accepted');
export const decideUpdate = define<typeof workflow.decideUpdate>('update', 'decide');
export const abandonUpdate = define<typeof workflow.abandonUpdate>('update', 'abandon');
