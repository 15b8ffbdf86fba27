import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

/**
 * An application's source repository with one commit at a known committer time: what `promote start
 * --source app=<repo>@<ref>` names, and what CI has checked out when it runs `promote start`.
 */
export async function createSourceRepo(
  dir: string,
  committedAt: Date,
): Promise<{ path: string; commit: string }> {
  const path = join(dir, 'source');
  await mkdir(path, { recursive: true });
  const git = (args: string[]) =>
    execa('git', args, {
      cwd: path,
      env: {
        GIT_AUTHOR_NAME: 'dev',
        GIT_AUTHOR_EMAIL: 'dev@example.com',
        GIT_COMMITTER_NAME: 'dev',
        GIT_COMMITTER_EMAIL: 'dev@example.com',
        GIT_AUTHOR_DATE: committedAt.toISOString(),
        GIT_COMMITTER_DATE: committedAt.toISOString(),
      },
    });
  await git(['init', '-q', '-b', 'main']);
  await git(['commit', '-q', '--allow-empty', '-m', 'feat: the change being promoted']);
  const commit = (await git(['rev-parse', 'HEAD'])).stdout.trim();
  return { path, commit };
}

/** Names `url` as the checkout's `origin`, as a CI clone of it would. */
export async function setOrigin(path: string, url: string): Promise<void> {
  await execa('git', ['remote', 'add', 'origin', url], { cwd: path });
}
