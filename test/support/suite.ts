import { afterAll, afterEach, beforeAll } from '@jest/globals';
import { TestRepo } from './repo.js';
import { TestTemporal } from './temporal.js';

/**
 * A test file's shared set-up: one real server for the file, and every TestRepo a test created removed
 * after it.
 */
export function useTemporal(): { readonly temporal: TestTemporal } {
  let current: TestTemporal | undefined;
  beforeAll(async () => {
    current = await TestTemporal.start();
  });
  afterAll(async () => {
    await current?.teardown();
  });
  afterEach(async () => {
    await TestRepo.removeAll();
  });
  return {
    get temporal(): TestTemporal {
      if (!current) throw new Error('the Temporal test server is not started yet');
      return current;
    },
  };
}
