/**
 * A fake upstream for end-to-end tests: a real node:http server on 127.0.0.1:0 that records what it
 * received (method, target, raw headers, body) and answers with a handler the test supplies.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, connect, type Socket } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  /** Lower-cased header map (as node:http parses it). */
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
  body: Buffer;
  /** Set when the client side (the gateway) closed before the response ended. */
  aborted: boolean;
  /** `Date.now()` when the request arrived / when its connection closed early. */
  arrivedAt: number;
  abortedAt?: number;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void | Promise<void>;

export interface FakeUpstream {
  url: string;
  port: number;
  requests: SeenRequest[];
  server: Server;
  close(): Promise<void>;
}

/** Default handler: JSON echo of what arrived (no secrets: tests only use fake keys). */
export const echoJson: UpstreamHandler = (req, res, seen) => {
  const body = JSON.stringify({ method: req.method, url: req.url, bytes: seen.body.length });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

export interface UpstreamOptions {
  /** Read the body before calling the handler (default true). */
  bufferBody?: boolean;
}

export async function startUpstream(handler: UpstreamHandler = echoJson, { bufferBody = true }: UpstreamOptions = {}): Promise<FakeUpstream> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const seen: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      body: Buffer.alloc(0),
      aborted: false,
      arrivedAt: Date.now(),
    };
    requests.push(seen);
    res.on('close', () => {
      if (!res.writableFinished) {
        seen.aborted = true;
        seen.abortedAt = Date.now();
      }
    });
    if (!bufferBody) {
      void handler(req, res, seen);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.body = Buffer.concat(chunks);
      void handler(req, res, seen);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * `upstream(...)` for a test file: starts fake upstreams and closes them all after the file's tests
 * (call once at module level).
 */
export function upstreamsClosedAfterAll(afterAll: (fn: () => Promise<unknown>) => void): typeof startUpstream {
  const started: FakeUpstream[] = [];
  afterAll(() => Promise.all(started.map((u) => u.close())));
  return async (...args) => {
    const u = await startUpstream(...args);
    started.push(u);
    return u;
  };
}

/**
 * Makes a fake upstream a plain HTTP CONNECT proxy (as `HTTP_PROXY`): every tunnel goes to the host
 * and port asked for. Returns the CONNECT targets, in order.
 */
export function actAsConnectProxy(proxy: FakeUpstream): string[] {
  const tunnels: string[] = [];
  proxy.server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const [host, port] = (req.url ?? '').split(':');
    const target = connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      target.write(head);
      target.pipe(client);
      client.pipe(target);
    });
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
  });
  return tunnels;
}
