import { loadClientConnectConfig } from '@temporalio/envconfig';

/**
 * Connection settings come from Temporal's standard environment configuration (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TLS settings, or a temporal.toml profile), so the same worker
 * points at the dev server, a self-hosted cluster or Temporal Cloud without code changes. Apart from
 * connection.ts so the CLI's light path (client/light.ts) reads them without loading the SDK client.
 */
export function connectionConfig(overrides: { address?: string } = {}) {
  const config = loadClientConnectConfig();
  const address = overrides.address ?? config.connectionOptions.address ?? 'localhost:7233';
  return {
    connectionOptions: { ...config.connectionOptions, address },
    namespace: config.namespace ?? 'default',
  };
}
