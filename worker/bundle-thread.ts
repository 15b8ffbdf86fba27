import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';

/** What the bundling thread is given: the same inputs as `bundleWorkflowCode`. */
export interface BundleRequest {
  workflowsPath: string;
  workflowInterceptorModules: string[];
  /** Modules evaluated once and shared by every workflow (worker/bundle.ts's workflowBundleOptions). */
  preloadModules: string[];
}

/**
 * Bundles the workflow code in a thread of its own and hands back the code. Webpack needs about
 * 50 MiB of heap and native memory for a few seconds; bundled on the worker's main thread, that memory
 * stays in the process's resident set for the worker's whole life (V8 and malloc keep the pages),
 * whereas a thread's heap is given back to the system when the thread ends.
 */
export function bundleInThread(request: BundleRequest): Promise<string> {
  return new Promise((resolve, reject) => {
    const thread = new Worker(new URL(import.meta.url), { workerData: request });
    let code: string | undefined;
    thread.once('message', (message: { code?: string; error?: string }) => {
      if (message.error !== undefined)
        reject(new Error(`bundling the workflow code failed: ${message.error}`));
      else code = message.code;
    });
    thread.once('error', reject);
    thread.once('exit', (exitCode) => {
      if (code !== undefined) resolve(code);
      else reject(new Error(`the workflow bundling thread exited (${exitCode}) without a bundle`));
    });
  });
}

if (!isMainThread && parentPort && (workerData as Partial<BundleRequest> | undefined)?.workflowsPath) {
  const request = workerData as BundleRequest;
  const port = parentPort;
  await bundleWorkflowCode({
    workflowsPath: request.workflowsPath,
    workflowInterceptorModules: request.workflowInterceptorModules,
    preloadModules: request.preloadModules,
    logger: new DefaultLogger('WARN'),
  }).then(
    ({ code }) => port.postMessage({ code }),
    (error: unknown) => port.postMessage({ error: error instanceof Error ? error.message : String(error) }),
  );
}
