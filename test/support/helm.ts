import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../server/tools.js';

export const HELM_VERSION = 'v3.22.0';

/**
 * The real `helm`, built once from the Go module proxy into the git-ignored .tools/ folder (Go's module
 * and build caches there too). PROMOTE_HELM_PATH points at an existing binary instead.
 */
export async function helmBinary(): Promise<string> {
  if (process.env.PROMOTE_HELM_PATH) return process.env.PROMOTE_HELM_PATH;
  const go = join(PROJECT_ROOT, '.tools', 'go');
  const binary = join(go, 'bin', 'helm');
  if (existsSync(binary)) return binary;
  await execa('go', ['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
    env: {
      GOBIN: join(go, 'bin'),
      GOMODCACHE: join(go, 'mod'),
      GOCACHE: join(go, 'cache'),
      GOFLAGS: '-mod=mod',
    },
    stdio: 'inherit',
  });
  return binary;
}
