import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { repositoryKey } from '../common/ids.js';
import { fileUrlPath, isLocalPath } from '../common/repo-location.js';
import type { Source } from '../common/tags.js';
import type { PromotionRequest } from '../common/types.js';

/*
 * `promote start --source app=<repo>@<ref>`: the ref's committer time, so `promote report` can measure
 * lead time from the commit rather than from the promotion start (docs/report.md). The CLI reads it
 * where the commit already is — the checkout CI runs in, or the source itself when it is a local path —
 * and never fetches anything. When it cannot, the promotion starts all the same and its lead time
 * counts from its start; the CLI says why on stderr.
 */

/** Why a source's commit time is unknown: said on stderr, never a reason to refuse the promotion. */
export class SourceTimeUnknown extends Error {
  override readonly name = 'SourceTimeUnknown';
}

const GIT_TIMEOUT_MS = 10_000;

/** git with an argv array in an explicit directory, no prompts; stdout, or SourceTimeUnknown. */
function git(args: readonly string[], cwd: string): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      'git',
      args,
      {
        cwd,
        timeout: GIT_TIMEOUT_MS,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      },
      (error, stdout) => {
        // git's stderr may quote the directory and the ref: said once as "not found" rather than echoed.
        if (error) fail(new SourceTimeUnknown(`git ${args[0] ?? ''} failed in ${cwd}`));
        else done(stdout.trim());
      },
    );
  });
}

/** The checkout to read the commit in: the source itself when local, else the directory we run in, if it is a clone of it. */
async function checkoutOf(source: Source, cwd: string): Promise<string> {
  const localPath = fileUrlPath(source.repo) ?? (isLocalPath(source.repo) ? source.repo : undefined);
  if (localPath !== undefined) return resolve(cwd, localPath);
  const top = await git(['rev-parse', '--show-toplevel'], cwd).catch(() => {
    throw new SourceTimeUnknown(`${cwd} is not a git checkout of ${source.repo}`);
  });
  const remotes = await git(['config', '--get-regexp', '^remote\\..*\\.url$'], top).catch(() => '');
  const wanted = repositoryKey(source.repo);
  const match = remotes
    .split('\n')
    .map((line) => line.slice(line.indexOf(' ') + 1))
    .some((url) => url !== '' && repositoryKey(url) === wanted);
  if (!match) throw new SourceTimeUnknown(`${top} has no remote ${source.repo}`);
  return top;
}

/** The ref's committer time, ISO (UTC). */
export async function sourceCommitTime(source: Source, cwd: string): Promise<string> {
  // A ref starting with '-' would be read as an option by git.
  if (source.ref.startsWith('-')) throw new SourceTimeUnknown(`ref ${source.ref} is not a revision`);
  const checkout = await checkoutOf(source, cwd);
  const out = await git(
    ['log', '-1', '--no-walk', '--format=%cI', `${source.ref}^{commit}`, '--'],
    checkout,
  ).catch(() => {
    throw new SourceTimeUnknown(`${source.ref} is not in ${checkout} (a shallow clone without it?)`);
  });
  const time = Date.parse(out);
  if (Number.isNaN(time)) throw new SourceTimeUnknown(`git gave no commit time for ${source.ref}`);
  return new Date(time).toISOString();
}

/**
 * The request with each source's commit time where it can be read; `note` gets one line per source
 * whose time is unknown. The time is not part of the promotion's id (common/ids.ts), so a retried CI
 * job still finds the promotion it started.
 */
export async function withSourceTimes(
  request: PromotionRequest,
  note: (line: string) => void,
  cwd: string = process.cwd(),
): Promise<PromotionRequest> {
  const apps = await Promise.all(
    request.apps.map(async (app) => {
      if (!app.source) return app;
      try {
        return { ...app, source: { ...app.source, committedAt: await sourceCommitTime(app.source, cwd) } };
      } catch (error) {
        if (!(error instanceof SourceTimeUnknown)) throw error;
        note(`lead time of ${app.app} will count from the promotion start: ${error.message}`);
        return app;
      }
    }),
  );
  return { ...request, apps };
}
