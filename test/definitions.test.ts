import { describe, expect, it } from '@jest/globals';
import * as sdk from '@temporalio/workflow';
import * as promotionDefinitions from '../common/definitions.js';
import * as governanceDefinitions from '../common/governance-definitions.js';

// common/define.ts builds definitions without the SDK's workflow package; a definition the SDK would
// build differently (a new field, another type tag) would make handlers and callers disagree.
describe('the workflow definitions shared by the workflow, the worker and the CLI', () => {
  const builders: Record<string, (name: string) => unknown> = {
    query: (name) => sdk.defineQuery(name),
    signal: (name) => sdk.defineSignal(name),
    update: (name) => sdk.defineUpdate(name),
  };

  const definitions = { ...promotionDefinitions, ...governanceDefinitions };
  it.each(Object.entries(definitions))('%s is what the SDK builds for its name', (_, definition) => {
    const { type, name } = definition as { type: string; name: string };
    expect(definition).toEqual(builders[type]?.(name));
  });
});
