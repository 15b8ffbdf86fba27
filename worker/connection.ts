import { Connection, Client } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { processTracing } from './tracing.js';

/**
 * Connection settings come from Temporal's standard environment configuration (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings, or a temporal.toml profile), so the same worker
 * points at the dev server, a self-hosted cluster or Temporal Cloud without code changes.
 */
export function connectionConfig(overrides: { address?: string } = {}) {
  const config = loadClientConnectConfig();
  const address = overrides.address ?? config.connectionOptions.address ?? 'localhost:7233';
  return {
    connectionOptions: { ...config.connectionOptions, address },
    namespace: config.namespace ?? 'default',
  };
}

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
