import type { WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flags, promoteCli } from '../support/cli.js';
import { TestRepo } from '../support/repo.js';
import { useTemporal } from '../support/suite.js';
import { eventually } from '../support/wait.js';

const suite = useTemporal();

/** An alias bomb: ten levels of ten aliases each expand to 10^10 strings if a parser follows them. */
function aliasBomb(): string {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  const names = 'abcdefghij';
  for (let i = 1; i < names.length; i++) {
    const prev = names[i - 1] ?? 'a';
    levels.push(`${names[i]}: &${names[i]} [${Array(10).fill(`*${prev}`).join(',')}]`);
  }
  return `${levels.join('\n')}\n`;
}

/** A promote.yaml that is valid but several megabytes long (a comment padded out). */
async function oversized(repo: TestRepo): Promise<string> {
  const valid = await repo.file('promote.yaml');
  return `${valid}\n# ${'x'.repeat(3 * 1024 * 1024)}\n`;
}

async function withRepoWorkflows<T>(
  fn: (cli: (args: string[]) => ReturnType<typeof promoteCli>) => Promise<T>,
) {
  return suite.temporal.withWorker(async ({ taskQueue }) =>
    fn((args) => promoteCli(args, { address: suite.temporal.address, taskQueue })),
  );
}

describe('promote start --source refuses URLs that carry credentials', () => {
  it.each([
    ['a GitLab token as user:password', 'api=https://oauth2:glpat-SECRETSECRET@gitlab.example.com/g/a@abc'],
    ['a token as user name over https', 'api=https://ghp_SECRETSECRET@github.com/o/a@abc'],
    ['user:password over ssh://', 'api=ssh://git:SECRETSECRET@git.example.com/o/a@abc'],
  ])('%s: exit 2, nothing started, the secret is not echoed', async (_name, source) => {
    const repo = await TestRepo.create();
    const before = await repo.commits();
    await withRepoWorkflows(async (cli) => {
      const result = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--source', source]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--source .*credentials/);
      expect(result.stderr).not.toContain('SECRETSECRET');
      const listed = await cli(['list', '--json']);
      expect(JSON.parse(listed.stdout)).toEqual([]);
    });
    expect(await repo.commits()).toEqual(before);
  });

  it('still takes an ssh user name without a password (git@host:path)', async () => {
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    await withRepoWorkflows(async (cli) => {
      const result = await cli([
        'start',
        ...flags({ repo: repo.url, app: 'api=1.5.0', source: 'api=git@github.com:shop/api.git@9f3e2c1' }),
        '--wait',
        '--json',
      ]);
      expect(result.code).toBe(0);
    });
  });
});

describe('numeric flags are checked', () => {
  it.each([['abc'], ['-1'], ['0'], ['1.5'], ['10abc']])('list --limit %s exits 2', async (limit) => {
    const result = await promoteCli(['list', '--limit', limit], { address: suite.temporal.address });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--limit');
  });

  it('list --limit 3 is taken', async () => {
    const result = await promoteCli(['list', '--limit', '3', '--json'], { address: suite.temporal.address });
    expect(result.code).toBe(0);
  });
});

describe('a hostile promote.yaml is a config error (exit 2), never retried', () => {
  let dir: string;
  const local = async (text: string) => {
    dir = await mkdtemp(join(tmpdir(), 'promote-yaml-'));
    const file = join(dir, 'promote.yaml');
    await writeFile(file, text);
    return file;
  };
  const cleanup = async () => rm(dir, { recursive: true, force: true });

  it('validate: an alias bomb exits 2 naming the aliases', async () => {
    const file = await local(aliasBomb());
    try {
      const result = await promoteCli(['validate', file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/alias/i);
    } finally {
      await cleanup();
    }
  });

  it('validate: an oversized promote.yaml exits 2 naming the limit', async () => {
    const repo = await TestRepo.create();
    const file = await local(await oversized(repo));
    try {
      const result = await promoteCli(['validate', file]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/too large/);
    } finally {
      await cleanup();
    }
  });

  /**
   * The attempts that loaded promote.yaml: activity tasks, and local activities (from `local-reads` on),
   * whose attempt count is in their marker.
   */
  function loadAttempts(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): number[] {
    return (history.events ?? []).flatMap((e) => {
      if (e.activityTaskStartedEventAttributes) return [e.activityTaskStartedEventAttributes.attempt ?? 0];
      const marker = e.markerRecordedEventAttributes;
      const data =
        marker?.markerName === 'core_local_activity'
          ? marker.details?.['data']?.payloads?.[0]?.data
          : undefined;
      if (!data) return [];
      const { attempt, activity_type } = JSON.parse(Buffer.from(data).toString('utf8')) as {
        attempt: number;
        activity_type: string;
      };
      return activity_type === 'loadPromotion' ? [attempt] : [];
    });
  }

  it.each([
    ['an alias bomb', () => Promise.resolve(aliasBomb()), /alias/i],
    ['an oversized file', oversized, /too large/],
  ])(
    'start: %s at the branch head exits 2 with the config error, nothing committed',
    async (_n, text, message) => {
      const repo = await TestRepo.create();
      await repo.commitFile('promote.yaml', await text(repo), 'hostile promote.yaml');
      const before = await repo.commits();
      await suite.temporal.withWorker(async ({ taskQueue }) => {
        const cli = (args: string[]) => promoteCli(args, { address: suite.temporal.address, taskQueue });
        const result = await cli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--json']);
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/promote\.yaml/);
        expect(result.stderr).toMatch(message);
        // Not retried: the config load failed on its first attempt, and so did the promotion.
        const id = await eventually('the refused promotion in visibility', async () => {
          for await (const execution of suite.temporal.client.workflow.list({
            query: "WorkflowType = 'promote'",
          }))
            if (execution.taskQueue === taskQueue) return execution.workflowId;
          return undefined;
        });
        const history = await suite.temporal.client.workflow.getHandle(id).fetchHistory();
        expect(loadAttempts(history)).toEqual([1]);
      });
      expect(await repo.commits()).toEqual(before);
    },
  );
});
