import { describe, expect, it } from '@jest/globals';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitForApproval } from '../../client/promotions.js';
import { promoteCli } from '../support/cli.js';
import { TestRepo } from '../support/repo.js';
import { useTemporal } from '../support/suite.js';

const suite = useTemporal();

/** Clear the screen, ring the bell, and an 8-bit CSI that would start another sequence. */
const PLANTED = '\x1b[2J\x07\x9b31m';
// eslint-disable-next-line no-control-regex -- control characters are what this test looks for
const UNTRUSTED = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/** What may remain: newlines, tabs, and our own SGR colour sequences (ESC [ digits m), nothing else. */
function withoutOwnColour(text: string): string {
  // eslint-disable-next-line no-control-regex -- our own SGR colour sequences
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

describe('text from outside cannot drive the terminal', () => {
  it('status, diff and watch strip control characters from diffs, reasons and comments', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'staging', approval: 'manual' }] });
    // The running cluster's copy differs from Git in a line that carries escape sequences: the deploy
    // diff (what the approver reads) shows it.
    const live = join(repo.cluster, 'staging.yaml');
    const text = await readFile(live, 'utf8');
    await writeFile(live, text.replace('# bumped by Promote', `# bumped ${PLANTED}by someone else`));
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const cli = (args: string[], env: Record<string, string> = {}) =>
        promoteCli(args, { address: suite.temporal.address, taskQueue, env });
      const started = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--json']);
      expect(started.code).toBe(0);
      const { id } = JSON.parse(started.stdout) as { id: string };
      const waiting = await waitForApproval(suite.temporal.client, id, 'staging');
      // The planted bytes really are in the recorded diff: JSON keeps data as it is.
      expect(waiting.environments[0]?.diff).toContain(PLANTED);

      for (const args of [
        ['status', id],
        ['diff', id, '--env', 'staging'],
      ]) {
        const coloured = await cli(args, { FORCE_COLOR: '1' });
        expect(coloured.code).toBe(0);
        expect(coloured.stdout).toContain('by someone else');
        expect(coloured.stdout).toContain('\x1b[32m'); // our own colouring of added lines stays
        expect(withoutOwnColour(coloured.stdout)).not.toMatch(UNTRUSTED);
        const plain = await cli(args, { NO_COLOR: '1' });
        expect(plain.stdout).toContain('by someone else');
        expect(plain.stdout).not.toMatch(UNTRUSTED);
      }

      const rejected = await cli([
        'reject',
        id,
        '--env',
        'staging',
        '--as',
        `bob${PLANTED}`,
        '--reason',
        `freeze${PLANTED} now`,
      ]);
      expect(rejected.code).toBe(0);
      expect(rejected.stdout).not.toMatch(UNTRUSTED);
      const status = await cli(['status', id], { NO_COLOR: '1' });
      expect(status.stdout).toMatch(/rejected by bob.*freeze.*now/);
      expect(status.stdout).not.toMatch(UNTRUSTED);
      const watched = await cli(['watch', id], { NO_COLOR: '1' });
      expect(watched.stdout).toContain('rejected by bob');
      expect(watched.stdout).not.toMatch(UNTRUSTED);
    });
  });
});
