import { connect, constants, type ClientHttp2Session } from 'node:http2';

/*
 * Unary gRPC calls over Node's own HTTP/2: the framing is five bytes and three headers, while
 * @grpc/grpc-js costs a CLI command more to load than it takes to send its one or two requests.
 * Only what the CLI's light path needs: unary calls, TLS (server CA, client certificate, server name),
 * metadata, a deadline. Anything unusual is left to the SDK client (client/light.ts decides).
 */

/** gRPC status codes the light path tells apart (https://grpc.io/docs/guides/status-codes/). */
export const GRPC = { ok: 0, deadlineExceeded: 4, notFound: 5, unavailable: 14 } as const;

export class GrpcError extends Error {
  override readonly name = 'GrpcError';
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`gRPC status ${code}: ${details}`);
  }
}

/** The connection could not be made (refused, unknown host, TLS, no answer in time). */
export class ConnectError extends Error {
  override readonly name = 'ConnectError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface ChannelOptions {
  /** host:port */
  address: string;
  tls?: {
    serverRootCACertificate?: Buffer;
    clientCertPair?: { crt: Buffer; key: Buffer };
    serverNameOverride?: string;
  };
  metadata: Record<string, string>;
  connectTimeoutMs: number;
}

export class Channel {
  private constructor(
    private readonly session: ClientHttp2Session,
    private readonly metadata: Record<string, string>,
  ) {}

  /** Opens the HTTP/2 connection (and TLS), failing with ConnectError within the timeout. */
  static open(options: ChannelOptions): Promise<Channel> {
    const { address, tls } = options;
    const authority = `${tls ? 'https' : 'http'}://${address}`;
    return new Promise((resolve, reject) => {
      const session = connect(authority, {
        ...(tls
          ? {
              ALPNProtocols: ['h2'],
              ...(tls.serverRootCACertificate ? { ca: tls.serverRootCACertificate } : {}),
              ...(tls.clientCertPair ? { cert: tls.clientCertPair.crt, key: tls.clientCertPair.key } : {}),
              ...(tls.serverNameOverride ? { servername: tls.serverNameOverride } : {}),
            }
          : {}),
      });
      const timer = setTimeout(() => {
        session.destroy();
        reject(new ConnectError(`no answer within ${options.connectTimeoutMs / 1000}s`, 'TIMEOUT'));
      }, options.connectTimeoutMs);
      session.once('connect', () => {
        clearTimeout(timer);
        session.removeAllListeners('error');
        // A later connection error fails the calls in flight (their streams error), not the process.
        session.on('error', () => undefined);
        resolve(new Channel(session, options.metadata));
      });
      session.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        session.destroy();
        reject(new ConnectError(error.message, error.code));
      });
    });
  }

  /** One unary call: the request's bytes in, the response's bytes out, or a GrpcError. */
  unary(path: string, request: Uint8Array, deadline?: number): Promise<Buffer> {
    const headers: Record<string, string> = {
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...this.metadata,
    };
    if (deadline !== undefined) headers['grpc-timeout'] = `${Math.max(1, deadline - Date.now())}m`;
    const frame = Buffer.alloc(5 + request.length);
    frame.writeUInt32BE(request.length, 1);
    frame.set(request, 5);
    return new Promise((resolve, reject) => {
      const stream = this.session.request(headers);
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let message = '';
      const take = (h: Record<string, unknown>) => {
        if (h['grpc-status'] !== undefined) status = Number(h['grpc-status']);
        if (typeof h['grpc-message'] === 'string') message = decodeURIComponent(h['grpc-message']);
      };
      stream.on('response', (h) => {
        const httpStatus = Number(h[constants.HTTP2_HEADER_STATUS]);
        if (httpStatus !== 200) {
          status ??= GRPC.unavailable;
          message ||= `HTTP status ${httpStatus}`;
        }
        take(h);
      });
      stream.on('trailers', take);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => reject(new GrpcError(GRPC.unavailable, error.message)));
      stream.on('close', () => {
        if (status === undefined)
          return reject(new GrpcError(GRPC.unavailable, 'stream closed without a status'));
        if (status !== GRPC.ok) return reject(new GrpcError(status, message));
        const body = Buffer.concat(chunks);
        if (body.length < 5 || body[0] !== 0)
          return reject(new GrpcError(GRPC.unavailable, 'malformed or compressed response'));
        resolve(body.subarray(5, 5 + body.readUInt32BE(1)));
      });
      stream.end(frame);
    });
  }

  close(): void {
    this.session.close();
  }
}
