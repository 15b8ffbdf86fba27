import { ApplicationFailure, log } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { FailureType } from '../common/failures.js';
import { repositoryKey } from '../common/ids.js';
import { CONFIG_FILE, configSizeProblem, parseConfig } from '../config/load.js';
import type { PromoteConfig } from '../config/schema.js';
import { DEFAULT_PROPOSAL_BRANCH, proposalBranchCanBe, proposalBranchName } from '../common/proposal.js';
import { TRAILER } from './bump.js';
import { GitError } from './git.js';
import { trailers } from './providers/github-history.js';
import { GitHubError, type GitHubRepository } from './providers/github.js';
import { redact } from './redact.js';
import type { ActivityDeps } from './deps.js';
import { memoRepository } from '../common/promotion-memo.js';
import { startedRepository, withoutVisibilityTolerated } from './visibility.js';
import { RepositoryNotAllowedError, RepositoryUnreachableError, type RepositoryCache } from './repository.js';

/** At most this many candidate branches are looked at per repository and sweep: a sweep stays short. */
export const MAX_SWEEP_CANDIDATES = 200;

/** A branch (and its open pull requests) that may be a proposal some promotion left behind. */
interface Candidate {
  branch: string;
  sha: string;
  pullRequests: number[];
}

export interface SweepInput {
  repo: string;
}

export interface SweepResult {
  /** Proposal branches deleted (their pull requests closed), each with the promotion's close status. */
  dropped: { branch: string; promotion: string; closed: string }[];
  /** Proposal branches left alone, and why (still running, unknown, unreadable). */
  kept: { branch: string; why: string }[];
}

/** The deployment repository's promote.yaml (default branch, then the branch it names), or why not. */
async function readSweepConfig(cache: RepositoryCache, repo: string): Promise<PromoteConfig | string> {
  const read = async (branch: string): Promise<PromoteConfig | string> => {
    const commit = await cache.fetch(repo, branch);
    const tooLarge = configSizeProblem((await cache.fileSize(repo, commit, CONFIG_FILE)) ?? 0);
    if (tooLarge) return `${CONFIG_FILE} is too large`;
    const text = await cache.readFile(repo, commit, CONFIG_FILE);
    if (text === undefined) return `no ${CONFIG_FILE} on ${branch}`;
    try {
      return parseConfig(text, CONFIG_FILE);
    } catch (error) {
      return `${CONFIG_FILE} on ${branch} is invalid: ${(error as Error).message}`;
    }
  };
  const first = await read('HEAD');
  return typeof first === 'string' || first.branch === 'HEAD' ? first : read(first.branch);
}

function templateOf(config: PromoteConfig, env: string): string {
  const environment = config.environments.find((e) => e.name === env);
  return environment?.proposalBranch ?? config.proposalBranch ?? DEFAULT_PROPOSAL_BRANCH;
}

/** Could `branch` be a proposal branch of this configuration (and is it not the deployment branch)? */
function mayBeProposal(config: PromoteConfig, branch: string): boolean {
  if (branch === config.branch) return false;
  return config.environments.some((e) => proposalBranchCanBe(templateOf(config, e.name), e.name, branch));
}

/**
 * The promotion whose proposal `branch` is, read from its head commit's trailers: a bump whose
 * `Promote-Id` and `Promote-Env` name exactly this branch under the configuration's template. Anything
 * else (someone's own branch that happens to match the pattern) is not Promote's to delete.
 */
function proposalOwner(
  config: PromoteConfig,
  branch: string,
  message: string,
): { id: string; env: string } | undefined {
  const found = trailers(message);
  const id = found.get(TRAILER.id);
  const env = found.get(TRAILER.env);
  if (!id || !env || found.get(TRAILER.action) !== 'bump') return undefined;
  return proposalBranchName(templateOf(config, env), env, id) === branch ? { id, env } : undefined;
}

/**
 * Whether the promotion is closed, by `describe` of its workflow id (the latest run: a reset one is
 * running). Undefined when Temporal cannot say (not found, unreachable): then the branch is left alone.
 */
async function closedStatus(client: Client, id: string): Promise<string | undefined> {
  try {
    return (await client.workflow.getHandle(id).describe()).status.name;
  } catch (error) {
    log.warn('janitor: cannot tell whether a promotion still runs; leaving its proposal alone', {
      promotion: id,
      error: redact(String((error as Error)?.message ?? error)),
    });
    return undefined;
  }
}

function dropReason(id: string, env: string, closed: string): string {
  return (
    `Closed by Promote's janitor: promotion \`${id}\` ended (${closed.toLowerCase().replace('_', ' ')}) ` +
    `without cleaning up its proposal for ${env}. Nothing here was approved through Promote: ` +
    `start a new promotion instead of merging this.`
  );
}

async function gitCandidates(
  cache: RepositoryCache,
  repo: string,
  config: PromoteConfig,
): Promise<Candidate[]> {
  const out = await cache.git(repo, ['ls-remote', '--heads', 'origin']);
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .map(([sha = '', ref = '']) => ({ sha, branch: ref.replace(/^refs\/heads\//, ''), pullRequests: [] }))
    .filter((c) => c.sha && mayBeProposal(config, c.branch))
    .slice(0, MAX_SWEEP_CANDIDATES);
}

async function gitHubCandidates(github: GitHubRepository, config: PromoteConfig): Promise<Candidate[]> {
  const templates = new Set(config.environments.map((e) => templateOf(config, e.name)));
  const prefixes = new Set([...templates].map((t) => t.split('{')[0] ?? ''));
  const byBranch = new Map<string, Candidate>();
  for (const prefix of prefixes) {
    for (const b of await github.branches(prefix, MAX_SWEEP_CANDIDATES))
      if (mayBeProposal(config, b.name))
        byBranch.set(b.name, { branch: b.name, sha: b.sha, pullRequests: [] });
  }
  // An open pull request whose branch is gone (or was listed past the bound) is still mergeable-looking.
  for (const pull of await github.openPullRequests(MAX_SWEEP_CANDIDATES)) {
    if (!mayBeProposal(config, pull.head)) continue;
    const known = byBranch.get(pull.head) ?? { branch: pull.head, sha: pull.sha, pullRequests: [] };
    known.pullRequests.push(pull.number);
    byBranch.set(pull.head, known);
  }
  return [...byBranch.values()].slice(0, MAX_SWEEP_CANDIDATES);
}

/** The head commit's message: on GitHub through the API, else fetched into the mirror. */
async function headMessage(cache: RepositoryCache, repo: string, candidate: Candidate): Promise<string> {
  const github = cache.gitHub(repo);
  if (github) return (await github.commitInfo(candidate.sha)).message;
  await cache.fetch(repo, candidate.branch);
  return cache.git(repo, ['log', '-1', '--format=%B', candidate.sha]);
}

/**
 * Deletes the branch only if it still points where it was read (a lease): a branch pushed again
 * meanwhile is not this sweep's to delete. On GitHub the open pull requests are closed first, with the
 * reason as a comment.
 */
async function drop(
  cache: RepositoryCache,
  repo: string,
  candidate: Candidate,
  reason: string,
): Promise<boolean> {
  const github = cache.gitHub(repo);
  if (github) {
    for (const number of candidate.pullRequests) await github.closePullRequestIfOpen(number, reason);
    await github.deleteBranch(candidate.branch).catch((error: unknown) => {
      if (!(error instanceof GitHubError && (error.status === 404 || error.status === 422))) throw error;
    });
    return true;
  }
  const ref = `refs/heads/${candidate.branch}`;
  try {
    await cache.git(repo, [
      'push',
      '--quiet',
      `--force-with-lease=${ref}:${candidate.sha}`,
      'origin',
      `:${ref}`,
    ]);
    return true;
  } catch (error) {
    if (error instanceof GitError && /remote ref does not exist|unable to delete/.test(error.stderr))
      return true;
    if (error instanceof GitError && /stale info|rejected/.test(error.stderr)) return false;
    throw error;
  }
}

/**
 * One repository's sweep: every branch that is a promotion's proposal (by name and trailers) whose
 * promotion is closed is deleted, its pull requests closed with the reason. A running promotion's, or
 * one whose promotion Temporal cannot describe, is left alone. Idempotent: gone already is fine.
 */
export async function sweepProposals(
  cache: RepositoryCache,
  client: Client,
  input: SweepInput,
): Promise<SweepResult> {
  const result: SweepResult = { dropped: [], kept: [] };
  const config = await readSweepConfig(cache, input.repo);
  if (typeof config === 'string') {
    log.warn('janitor: cannot read the repository configuration; sweeping nothing', {
      repo: redact(input.repo),
      why: config,
    });
    return result;
  }
  const github = cache.gitHub(input.repo);
  const candidates = github
    ? await gitHubCandidates(github, config)
    : await gitCandidates(cache, input.repo, config);
  for (const candidate of candidates) {
    const owner = proposalOwner(config, candidate.branch, await headMessage(cache, input.repo, candidate));
    if (!owner) {
      result.kept.push({ branch: candidate.branch, why: 'not a Promote proposal' });
      continue;
    }
    const closed = await closedStatus(client, owner.id);
    if (closed === undefined || closed === 'RUNNING') {
      result.kept.push({ branch: candidate.branch, why: closed === 'RUNNING' ? 'running' : 'unknown' });
      continue;
    }
    const reason = dropReason(owner.id, owner.env, closed);
    if (await drop(cache, input.repo, candidate, reason)) {
      log.info('janitor: deleted a proposal its promotion left behind', {
        branch: candidate.branch,
        promotion: owner.id,
        closed,
      });
      result.dropped.push({ branch: candidate.branch, promotion: owner.id, closed });
    } else result.kept.push({ branch: candidate.branch, why: 'moved while sweeping' });
  }
  return result;
}

export interface ClosedPromotionsInput {
  /** The janitor's task queue: it cleans after the promotions its workers ran. */
  taskQueue: string;
  /** Promotions closed at or after this instant (ISO). */
  since: string;
  /** At most this many closed promotions are read (default 1000). */
  limit?: number;
}

export interface ClosedPromotions {
  /** Their repositories, one spelling per repository, only those this worker is allowed. */
  repos: string[];
  scanned: number;
  /** More closed promotions than `limit`: the rest wait for the next tick. */
  truncated: boolean;
}

/**
 * The repositories of this task queue's promotions closed since `since`, from visibility: where a
 * promotion that ended without cleaning (terminated, timed out, failed mid-drop) may have left a proposal.
 */
export async function closedPromotionRepositories(
  cache: RepositoryCache,
  client: Client,
  input: ClosedPromotionsInput,
): Promise<ClosedPromotions> {
  const found: ClosedPromotions = { repos: [], scanned: 0, truncated: false };
  // Both go into a visibility query: a quote would end the literal.
  if (!/^[\w.:@/-]+$/.test(input.taskQueue) || Number.isNaN(Date.parse(input.since))) {
    log.warn('janitor: task queue or instant unusable in a visibility query', { taskQueue: input.taskQueue });
    return found;
  }
  const since = new Date(input.since).toISOString();
  const query = `WorkflowType = 'promote' AND ExecutionStatus != 'Running' AND TaskQueue = '${input.taskQueue}' AND CloseTime >= '${since}'`;
  const keys = new Set<string>();
  for await (const execution of withoutVisibilityTolerated(client.workflow.list({ query }))) {
    if (found.scanned >= (input.limit ?? 1000)) {
      found.truncated = true;
      break;
    }
    found.scanned++;
    // The memo names it (common/promotion-memo.ts); a promotion started before the memo: its first event.
    const repo =
      memoRepository(execution.memo) ??
      (await startedRepository(client, execution.workflowId, execution.runId).catch(() => undefined));
    if (!repo || keys.has(repositoryKey(repo))) continue;
    keys.add(repositoryKey(repo));
    try {
      cache.checkAllowed(repo);
    } catch (error) {
      if (!(error instanceof RepositoryNotAllowedError)) throw error;
      continue; // Its promotion never touched it either: nothing to clean.
    }
    found.repos.push(repo);
  }
  return found;
}

/** The janitor's activities: which repositories to look at, and one repository's sweep. */
export function createJanitorActivities(
  deps: ActivityDeps,
  heartbeating: <T>(work: () => Promise<T>) => Promise<T>,
) {
  return {
    async closedPromotionRepositories(input: ClosedPromotionsInput): Promise<ClosedPromotions> {
      return heartbeating(() => closedPromotionRepositories(deps.cache, deps.client, input));
    },

    async sweepProposals(input: SweepInput): Promise<SweepResult> {
      return heartbeating(() =>
        sweepProposals(deps.cache, deps.client, input).catch((error: unknown) => {
          // Unreachable or no longer allowed: retrying now cannot help; the janitor tries again next tick.
          if (error instanceof RepositoryUnreachableError || error instanceof RepositoryNotAllowedError)
            throw ApplicationFailure.create({
              message: error.message,
              type: FailureType.RepositoryUnreachable,
              nonRetryable: true,
            });
          throw error;
        }),
      );
    },
  };
}
