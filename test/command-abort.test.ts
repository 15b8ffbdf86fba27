import { afterEach, describe, expect, it } from '@jest/globals';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../activities/command.js';
import { eventually } from './support/wait.js';
import { isRunning } from './support/processes.js';

/**
 * A cancelled command's whole process group ends before runCommand returns, however its processes
 * treat SIGTERM: compensation runs next, and must not race anything the cancelled command started.
 */
let dir: string | undefined;
let group: number | undefined;

afterEach(async () => {
  try {
    if (group) process.kill(-group, 'SIGKILL');
  } catch {
    // Already gone.
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

// The command obeys SIGTERM at once; the child it started (a port-forward, a kubectl wait writing to
// its own log) ignores it, and holds none of the command's output pipes open.
const OBEDIENT_PARENT = `#!/usr/bin/env bash
echo $$ > "$1/leader.pid"
bash -c 'trap "" TERM; echo $$ > "$0/child.pid"; while :; do sleep 0.2; done' "$1" >/dev/null 2>&1 &
trap 'exit 143' TERM
while :; do sleep 0.2; done
`;

describe('cancelling a command whose child ignores SIGTERM', () => {
  it('SIGKILLs the rest of its group after the grace time even when the command itself exited', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'promote-abort-'));
    dir = scratch;
    const script = join(scratch, 'deploy.sh');
    await writeFile(script, OBEDIENT_PARENT);
    await chmod(script, 0o755);
    const abort = new AbortController();
    const run = runCommand([script, scratch], { cwd: scratch, signal: abort.signal, graceMs: 1_000 });
    const pidOf = async (name: string) => Number((await readFile(join(scratch, name), 'utf8')).trim());
    const child = await eventually('the command and its child to run', async () =>
      existsSync(join(scratch, 'leader.pid')) && existsSync(join(scratch, 'child.pid'))
        ? pidOf('child.pid')
        : undefined,
    );
    group = await pidOf('leader.pid');

    abort.abort();
    const result = await run;
    expect(result.cancelled).toBe(true);
    // By the time the caller may compensate, nothing of the command is left.
    expect(isRunning(child)).toBe(false);
  });
});
