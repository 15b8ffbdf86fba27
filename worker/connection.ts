import { Connection, Client } from '@temporalio/client';
import { connectionConfig } from './connection-config.js';
import { processTracing } from './tracing.js';

export { connectionConfig };

export async function connectClient(
  overrides: { address?: string; connectTimeoutMs?: number } = {},
): Promise<Client> {
  const { connectionOptions, namespace } = connectionConfig(overrides);
  const tracing = await processTracing('promote-cli');
  const connection = await Connection.connect({
    ...connectionOptions,
    ...(overrides.connectTimeoutMs ? { connectTimeout: overrides.connectTimeoutMs } : {}),
  });
  return new Client({
    connection,
    namespace: overrides.address ? 'default' : namespace,
    // With tracing on, starting a promotion opens the trace its workflow and activities continue.
    ...(tracing ? { interceptors: { workflow: tracing.clientInterceptors } } : {}),
  });
}

export async function connectWorker(overrides: { address?: string } = {}) {
  const { connectionOptions, namespace } = connectionConfig(overrides);
  // Loaded here, not at the top: CLI commands that only need a client must not pay for the worker's native module.
  const { NativeConnection } = await import('@temporalio/worker');
  return { connection: await NativeConnection.connect(connectionOptions), namespace };
}
