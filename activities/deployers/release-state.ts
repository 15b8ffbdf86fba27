// What Promote reads and writes on a Helm release, shared by the helm and helmfile deployers: the
// marker in each revision's description, repair of releases left pending, verification, rollback to
// the revision recorded before an apply, and the tags a release really carries.
import { PENDING_REVISION_REPAIR_AGE_MS } from '../../common/constants.js';
import type { ObservedRelease } from '../../common/types.js';
import {
  HelmClient,
  lastGood,
  latest,
  PENDING_STATUSES,
  type ReleaseRef,
  type Revision,
} from './helm-client.js';

/**
 * Every upgrade Promote runs carries `promote id=… env=… commit=… before=name:rev,…` as its helm
 * description: the cluster itself then records which commit a revision deployed and which revision
 * ran before it, so a retried activity, a compensation on another worker and `deploy.status` all
 * read the same facts without any state of their own.
 */
export interface Marker {
  id: string;
  env: string;
  commit: string;
  before: Record<string, number>;
}

export function formatMarker(marker: Marker): string {
  const before = Object.entries(marker.before)
    .map(([name, rev]) => `${name}:${rev}`)
    .join(',');
  return `promote id=${marker.id} env=${marker.env} commit=${marker.commit} before=${before}`;
}

export function parseMarker(description: string | undefined): Marker | undefined {
  const match = /^promote id=(\S+) env=(\S+) commit=(\S+) before=(\S*)$/.exec(description?.trim() ?? '');
  if (!match) return undefined;
  const before: Record<string, number> = {};
  for (const pair of (match[4] ?? '').split(',').filter(Boolean)) {
    const [name = '', rev = '0'] = pair.split(':');
    before[name] = Number(rev);
  }
  return { id: match[1] ?? '', env: match[2] ?? '', commit: match[3] ?? '', before };
}

/** The tag each app should have, and where to find it in a release's values. */
export interface ExpectedTag {
  app: string;
  tagPath: string;
  tag: string;
}

export interface RepairOptions {
  /** Pending revisions younger than this are left alone (default PENDING_REVISION_REPAIR_AGE_MS). */
  repairAgeMs?: number;
  /** How often to look again at a young pending revision. */
  pollMs?: number;
  /** The apply's cancellation: stops the wait. */
  signal?: AbortSignal;
}

/** Resolves after `ms`, or at once when the signal aborts (the caller then sees `aborted`). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class PendingInstallError extends Error {
  override readonly name = 'PendingInstallError';
}

function valueAt(values: unknown, path: string[]): unknown {
  let node = values;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/**
 * A release's values hold an app's tag at its `tagPath` (one values file for the whole environment),
 * or, in a release named after the app, at the path without its first key (`api.image.tag` fed to
 * release `api` as `image.tag`, the usual helmfile layout).
 */
export function tagIn(values: unknown, tagPath: string, release: string): string | undefined {
  const [first, ...rest] = tagPath.split('.');
  const candidates = [tagPath.split('.'), ...(first === release && rest.length > 0 ? [rest] : [])];
  for (const candidate of candidates) {
    const value = valueAt(values, candidate);
    if (typeof value === 'string' || typeof value === 'number') return String(value);
  }
  return undefined;
}

export class ReleaseState {
  constructor(
    private readonly helm: HelmClient,
    private readonly log: (line: string) => void,
  ) {}

  history(ref: ReleaseRef): Promise<Revision[]> {
    return this.helm.history(ref);
  }

  /**
   * The revision that runs now, as Helm sees it: the newest `deployed` one. After a failed upgrade the
   * one before stays `deployed`, so this can be older than the latest revision.
   */
  async currentRevision(ref: ReleaseRef): Promise<Revision | undefined> {
    return [...(await this.helm.history(ref))].reverse().find((r) => r.status === 'deployed');
  }

  /** The latest revision, when it is deployed: a pending or failed latest revision means "not done". */
  async deployedRevision(ref: ReleaseRef): Promise<Revision | undefined> {
    const last = latest(await this.helm.history(ref));
    return last?.status === 'deployed' ? last : undefined;
  }

  /**
   * A release whose latest revision is `pending-*` was left by an interrupted run (ours or a person's):
   * Helm's client writes the status itself, so nobody else will ever finish it. Roll back to the last
   * good revision; a first install that never completed is uninstalled (policy `uninstall`). Release
   * secrets are never deleted by hand.
   */
  async repair(
    ref: ReleaseRef,
    pendingInstall: 'uninstall' | 'fail',
    timeout: string,
    options: RepairOptions = {},
  ): Promise<string | undefined> {
    const history = await this.settledHistory(ref, options);
    const last = latest(history);
    if (!last || !PENDING_STATUSES.includes(last.status)) return undefined;
    const good = lastGood(history);
    if (good) {
      await this.helm.check([
        'rollback',
        ref.name,
        String(good.revision),
        ...HelmClient.scope(ref),
        '--timeout',
        timeout,
      ]);
      const what = `${ref.name} was ${last.status} at revision ${last.revision}: rolled back to revision ${good.revision}`;
      this.log(`repaired: ${what}`);
      return what;
    }
    if (pendingInstall === 'fail') {
      throw new PendingInstallError(
        `${ref.name} in ${ref.namespace} is ${last.status} at revision ${last.revision} with no deployed revision to roll back to; ` +
          `run 'helm uninstall ${ref.name} -n ${ref.namespace}' after checking it, or set deploy.pendingInstall: uninstall`,
      );
    }
    await this.helm.check(['uninstall', ref.name, ...HelmClient.scope(ref), '--wait', '--timeout', timeout]);
    const what = `${ref.name} was ${last.status} at revision ${last.revision} with nothing deployed before: uninstalled`;
    this.log(`repaired: ${what}`);
    return what;
  }

  /**
   * The release's history once its latest revision is not a young `pending-*` one. A pending revision
   * younger than `repairAgeMs` may belong to an apply still running (a lost attempt's, whose command
   * is still ending, or a person's): rolling it back would run two changes of the release at once. So
   * wait, looking again every `pollMs`, until it is done or old enough to be abandoned. A revision
   * whose time cannot be read counts as old, as before.
   */
  private async settledHistory(ref: ReleaseRef, options: RepairOptions): Promise<Revision[]> {
    const repairAgeMs = options.repairAgeMs ?? PENDING_REVISION_REPAIR_AGE_MS;
    let said = false;
    for (;;) {
      if (options.signal?.aborted) throw new Error(`repair of ${ref.name} was cancelled`);
      const history = await this.helm.history(ref);
      const last = latest(history);
      if (!last || !PENDING_STATUSES.includes(last.status)) return history;
      const since = Date.parse(last.updated ?? '');
      if (Number.isNaN(since) || Date.now() - since >= repairAgeMs) return history;
      if (!said) {
        this.log(
          `waiting: ${ref.name} is ${last.status} at revision ${last.revision} since ${last.updated ?? '?'}, ` +
            `which may be an apply still running; repaired only once it is ${Math.round(repairAgeMs / 1000)}s old`,
        );
        said = true;
      }
      await pause(options.pollMs ?? 5_000, options.signal);
    }
  }

  /** The tags the release carries now, for the apps given. */
  async tags(
    ref: ReleaseRef,
    expected: readonly ExpectedTag[],
    revision?: number,
  ): Promise<Record<string, string>> {
    const values = await this.helm.values(ref, revision);
    const tags: Record<string, string> = {};
    for (const { app, tagPath } of expected) {
      const tag = tagIn(values, tagPath, ref.name);
      if (tag !== undefined) tags[app] = tag;
    }
    return tags;
  }

  /**
   * After an apply: deployed, at a revision newer than `before`, carrying the expected tags. Returns
   * the problem, or undefined when all is well.
   */
  async verify(
    ref: ReleaseRef,
    before: number,
    expected: readonly ExpectedTag[],
  ): Promise<{ problem?: string; report: ObservedRelease }> {
    const last = latest(await this.helm.history(ref));
    const report: ObservedRelease = {
      release: ref.name,
      namespace: ref.namespace,
      revisionBefore: before,
      ...(last ? { revision: last.revision, status: last.status } : {}),
    };
    if (!last || last.status !== 'deployed')
      return { report, problem: `${ref.name} is ${last?.status ?? 'not installed'} after the apply` };
    if (last.revision <= before)
      return {
        report,
        problem: `${ref.name} is still at revision ${last.revision}: the apply made no new revision`,
      };
    report.tags = await this.tags(ref, expected);
    for (const { app, tag } of expected) {
      const found = report.tags[app];
      if (found !== undefined && found !== tag)
        return { report, problem: `${ref.name} runs ${app} ${found} after the apply, not ${tag}` };
    }
    return { report };
  }

  /**
   * Compensation: back to the revision that ran before this promotion's apply. A successful upgrade
   * recorded it in its marker; a failed, cancelled or killed one loses its description, but Helm then
   * leaves that revision `deployed` (it is superseded only by a success), so it is the last deployed
   * one before the latest. Idempotent: a release already rolled back, or untouched, is left alone.
   */
  async rollbackRecorded(ref: ReleaseRef, id: string, env: string, timeout: string): Promise<string> {
    const history = await this.helm.history(ref);
    const last = latest(history);
    const ours = history.find((r) => {
      const marker = parseMarker(r.description);
      return marker?.id === id && marker.env === env;
    });
    let before: number;
    if (ours) {
      before = parseMarker(ours.description)?.before[ref.name] ?? 0;
      if (
        last &&
        last.revision > ours.revision &&
        last.status === 'deployed' &&
        last.description === `Rollback to ${before}`
      )
        return `${ref.name}: already rolled back to revision ${before}`;
    } else if (last && (last.status === 'failed' || PENDING_STATUSES.includes(last.status))) {
      before = lastGood(history)?.revision ?? 0;
    } else {
      return `${ref.name}: no revision of this promotion, nothing to roll back`;
    }
    if (before === 0) {
      if (!last) return `${ref.name}: already uninstalled`;
      await this.helm.check([
        'uninstall',
        ref.name,
        ...HelmClient.scope(ref),
        '--wait',
        '--timeout',
        timeout,
      ]);
      return `${ref.name}: installed by this promotion, uninstalled`;
    }
    await this.helm.check([
      'rollback',
      ref.name,
      String(before),
      ...HelmClient.scope(ref),
      '--wait',
      '--timeout',
      timeout,
    ]);
    return `${ref.name}: rolled back to revision ${before}, the one that ran before this promotion's apply`;
  }

  /** The commit a release runs, from the marker of its latest revision when that one is deployed. */
  async deployedCommit(ref: ReleaseRef): Promise<string | undefined> {
    const deployed = await this.deployedRevision(ref);
    return parseMarker(deployed?.description)?.commit;
  }
}
