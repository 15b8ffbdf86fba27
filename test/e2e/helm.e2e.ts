import { describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cancelPromotion,
  getStatus,
  startPromotion,
  waitFinished,
  waitForApproval,
} from '../../client/promotions.js';
import type { PromotionRequest, PromotionState } from '../../common/types.js';
import {
  createHelmSampleRepo,
  STALL_CONFIGMAP,
  type HelmSampleOptions,
} from '../../demo/helm-sample-repo.js';
import { processesWith, useCluster } from '../support/cluster.js';
import { DEV_THEN_STAGING_AUTO } from '../support/environments.js';
import { useTemporal } from '../support/suite.js';
import { envStatus, eventually } from '../support/wait.js';
import { WorkerProcess } from '../support/worker-process.js';
import type { Announcement } from '../../activities/notifier.js';
import { approveToEnd, approveToSuccess } from '../support/approve.js';

/**
 * helm and helmfile against a real API server (etcd + kube-apiserver built from the Go module proxy)
 * with the real helm binary. Every test uses fresh namespaces: without a controller-manager a deleted
 * namespace stays Terminating.
 */
const suite = useTemporal();
const kube = useCluster();

interface Repo {
  url: string;
  ns: (env: string) => string;
}

async function helmRepo(options: Partial<Omit<HelmSampleOptions, 'dir'>> = {}): Promise<Repo> {
  const prefix = kube.cluster.prefix();
  const dir = join(await mkdtemp(join(tmpdir(), 'promote-helm-')), 'deployment.git');
  const repo = { url: dir, ns: (env: string) => `${prefix}${env}` };
  currentRepo = repo;
  await createHelmSampleRepo({
    dir,
    environments: [{ name: 'dev', approval: 'auto' }],
    apps: { api: '1.4.0' },
    type: 'helm',
    namespacePrefix: prefix,
    timeout: '60s',
    ...options,
  });
  return repo;
}

function request(
  repo: Repo,
  tags: Record<string, string>,
  extra: Partial<PromotionRequest> = {},
): PromotionRequest {
  return {
    repo: repo.url,
    apps: Object.entries(tags).map(([app, tag]) => ({ app, tag })),
    requestedBy: 'test',
    ...extra,
  };
}

function tagOf(values: Record<string, unknown>, app: string): unknown {
  return ((values[app] as { image?: { tag?: unknown } } | undefined)?.image ?? {}).tag;
}

/**
 * Expects dev's release, left pending-upgrade at revision 2, rolled back to revision 1 and then
 * upgraded to api 1.6.0. The pending revision stays in history: the latest revision decides.
 */
async function expectRepairedThenUpgraded(final: PromotionState, repo: Repo): Promise<void> {
  expect(final.environments[0]?.repaired).toEqual([
    'shop was pending-upgrade at revision 2: rolled back to revision 1',
  ]);
  const history = await kube.cluster.history('shop', repo.ns('dev'));
  expect(history.map((r) => r.status)).toEqual(['superseded', 'pending-upgrade', 'superseded', 'deployed']);
  expect(tagOf(await kube.cluster.values('shop', repo.ns('dev')), 'api')).toBe('1.6.0');
}

interface Promoter {
  promote(tags: Record<string, string>): Promise<PromotionState>;
  announcements: Announcement[];
  taskQueue: string;
}

/**
 * One in-process worker for the whole test: environment lock workflows live on its task queue, so every
 * promotion of the test must be served by it.
 */
async function withHelmWorker<T>(fn: (p: Promoter) => Promise<T>, options: { deployGraceMs?: number } = {}) {
  return suite.temporal.withWorker(
    async ({ taskQueue, announcements }) =>
      fn({
        taskQueue,
        announcements,
        promote: async (tags) => {
          const handle = await startPromotion(suite.temporal.client, currentRequest(tags), { taskQueue });
          return waitFinished(suite.temporal.client, handle.workflowId);
        },
      }),
    { deployEnv: kube.cluster.env, ...options },
  );
}

let currentRepo: Repo | undefined;
function currentRequest(tags: Record<string, string>): PromotionRequest {
  if (!currentRepo) throw new Error('no repository yet');
  return request(currentRepo, tags);
}

describe('deploy.type: helm against a real API server', () => {
  it('promotes through three namespaces, diffing manifests and announcing the deployed tags', async () => {
    const repo = await helmRepo({
      environments: [
        { name: 'dev', approval: 'auto' },
        { name: 'staging', approval: 'manual' },
        { name: 'prod', approval: 'auto' },
      ],
    });
    await suite.temporal.withWorker(
      async ({ taskQueue, announcements }) => {
        const handle = await startPromotion(suite.temporal.client, request(repo, { api: '1.5.0' }), {
          taskQueue,
        });
        const waiting = await waitForApproval(suite.temporal.client, handle.workflowId, 'staging');
        const staging = waiting.environments[1];
        // Nothing deployed yet in staging: the whole rendered release is the diff, Secret data masked.
        expect(staging?.diff).toContain('+        - image: registry.example.com/shop/api:1.5.0');
        expect(staging?.diff).toMatch(/apiKey: <masked hmac-sha256:[0-9a-f]{12}>/);
        expect(staging?.diff).not.toMatch(/apiKey: "?[0-9a-f]{64}/);
        const final = await approveToEnd(suite.temporal.client, handle.workflowId, 'staging', 'alice');

        expect(final.status).toBe('succeeded');
        for (const env of ['dev', 'staging', 'prod']) {
          expect(await kube.cluster.latest('shop', repo.ns(env))).toMatchObject({
            status: 'deployed',
            revision: 1,
          });
          expect(tagOf(await kube.cluster.values('shop', repo.ns(env)), 'api')).toBe('1.5.0');
        }
        expect(final.environments[0]?.releases?.[0]).toMatchObject({
          release: 'shop',
          namespace: repo.ns('dev'),
          revision: 1,
          status: 'deployed',
          tags: { api: '1.5.0' },
        });
        expect(announcements.map((a) => [a.env, a.outcome, a.apps])).toEqual([
          ['dev', 'deployed', [{ app: 'api', tag: '1.5.0', previousTag: '1.4.0' }]],
          ['staging', 'deployed', [{ app: 'api', tag: '1.5.0', previousTag: '1.4.0' }]],
          ['prod', 'deployed', [{ app: 'api', tag: '1.5.0', previousTag: '1.4.0' }]],
        ]);

        // A second promotion diffs against what runs: only the tag changes.
        const next = await startPromotion(suite.temporal.client, request(repo, { api: '1.6.0' }), {
          taskQueue,
        });
        const second = await waitForApproval(suite.temporal.client, next.workflowId, 'staging');
        expect(second.environments[1]?.diff).toContain(
          '-        - image: registry.example.com/shop/api:1.5.0',
        );
        expect(second.environments[1]?.diff).toContain(
          '+        - image: registry.example.com/shop/api:1.6.0',
        );
        await approveToSuccess(suite.temporal.client, next.workflowId, 'staging', 'alice');
        expect(announcements.at(-1)?.apps).toEqual([{ app: 'api', tag: '1.6.0', previousTag: '1.5.0' }]);
      },
      { deployEnv: kube.cluster.env },
    );
  });

  it('rolls a failing upgrade back to the revision recorded before the apply', async () => {
    await withHelmWorker(async (w) => {
      const repo = await helmRepo({ timeout: '20s' });
      expect((await w.promote({ api: '1.5.0' })).status).toBe('succeeded');
      await kube.cluster.stallRollouts(repo.ns('dev'), STALL_CONFIGMAP);

      const final = await w.promote({ api: '1.6.0' });
      const announcements = w.announcements;

      expect(final.status).toBe('failed');
      expect(final.environments[0]).toMatchObject({ status: 'reverted', rolledBack: true });
      expect(final.environments[0]?.error).toMatch(/timed out|context deadline/i);
      const history = await kube.cluster.history('shop', repo.ns('dev'));
      expect(history.map((r) => r.status)).toEqual(['superseded', 'failed', 'deployed']);
      expect(history.at(-1)?.description).toBe('Rollback to 1');
      expect(tagOf(await kube.cluster.values('shop', repo.ns('dev')), 'api')).toBe('1.5.0');
      expect(announcements.at(-1)).toMatchObject({ outcome: 'failed', apps: [{ app: 'api', tag: '1.6.0' }] });
    });
  });

  it('repairs a release a person left pending-upgrade, then deploys', async () => {
    await withHelmWorker(async (w) => {
      const repo = await helmRepo();
      expect((await w.promote({ api: '1.5.0' })).status).toBe('succeeded');
      // A person's `helm upgrade --wait` dies mid-rollout (Ctrl-C twice, a closed laptop): SIGKILL.
      await kube.cluster.stallRollouts(repo.ns('dev'), STALL_CONFIGMAP);
      const checkout = await mkdtemp(join(tmpdir(), 'promote-person-'));
      const { execa } = await import('execa');
      await execa('git', ['clone', '--quiet', repo.url, checkout]);
      const person = execa(
        kube.cluster.local.tools.helm,
        [
          'upgrade',
          'shop',
          'charts/shop',
          '-n',
          repo.ns('dev'),
          '-f',
          'environments/dev.yaml',
          '--set',
          'api.replicas=2',
          '--wait',
          '--timeout',
          '10m',
        ],
        { cwd: checkout, env: kube.cluster.env, reject: false },
      );
      await eventually('the person’s upgrade to be pending', async () =>
        (await kube.cluster.latest('shop', repo.ns('dev')))?.status === 'pending-upgrade' ? true : undefined,
      );
      person.kill('SIGKILL');
      await person;
      await kube.cluster.resumeRollouts(repo.ns('dev'), STALL_CONFIGMAP);
      expect((await kube.cluster.latest('shop', repo.ns('dev')))?.status).toBe('pending-upgrade');

      const final = await w.promote({ api: '1.6.0' });
      const announcements = w.announcements;

      expect(final.status).toBe('succeeded');
      await expectRepairedThenUpgraded(final, repo);
      expect(announcements.at(-1)).toMatchObject({
        outcome: 'deployed',
        apps: [{ app: 'api', tag: '1.6.0', previousTag: '1.5.0' }],
        repaired: ['shop was pending-upgrade at revision 2: rolled back to revision 1'],
      });
    });
  });

  it('reports drift after a manual helm upgrade --set', async () => {
    await withHelmWorker(async (w) => {
      const repo = await helmRepo();
      expect((await w.promote({ api: '1.5.0' })).status).toBe('succeeded');
      const checkout = await mkdtemp(join(tmpdir(), 'promote-person-'));
      const { execa } = await import('execa');
      await execa('git', ['clone', '--quiet', repo.url, checkout]);
      await kube.cluster.helm([
        'upgrade',
        'shop',
        join(checkout, 'charts/shop'),
        '-n',
        repo.ns('dev'),
        '-f',
        join(checkout, 'environments/dev.yaml'),
        '--set',
        'api.image.tag=1.5.1-hotfix',
        '--wait',
      ]);

      const final = await w.promote({ api: '1.6.0' });
      const announcements = w.announcements;

      expect(final.status).toBe('succeeded');
      const drift = 'dev runs api 1.5.1-hotfix but Git says 1.5.0 (release shop)';
      expect(final.environments[0]?.drift).toEqual([drift]);
      expect(final.environments[0]?.diff).toContain(`drift: ${drift}`);
      // Observed, not assumed: the announcement names what really ran before.
      expect(announcements.at(-1)).toMatchObject({
        apps: [{ app: 'api', tag: '1.6.0', previousTag: '1.5.1-hotfix' }],
        drift: [drift],
      });
    });
  });

  it('cancels a stalled upgrade: helm gets SIGTERM, the release ends failed, then is rolled back', async () => {
    const repo = await helmRepo({ timeout: '10m' });
    await withHelmWorker(
      async (w) => {
        expect((await w.promote({ api: '1.5.0' })).status).toBe('succeeded');
        await kube.cluster.stallRollouts(repo.ns('dev'), STALL_CONFIGMAP);
        const handle = await startPromotion(suite.temporal.client, request(repo, { api: '1.6.0' }), {
          taskQueue: w.taskQueue,
        });
        await envStatus(suite.temporal.client, handle.workflowId, 'dev', 'applying');
        await eventually('the upgrade to be pending', async () =>
          (await kube.cluster.latest('shop', repo.ns('dev')))?.status === 'pending-upgrade'
            ? true
            : undefined,
        );
        await cancelPromotion(suite.temporal.client, handle.workflowId);
        const final = await waitFinished(suite.temporal.client, handle.workflowId);
        expect(final.status).toBe('cancelled');
        expect(final.environments[0]).toMatchObject({
          status: 'reverted',
          rolledBack: true,
          error: 'cancelled',
        });
      },
      { deployGraceMs: 20_000 },
    );
    const history = await kube.cluster.history('shop', repo.ns('dev'));
    // SIGTERM let helm mark its revision failed instead of leaving it pending.
    expect(history.map((r) => r.status)).toEqual(['superseded', 'failed', 'deployed']);
    expect(tagOf(await kube.cluster.values('shop', repo.ns('dev')), 'api')).toBe('1.5.0');
  });
});

describe('a worker SIGKILLed mid-upgrade', () => {
  it('leaves a real pending-upgrade that the resumed promotion repairs and completes', async () => {
    const repo = await helmRepo({ environments: DEV_THEN_STAGING_AUTO });
    const dir = await mkdtemp(join(tmpdir(), 'promote-kill-'));
    const workerEnv = (n: number) => ({
      ...kube.cluster.env,
      TEMPORAL_ADDRESS: suite.temporal.address,
      PROMOTE_TASK_QUEUE: `helm-kill-${process.pid}`,
      PROMOTE_CACHE_DIR: join(dir, `cache-${n}`),
      PROMOTE_LOCK_LEASE_MS: '1000',
    });
    const queue = { taskQueue: `helm-kill-${process.pid}` };
    const first = await WorkerProcess.start(workerEnv(1));
    const installed = await startPromotion(suite.temporal.client, request(repo, { api: '1.5.0' }), queue);
    expect((await waitFinished(suite.temporal.client, installed.workflowId)).status).toBe('succeeded');
    await kube.cluster.stallRollouts(repo.ns('dev'), STALL_CONFIGMAP);
    const handle = await startPromotion(suite.temporal.client, request(repo, { api: '1.6.0' }), {
      taskQueue: `helm-kill-${process.pid}`,
    });
    await eventually('helm upgrade to leave the release pending', async () =>
      (await kube.cluster.latest('shop', repo.ns('dev')))?.status === 'pending-upgrade' ? true : undefined,
    );
    // The machine dies: the worker and the helm it started, with no chance to clean up.
    const helmPids = processesWith('upgrade', '--install', 'shop', repo.ns('dev'));
    expect(helmPids.length).toBe(1);
    await first.kill();
    for (const pid of helmPids) process.kill(pid, 'SIGKILL');
    expect((await kube.cluster.latest('shop', repo.ns('dev')))?.status).toBe('pending-upgrade');
    await kube.cluster.resumeRollouts(repo.ns('dev'), STALL_CONFIGMAP);

    const second = await WorkerProcess.start(workerEnv(2));
    try {
      const final = await waitFinished(suite.temporal.client, handle.workflowId);
      expect(final.status).toBe('succeeded');
      expect(final.environments.map((e) => e.status)).toEqual(['succeeded', 'succeeded']);
      await expectRepairedThenUpgraded(final, repo);
      expect(tagOf(await kube.cluster.values('shop', repo.ns('staging')), 'api')).toBe('1.6.0');
      const announced = second.log
        .split('\n')
        .filter((l) => l.includes('"promote.announcement"'))
        .map((l) => JSON.parse(l.slice(l.indexOf('{'))) as Announcement);
      expect(announced.map((a) => [a.env, a.outcome, a.apps, a.repaired])).toEqual([
        [
          'dev',
          'deployed',
          [{ app: 'api', tag: '1.6.0', previousTag: '1.5.0' }],
          ['shop was pending-upgrade at revision 2: rolled back to revision 1'],
        ],
        ['staging', 'deployed', [{ app: 'api', tag: '1.6.0', previousTag: '1.5.0' }], undefined],
      ]);
      expect((await getStatus(suite.temporal.client, handle.workflowId)).status).toBe('succeeded');
    } finally {
      await second.stop();
    }
  });
});

describe('deploy.type: helmfile', () => {
  it('syncs two releases in one environment and verifies each carries its tag', async () => {
    await withHelmWorker(async (w) => {
      const repo = await helmRepo({ type: 'helmfile', apps: { api: '1.4.0', web: '2.0.3' } });

      const final = await w.promote({ api: '1.5.0', web: '2.1.0' });
      const announcements = w.announcements;

      expect(final.status).toBe('succeeded');
      expect(final.environments[0]?.releases?.map((r) => [r.release, r.status, r.tags])).toEqual([
        ['api', 'deployed', { api: '1.5.0' }],
        ['web', 'deployed', { web: '2.1.0' }],
      ]);
      const api = await kube.cluster.values('api', repo.ns('dev'));
      expect((api.image as { tag: string }).tag).toBe('1.5.0');
      const web = await kube.cluster.values('web', repo.ns('dev'));
      expect((web.image as { tag: string }).tag).toBe('2.1.0');
      expect(announcements.at(-1)?.apps).toEqual([
        { app: 'api', tag: '1.5.0', previousTag: '1.4.0' },
        { app: 'web', tag: '2.1.0', previousTag: '2.0.3' },
      ]);
    });
  });
});
