import { afterEach, describe, expect, it } from '@jest/globals';
import {
  DEFAULT_DEPLOY_GRACE_MS,
  DEPLOY_HEARTBEAT_TIMEOUT_MS,
  PENDING_REVISION_REPAIR_AGE_MS,
} from '../common/constants.js';
import { HelmClient } from '../activities/deployers/helm-client.js';
import { ReleaseState } from '../activities/deployers/release-state.js';
import { TIMEOUTS } from '../workflows/timeouts.js';
import { HelmStandIn } from './support/helm-standin.js';
import { eventually } from './support/wait.js';

/**
 * One apply at a time, even across attempts (docs/operations.md, "Applies and retries"): a deploy
 * attempt is declared lost only after a generous heartbeat timeout, its retry waits until the lost
 * attempt's command has surely ended, and helm's repair of a pending release never rolls back under
 * an apply that may still be running.
 */
const ms = (duration: string | number | undefined): number => {
  if (typeof duration === 'number') return duration;
  const match = /^(\d+) (second|minute|hour)s?$/.exec(duration ?? '');
  if (!match) throw new Error(`unexpected duration ${String(duration)}`);
  return Number(match[1]) * { second: 1_000, minute: 60_000, hour: 3_600_000 }[match[2] as 'second'];
};

describe('deploy activity timing', () => {
  it('declares an attempt lost only after a heartbeat timeout of a minute or more', () => {
    expect(ms(TIMEOUTS.deploy.heartbeatTimeout)).toBeGreaterThanOrEqual(60_000);
    expect(ms(TIMEOUTS.deploy.heartbeatTimeout)).toBe(DEPLOY_HEARTBEAT_TIMEOUT_MS);
  });

  it('retries only after the lost attempt had its heartbeat timeout and grace to end its command', () => {
    const retry = ms(TIMEOUTS.deploy.retry.initialInterval);
    expect(retry).toBeGreaterThan(ms(TIMEOUTS.deploy.heartbeatTimeout) + DEFAULT_DEPLOY_GRACE_MS);
    expect(PENDING_REVISION_REPAIR_AGE_MS).toBeGreaterThan(
      DEPLOY_HEARTBEAT_TIMEOUT_MS + DEFAULT_DEPLOY_GRACE_MS,
    );
  });
});

describe('repairing a release left pending', () => {
  let helm: HelmStandIn | undefined;
  afterEach(async () => {
    await helm?.remove();
  });
  const ref = { name: 'shop', namespace: 'dev' };
  const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();
  const client = (stand: HelmStandIn) => new HelmClient({ cwd: stand.dir }, stand.binary);

  it('leaves a fresh pending revision alone: it may be an apply still running; it waits for it', async () => {
    helm = await HelmStandIn.create();
    await helm.setHistory([
      { revision: 1, status: 'deployed', description: 'Install complete', updated: ago(30) },
      { revision: 2, status: 'pending-upgrade', description: 'Preparing upgrade', updated: ago(0) },
    ]);
    const lines: string[] = [];
    const repair = new ReleaseState(client(helm), (l) => lines.push(l)).repair(ref, 'uninstall', '5m', {
      pollMs: 20,
    });
    const stand = helm;
    // It keeps looking while the revision is fresh, and touches nothing.
    await eventually('several looks at the history, or a change to the release', async () => {
      const calls = await stand.calls();
      const looks = calls.filter((c) => c.startsWith('history')).length;
      return looks >= 3 || looks < calls.length ? true : undefined;
    });
    expect((await helm.calls()).filter((c) => !c.startsWith('history'))).toEqual([]);
    expect(lines.join('\n')).toContain('shop is pending-upgrade at revision 2');

    // The other apply finishes: nothing is left to repair.
    await helm.setHistory([
      { revision: 1, status: 'superseded', description: 'Install complete', updated: ago(30) },
      { revision: 2, status: 'deployed', description: 'Upgrade complete', updated: ago(0) },
    ]);
    await expect(repair).resolves.toBeUndefined();
    expect((await helm.calls()).filter((c) => !c.startsWith('history'))).toEqual([]);
  });

  it('rolls back a pending revision older than a lost attempt can be', async () => {
    helm = await HelmStandIn.create();
    await helm.setHistory([
      { revision: 1, status: 'deployed', description: 'Install complete', updated: ago(30) },
      { revision: 2, status: 'pending-upgrade', description: 'Preparing upgrade', updated: ago(10) },
    ]);
    const what = await new ReleaseState(client(helm), () => undefined).repair(ref, 'uninstall', '5m');
    expect(what).toBe('shop was pending-upgrade at revision 2: rolled back to revision 1');
    expect((await helm.calls()).filter((c) => !c.startsWith('history'))).toEqual([
      'rollback shop 1 --namespace dev --timeout 5m',
    ]);
  });

  it('stops waiting when the apply is cancelled, touching nothing', async () => {
    helm = await HelmStandIn.create();
    await helm.setHistory([
      { revision: 1, status: 'pending-install', description: 'Initial install underway', updated: ago(0) },
    ]);
    const abort = new AbortController();
    const repair = new ReleaseState(client(helm), () => undefined).repair(ref, 'uninstall', '5m', {
      pollMs: 20,
      signal: abort.signal,
    });
    const stand = helm;
    await eventually('a look at the history', async () =>
      (await stand.calls()).some((c) => c.startsWith('history')) ? true : undefined,
    );
    abort.abort();
    await expect(repair).rejects.toThrow(/cancelled/);
    expect((await helm.calls()).filter((c) => !c.startsWith('history'))).toEqual([]);
  });
});
