import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Revision } from '../../activities/deployers/helm-client.js';

const SCRIPT = `#!/usr/bin/env bash
# A stand-in for the helm CLI: answers \`helm history\` from history.json, records every call.
dir="$(cd "$(dirname "$0")" && pwd)"
echo "$*" >> "$dir/calls.log"
case "$1" in
  history) cat "$dir/history.json" ;;
  rollback) echo "Rollback was a success! Happy Helming!" ;;
  uninstall) echo "release \\"$2\\" uninstalled" ;;
  *) echo "helm stand-in: unexpected command: $*" >&2; exit 1 ;;
esac
`;

/**
 * A `helm` executable whose release history the test writes (as \`helm history -o json\` prints it) and
 * which records every command it was given: for the deployers' decisions that do not need a cluster,
 * such as whether a pending revision is repaired. test/e2e runs the real helm against an API server.
 */
export class HelmStandIn {
  private constructor(readonly dir: string) {}

  static async create(): Promise<HelmStandIn> {
    const dir = await mkdtemp(join(tmpdir(), 'promote-helm-'));
    await writeFile(join(dir, 'helm'), SCRIPT);
    await chmod(join(dir, 'helm'), 0o755);
    await writeFile(join(dir, 'calls.log'), '');
    await writeFile(join(dir, 'history.json'), '[]');
    return new HelmStandIn(dir);
  }

  get binary(): string {
    return join(this.dir, 'helm');
  }

  async setHistory(revisions: Revision[]): Promise<void> {
    await writeFile(join(this.dir, 'history.json.tmp'), JSON.stringify(revisions));
    // Renamed into place, so a `helm history` running meanwhile reads the old or the new one, whole.
    await rename(join(this.dir, 'history.json.tmp'), join(this.dir, 'history.json'));
  }

  async calls(): Promise<string[]> {
    return (await readFile(join(this.dir, 'calls.log'), 'utf8')).split('\n').filter(Boolean);
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
