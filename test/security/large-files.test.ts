import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { promoteCli } from '../support/cli.js';
import { TestRepo } from '../support/repo.js';
import { useTemporal } from '../support/suite.js';

const suite = useTemporal();

describe('files larger than a command output buffer are read whole', () => {
  it('a 200 KB values file is bumped in place, its first lines kept', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const original = await repo.file('environments/dev.yaml');
    // Real values files grow large (long lists of hosts, inline config maps): here a long header.
    const header = Array.from({ length: 4_000 }, (_, i) => `# note ${i}: ${'x'.repeat(40)}`).join('\n');
    await repo.commitFile('environments/dev.yaml', `${header}\n${original}`, 'a large values file');
    await suite.temporal.withWorker(async ({ taskQueue }) => {
      const result = await promoteCli(
        ['start', '--repo', repo.url, '--app', 'api=1.5.0', '--wait', '--json'],
        {
          address: suite.temporal.address,
          taskQueue,
        },
      );
      expect(result.code).toBe(0);
    });
    // Read with git itself: the project's git() keeps a bounded tail of output, as the bug did.
    const bumped = (
      await execa('git', ['show', 'main:environments/dev.yaml'], { cwd: repo.url, stripFinalNewline: false })
    ).stdout;
    expect(bumped.startsWith('# note 0: ')).toBe(true);
    expect(bumped).toContain(header);
    expect(bumped).toContain('tag: "1.5.0"');
    expect(bumped.length).toBe(`${header}\n${original}`.length);
  });
});
