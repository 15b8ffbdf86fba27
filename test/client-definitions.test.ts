import { describe, expect, it } from '@jest/globals';
import * as client from '../client/definitions.js';
import * as workflow from '../workflows/definitions.js';

describe("the CLI's query and update definitions", () => {
  it.each(Object.keys(client))('%s names what the workflow registers', (name) => {
    const ours = client[name as keyof typeof client];
    const theirs = workflow[name as keyof typeof client];
    expect({ type: ours.type, name: ours.name }).toEqual({ type: theirs.type, name: theirs.name });
  });
});
