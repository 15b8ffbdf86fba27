import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { waitForFrontend } from '../server/dev-server.js';

const GET_SYSTEM_INFO = '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo';

/**
 * A frontend the way `temporal server start-dev` is in its first moments: the port is open, but every
 * call is answered UNAVAILABLE "Frontend is not healthy yet" (a trailers-only gRPC response) until it
 * has `unhealthyCalls` such answers behind it. CI caught `promote dev` connecting in that window.
 */
async function warmingFrontend(unhealthyCalls: number) {
  const paths: string[] = [];
  const server: Http2Server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    const path = String(headers[':path']);
    paths.push(path);
    stream.on('data', () => undefined);
    stream.on('end', () => {
      if (path !== GET_SYSTEM_INFO) {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12' },
          { endStream: true },
        );
      } else if (paths.length <= unhealthyCalls) {
        stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '14',
            'grpc-message': encodeURIComponent('Frontend is not healthy yet'),
          },
          { endStream: true },
        );
      } else {
        // An empty GetSystemInfoResponse: a zero-length message frame, then status OK in the trailers.
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.alloc(5));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    paths,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('waiting for the dev server frontend', () => {
  let frontend: Awaited<ReturnType<typeof warmingFrontend>> | undefined;
  afterEach(async () => frontend?.close());

  it('returns only once GetSystemInfo answers, not when the port opens', async () => {
    frontend = await warmingFrontend(3);
    await waitForFrontend(frontend.address, { timeoutMs: 10_000, retryMs: 10 });
    expect(frontend.paths).toEqual([GET_SYSTEM_INFO, GET_SYSTEM_INFO, GET_SYSTEM_INFO, GET_SYSTEM_INFO]);
  });

  it('fails with what the frontend last said when it never becomes healthy', async () => {
    frontend = await warmingFrontend(Number.MAX_SAFE_INTEGER);
    await expect(waitForFrontend(frontend.address, { timeoutMs: 300, retryMs: 10 })).rejects.toThrow(
      /not ready within 0\.3s: .*Frontend is not healthy yet/,
    );
    expect(frontend.paths.length).toBeGreaterThan(1);
  });

  it('does not wait out the deadline for an answer other than "unavailable"', async () => {
    const refused = await refusingFrontend();
    try {
      await expect(waitForFrontend(refused.address, { timeoutMs: 60_000, retryMs: 10 })).rejects.toThrow(
        /permission denied/i,
      );
    } finally {
      await refused.close();
    }
  });
});

/** A server that answers PERMISSION_DENIED: not a server warming up, so waiting longer cannot help. */
async function refusingFrontend() {
  const server: Http2Server = createServer();
  server.on('stream', (stream: ServerHttp2Stream) => {
    stream.on('data', () => undefined);
    stream.on('end', () =>
      stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': '7',
          'grpc-message': 'permission denied',
        },
        { endStream: true },
      ),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
