import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { State } from '@temporalio/worker';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export interface HealthSources {
  /** The worker's state, read at each probe. */
  state: () => State;
}

/**
 * Probes for Kubernetes: /healthz fails once the worker failed or stopped (restart the pod);
 * /readyz only while it polls (a draining worker during shutdown is alive but not ready).
 */
export function startHealthServer(
  port: number,
  sources: HealthSources,
  host = '0.0.0.0',
): Promise<HealthServer> {
  const server: Server = createServer((request, response) => {
    const state = sources.state();
    const reply = (code: number, body: string) => {
      response.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(body);
    };
    switch (request.url) {
      case '/healthz':
        return reply(state === 'FAILED' || state === 'STOPPED' ? 503 : 200, `${state}\n`);
      case '/readyz':
        return reply(state === 'RUNNING' ? 200 : 503, `${state}\n`);
      default:
        return reply(404, 'not found: try /healthz or /readyz (metrics: PROMOTE_PROMETHEUS_ADDRESS)\n');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
