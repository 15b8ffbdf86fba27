import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from '@temporalio/worker';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../server/tools.js';
import { tracedBundlePath, workflowSource, writeWorkflowBundle } from '../worker/bundle.js';
import { startTracing } from '../worker/otel.js';
import { otlpTracesUrl } from '../worker/tracing.js';
import { promoteCli } from './support/cli.js';
import { historyFiles, HISTORIES_DIR, readManifest } from './support/history-manifest.js';
import { OtlpReceiver, type ReceivedSpan } from './support/otlp-receiver.js';
import { TestRepo } from './support/repo.js';
import { useTemporal } from './support/suite.js';
import { eventually } from './support/wait.js';
import { WorkerProcess } from './support/worker-process.js';

const suite = useTemporal();
/** In the environment of the worker and the CLI: it must never reach a span. */
const SECRET = 's3cr3t-deploy-token-4f2a9c';
let dir: string;
let plainBundle: string;
let tracedBundle: string;
let receiver: OtlpReceiver;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'promote-tracing-'));
  // The image's traced bundle, as `node dist/worker/bundle.js OUT` writes it beside OUT.
  plainBundle = join(dir, 'workflow-bundle.js');
  tracedBundle = await writeWorkflowBundle(tracedBundlePath(plainBundle), { tracing: true });
  receiver = await OtlpReceiver.start();
});
afterAll(async () => {
  await receiver.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('OpenTelemetry tracing (PROMOTE_OTLP_ENDPOINT)', () => {
  it.each([
    ['the pre-built traced bundle', true],
    ['workflow code bundled at start-up', false],
  ])(
    'follows a promotion from `promote start` through its workflow to its activities, in one trace (%s)',
    async (_, prebuilt) => {
      const repo = await TestRepo.create({ environments: [{ name: 'dev', approval: 'auto' }] });
      const taskQueue = `traced-${process.pid}-${prebuilt ? 'bundle' : 'sources'}`;
      const tracingEnv = { PROMOTE_OTLP_ENDPOINT: receiver.endpoint, DEPLOY_TOKEN: SECRET };
      const worker = await WorkerProcess.start({
        TEMPORAL_ADDRESS: suite.temporal.address,
        PROMOTE_TASK_QUEUE: taskQueue,
        PROMOTE_CACHE_DIR: join(dir, 'cache'),
        ...(prebuilt ? { PROMOTE_WORKFLOW_BUNDLE: plainBundle } : {}),
        PROMOTE_SHUTDOWN_GRACE_MS: '5000',
        PROMOTE_DEMO_CLUSTER: repo.cluster,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        ...tracingEnv,
      });
      let workflowSpan: ReceivedSpan;
      try {
        if (prebuilt) expect(worker.log).toContain(`workflow code from the bundle ${tracedBundle}`);
        const result = await promoteCli(['start', '--repo', repo.url, '--app', 'api=1.5.0', '--wait'], {
          address: suite.temporal.address,
          taskQueue,
          env: tracingEnv,
        });
        expect(result.code).toBe(0);
        // A workflow's span is exported when the workflow ends.
        workflowSpan = await eventually('the workflow span', () =>
          Promise.resolve(
            receiver.spans.find(
              (s) => s.name === 'RunWorkflow:promote' && s.attributes.taskQueue === taskQueue,
            ),
          ),
        );
      } finally {
        await worker.stop(); // Flushes what the worker still buffers.
      }

      const trace = receiver.spans.filter((s) => s.traceId === workflowSpan.traceId);
      // The CLI's start (an update-with-start) is the root; the workflow run hangs under it.
      const start = trace.find((s) => s.spanId === workflowSpan.parentSpanId);
      expect(start).toMatchObject({
        service: 'promote-cli',
        name: 'UpdateWithStartWorkflow:accepted',
        attributes: { temporalWorkflowId: workflowSpan.attributes.workflowId },
      });
      expect(start?.parentSpanId).toBeUndefined();
      expect(workflowSpan.service).toBe('promote-worker');
      const activities = trace.filter(
        (s) =>
          s.name.startsWith('RunActivity:') &&
          s.attributes.temporalWorkflowId === workflowSpan.attributes.workflowId,
      );
      expect(activities.map((s) => s.name)).toEqual(
        expect.arrayContaining([
          'RunActivity:loadPromotion',
          'RunActivity:bumpAndDiff',
          'RunActivity:deploy',
        ]),
      );
      // Each activity hangs under the workflow's StartActivity span of the same name.
      for (const activity of activities) {
        const scheduled = trace.find((s) => s.spanId === activity.parentSpanId);
        expect(scheduled?.name).toBe(activity.name.replace('RunActivity:', 'StartActivity:'));
      }

      // Only names that locate a run: no secret, no environment, no memo or search attributes.
      expect(receiver.bodies.join('\n')).not.toContain(SECRET);
      for (const span of receiver.spans)
        for (const key of Object.keys(span.attributes))
          expect(key).not.toMatch(/token|secret|password|api.?key|authorization|memo|searchAttributes/i);
    },
  );

  it('replays every saved history with the tracing interceptors in the bundle', async () => {
    const tracing = startTracing({ url: `${receiver.endpoint}/v1/traces`, serviceName: 'replay' });
    // Each history replays under the workflow id it ran as (a signed approval's statement names it).
    const workflowIds = new Map(readManifest().histories.map((e) => [e.file, e.workflowId]));
    try {
      for (const file of historyFiles()) {
        const history: unknown = JSON.parse(readFileSync(join(HISTORIES_DIR, file), 'utf8'));
        await Worker.runReplayHistory(
          { workflowBundle: { codePath: tracedBundle }, sinks: tracing.sinks, replayName: file },
          history,
          workflowIds.get(file),
        );
      }
    } finally {
      await tracing.shutdown();
    }
  });

  it('loads nothing of OpenTelemetry while PROMOTE_OTLP_ENDPOINT is unset', async () => {
    // A real client connection, as every CLI command makes, then a look at every module Node loaded.
    const script = `
      const { createRequire } = await import('node:module');
      const { connectClient } = await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist/worker/connection.js')).href)});
      await import(${JSON.stringify(pathToFileURL(join(PROJECT_ROOT, 'dist/client/cli.js')).href)});
      const client = await connectClient();
      await client.connection.close();
      const loaded = Object.keys(createRequire(import.meta.url).cache);
      console.log(JSON.stringify({ total: loaded.length, otel: loaded.filter((m) => m.includes('opentelemetry')) }));`;
    const run = (env: Record<string, string>) =>
      execa(process.execPath, ['--input-type=module', '-e', script], {
        env: { TEMPORAL_ADDRESS: suite.temporal.address, PROMOTE_OTLP_ENDPOINT: '', ...env },
      }).then((r) => JSON.parse(r.stdout) as { total: number; otel: string[] });
    const off = await run({});
    expect(off.total).toBeGreaterThan(50); // The look works: the SDK's CommonJS modules are there.
    expect(off.otel).toEqual([]);
    // And the same look sees them once tracing is on.
    expect((await run({ PROMOTE_OTLP_ENDPOINT: receiver.endpoint })).otel.length).toBeGreaterThan(0);
  });

  it('takes an OTLP/HTTP endpoint and says what is wrong with any other', () => {
    expect(otlpTracesUrl('http://otel-collector:4318')).toBe('http://otel-collector:4318/v1/traces');
    expect(otlpTracesUrl('https://otel.example.com/otlp/')).toBe('https://otel.example.com/otlp/v1/traces');
    expect(otlpTracesUrl('http://c:4318/v1/traces')).toBe('http://c:4318/v1/traces');
    expect(otlpTracesUrl('')).toBeUndefined();
    expect(() => otlpTracesUrl('grpc://otel:4317')).toThrow(
      /http:\/\/ or https:\/\/ URL \(OTLP\/HTTP\), not grpc:/,
    );
    expect(() => otlpTracesUrl('not a url')).toThrow(/must be the URL of an OTLP\/HTTP receiver/);
  });

  it('needs the traced bundle beside an explicit PROMOTE_WORKFLOW_BUNDLE', () => {
    const saved = process.env.PROMOTE_WORKFLOW_BUNDLE;
    process.env.PROMOTE_WORKFLOW_BUNDLE = plainBundle;
    try {
      expect(workflowSource(undefined, true)).toEqual({ workflowBundle: { codePath: tracedBundle } });
      process.env.PROMOTE_WORKFLOW_BUNDLE = join(dir, 'elsewhere.js');
      expect(() => workflowSource(undefined, true)).toThrow(
        /PROMOTE_OTLP_ENDPOINT is set but the traced workflow bundle .*elsewhere\.traced\.js does not exist/,
      );
    } finally {
      if (saved === undefined) delete process.env.PROMOTE_WORKFLOW_BUNDLE;
      else process.env.PROMOTE_WORKFLOW_BUNDLE = saved;
    }
  });
});
