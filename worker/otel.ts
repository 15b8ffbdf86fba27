import { diag, DiagLogLevel } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import type { Attributes } from '@opentelemetry/api';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetryWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { ActivityInterceptorsFactory, InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';
import { redact } from '../activities/redact.js';

/** Loaded only when tracing is on (see ./tracing.ts): everything OpenTelemetry lives here. */
export interface Tracing {
  /** For every Client of the process: starting a promotion opens the trace, signals join it. */
  readonly clientInterceptors: WorkflowClientInterceptor[];
  /** Activities continue the trace their workflow passed in the activity's headers. */
  readonly activityInterceptors: ActivityInterceptorsFactory[];
  /** The workflow interceptors hand their spans to the worker through this sink. */
  readonly sinks: InjectedSinks<{ exporter: OpenTelemetryWorkflowExporter }>;
  /** Sends what is buffered and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * The SDK adds the whole WorkflowInfo to every workflow span (memo, search attributes, last result);
 * only the names that locate a run are kept, so nothing a promotion carries leaks into a tracing backend.
 */
function locating(info: WorkflowInfo): WorkflowInfo {
  const { namespace, taskQueue, workflowId, runId, workflowType, attempt } = info;
  return { namespace, taskQueue, workflowId, runId, workflowType, attempt } as WorkflowInfo;
}

function redactAttributes(attributes: Attributes): Attributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([key, value]) => [
      key,
      typeof value === 'string'
        ? redact(value)
        : Array.isArray(value)
          ? value.map((v: unknown) => (typeof v === 'string' ? redact(v) : v))
          : value,
    ]),
  ) as Attributes;
}

/**
 * A span as exported: its attributes, status message and events (a recorded exception's message and
 * stack) redacted. Everything else is read through to the span itself.
 */
function redactSpan(span: ReadableSpan): ReadableSpan {
  return Object.create(span, {
    attributes: { value: redactAttributes(span.attributes) },
    status: {
      value: { ...span.status, ...(span.status.message ? { message: redact(span.status.message) } : {}) },
    },
    events: {
      value: span.events.map((event) => ({
        ...event,
        ...(event.attributes ? { attributes: redactAttributes(event.attributes) } : {}),
      })),
    },
  }) as ReadableSpan;
}

/** Failures already are redacted where they are raised; this is the last door before a tracing backend. */
class RedactingExporter implements SpanExporter {
  constructor(private readonly inner: SpanExporter) {}
  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.inner.export(spans.map(redactSpan), done);
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

export function startTracing(options: {
  url: string;
  serviceName: string;
  /** Where failed exports are told (a worker's log); silent when absent, as a CLI should be. */
  warn?: (message: string) => void;
}): Tracing {
  const { warn } = options;
  if (warn) {
    // The SDK reports a failed export as the error's JSON; its message is what a person needs.
    const tell = (message: string) => {
      let text = message;
      try {
        text = (JSON.parse(message) as { message?: string }).message ?? message;
      } catch {
        // Not JSON: a plain message.
      }
      warn(`tracing: ${text}`);
    };
    const quiet = () => {};
    diag.setLogger({ error: tell, warn: tell, info: quiet, debug: quiet, verbose: quiet }, DiagLogLevel.WARN);
  }
  const resource = Resource.default().merge(new Resource({ 'service.name': options.serviceName }));
  // OTLP/HTTP with JSON bodies; OTEL_EXPORTER_OTLP_HEADERS (e.g. a collector's token) is honoured.
  const processor = new BatchSpanProcessor(
    new RedactingExporter(new OTLPTraceExporter({ url: options.url })),
  );
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  // W3C trace context, and async context so a span started in an interceptor is the parent of the next.
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  const tracer = provider.getTracer('promote');
  const workflowSpans = makeWorkflowExporter(processor, resource);
  return {
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor({ tracer })],
    activityInterceptors: [
      (ctx) => ({
        inbound: new OpenTelemetryActivityInboundInterceptor(ctx, { tracer }),
        outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
      }),
    ],
    sinks: {
      exporter: {
        export: {
          ...workflowSpans.export,
          fn: (info, spans) => workflowSpans.export.fn(locating(info), spans),
        },
      },
    },
    shutdown: () => provider.shutdown(),
  };
}
