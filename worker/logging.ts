import { format } from 'node:util';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { redact } from '../activities/redact.js';

const LEVELS: LogLevel[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

/** PROMOTE_LOG_FORMAT=json (the container default) makes every worker log line one JSON object. */
export function jsonLogs(): boolean {
  return process.env.PROMOTE_LOG_FORMAT === 'json';
}

function clean(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value);
  if (value instanceof Error) return redact(value.message);
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return depth > 4 ? '[…]' : value.map((v) => clean(v, depth + 1));
  if (value && typeof value === 'object') {
    if (depth > 4) return '{…}';
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clean(v, depth + 1)]));
  }
  return value;
}

/**
 * One JSON object per line on stderr, for log collectors: time, level, msg and the SDK's metadata
 * (workflowId, activityType, taskQueue…). Every string passes through `redact`, so a token in a git
 * URL or a deploy command's output never reaches the log store.
 */
export class JsonLogger implements Logger {
  constructor(
    private readonly minimum: LogLevel = 'INFO',
    private readonly write: (line: string) => void = (line) => process.stderr.write(line),
  ) {}

  log(level: LogLevel, message: string, meta: LogMetadata = {}): void {
    if (LEVELS.indexOf(level) < LEVELS.indexOf(this.minimum)) return;
    const entry = {
      time: new Date().toISOString(),
      level: level.toLowerCase(),
      msg: redact(message),
      ...(clean(meta) as object),
    };
    this.write(`${JSON.stringify(entry)}\n`);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

/** One entry as the Temporal runtime hands it to a log function (the SDK's `LogEntry`). */
interface TextLogEntry {
  level: LogLevel;
  message: string;
  meta?: LogMetadata;
  timestampNanos: bigint;
}

/**
 * The plain-text log line of the SDK's default logger (time, level, message, metadata), redacted: an
 * activity's failure, with a command's stderr in it, is logged by the runtime itself.
 */
export function redactedTextLog(
  write: (line: string) => void = (line) => process.stderr.write(line),
): (entry: TextLogEntry) => void {
  return ({ level, message, meta, timestampNanos }) => {
    const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
    const line = `${time} [${level}] ${message}${meta === undefined ? '' : ` ${format(meta)}`}`;
    write(`${redact(line)}\n`);
  };
}
