import { git } from '../../activities/git.js';
import { PromoteState } from '../../common/search-attributes.js';
import { TERMINAL_STATUSES, type PromotionStatus } from '../../common/types.js';
import { logFields } from '../support/repo.js';
import type { FaultRun } from './world.js';

/** One broken promise: which invariant, and the evidence. */
export interface Violation {
  invariant: string;
  detail: string;
}

export const INVARIANTS = {
  ended: 'each promotion ended succeeded, rejected or compensated',
  expected: 'each promotion ended as its scenario declared',
  noLeftovers: 'no proposal branch or open pull request left behind',
  gitIsDeployed: 'Git equals the deployed state in every environment',
  noDuplicate: 'no duplicate commit',
  noOverlap: 'no overlapping applies',
  noRideAlong: 'no unapproved change deployed',
} as const;

export interface PromoteCommit {
  hash: string;
  subject: string;
  trailers: Record<string, string>;
}

/** The branch's commits with their `Promote-*` trailers, oldest first. */
export async function promoteCommits(repoUrl: string): Promise<PromoteCommit[]> {
  const commits = await logFields(repoUrl, ['%H', '%s', '%(trailers:only,unfold)'], true);
  return commits.map(([hash = '', subject = '', block = '']) => {
    const trailers: Record<string, string> = {};
    for (const line of block.split('\n')) {
      const match = /^(Promote-[A-Za-z]+):\s*(.*)$/.exec(line.trim());
      if (match?.[1]) trailers[match[1]] = match[2] ?? '';
    }
    return { hash, subject, trailers };
  });
}

/** Bump commits of a promotion in an environment that no revert commit of the same promotion followed. */
function unrevertedBumps(commits: PromoteCommit[], id: string, env: string): PromoteCommit[] {
  const mine = commits.filter((c) => c.trailers['Promote-Id'] === id && c.trailers['Promote-Env'] === env);
  const open: PromoteCommit[] = [];
  for (const c of mine) {
    if (c.trailers['Promote-Action'] === 'bump') open.push(c);
    if (c.trailers['Promote-Action'] === 'revert') open.splice(0);
  }
  return open;
}

async function checkEnded(
  run: FaultRun,
  commits: PromoteCommit[],
  log: string[],
  final: boolean,
): Promise<Violation[]> {
  const violations: Violation[] = [];
  const envs = run.environments.map((e) => e.name);
  const applied = (commit: string) => log.some((l) => / apply-done /.test(l) && l.includes(` ${commit} `));
  for (const id of run.promotions) {
    const description = await run.client.workflow.getHandle(id).describe();
    const closed = description.status.name;
    if (closed === 'RUNNING') {
      violations.push({ invariant: INVARIANTS.ended, detail: `${id} is still running` });
      continue;
    }
    if (closed === 'TERMINATED') {
      if (!run.terminated.has(id))
        violations.push({
          invariant: INVARIANTS.ended,
          detail: `${id} was terminated by nobody in the scenario`,
        });
      // Terminated on purpose: it could not compensate itself; its bump must not have stayed behind
      // undeployed (the lock reverts it), and one that was applied counts as deployed. The lock checks
      // its holder only once someone waits: so this holds after the next promotion, not before.
      if (!final) continue;
      for (const env of envs) {
        for (const bump of unrevertedBumps(commits, id, env)) {
          if (!applied(bump.hash))
            violations.push({
              invariant: INVARIANTS.ended,
              detail: `terminated ${id} left its unapplied bump ${bump.hash.slice(0, 12)} in ${env} unreverted`,
            });
        }
      }
      continue;
    }
    const state = await run.status(id);
    const searchState = description.typedSearchAttributes.get(PromoteState);
    if (searchState !== state.status || !TERMINAL_STATUSES.includes(state.status)) {
      violations.push({
        invariant: INVARIANTS.ended,
        detail: `${id} closed ${closed.toLowerCase()} with status ${state.status} and PromoteState ${searchState ?? 'unset'}`,
      });
    }
    if (state.environments.length === 0) {
      violations.push({
        invariant: INVARIANTS.ended,
        detail: `${id} ended without its state (${closed.toLowerCase()}: ${state.error ?? ''})`,
      });
      continue;
    }
    const compensationFailed = state.environments.filter((e) => e.error?.includes('compensation failed'));
    for (const env of compensationFailed) {
      violations.push({
        invariant: INVARIANTS.ended,
        detail: `${id} in ${env.name}: ${env.error ?? ''}`,
      });
    }
    const good: PromotionStatus[] = ['succeeded', 'rejected', 'failed', 'cancelled'];
    if (!good.includes(state.status)) {
      violations.push({ invariant: INVARIANTS.ended, detail: `${id} ended ${state.status}` });
    }
    // Rejected, failed or cancelled: every environment it did not deploy has its bump reverted.
    for (const env of state.environments) {
      if (env.status === 'succeeded' || env.status === 'skipped') continue;
      for (const bump of unrevertedBumps(commits, id, env.name)) {
        violations.push({
          invariant: INVARIANTS.ended,
          detail: `${id} ended ${state.status} with ${env.name} ${env.status} but its bump ${bump.hash.slice(0, 12)} is not reverted`,
        });
      }
    }
  }
  return violations;
}

async function checkGitIsDeployed(run: FaultRun): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const env of run.environments) {
    const wanted = await run.repo.file(`environments/${env.name}.yaml`);
    const live = await run.repo.live(env.name);
    if (live !== wanted) {
      const tags = (text: string | undefined) =>
        [...(text ?? '').matchAll(/^(\w+):\n(?:.*\n)*?\s+tag: "([^"]+)"/gm)]
          .map((m) => `${m[1]}=${m[2]}`)
          .join(',');
      violations.push({
        invariant: INVARIANTS.gitIsDeployed,
        detail: `${env.name}: Git has ${tags(wanted)}, the cluster runs ${tags(live) || 'something else'}`,
      });
    }
  }
  return violations;
}

function checkNoDuplicate(commits: PromoteCommit[]): Violation[] {
  const seen = new Map<string, string[]>();
  for (const c of commits) {
    const t = c.trailers;
    if (!t['Promote-Id']) continue;
    // A later run of the same request may commit again: the run is part of the identity when recorded.
    const key = [t['Promote-Id'], t['Promote-Env'], t['Promote-Action'], t['Promote-Run'] ?? ''].join(' ');
    seen.set(key, [...(seen.get(key) ?? []), c.hash.slice(0, 12)]);
  }
  return [...seen]
    .filter(([, hashes]) => hashes.length > 1)
    .map(([key, hashes]) => ({ invariant: INVARIANTS.noDuplicate, detail: `${key}: ${hashes.join(', ')}` }));
}

function checkNoOverlap(log: string[]): Violation[] {
  return log.filter((l) => / overlap-/.test(l)).map((l) => ({ invariant: INVARIANTS.noOverlap, detail: l }));
}

/**
 * The product's one promise, read from what the cluster really applied: every tag in every applied
 * values file was the environment's initial tag or one a promotion was allowed to deploy there
 * (approved, or an `auto` environment it was not rejected in). Catches a rejected or unreverted bump
 * riding along in someone else's apply, which Git-equals-cluster alone cannot see.
 */
async function checkNoRideAlong(run: FaultRun, log: string[]): Promise<Violation[]> {
  const allowed = new Map<string, Set<string>>();
  const allow = (env: string, app: string, tag: string) => {
    const key = `${env}/${app}`;
    allowed.set(key, (allowed.get(key) ?? new Set()).add(tag));
  };
  const first = (await promoteCommits(run.repo.url))[0];
  const tagsAt = async (commit: string, env: string): Promise<Map<string, string>> => {
    const text = await git(['show', `${commit}:environments/${env}.yaml`], { cwd: run.repo.url });
    return new Map(
      [...text.matchAll(/^(\w+):\n(?:.*\n)*?\s+tag: "([^"]+)"/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
  };
  for (const env of run.environments) {
    if (first) for (const [app, tag] of await tagsAt(first.hash, env.name)) allow(env.name, app, tag);
  }
  for (const id of run.promotions) {
    const state = await run.status(id).catch(() => undefined);
    // Terminated, or failed without its state: only what it asked for is known, not its decisions.
    const terminated = run.terminated.has(id) || !state?.environments.length;
    for (const env of run.environments) {
      const mine = state?.environments.find((e) => e.name === env.name);
      const ok = terminated
        ? env.approval === 'auto'
        : mine !== undefined &&
          (mine.decision?.approved === true ||
            (env.approval === 'auto' && mine.status !== 'rejected' && mine.status !== 'superseded'));
      if (!ok) continue;
      const apps = terminated ? (run.requests.get(id)?.apps ?? []) : (state?.apps ?? []);
      for (const app of apps) allow(env.name, app.app, app.tag);
    }
  }
  const violations: Violation[] = [];
  const seen = new Set<string>();
  for (const line of log) {
    const [, event, env = '', commit = ''] = line.split(' ');
    if ((event !== 'apply-done' && event !== 'rollback-done') || seen.has(`${env} ${commit}`)) continue;
    seen.add(`${env} ${commit}`);
    const tags = await tagsAt(commit, env).catch(() => new Map<string, string>());
    for (const [app, tag] of tags) {
      if (!allowed.get(`${env}/${app}`)?.has(tag))
        violations.push({
          invariant: INVARIANTS.noRideAlong,
          detail: `${env} applied ${commit.slice(0, 12)} with ${app}=${tag}, which nobody approved for ${env}`,
        });
    }
  }
  return violations;
}

/**
 * The outcome the scenario declared, exactly: a fault the product rides out must not turn a success
 * into a rejection or a compensated failure (which the `ended` invariant alone would accept).
 */
async function checkExpected(run: FaultRun): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const id of run.promotions) {
    const wanted = run.expected.get(id);
    if (wanted === undefined) {
      violations.push({
        invariant: INVARIANTS.expected,
        detail: `${id} was started without a declared outcome`,
      });
      continue;
    }
    const closed = (await run.client.workflow.getHandle(id).describe()).status.name;
    if (closed === 'RUNNING') continue; // The `ended` invariant reports it.
    const state = closed === 'TERMINATED' ? undefined : await run.status(id).catch(() => undefined);
    const actual = closed === 'TERMINATED' ? 'terminated' : (state?.status ?? 'no state');
    // Why it ended otherwise: each environment's error, so a violation can be read without a replay.
    const why = (state?.environments ?? [])
      .filter((e) => e.error)
      .map((e) => `${e.name} ${e.status}: ${e.error}`)
      .join('; ');
    if (actual !== wanted)
      violations.push({
        invariant: INVARIANTS.expected,
        detail: `${id} (${(run.requests.get(id)?.apps ?? []).map((a) => `${a.app}=${a.tag}`).join(',')}) ended ${actual}, declared ${wanted}${why ? ` (${why})` : ''}`,
      });
  }
  return violations;
}

/**
 * Proposal branches (`promote/*`) still on the remote, and pull requests still open where the run's
 * repository is served by a GitHub stand-in: left behind, a proposal nobody approved stays mergeable.
 */
async function leftovers(run: FaultRun): Promise<Violation[]> {
  const out = await git(['for-each-ref', '--format=%(refname)', 'refs/heads/promote/'], {
    cwd: run.repo.url,
  });
  const branches = out
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((ref) => ({ invariant: INVARIANTS.noLeftovers, detail: `${ref} is still on the remote` }));
  const pulls = [...(run.github?.pulls.values() ?? [])]
    .filter((p) => p.state === 'open')
    .map((p) => ({
      invariant: INVARIANTS.noLeftovers,
      detail: `pull request #${p.number} from ${p.head} is still open`,
    }));
  return [...branches, ...pulls];
}

/**
 * How long the final check gives the janitor to clean what a terminated promotion left: the fault
 * suite's workers run it every 5 s (PROMOTE_JANITOR_INTERVAL_MS in world.ts); a few ticks on a busy machine.
 */
export const JANITOR_WAIT_MS = 90_000;

/** Leftovers once every promotion ended; `waitMs`: what the janitor may still clean is waited for. */
async function checkNoLeftovers(run: FaultRun, waitMs: number): Promise<Violation[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const found = await leftovers(run);
    if (found.length === 0 || Date.now() >= deadline) return found;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * `final`: after the next promotion of every environment. Before it, what only the lock repairs when
 * someone waits (a terminated holder's bump) is not checked yet.
 */
export async function checkInvariants(run: FaultRun, final: boolean): Promise<Violation[]> {
  const commits = await promoteCommits(run.repo.url);
  const log = await run.repo.deployLog();
  return [
    ...(await checkEnded(run, commits, log, final)),
    ...(await checkExpected(run)),
    // A promotion cleans its own proposal before it ends; a terminated one cannot, and the janitor (a
    // scheduled workflow) cleans after it: checked after the next promotion, giving the janitor its ticks.
    ...(final || run.terminated.size === 0 ? await checkNoLeftovers(run, final ? JANITOR_WAIT_MS : 0) : []),
    ...(final || run.terminated.size === 0 ? await checkGitIsDeployed(run) : []),
    ...checkNoDuplicate(commits),
    ...checkNoOverlap(log),
    ...(await checkNoRideAlong(run, log)),
  ];
}
