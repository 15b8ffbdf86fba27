import { createConnection } from 'node:net';
import type { Client } from '@temporalio/client';
import { connectClient, connectionConfig } from '../worker/connection.js';
import { processTracing } from '../worker/tracing.js';
import { CLI_CONNECT_TIMEOUT_MS, ServerUnreachableError } from './unreachable.js';

export { CLI_CONNECT_TIMEOUT_MS, ServerUnreachableError };

/**
 * A plain TCP probe first: a refused port or an unknown host is known at once, where the gRPC client
 * would keep retrying until its deadline. Anything else (a proxy, TLS, slow network) is left to gRPC.
 */
function refused(address: string): Promise<string | undefined> {
  const match = /^(.*):(\d+)$/.exec(address);
  if (!match) return Promise.resolve(undefined);
  const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = createConnection({ host, port: Number(match[2]) });
    const done = (result: string | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(CLI_CONNECT_TIMEOUT_MS, () => done(undefined));
    socket.once('connect', () => done(undefined));
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN'].includes(error.code ?? '') ? error.code : undefined),
    );
  });
}

/** `connectClient` with a short deadline and an error that says what to do. */
export async function connectForCli(): Promise<Client> {
  const { connectionOptions } = connectionConfig();
  // A bad PROMOTE_OTLP_ENDPOINT is reported as itself, not as an unreachable server.
  await processTracing('promote-cli');
  const code = await refused(connectionOptions.address);
  if (code)
    throw new ServerUnreachableError(
      connectionOptions.address,
      new Error(code === 'ECONNREFUSED' ? 'connection refused' : `unknown host (${code})`),
    );
  try {
    return await connectClient({ connectTimeoutMs: CLI_CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw new ServerUnreachableError(connectionOptions.address, error);
  }
}
