import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  bundleWorkflowCode,
  DefaultLogger,
  type BundleOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import { bundleInThread } from './bundle-thread.js';
import { tracingEnabled, tracingWorkflowModules } from './tracing.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.js', import.meta.url));

/** Where the build (the Dockerfile's build stage, `npm run bundle`) leaves the pre-built workflow bundle. */
export const DEFAULT_BUNDLE_PATH = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/**
 * How every bundle of the workflow code is made: the worker's (in its thread or by the build), the replay
 * test's and the test servers', so a history replays against exactly what the worker runs.
 *
 * The workflow modules are preloaded: evaluated once in the SDK's reusable V8 context and shared (deep
 * frozen) by every workflow, instead of evaluated again for each one. Each cached workflow kept its own
 * copy of the ~40 modules of workflows/ and common/ (about 51 KiB of the 115 KiB it held; ~20 MiB with
 * the ~400 workflows that 200 promotions at once keep, docs/performance.md). Sharing is safe because
 * no module keeps per-workflow state in its scope: module scopes hold only constants, activity proxies
 * (which find the running workflow when called) and functions; `test/workflow-modules.test.ts` holds
 * the modules to that.
 */
export function workflowBundleOptions(tracing = false): BundleOptions {
  return {
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: workflowInterceptorModules(tracing),
    preloadModules: [WORKFLOWS_PATH],
    logger: new DefaultLogger('WARN'),
  };
}

/** Workflow modules bundled with the workflow code (interceptors run inside the workflow sandbox). */
export function workflowInterceptorModules(tracing = false): string[] {
  return tracing ? tracingWorkflowModules() : [];
}

/**
 * The bundle with the tracing interceptors, beside the plain one (`workflow-bundle.traced.js`): the
 * interceptors must be in the bundle or not at all, so a traced worker loads this one instead.
 */
export function tracedBundlePath(bundlePath: string): string {
  return bundlePath.replace(/(\.js)?$/, '.traced.js');
}

/** Newest compiled file the workflow bundle is made of: a bundle older than it is stale. */
function newestWorkflowInput(): number {
  let newest = 0;
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = resolve(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of ['workflows', 'common', 'config'])
    walk(fileURLToPath(new URL(`../${dir}`, import.meta.url)));
  return newest;
}

/**
 * The workflow code a worker runs: a pre-built bundle when one is present (PROMOTE_WORKFLOW_BUNDLE, or
 * the build's default path), so a container starts in a second without webpack; else the sources,
 * bundled at start-up as in development.
 */
export function workflowSource(
  plainBundlePath = process.env.PROMOTE_WORKFLOW_BUNDLE ?? DEFAULT_BUNDLE_PATH,
  tracing = tracingEnabled(),
): Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors'> {
  const bundlePath = tracing ? tracedBundlePath(plainBundlePath) : plainBundlePath;
  if (process.env.PROMOTE_WORKFLOW_BUNDLE && !existsSync(bundlePath)) {
    // An explicit path that is missing is a packaging mistake: better to fail than to bundle silently.
    throw new Error(
      tracing
        ? `PROMOTE_OTLP_ENDPOINT is set but the traced workflow bundle ${bundlePath} does not exist ` +
            '(`node dist/worker/bundle.js OUT` writes it beside OUT)'
        : `PROMOTE_WORKFLOW_BUNDLE=${bundlePath} does not exist`,
    );
  }
  // The default bundle is used only while it is newer than the compiled workflows, so a developer who
  // rebuilt after `npm run bundle` never runs stale workflow code; an explicit path is always used.
  const usable =
    existsSync(bundlePath) &&
    (process.env.PROMOTE_WORKFLOW_BUNDLE !== undefined ||
      statSync(bundlePath).mtimeMs >= newestWorkflowInput());
  if (usable) return { workflowBundle: { codePath: resolve(bundlePath) } };
  return {
    workflowsPath: WORKFLOWS_PATH,
    interceptors: { workflowModules: workflowInterceptorModules(tracing) },
  };
}

/**
 * The source as one bundle in memory, bundled in a thread of its own (worker/bundle-thread.ts says why):
 * a worker without a pre-built bundle starts from it, and a versioned worker names its build after it.
 */
export async function bundledSource(
  source: Pick<WorkerOptions, 'workflowBundle' | 'workflowsPath' | 'interceptors'>,
): Promise<{ workflowBundle: { code: string } }> {
  const bundle = source.workflowBundle;
  if (bundle && 'code' in bundle) return { workflowBundle: { code: bundle.code } };
  if (bundle && 'codePath' in bundle)
    return { workflowBundle: { code: await readFile(bundle.codePath, 'utf8') } };
  const code = await bundleInThread({
    workflowsPath: source.workflowsPath ?? WORKFLOWS_PATH,
    workflowInterceptorModules: source.interceptors?.workflowModules ?? [],
    preloadModules: [source.workflowsPath ?? WORKFLOWS_PATH],
  });
  return { workflowBundle: { code } };
}

/** Bundles the workflow code (what `bundleWorkflowCode` would do at every worker start) into one file. */
export async function writeWorkflowBundle(
  outFile = DEFAULT_BUNDLE_PATH,
  options: { tracing?: boolean } = {},
): Promise<string> {
  const { code } = await bundleWorkflowCode(workflowBundleOptions(options.tracing));
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, code);
  return outFile;
}

// `node dist/worker/bundle.js [OUT]`: the build step of the container image (OUT and its traced twin).
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : DEFAULT_BUNDLE_PATH;
  for (const written of [
    await writeWorkflowBundle(out),
    await writeWorkflowBundle(tracedBundlePath(out), { tracing: true }),
  ])
    process.stderr.write(`workflow bundle written to ${written}\n`);
}
