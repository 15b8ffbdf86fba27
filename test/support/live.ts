import { expect } from '@jest/globals';
import type { TestRepo } from './repo.js';

/**
 * Expects the cluster to run exactly what the deployment branch says for `env` (its values file, byte
 * for byte), and that to name each of `tags`: what landed is what runs.
 */
export async function expectLiveAsCommitted(repo: TestRepo, env: string, tags: string[]): Promise<void> {
  const live = await repo.live(env);
  expect(live).toBe(await repo.file(`environments/${env}.yaml`));
  for (const tag of tags) expect(live).toContain(`tag: "${tag}"`);
}
