import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appScalarEdits, readAppTag } from './formats/app-values.js';
import { bumpMessage, unrevertedBump, type BumpInput, type PromotionCommitKey } from './bump.js';
import { gitPush, git, GitError, isNonFastForward, pushBackoff, PushConflictError } from './git.js';
import { trailers as parseTrailers } from './providers/github-history.js';
import {
  GitHubError,
  MergeRefusedError,
  ProposalChangedError,
  type GitHubRepository,
} from './providers/github.js';
import type { RepositoryCache } from './repository.js';
import { hasKey, locatorKey, readScalars, setScalars, type ScalarChange } from './values-file.js';
import { TRAILER } from './bump.js';
import { ApplicationFailure } from '@temporalio/activity';
import { FailureType } from '../common/failures.js';

/**
 * A proposal is force-pushed to its branch and deleted when dropped: were it the deployment branch,
 * a proposal would land unapproved, or the branch would be deleted. promote.yaml validation refuses
 * such templates; this is the last check before git is asked.
 */
function ownBranch(input: { branch: string; proposalBranch: string }): void {
  const strip = (ref: string) => ref.replace(/^refs\/heads\//, '');
  if (strip(input.proposalBranch) === strip(input.branch) || !input.proposalBranch.trim()) {
    throw ApplicationFailure.create({
      message: `the proposal branch ${JSON.stringify(input.proposalBranch)} is the deployment branch: refusing to push or delete it`,
      type: FailureType.InvalidConfig,
      nonRetryable: true,
    });
  }
}

export interface ProposeInput extends BumpInput {
  /** The proposal branch: `promote/<env>/<promotion>` unless promote.yaml names another. */
  proposalBranch: string;
  /** GitHub: the pull request's body (the diff summary is added once the diff ran). */
  description?: string;
}

export interface ProposeResult {
  /** The proposal commit, or the deployment branch head when there is nothing to change. */
  commit: string;
  /** The deployment branch head it was made on. */
  base: string;
  changed: boolean;
  changes: ScalarChange[];
  previousTags: Record<string, string>;
}

export interface PublishInput {
  repo: string;
  branch: string;
  proposalBranch: string;
  commit: string;
  title: string;
  body: string;
}

export interface LandInput extends BumpInput {
  proposalBranch: string;
  /** The approved proposal. */
  proposal: { commit: string; base: string; changes: ScalarChange[]; pullRequest?: number };
}

/** Landed on the deployment branch at `commit`, or refused because the lines it changes moved. */
export type LandResult = { commit: string } | { stale: string };

export interface DropInput {
  repo: string;
  /** The deployment branch (fetched first, so a worker without a mirror can still delete). */
  branch: string;
  proposalBranch: string;
  pullRequest?: number;
  reason: string;
}

/** The lines a proposal changes no longer hold the values it was made against. */
class StaleProposal extends Error {
  override readonly name = 'StaleProposal';
}

function tagsFrom(source: string, input: BumpInput): Record<string, string> {
  return Object.fromEntries(input.edits.map((e) => [e.app, readAppTag(source, e, input.valuesFile)]));
}

function isOwnProposal(message: string, input: BumpInput): boolean {
  const found = parseTrailers(message);
  return (
    found.get(TRAILER.id) === input.promotionId &&
    found.get(TRAILER.env) === input.env &&
    found.get(TRAILER.action) === 'bump' &&
    (!input.run || found.get(TRAILER.run) === input.run)
  );
}

/** Why `source` no longer takes the proposal as approved, or undefined when it does. */
function staleness(source: string, changes: readonly ScalarChange[], file: string): string | undefined {
  for (const change of changes) {
    const present = hasKey(source, change, file);
    const now = present ? readScalars(source, [change], file).get(locatorKey(change)) : undefined;
    if (now !== change.before) {
      const was = change.before === undefined ? 'absent' : JSON.stringify(change.before);
      const is = now === undefined ? 'absent' : JSON.stringify(now);
      return `${file}: ${change.path} changed on the deployment branch since the proposal (was ${was}, now ${is})`;
    }
  }
  return undefined;
}

/** The remote proposal branch's head, or undefined when it does not exist. */
async function remoteBranchHead(
  cache: RepositoryCache,
  repo: string,
  branch: string,
): Promise<string | undefined> {
  const out = await cache.git(repo, ['ls-remote', 'origin', `refs/heads/${branch}`]);
  return out.split(/\s+/)[0] || undefined;
}

/**
 * Makes the proposal: the bump commit (same message and trailers as a direct bump) on top of the
 * deployment branch's head, pushed to the proposal branch only. Idempotent: this run's proposal on
 * the current head is reused.
 */
export async function proposeBump(cache: RepositoryCache, input: ProposeInput): Promise<ProposeResult> {
  ownBranch(input);
  const github = cache.gitHub(input.repo);
  if (github) return proposeOnGitHub(github, input);
  const base = await cache.fetch(input.repo, input.branch);
  const source = (await cache.readFile(input.repo, base, input.valuesFile)) ?? '';
  const previousTags = tagsFrom(source, input);
  const { text, changes } = setScalars(source, input.edits.flatMap(appScalarEdits), input.valuesFile);
  if (changes.length === 0) return { commit: base, base, changed: false, changes, previousTags };

  const existing = await remoteBranchHead(cache, input.repo, input.proposalBranch);
  if (existing) {
    await cache.fetch(input.repo, input.proposalBranch);
    // Parent and message in one git process: `<parent>` NUL `<message>`.
    const [parent = '', message = ''] = (
      await cache.git(input.repo, ['log', '-1', '--format=%P%x00%B', existing])
    ).split('\0');
    if (parent.trim() === base && isOwnProposal(message, input))
      return { commit: existing, base, changed: true, changes, previousTags };
  }
  // One fast-import stream in the mirror (no checkout), as a direct bump's commit.
  const { commit, ref } = await cache.commitFile(
    input.repo,
    base,
    input.valuesFile,
    text,
    bumpMessage(input),
  );
  try {
    // The proposal branch is this promotion's own: a rebuilt proposal replaces the one before it.
    await cache.git(input.repo, [
      'push',
      '--quiet',
      '--force',
      'origin',
      `${commit}:refs/heads/${input.proposalBranch}`,
    ]);
  } catch (error) {
    await cache.dropRef(input.repo, ref);
    throw error;
  }
  await cache.pushed(input.repo, input.proposalBranch, commit, ref);
  return { commit, base, changed: true, changes, previousTags };
}

async function proposeOnGitHub(github: GitHubRepository, input: ProposeInput): Promise<ProposeResult> {
  const base = await github.head(input.branch);
  const source = (await github.readFile(base, input.valuesFile)) ?? '';
  const previousTags = tagsFrom(source, input);
  const { text, changes } = setScalars(source, input.edits.flatMap(appScalarEdits), input.valuesFile);
  if (changes.length === 0) return { commit: base, base, changed: false, changes, previousTags };
  const existing = await github.head(input.proposalBranch).catch((error: unknown) => {
    if (error instanceof GitHubError && error.status === 404) return undefined;
    throw error;
  });
  if (existing) {
    const commit = await github.commitInfo(existing);
    if (commit.parents[0] === base && isOwnProposal(commit.message, input))
      return { commit: existing, base, changed: true, changes, previousTags };
  }
  const commit = await github.createCommit(base, input.valuesFile, text, bumpMessage(input));
  await github.setBranch(input.proposalBranch, commit);
  return { commit, base, changed: true, changes, previousTags };
}

/** GitHub: opens (or finds) the proposal's pull request; other providers have nothing to publish. */
export async function publishProposal(
  cache: RepositoryCache,
  input: PublishInput,
): Promise<{ url?: string; pullRequest?: number }> {
  const github = cache.gitHub(input.repo);
  if (!github) return {};
  const open =
    (await github.findPullRequest(input.proposalBranch)) ??
    (await github.openPullRequest({
      head: input.proposalBranch,
      base: input.branch,
      title: input.title,
      body: input.body,
    }));
  return { url: open.url, pullRequest: open.number };
}

/**
 * Lands an approved proposal on the deployment branch: the proposal commit itself when the branch has
 * not moved, else the same edit (same message and trailers) on the current head, but only if the
 * lines it changes still hold the values the proposal was made against. Idempotent through trailers.
 */
export async function landProposal(cache: RepositoryCache, input: LandInput): Promise<LandResult> {
  const github = cache.gitHub(input.repo);
  if (github) return landOnGitHub(cache, github, input);
  let head = await cache.fetch(input.repo, input.branch);
  for (let attempt = 1; ; attempt++) {
    // Not a bump already reverted: a hand-merged proposal reverted before this landing has the same trailers.
    const own = await unrevertedBump(cache, input);
    if (own) return { commit: own };
    try {
      if (head === input.proposal.base) {
        await cache.ensureCommit(input.repo, input.proposalBranch, input.proposal.commit);
        await cache.git(input.repo, [
          'push',
          '--quiet',
          'origin',
          `${input.proposal.commit}:refs/heads/${input.branch}`,
        ]);
        await cache.fetch(input.repo, input.branch);
        return { commit: input.proposal.commit };
      }
      const landed = await cache.withWorktree(input.repo, head, async (dir) => {
        const file = join(dir, input.valuesFile);
        const source = await readFile(file, 'utf8');
        const stale = staleness(source, input.proposal.changes, input.valuesFile);
        if (stale) throw new StaleProposal(stale);
        const { text, changes } = setScalars(source, input.edits.flatMap(appScalarEdits), input.valuesFile);
        if (changes.length === 0)
          throw new StaleProposal(`${input.valuesFile} already holds the proposed values`);
        await writeFile(file, text);
        await git(['add', '--', input.valuesFile], { cwd: dir });
        await git([...cache.identityArgs(), 'commit', '--quiet', '--no-verify', '-F', '-'], {
          cwd: dir,
          input: bumpMessage(input),
        });
        const commit = (await git(['rev-parse', 'HEAD'], { cwd: dir })).trim();
        await gitPush(['push', '--quiet', 'origin', `HEAD:refs/heads/${input.branch}`], { cwd: dir });
        return commit;
      });
      await cache.fetch(input.repo, input.branch);
      return { commit: landed };
    } catch (error) {
      if (error instanceof StaleProposal) return { stale: error.message };
      if (!isNonFastForward(error)) throw error;
      if (attempt >= 5) throw new PushConflictError(input.repo, input.branch, attempt);
      await pushBackoff(attempt);
      head = await cache.fetch(input.repo, input.branch);
    }
  }
}

async function landOnGitHub(
  cache: RepositoryCache,
  github: GitHubRepository,
  input: LandInput,
): Promise<LandResult> {
  if (input.proposal.pullRequest === undefined) return { stale: 'the proposal has no pull request' };
  const merged = await github.pullRequestMerge(input.proposal.pullRequest);
  if (merged) return { commit: merged };
  try {
    return { commit: await github.mergePullRequest(input.proposal.pullRequest, input.proposal.commit) };
  } catch (error) {
    // 409: the head moved since it was approved; 405: no longer mergeable (the same lines changed).
    if (error instanceof ProposalChangedError) return { stale: error.message };
    if (error instanceof MergeRefusedError) throw error;
    if (error instanceof GitHubError && error.status === 405)
      return {
        stale: `pull request #${input.proposal.pullRequest} can no longer be merged: ${error.message}`,
      };
    throw error;
  }
}

/**
 * This promotion's bump found on the deployment branch (after a fetch) though Promote never landed it:
 * its proposal branch or pull request was merged by hand. Undefined when absent or already reverted.
 */
export async function mergedProposal(
  cache: RepositoryCache,
  key: PromotionCommitKey,
): Promise<string | undefined> {
  if (!cache.gitHub(key.repo)) await cache.fetch(key.repo, key.branch);
  return unrevertedBump(cache, key);
}

/** Deletes the proposal branch (and closes its pull request with the reason); gone already is fine. */
export async function dropProposal(cache: RepositoryCache, input: DropInput): Promise<void> {
  ownBranch(input);
  const github = cache.gitHub(input.repo);
  if (github) {
    if (input.pullRequest !== undefined) await github.closePullRequestIfOpen(input.pullRequest, input.reason);
    await github.deleteBranch(input.proposalBranch).catch((error: unknown) => {
      if (!(error instanceof GitHubError && (error.status === 404 || error.status === 422))) throw error;
    });
    return;
  }
  await cache.fetch(input.repo, input.branch);
  try {
    await cache.git(input.repo, [
      'push',
      '--quiet',
      'origin',
      '--delete',
      `refs/heads/${input.proposalBranch}`,
    ]);
  } catch (error) {
    if (!(error instanceof GitError && /remote ref does not exist|unable to delete/.test(error.stderr)))
      throw error;
  }
}
