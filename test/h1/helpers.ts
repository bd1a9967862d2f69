/**
 * Test helpers for the HTTP/1.1 pool: a raw TCP (or TLS) server that writes exact bytes and records
 * exact bytes, and a handler that records every callback and checks the UpstreamHandler contract.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { H1Pool, type H1PoolOptions } from '../../src/node/h1/pool.js';
import type { UpstreamHandler, UpstreamRequest } from '../../src/node/h1/types.js';

const fixture = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url)));
export const CERT = fixture('localhost-cert.pem');
export const KEY = fixture('localhost-key.pem');

/** A parser outcome with long strings shortened, so a mismatch diff stays readable. */
export function compact(outcome: unknown): unknown {
  return JSON.parse(JSON.stringify(outcome, (_key, value: unknown) =>
    typeof value === 'string' && value.length > 80 ? `${value.slice(0, 40)}…(${value.length} chars)` : value));
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One accepted socket, with everything it received. */
export class ServerConn {
  readonly socket: Socket;
  readonly index: number;
  /** Each 'data' event's bytes, as received. */
  readonly reads: Buffer[] = [];
  /** Bytes of requests not yet taken by nextRequest(). */
  #buffer = Buffer.alloc(0);
  #waiters: Array<() => void> = [];
  closed = false;
  readonly closedPromise: Promise<void>;
  /** Bytes a response write could not hand to the kernel at once (backpressure seen by the server). */

  constructor(socket: Socket, index: number) {
    this.socket = socket;
    this.index = index;
    socket.on('data', (chunk: Buffer) => {
      this.reads.push(chunk);
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('error', () => {});
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.#wake();
        resolve();
      });
    });
  }

  get received(): Buffer {
    return Buffer.concat(this.reads);
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  /** Waits until `predicate(buffered bytes)` returns a length ≥ 0, takes that many bytes. */
  async take(measure: (buffered: Buffer) => number, timeoutMs = 2000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const n = measure(this.#buffer);
      if (n >= 0) {
        const out = this.#buffer.subarray(0, n);
        this.#buffer = this.#buffer.subarray(n);
        return out;
      }
      if (this.closed) throw new Error(`server socket #${this.index} closed while waiting; had ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting on server socket #${this.index}; had ${JSON.stringify(this.#buffer.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for a whole request (head, and a content-length or chunked body) and returns its bytes. */
  nextRequest(timeoutMs?: number): Promise<Buffer> {
    return this.take(requestLength, timeoutMs);
  }

  /** Waits for the request head only. */
  nextHead(timeoutMs?: number): Promise<Buffer> {
    return this.take((buf) => {
      const end = buf.indexOf('\r\n\r\n');
      return end === -1 ? -1 : end + 4;
    }, timeoutMs);
  }

  write(data: string | Buffer): boolean {
    return this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }
}

/** Length of the first complete request in `buf`, or -1. */
export function requestLength(buf: Buffer): number {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return -1;
  const head = buf.toString('latin1', 0, end).toLowerCase();
  const bodyStart = end + 4;
  const cl = /\r\ncontent-length: *(\d+)/.exec(head);
  if (/\r\ntransfer-encoding: *chunked/.test(head)) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd === -1) return -1;
      const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        return buf.length >= lineEnd + 4 ? lineEnd + 4 : -1; // no trailers in these tests
      }
      at = lineEnd + 2 + size + 2;
      if (buf.length < at) return -1;
    }
  }
  if (cl !== null) {
    const total = bodyStart + Number(cl[1]);
    return buf.length >= total ? total : -1;
  }
  return bodyStart;
}

export interface RawServer {
  readonly port: number;
  readonly origin: URL;
  readonly conns: ServerConn[];
  /** Resolves with the next accepted connection (or an already accepted, not yet handed out one). */
  nextConn(timeoutMs?: number): Promise<ServerConn>;
  close(): Promise<void>;
}

export interface RawServerOptions {
  tls?: boolean;
  /** Called for every accepted connection (after it is recorded). */
  onConn?: (conn: ServerConn) => void;
}

/** A TCP (or TLS) server on 127.0.0.1:0 that does nothing by itself: tests drive each connection. */
export async function rawServer(options: RawServerOptions = {}): Promise<RawServer> {
  const conns: ServerConn[] = [];
  let handedOut = 0;
  const waiters: Array<() => void> = [];
  const all = new Set<Socket>();
  const accept = (socket: Socket): void => {
    all.add(socket);
    socket.once('close', () => all.delete(socket));
    const conn = new ServerConn(socket, conns.length);
    conns.push(conn);
    options.onConn?.(conn);
    for (const waiter of waiters.splice(0)) waiter();
  };
  let server: Server;
  if (options.tls === true) {
    server = createTlsServer({ cert: CERT, key: KEY }, (socket: TLSSocket) => accept(socket));
  } else {
    server = createServer(accept);
  }
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: new URL(`${options.tls === true ? 'https' : 'http'}://127.0.0.1:${port}`),
    conns,
    async nextConn(timeoutMs = 2000) {
      const deadline = Date.now() + timeoutMs;
      while (handedOut >= conns.length) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error('no new connection');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return conns[handedOut++];
    },
    async close() {
      for (const socket of all) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Options for {@link rawServer}: every request on every connection is answered with
 * `respond(request, conn, n)` (`n` counts the connection's requests from 0; null writes nothing).
 */
export function answering(respond: (request: Buffer, conn: ServerConn, n: number) => string | Buffer | null): RawServerOptions {
  return {
    onConn(conn) {
      void (async () => {
        for (let n = 0; ; n++) {
          let request: Buffer;
          try {
            request = await conn.nextRequest(10_000);
          } catch {
            return;
          }
          const out = respond(request, conn, n);
          if (out !== null) conn.write(out);
        }
      })();
    },
  };
}

/** Every callback, in order, with the contract checked as they come. */
export class Recorder implements UpstreamHandler {
  readonly events: string[] = [];
  readonly violations: string[] = [];
  abort: (err?: Error) => void = () => {
    throw new Error('onConnect not called');
  };
  resume: () => void = () => {
    throw new Error('onHeaders not called');
  };
  status = 0;
  statusText = '';
  headers: string[] = [];
  readonly chunks: Buffer[] = [];
  error: Error | null = null;
  completed = false;
  /** What onHeaders / onData return (default true). */
  headersReturn: (status: number) => boolean = () => true;
  dataReturn: (chunk: Buffer, recorder: Recorder) => boolean = () => true;
  /** Hooks run inside the callbacks (e.g. abort from onData). */
  onDataHook: ((chunk: Buffer, recorder: Recorder) => void) | null = null;
  readonly done: Promise<void>;
  #resolveDone!: () => void;
  #finished = false;
  #finishedAt = -1;

  constructor() {
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  get body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  get bodyBytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }

  #check(name: string): void {
    if (name !== 'connect' && !this.events.includes('connect')) this.violations.push(`${name} before onConnect`);
    // A second onConnect is a resend on a new connection: only before anything else came.
    if (name === 'connect' && this.events.some((e) => e !== 'connect')) this.violations.push('onConnect after other callbacks');
    if (this.#finished) this.violations.push(`${name} after ${this.events[this.#finishedAt]}`);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#check('connect');
    this.events.push('connect');
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: readonly (Buffer | string)[], resume: () => void, statusText: string): boolean {
    this.#check('headers');
    if (statusCode >= 200 && this.status >= 200) this.violations.push('onHeaders twice with a final status');
    this.events.push(`headers ${statusCode}`);
    this.status = statusCode;
    this.statusText = statusText;
    this.headers = rawHeaders.map((h) => (typeof h === 'string' ? h : h.toString('latin1')));
    this.resume = resume;
    return this.headersReturn(statusCode);
  }

  onData(chunk: Buffer): boolean {
    this.#check('data');
    if (this.status < 200) this.violations.push('onData before a final onHeaders');
    if (this.events[this.events.length - 1] !== 'data') this.events.push('data');
    this.chunks.push(Buffer.from(chunk));
    this.onDataHook?.(chunk, this);
    return this.dataReturn(chunk, this);
  }

  onComplete(trailers: unknown): void {
    this.#check('complete');
    if (this.status < 200) this.violations.push('onComplete without a final onHeaders');
    void trailers;
    this.events.push('complete');
    this.completed = true;
    this.#finish();
  }

  onError(err: Error): void {
    this.#check('error');
    this.events.push(`error ${(err as { code?: string }).code ?? err.name}`);
    this.error = err;
    this.#finish();
  }

  #finish(): void {
    this.#finished = true;
    this.#finishedAt = this.events.length - 1;
    this.#resolveDone();
  }

  /** Waits for the end, with a limit (a test must never hang on a lost callback). */
  async finished(timeoutMs = 3000): Promise<this> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.done,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no onComplete/onError within ${timeoutMs} ms; events: ${this.events.join(', ')}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    return this;
  }

  /** The contract held: onConnect first, one ending, nothing after it (checked after a short wait). */
  async assertClean(settleMs = 30): Promise<void> {
    await sleep(settleMs);
    if (this.violations.length > 0) throw new Error(`handler contract violated: ${this.violations.join('; ')} (events: ${this.events.join(', ')})`);
    const endings = this.events.filter((e) => e === 'complete' || e.startsWith('error'));
    if (endings.length !== 1) throw new Error(`expected exactly one ending, got: ${this.events.join(', ')}`);
    if (this.events[0] !== 'connect') throw new Error(`onConnect must come first: ${this.events.join(', ')}`);
  }
}

export function get(path = '/v1/models', headers: string[] = []): UpstreamRequest {
  return { method: 'GET', path, headers, body: null };
}

export function dispatch(pool: H1Pool, request: UpstreamRequest, recorder = new Recorder()): Recorder {
  pool.dispatch(request, recorder);
  return recorder;
}

export function makePool(origin: URL, options: Partial<H1PoolOptions> = {}): H1Pool {
  return new H1Pool({ origin, connectTimeoutMs: 1000, headersTimeoutMs: 2000, bodyTimeoutMs: 2000, ...options });
}

export const OK = (body = 'ok', extra = ''): string => `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body, 'latin1')}\r\n${extra}\r\n${body}`;

/**
 * Where to split an input of `length` bytes when feeding it in two parts: every position, or for big
 * inputs a sample (both ends, every 509th byte, and around `limit`, a size limit of the parser).
 */
export function splitPoints(length: number, limit: number): number[] {
  if (length <= 4096) return Array.from({ length: length + 1 }, (_, i) => i);
  const points = new Set<number>();
  for (let i = 0; i <= 64; i++) points.add(i).add(length - i);
  for (let i = 0; i <= length; i += 509) points.add(i);
  for (let d = -3; d <= 3; d++) points.add(limit + d);
  return [...points].filter((p) => p >= 0 && p <= length).sort((a, b) => a - b);
}
