import type { BumpInput } from '../../activities/bump.js';
import { git } from '../../activities/git.js';

/**
 * The bump the activity tests run: api to 1.5.0 in dev's values file of the repository at `repo`, made
 * since the current head of main of the bare repository at `bare` (`overrides` change any of it).
 */
export async function devBumpInput(
  bare: string,
  repo: string,
  promotionId: string,
  overrides: Partial<BumpInput> = {},
): Promise<BumpInput> {
  const head = (await git(['rev-parse', 'main'], { cwd: bare })).trim();
  return {
    promotionId,
    repo,
    branch: 'main',
    env: 'dev',
    valuesFile: 'environments/dev.yaml',
    sinceCommit: head,
    edits: [{ app: 'api', tagPath: 'api.image.tag', tag: '1.5.0' }],
    sources: [],
    ...overrides,
  };
}
