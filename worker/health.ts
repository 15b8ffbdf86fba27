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
  /** Prometheus text for /metrics, if promotion metrics are on. */
  metrics?: () => Promise<string>;
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
    const reply = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      response.writeHead(code, { 'content-type': type });
      response.end(body);
    };
    switch (request.url) {
      case '/healthz':
        return reply(state === 'FAILED' || state === 'STOPPED' ? 503 : 200, `${state}\n`);
      case '/readyz':
        return reply(state === 'RUNNING' ? 200 : 503, `${state}\n`);
      case '/metrics':
        if (!sources.metrics) return reply(404, 'promotion metrics are off\n');
        sources.metrics().then(
          (text) => reply(200, text, 'text/plain; version=0.0.4; charset=utf-8'),
          (error: unknown) => reply(500, `${String(error)}\n`),
        );
        return;
      default:
        return reply(404, 'not found: try /healthz, /readyz or /metrics\n');
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
