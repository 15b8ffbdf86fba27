import { createRequire } from 'node:module';
import type { Tracing } from './otel.js';

export type { Tracing } from './otel.js';

/**
 * Optional OpenTelemetry tracing, on when PROMOTE_OTLP_ENDPOINT is set. This module imports nothing
 * from OpenTelemetry: the CLI starts in a blink when tracing is off, and loads `./otel.js` only when on.
 */

/** Where to POST spans (OTLP/HTTP, JSON): the endpoint's `/v1/traces`, as OTEL_EXPORTER_OTLP_ENDPOINT means. */
export function otlpTracesUrl(value = process.env.PROMOTE_OTLP_ENDPOINT): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The value is not echoed: an endpoint may carry credentials.
    throw new Error(
      'PROMOTE_OTLP_ENDPOINT must be the URL of an OTLP/HTTP receiver, e.g. http://otel-collector:4318',
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(
      `PROMOTE_OTLP_ENDPOINT must be an http:// or https:// URL (OTLP/HTTP), not ${url.protocol}// ` +
        '(an OTLP/gRPC port such as 4317 will not work; the HTTP one is usually 4318)',
    );
  if (!url.pathname.endsWith('/v1/traces')) url.pathname = `${url.pathname.replace(/\/$/, '')}/v1/traces`;
  return url.href;
}

export function tracingEnabled(): boolean {
  return otlpTracesUrl() !== undefined;
}

/** The SDK's workflow interceptors, bundled into the workflow code (they run inside the sandbox). */
export function tracingWorkflowModules(): string[] {
  return [
    createRequire(import.meta.url).resolve(
      '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
    ),
  ];
}

let started: Promise<Tracing | undefined> | undefined;

/**
 * The process's tracing, set up on first use (undefined when PROMOTE_OTLP_ENDPOINT is unset). The first
 * caller names the service unless OTEL_SERVICE_NAME does: `promote worker` asks first for
 * `promote-worker`, the CLI for `promote-cli`.
 */
export function processTracing(
  defaultServiceName: string,
  warn?: (message: string) => void,
): Promise<Tracing | undefined> {
  started ??= (async () => {
    const url = otlpTracesUrl();
    if (!url) return undefined;
    const { startTracing } = await import('./otel.js');
    return startTracing({ url, serviceName: process.env.OTEL_SERVICE_NAME || defaultServiceName, warn });
  })();
  return started;
}

/**
 * Sends the spans still buffered (before the process exits); a no-op when tracing never started. With
 * `withinMs`, gives up after that long: a command must not wait out an unreachable collector.
 */
export async function flushTracing(withinMs?: number): Promise<void> {
  const tracing = await started?.catch(() => undefined);
  if (!tracing) return;
  let timer: NodeJS.Timeout | undefined;
  const limit =
    withinMs === undefined ? [] : [new Promise<void>((resolve) => (timer = setTimeout(resolve, withinMs)))];
  await Promise.race([tracing.shutdown().catch(() => undefined), ...limit]);
  clearTimeout(timer);
}
