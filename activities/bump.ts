import { isNonFastForward, pushBackoff, PushConflictError } from './git.js';
import type { RepositoryCache } from './repository.js';
import type { ValueOptions } from '../common/app-values.js';
import type { AbandonedBump } from '../common/types.js';
import { appScalarEdits, changesBetween, readAppTag } from './formats/app-values.js';
import { findGitHubPromotionCommit } from './providers/github-history.js';
import {
  locatorKey,
  readScalars,
  scalarChangesBetween,
  setScalars,
  type ScalarChange,
  type ScalarEdit,
} from './values-file.js';

export interface BumpEdit extends ValueOptions {
  app: string;
  tagPath: string;
  tag: string;
  revisionPath?: string;
  revision?: string;
}

/** Identifies a promotion's commits on the branch; `sinceCommit` bounds the search. */
export interface PromotionCommitKey {
  promotionId: string;
  /**
   * The workflow run: a request re-run after its earlier run was terminated has the same id, and the
   * earlier run's commits must not be taken for the new one's (absent in runs started before it existed).
   */
  run?: string;
  repo: string;
  branch: string;
  env: string;
  /** Commits before this one cannot belong to the promotion. */
  sinceCommit: string;
  /**
   * For a run-scoped key: where the search for the saga's own commits may start, given by an execution
   * that is its saga's first. `sinceCommit` alone cannot bound it: a saga reset to its start re-reads its
   * config at a newer head, after the commits its first execution made, so a reset execution (or a
   * request from a worker older than this field) searches the whole branch.
   */
  runSince?: string;
}

export interface BumpInput extends PromotionCommitKey {
  valuesFile: string;
  edits: BumpEdit[];
  /** Upstream `repo@ref` per app, quoted in the commit body like the CI job used to. */
  sources: string[];
  kind?: 'promotion' | 'rollback';
}

export interface BumpResult {
  /** The commit the environment should be deployed at. */
  commit: string;
  /** True when this call (or an earlier attempt of this promotion) changed the values file. */
  changed: boolean;
  changes: ScalarChange[];
  previousTags: Record<string, string>;
}

export interface RevertInput extends PromotionCommitKey {
  valuesFile: string;
  /** What the bump changed: each path goes back to `before` only if it still holds `after`. */
  changes: ScalarChange[];
  bumpCommit: string;
  subject: string;
  reason: string;
}

export interface RevertResult {
  /** The revert commit, or undefined when nothing needed restoring. */
  commit?: string;
  restored: ScalarChange[];
}

/** Undo a promotion's bump in one environment, found by its trailers rather than an activity's result. */
export interface PromotionRevert extends PromotionCommitKey {
  valuesFile: string;
  subject: string;
  reason: string;
}

export const TRAILER = {
  id: 'Promote-Id',
  env: 'Promote-Env',
  action: 'Promote-Action',
  run: 'Promote-Run',
} as const;
const MAX_PUSH_ATTEMPTS = 5;

function trailers(key: PromotionCommitKey, action: 'bump' | 'revert'): string {
  const run = key.run ? `\n${TRAILER.run}: ${key.run}` : '';
  return `${TRAILER.id}: ${key.promotionId}\n${TRAILER.env}: ${key.env}\n${TRAILER.action}: ${action}${run}`;
}

export function bumpMessage(input: BumpInput): string {
  const subject =
    input.kind === 'rollback'
      ? `fix(${input.env}): roll back ${input.edits.map((e) => `${e.app} to ${e.tag}`).join(', ')}`
      : `feat(${input.env}): update ${input.edits.map((e) => `${e.app} to ${e.tag}`).join(', ')}`;
  const body = input.sources.length > 0 ? `\n\n${input.sources.join('\n')}` : '';
  return `${subject}${body}\n\n${trailers(input, 'bump')}\n`;
}

function scalarEdits(edits: readonly BumpEdit[]): ScalarEdit[] {
  return edits.flatMap(appScalarEdits);
}

/** Finds a commit on the branch that this promotion already made for this environment and action. */
export async function findPromotionCommit(
  cache: RepositoryCache,
  key: PromotionCommitKey,
  action: 'bump' | 'revert',
): Promise<string | undefined> {
  return (await newestPromotionCommit(cache, key, action))?.hash;
}

/**
 * This promotion's bump on the branch that no revert of it followed, or undefined. A proposal merged
 * by hand and reverted leaves a bump and a revert with the same trailers; a later landing of the same
 * run must not take that old bump for its own.
 */
export async function unrevertedBump(
  cache: RepositoryCache,
  key: PromotionCommitKey,
): Promise<string | undefined> {
  const newest = await newestPromotionCommit(cache, key, 'any');
  return newest?.action === 'bump' ? newest.hash : undefined;
}

async function newestPromotionCommit(
  cache: RepositoryCache,
  key: PromotionCommitKey,
  action: 'bump' | 'revert' | 'any',
): Promise<{ hash: string; action: string } | undefined> {
  // A run-scoped key names one saga, whose commits are its own wherever they are after the saga began:
  // bounded by `runSince` when its first execution asks, unbounded for a reset one (see the key).
  if (key.run) key = { ...key, sinceCommit: key.runSince ?? '' };
  const github = cache.gitHub(key.repo);
  if (github) return findGitHubPromotionCommit(github, key, action);
  const field = (key: string) => `%(trailers:key=${key},valueonly,separator=%x2c)`;
  const format = `%H%x1f${field(TRAILER.id)}%x1f${field(TRAILER.env)}%x1f${field(TRAILER.action)}%x1f${field(TRAILER.run)}`;
  const range = key.sinceCommit
    ? `${key.sinceCommit}..refs/remotes/origin/${key.branch}`
    : `refs/remotes/origin/${key.branch}`;
  // Bounded by the commit the promotion started from, not by a count: a busy branch may carry
  // thousands of commits after the bump, and a missed bump is a bump made twice or never reverted. git
  // itself filters by the id trailer, so the output stays small; the exact match on each field is below.
  const log = await cache.git(key.repo, [
    'log',
    '--fixed-strings',
    `--grep=${TRAILER.id}: ${key.promotionId}`,
    `--format=${format}`,
    range,
  ]);
  for (const line of log.split('\n')) {
    const [hash, id, env, act, run] = line.split('\x1f').map((s) => s.trim());
    if (!hash || !act || id !== key.promotionId || env !== key.env) continue;
    if (action === 'any' ? act !== 'bump' && act !== 'revert' : act !== action) continue;
    // A run-scoped key only takes its own run's commits; a key without a run (older runs) takes any.
    if (!key.run || run === key.run) return { hash, action: act };
  }
  return undefined;
}

interface FileCommit {
  /** The freshly fetched branch head to start from. */
  head: string;
  repo: string;
  branch: string;
  valuesFile: string;
  message: string;
  /** Computes the new file text from the current one; no changes means no commit. */
  edit: (source: string) => { text: string; changes: ScalarChange[] };
  /**
   * Finds this promotion's own commit after a re-fetch: a push reported as failed may have landed, and
   * re-applying the edit on top of it would find nothing to change and wrongly report "no change".
   */
  findOwn: () => Promise<string | undefined>;
}

type FileCommitOutcome = { commit: string; changes: ScalarChange[]; before: string } | { own: string };

/**
 * Edits one file on the branch head, commits and pushes. When someone else pushed in between, the
 * edit is computed again on top of their commit (bounded), so their change is never overwritten.
 */
async function commitFileEdit(cache: RepositoryCache, input: FileCommit): Promise<FileCommitOutcome> {
  const github = cache.gitHub(input.repo);
  if (github) return github.commitFileEdit({ ...input, path: input.valuesFile });
  let head = input.head;
  for (let attempt = 1; ; attempt++) {
    // No worktree: the file is read from the mirror and the commit built there by one fast-import
    // stream, so a commit costs the same on a repository of 500 files as on one of 5.
    const source = await cache.readFile(input.repo, head, input.valuesFile);
    if (source === undefined) throw new Error(`${input.valuesFile} does not exist at ${head.slice(0, 12)}`);
    const { text, changes } = input.edit(source);
    if (changes.length === 0) return { commit: head, changes, before: source };
    const { commit, ref } = await cache.commitFile(input.repo, head, input.valuesFile, text, input.message);
    try {
      await cache.git(input.repo, ['push', '--quiet', 'origin', `${commit}:refs/heads/${input.branch}`]);
    } catch (error) {
      await cache.dropRef(input.repo, ref);
      if (!isNonFastForward(error)) throw error;
      if (attempt >= MAX_PUSH_ATTEMPTS)
        throw new PushConflictError(input.repo, input.branch, MAX_PUSH_ATTEMPTS);
      await pushBackoff(attempt);
      head = await cache.fetch(input.repo, input.branch);
      const own = await input.findOwn();
      if (own) return { own };
      continue;
    }
    await cache.pushed(input.repo, input.branch, commit, ref);
    return { commit, changes, before: source };
  }
}

function tagsFrom(source: string, edits: readonly BumpEdit[], file: string): Record<string, string> {
  return Object.fromEntries(edits.map((e) => [e.app, readAppTag(source, e, file)]));
}

/**
 * Commits the new tags to the environment's values file and pushes. Safe to repeat: a commit this
 * promotion already pushed (found by its trailers) is reused, and values already at the tags make no commit.
 */
export async function bumpValues(cache: RepositoryCache, input: BumpInput): Promise<BumpResult> {
  const head = await cache.fetch(input.repo, input.branch);

  const fromEarlier = async (earlier: string): Promise<BumpResult> => {
    const read = async (rev: string) => (await cache.readFile(input.repo, rev, input.valuesFile)) ?? '';
    const [before, after] = [await read(`${earlier}^`), await read(earlier)];
    const changes = changesBetween(before, after, scalarEdits(input.edits), input.valuesFile);
    return {
      commit: earlier,
      changed: true,
      changes,
      previousTags: tagsFrom(before, input.edits, input.valuesFile),
    };
  };
  const earlier = await findPromotionCommit(cache, input, 'bump');
  if (earlier) return fromEarlier(earlier);

  const result = await commitFileEdit(cache, {
    head,
    repo: input.repo,
    branch: input.branch,
    valuesFile: input.valuesFile,
    message: bumpMessage(input),
    edit: (source) => setScalars(source, scalarEdits(input.edits), input.valuesFile),
    findOwn: () => findPromotionCommit(cache, input, 'bump'),
  });
  if ('own' in result) return fromEarlier(result.own);
  const previousTags = tagsFrom(result.before, input.edits, input.valuesFile);
  return { commit: result.commit, changed: result.changes.length > 0, changes: result.changes, previousTags };
}

/**
 * Restores only the values this promotion changed, with a new commit, leaving anything others changed
 * since then alone. Idempotent through its own trailer.
 */
export async function revertBump(cache: RepositoryCache, input: RevertInput): Promise<RevertResult> {
  const head = await cache.fetch(input.repo, input.branch);
  const earlier = await findPromotionCommit(cache, input, 'revert');
  if (earlier) return { commit: earlier, restored: input.changes };
  return commitRevert(cache, input, head);
}

/** The revert commit itself, on a `head` just fetched and known to carry no revert of this run yet. */
async function commitRevert(cache: RepositoryCache, input: RevertInput, head: string): Promise<RevertResult> {
  const message = `${input.subject}\n\nReverts ${input.bumpCommit}: ${input.reason}\n\n${trailers(input, 'revert')}\n`;
  const result = await commitFileEdit(cache, {
    head,
    repo: input.repo,
    branch: input.branch,
    valuesFile: input.valuesFile,
    message,
    edit: (source) => {
      const current = readScalars(source, input.changes, input.valuesFile);
      // A key the bump created (before: undefined) is emptied: charts and kustomize read '' as unset.
      const restorable = input.changes.filter((c) => current.get(locatorKey(c)) === c.after);
      return setScalars(
        source,
        restorable.map((c) => ({ path: c.path, value: c.before ?? '', document: c.document })),
        input.valuesFile,
      );
    },
    findOwn: () => findPromotionCommit(cache, input, 'revert'),
  });
  if ('own' in result) return { commit: result.own, restored: input.changes };
  return result.changes.length > 0 ? { commit: result.commit, restored: result.changes } : { restored: [] };
}

/**
 * Reverts the bump of a promotion that stopped running while it held the environment (terminated,
 * timed out), so its unapproved change cannot ride along in the next promotion's apply. Idempotent:
 * nothing happens without such a bump, or when it was already reverted.
 */
export async function revertAbandonedBump(
  cache: RepositoryCache,
  input: AbandonedBump,
): Promise<RevertResult> {
  return revertPromotion(cache, {
    ...input,
    sinceCommit: '',
    subject: `revert(${input.env}): undo the bump of ${input.promotionId}, which stopped while holding ${input.env}`,
    reason: `promotion ${input.promotionId} stopped running before it finished ${input.env}`,
  });
}

/**
 * Reverts whatever bump this promotion (run) pushed to the environment, found by its trailers after a
 * fresh fetch: a bump whose activity was cancelled, timed out or lost its result is found all the same.
 * Idempotent: nothing happens without such a bump, or when it was already reverted.
 */
export async function revertPromotion(cache: RepositoryCache, input: PromotionRevert): Promise<RevertResult> {
  const head = await cache.fetch(input.repo, input.branch);
  // Only a bump no revert followed: a proposal merged by hand, reverted and landed again is two bumps.
  const bump = await unrevertedBump(cache, input);
  if (!bump) {
    const earlier = await findPromotionCommit(cache, input, 'revert');
    return earlier ? { commit: earlier, restored: [] } : { restored: [] };
  }
  const read = async (rev: string) => (await cache.readFile(input.repo, rev, input.valuesFile)) ?? '';
  const changes = scalarChangesBetween(await read(`${bump}^`), await read(bump), input.valuesFile);
  // Fetched and searched just above: no second round trip to the remote.
  return commitRevert(cache, { ...input, changes, bumpCommit: bump }, head);
}
