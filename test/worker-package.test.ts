import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../server/ports.js';
import { workflowSource, writeWorkflowBundle } from '../worker/bundle.js';
import { JsonLogger } from '../worker/logging.js';
import { promoteCli } from './support/cli.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';

const suite = useTemporal();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promote-bundle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

describe('the packaged worker (what the Dockerfile runs)', () => {
  it('runs promotions from a pre-built workflow bundle, answers its probes, logs JSON and exports metrics', async () => {
    // The image's build step: `node dist/worker/bundle.js <file>`.
    const bundle = await writeWorkflowBundle(join(dir, 'workflow-bundle.js'));
    const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
    const port = await freePort();
    const metricsPort = await freePort();
    const taskQueue = `packaged-${process.pid}`;
    const cacheDir = join(dir, 'cache');
    const worker = await WorkerProcess.start({
      TEMPORAL_ADDRESS: suite.temporal.address,
      PROMOTE_TASK_QUEUE: taskQueue,
      PROMOTE_CACHE_DIR: cacheDir,
      PROMOTE_WORKFLOW_BUNDLE: bundle,
      PROMOTE_HEALTH_PORT: String(port),
      PROMOTE_SHUTDOWN_GRACE_MS: '5000',
      PROMOTE_LOG_FORMAT: 'json',
      PROMOTE_PROMETHEUS_ADDRESS: `127.0.0.1:${metricsPort}`,
      PROMOTE_DEMO_CLUSTER: repo.cluster,
    });
    try {
      expect(worker.log).toContain(`workflow code from the bundle ${bundle}`);
      await eventually('the worker to be ready', async () =>
        (await get(port, '/readyz')).status === 200 ? true : undefined,
      );
      expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'RUNNING\n' });

      const result = await promoteCli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--wait'], {
        address: suite.temporal.address,
        taskQueue,
      });
      expect(result.code).toBe(0);
      expect(await repo.live('dev')).toContain('tag: "1.5.0"');

      // The Temporal runtime's own metrics and the promotion metrics, on one Prometheus endpoint.
      const metrics = await eventually('promotion metrics', async () => {
        const text = (await get(metricsPort, '/metrics')).body;
        return text.includes('promote_promotion_outcomes') ? text : undefined;
      });
      expect(metrics).toMatch(/temporal_workflow_completed\{/);
      expect(metrics).toMatch(/promote_step_duration_bucket\{[^}]*env="dev"[^}]*step="queued"/);
      expect(metrics).toMatch(/promote_environment_outcomes\{[^}]*outcome="succeeded"[^}]*\} 1/);
      expect(metrics).toMatch(/promote_promotion_outcomes\{[^}]*outcome="succeeded"[^}]*\} 1/);
    } finally {
      await worker.stop();
    }
    // Every line the worker wrote is one JSON object (log lines with time and level; announcements).
    const lines = worker.log.split('\n').filter((l) => l.trim());
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry.event !== 'promote.announcement')
        expect(entry).toMatchObject({ time: expect.any(String), level: expect.any(String) });
    }
    expect(
      lines.some((l) => (JSON.parse(l) as { msg?: string }).msg?.includes('SIGTERM: stopping the worker')),
    ).toBe(true);
  });

  it('redacts secrets in JSON log lines', () => {
    const out: string[] = [];
    new JsonLogger('INFO', (l) => out.push(l)).warn(
      'push to https://bot:ghp_abcdefghijklmnopqrstuvwxyz12@git.example.com failed',
      {
        detail: { stderr: 'token=s3cr3tvalue' },
      },
    );
    const entry = JSON.parse(out[0] ?? '{}') as { level: string; msg: string; detail: { stderr: string } };
    expect(entry.level).toBe('warn');
    expect(entry.msg).toBe('push to https://***@git.example.com failed');
    expect(entry.detail.stderr).toBe('token=***');
  });

  it('uses the default bundle only while it is newer than the compiled workflows', async () => {
    const stale = join(dir, 'stale-bundle.js');
    await writeFile(stale, '// an old bundle');
    await utimes(stale, new Date(0), new Date(0));
    const saved = process.env.PROMOTE_WORKFLOW_BUNDLE;
    delete process.env.PROMOTE_WORKFLOW_BUNDLE;
    try {
      expect(workflowSource(stale)).toHaveProperty('workflowsPath');
      const fresh = join(dir, 'fresh-bundle.js');
      await writeFile(fresh, '// a new bundle');
      expect(workflowSource(fresh)).toEqual({ workflowBundle: { codePath: fresh } });
      process.env.PROMOTE_WORKFLOW_BUNDLE = join(dir, 'missing.js');
      expect(() => workflowSource()).toThrow(/PROMOTE_WORKFLOW_BUNDLE=.*missing\.js does not exist/);
    } finally {
      if (saved === undefined) delete process.env.PROMOTE_WORKFLOW_BUNDLE;
      else process.env.PROMOTE_WORKFLOW_BUNDLE = saved;
    }
  });
});
