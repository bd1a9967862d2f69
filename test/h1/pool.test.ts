/**
 * H1Pool against raw TCP/TLS servers that write exact bytes and record exact bytes. Every test checks
 * the handler contract with a recording handler (onConnect first; exactly one of onComplete/onError;
 * nothing after it). Tests whose title starts with "BUG:" fail on the current source on purpose;
 * each carries its diagnosis.
 */
import { once } from 'node:events';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { H1Pool } from '../../src/node/h1/pool.js';
import type { UpstreamRequest } from '../../src/node/h1/types.js';
import { toGatewayError, type UpstreamErrorContext } from '../../src/node/upstream-error.js';
import {
  CERT,
  OK,
  Recorder,
  answering,
  get,
  makePool,
  rawServer,
  requestLength,
  sleep,
  type RawServer,
  type RawServerOptions,
  type ServerConn,
} from './helpers.js';

// --- per-test harness: everything a test starts is torn down when it ends, nothing hangs --------------
// (per test, not module-wide, so that suites can run their tests concurrently)

interface Harness {
  server(options?: RawServerOptions): Promise<RawServer>;
  pool(origin: URL, options?: Parameters<typeof makePool>[1]): H1Pool;
  send(p: H1Pool, request: UpstreamRequest, rec?: Recorder): Recorder;
}

function harness(onTestFinished: (fn: () => Promise<void>) => void): Harness {
  const servers: RawServer[] = [];
  const pools: H1Pool[] = [];
  const recorders: Recorder[] = [];
  onTestFinished(async () => {
    for (const rec of recorders) {
      if (!rec.events.some((e) => e === 'complete' || e.startsWith('error'))) {
        try {
          rec.abort();
        } catch {
          // onConnect never came
        }
      }
    }
    await Promise.all(pools.map((p) => Promise.race([p.close(), sleep(300)])));
    await Promise.all(servers.map((s) => s.close()));
  });
  return {
    async server(options = {}) {
      const s = await rawServer(options);
      servers.push(s);
      return s;
    },
    pool(origin, options = {}) {
      const p = makePool(origin, options);
      pools.push(p);
      return p;
    },
    send(p, request, rec = new Recorder()) {
      recorders.push(rec);
      p.dispatch(request, rec);
      return rec;
    },
  };
}

const post = (body: UpstreamRequest['body'], headers: string[] = []): UpstreamRequest => ({
  method: 'POST',
  path: '/v1/chat/completions',
  headers,
  body,
});

/** A byte stream (not object mode) whose chunks the test pushes one by one. */
function manualBody(): Readable {
  return new Readable({ read() {} });
}

const errorContext: UpstreamErrorContext = {
  origin: 'http://upstream.test',
  connectTimeoutMs: 300,
  responseTimeoutMs: 300,
  totalTimeoutMs: 0,
  report() {},
};

const headOf = (request: Buffer): string => request.toString('latin1', 0, request.indexOf('\r\n\r\n') + 4);

// --- reuse and request format ------------------------------------------------------------------------

describe.concurrent('H1Pool: keep-alive reuse and exact request bytes', () => {
  it('sequential requests reuse one socket; the request head is exactly as specified', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK('hello', 'content-type: text/plain\r\n')));
    const p = pool(s.origin);
    for (let i = 0; i < 3; i++) {
      const rec = await send(p, get(`/v1/models?i=${i}`, ['x-a', '1', 'accept', 'application/json'])).finished();
      await rec.assertClean(0);
      expect(rec.events).toEqual(['connect', 'headers 200', 'data', 'complete']);
      expect(rec.status).toBe(200);
      expect(rec.statusText).toBe('OK');
      expect(rec.headers).toEqual(['content-length', '5', 'content-type', 'text/plain']);
      expect(rec.body).toBe('hello');
    }
    expect(s.conns).toHaveLength(1);
    expect(s.conns[0].received.toString('latin1')).toBe(
      [0, 1, 2].map((i) => `GET /v1/models?i=${i} HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\nx-a: 1\r\naccept: application/json\r\n\r\n`).join(''),
    );
  });

  it('a Buffer body goes out with the head, in the same write', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK('{}')));
    const p = pool(s.origin);
    const body = Buffer.from('{"model":"gpt","x":"\u00e9"}');
    const rec = await send(p, post(body, ['content-type', 'application/json', 'content-length', String(body.length)])).finished();
    await rec.assertClean();
    expect(rec.completed).toBe(true);
    const expected = Buffer.concat([
      Buffer.from(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`),
      body,
    ]);
    expect(s.conns[0].received.equals(expected)).toBe(true);
    // One write (cork/uncork): on loopback, one read on the server.
    expect(s.conns[0].reads[0].equals(expected)).toBe(true);
  });

  // BUG (connection.ts:76-81): a Buffer body is written with no framing header when the caller gave
  // no content-length. The pipeline does exactly that when a tap (chat log) is on and the client sent
  // `transfer-encoding: chunked`: readBody() buffers the body, readClientHeaders() dropped
  // transfer-encoding and there was no content-length. The upstream then sees a body-less POST
  // followed by the JSON as the next "request" (desync / smuggling, and the real request fails).
  // undici adds `content-length: <body.length>` itself. Fix: in start(), when Buffer.isBuffer(body)
  // && body.length > 0 (or method allows a body) && !hasHeader(headers,'content-length'), append
  // `content-length: ${body.length}\r\n` to the head.
  it('BUG: a Buffer body without a content-length header gets one (else the upstream sees two requests)', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK('{}')));
    const p = pool(s.origin);
    const body = Buffer.from('{"model":"gpt-4o"}');
    const rec = await send(p, post(body, ['content-type', 'application/json'])).finished();
    await rec.assertClean();
    const received = s.conns[0].received;
    expect(headOf(received)).toMatch(/\r\ncontent-length: 18\r\n/i);
    expect(requestLength(received)).toBe(received.length);
  });

  it('an empty Buffer body sends the head only', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin);
    const rec = await send(p, post(Buffer.alloc(0), ['content-length', '0'])).finished();
    await rec.assertClean();
    expect(s.conns[0].received.toString('latin1')).toBe(`POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ncontent-length: 0\r\n\r\n`);
  });

  it('a handler that dispatches again from onComplete gets the same (released) socket', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, _conn, n) => OK(`r${n}`)));
    const p = pool(s.origin);
    const second = new Recorder();
    const first = new Recorder();
    const complete = first.onComplete.bind(first);
    first.onComplete = (t) => {
      complete(t);
      p.dispatch(get('/second'), second);
    };
    send(p, get('/first'), first);
    await second.finished();
    await first.assertClean();
    await second.assertClean();
    expect(second.body).toBe('r1');
    expect(s.conns).toHaveLength(1);
  });
});

describe.concurrent('H1Pool: when a socket must not be reused', () => {
  it('connection: close → the socket is closed and the next request uses a new one', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, _conn, n) => OK(`r${n}`, 'connection: close\r\n')));
    const p = pool(s.origin);
    const a = await send(p, get()).finished();
    await a.assertClean(0);
    await s.conns[0].closedPromise;
    const b = await send(p, get()).finished();
    await b.assertClean();
    expect([a.body, b.body]).toEqual(['r0', 'r0']);
    expect(s.conns).toHaveLength(2);
  });

  it('HTTP/1.0 response → new socket next time', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => 'HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    const p = pool(s.origin);
    await (await send(p, get()).finished()).assertClean(0);
    await s.conns[0].closedPromise;
    await (await send(p, get()).finished()).assertClean();
    expect(s.conns).toHaveLength(2);
  });

  it('close-delimited body: complete at the server FIN, with all bytes; new socket next time', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ');
      setTimeout(() => {
        conn.write('part two');
        conn.socket.end();
      }, 30);
      return null;
    }));
    const p = pool(s.origin);
    const a = await send(p, get()).finished();
    await a.assertClean();
    expect(a.events).toEqual(['connect', 'headers 200', 'data', 'complete']);
    expect(a.body).toBe('part one, part two');
    const b = await send(p, get()).finished();
    await b.assertClean();
    expect(s.conns).toHaveLength(2);
  });

  it('the server closes an idle socket → the next request uses a new socket and succeeds', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn, n) => {
      if (n === 0) setTimeout(() => conn.socket.end(), 10);
      return OK('x');
    }));
    const p = pool(s.origin);
    await (await send(p, get()).finished()).assertClean(0);
    await s.conns[0].closedPromise;
    await sleep(50);
    const b = await send(p, get()).finished();
    await b.assertClean();
    expect(b.completed).toBe(true);
    expect(s.conns).toHaveLength(2);
  });

  // BUG (connection.ts:172-177, pool.ts:75): `#onSocketEnd` ignores an idle connection. After the
  // server's FIN is read ('end'), the socket stays in the pool's idle list until 'close', which comes
  // only once our own shutdown completes (a later libuv callback). dispatch() only skips
  // `socket.destroyed`, so a request dispatched in that window (e.g. a client request handled later in
  // the same poll phase) is written on a half-closed socket and fails with EPIPE ("This socket has
  // been ended by the other party") → a 502, though the pool already knew the socket was gone. Fix: in #onSocketEnd, `if (this.#handler === null) { this.#discard(); return; }`;
  // and in H1Pool.dispatch skip idle sockets with `socket.readableEnded || !socket.writable`.
  it('BUG: a request dispatched right after the idle socket saw the server FIN uses a new socket', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn, n) => {
      if (n === 0) setTimeout(() => conn.socket.end(), 20);
      return OK(`r${n}`);
    }));
    const p = pool(s.origin);
    await (await send(p, get()).finished()).assertClean(0);

    // Watch the client socket's 'end' and dispatch right after Node's own handling of it (before 'close').
    const original = Socket.prototype.emit;
    let second: Recorder | null = null;
    let window: { writable: boolean; destroyed: boolean } | null = null;
    const sawEnd = new Promise<void>((resolve) => {
      Socket.prototype.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
        const ours = this.remotePort === s.port; // read first: a destroyed socket forgets it
        const result = (original as (this: Socket, event: string | symbol, ...args: unknown[]) => boolean).call(this, event, ...args);
        if (event === 'end' && ours) {
          // After Node's own end-of-readable work (endWritableNT, queued right after this emit), as
          // another socket's I/O callback later in the same poll phase would run. With the current
          // code the socket is then `writable === false` but not yet `destroyed` (that waits for the
          // shutdown callback), so dispatch() takes it from the idle list.
          process.nextTick(() =>
            process.nextTick(() => {
              window = { writable: this.writable, destroyed: this.destroyed };
              second = send(p, get('/after-fin'));
              resolve();
            }),
          );
        }
        return result;
      } as typeof Socket.prototype.emit;
    });
    try {
      await Promise.race([sawEnd, sleep(2000).then(() => Promise.reject(new Error('client socket never saw the FIN')))]);
    } finally {
      Socket.prototype.emit = original;
    }
    expect(window).not.toBeNull(); // today: { writable: false, destroyed: false }
    const rec = await (second as unknown as Recorder).finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'headers 200', 'data', 'complete']);
    expect(s.conns).toHaveLength(2);
  });

  it('extra bytes after a complete response (same read) → the socket is not reused', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, _conn, n) => (n === 0 ? `${OK('ok')}HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nbad` : OK('ok'))));
    const p = pool(s.origin);
    const a = await send(p, get()).finished();
    await a.assertClean(0);
    expect(a.body).toBe('ok');
    await s.conns[0].closedPromise;
    const b = await send(p, get()).finished();
    await b.assertClean();
    expect(b.body).toBe('ok');
    expect(s.conns).toHaveLength(2);
  });

  it('bytes arriving later on an idle socket → it is dropped; the next request uses a new one', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      setTimeout(() => conn.write('HTTP/1.1 200 OK\r\n'), 20);
      return OK('ok');
    }));
    const p = pool(s.origin);
    await (await send(p, get()).finished()).assertClean(0);
    await s.conns[0].closedPromise;
    const b = await send(p, get()).finished();
    await b.assertClean();
    expect(b.body).toBe('ok');
    expect(s.conns).toHaveLength(2);
  });

  it('a response that cannot be parsed → UPSTREAM_PROTOCOL_ERROR, socket closed, mapped to upstream_error', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc'));
    const p = pool(s.origin);
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_PROTOCOL_ERROR']);
    await s.conns[0].closedPromise;
    expect(toGatewayError(rec.error, errorContext).code).toBe('upstream_error');
  });
});

// --- streamed bodies ---------------------------------------------------------------------------------

describe.concurrent('H1Pool: streamed request bodies', () => {
  it('with a content-length header: the bytes go out raw; the socket is reused', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin);
    const body = manualBody();
    const rec = send(p, post(body, ['content-length', '11']));
    body.push('hello');
    await sleep(10);
    body.push(' world');
    body.push(null);
    await rec.finished();
    await rec.assertClean(0);
    const second = await send(p, get()).finished();
    await second.assertClean();
    expect(s.conns).toHaveLength(1);
    expect(s.conns[0].received.toString('latin1')).toBe(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ncontent-length: 11\r\n\r\nhello world` +
        `GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\n\r\n`,
    );
  });

  it('without content-length: transfer-encoding chunked, exact framing, 0\\r\\n\\r\\n', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin);
    const body = manualBody();
    const rec = send(p, post(body, ['content-type', 'application/json']));
    body.push('hello');
    await sleep(10);
    body.push(Buffer.alloc(300, 'x'));
    await sleep(10);
    body.push(null);
    await rec.finished();
    await rec.assertClean();
    expect(s.conns[0].received.toString('latin1')).toBe(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n` +
        `5\r\nhello\r\n12c\r\n${'x'.repeat(300)}\r\n0\r\n\r\n`,
    );
  });

  it('an empty stream, chunked: just the last chunk', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin);
    const body = manualBody();
    body.push(null);
    const rec = await send(p, post(body)).finished();
    await rec.assertClean();
    expect(s.conns[0].received.toString('latin1')).toBe(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:${s.port}\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n`,
    );
  });

  // BUG (connection.ts:196-209): `#onBodyData` frames every 'data' chunk as `${chunk.length hex}\r\n…`.
  // An object-mode stream (Readable.from([...]) is one) emits empty Buffers, and a zero-length chunk
  // is written as "0\r\n\r\n\r\n": the last-chunk marker. The upstream ends the body there and reads
  // the rest of the body as a new request (request smuggling). Strings are also mis-framed (chunk.length
  // counts UTF-16 units, not bytes). Fix: `if (chunk.length === 0) return;` and frame
  // `Buffer.byteLength(chunk)` of a Buffer.from(chunk) for strings (or reject non-Buffer chunks).
  it('BUG: an empty chunk from the body stream does not end the chunked body early (smuggling)', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin);
    const body = Readable.from([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('GET /smuggled HTTP/1.1\r\nhost: x\r\n\r\n')]);
    const rec = await send(p, post(body)).finished();
    await rec.assertClean();
    await sleep(20);
    const received = s.conns[0].received.toString('latin1');
    expect(received).not.toContain('0\r\n\r\n\r\n');
    // Exactly one request on the wire.
    expect(requestLength(s.conns[0].received)).toBe(s.conns[0].received.length);
  });

  // BUG (minor, connection.ts:266-268): hasHeader() compares names case-sensitively. A caller that
  // passes `Content-Length` (the UpstreamRequest contract does not require lower case, and undici
  // accepts any case) gets BOTH `Content-Length` and `transfer-encoding: chunked` on the wire, a
  // message RFC 9112 §6.1 says a recipient must treat as an error/smuggling attempt.
  // Fix: compare `flat[i].toLowerCase() === name` (or document + assert lower-case names).
  it('BUG: a streamed body with a mixed-case Content-Length header is not also sent chunked', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin);
    const body = manualBody();
    body.push('hello');
    body.push(null);
    const rec = await send(p, post(body, ['Content-Length', '5'])).finished();
    await rec.assertClean();
    expect(headOf(s.conns[0].received).toLowerCase()).not.toContain('transfer-encoding');
  });

  it('the body stream fails → onError with that very error; socket closed', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server();
    const p = pool(s.origin);
    const body = manualBody();
    const rec = send(p, post(body));
    body.push('partial');
    const conn = await s.nextConn();
    await conn.take((buf) => (buf.includes('partial') ? buf.length : -1));
    const boom = new Error('client went away');
    body.destroy(boom);
    await rec.finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error Error']);
    expect(rec.error).toBe(boom);
    await conn.closedPromise;
  });

  it('the server answers before reading the whole body → onComplete; the socket is not reused', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server({
      onConn(conn) {
        void conn.nextHead().then(() => conn.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 4\r\n\r\nbig!'), () => {});
      },
    });
    const p = pool(s.origin);
    const body = manualBody();
    const rec = send(p, post(body, ['content-length', '1000000']));
    body.push(Buffer.alloc(1000, 'a'));
    await rec.finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'headers 413', 'data', 'complete']);
    expect(rec.body).toBe('big!');
    await s.conns[0].closedPromise;
    const next = await send(p, get()).finished().catch(() => null);
    void next;
    expect(s.conns).toHaveLength(2);
  });

  // BUG (connection.ts:223-230, 232-240, 250-257): when the exchange ends before the body stream does
  // (early answer, abort, timeout, upstream error), #detachBody() removes the pool's 'error' listener
  // and leaves the stream as it is. If the stream errors later, it has no 'error' listener: an
  // uncaught exception that kills the gateway process. This is reachable: pipeline.ts streams
  // `limitBody(req)` (a Transform) whose error (body over MAX_BODY_SIZE, or the client aborting,
  // forwarded by `req.once('error', e => counter.destroy(e))`) fires after an early 413/401 from
  // the upstream or after the client-gone abort. It also stays paused/flowing with no consumer.
  // Fix: in #detachBody keep a no-op error listener (`body.on('error', noop)`) and either
  // `body.resume()` (drain and discard) or `body.destroy()` it.
  it('BUG: a body stream that errors after the exchange ended (early answer) does not crash the process', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server({
      onConn(conn) {
        void conn.nextHead().then(() => conn.write(OK('early')), () => {});
      },
    });
    const p = pool(s.origin);
    const body = manualBody();
    const rec = send(p, post(body));
    body.push('some');
    await rec.finished();
    await rec.assertClean();
    expect(rec.completed).toBe(true);
    // An EventEmitter with no 'error' listener throws on emit('error'): that is the uncaught exception.
    expect(body.listenerCount('error')).toBeGreaterThan(0);
    expect(() => body.emit('error', new Error('late body error'))).not.toThrow();
  });

  it('BUG: a body stream that errors after abort() does not crash the process', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server();
    const p = pool(s.origin);
    const body = manualBody();
    const rec = send(p, post(body));
    body.push('some');
    await (await s.nextConn()).nextHead();
    rec.abort();
    await rec.finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_ABORTED']);
    expect(body.listenerCount('error')).toBeGreaterThan(0);
    expect(() => body.emit('error', new Error('late body error'))).not.toThrow();
  });
});

// --- timeouts ----------------------------------------------------------------------------------------

describe.concurrent('H1Pool: timeouts (250 ms coarse timer)', () => {
  it('headers timeout: the server never answers → UPSTREAM_HEADERS_TIMEOUT, socket closed', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server();
    const p = pool(s.origin, { headersTimeoutMs: 300 });
    const started = Date.now();
    const rec = send(p, get());
    const conn = await s.nextConn();
    await conn.nextRequest();
    await rec.finished(2000);
    const elapsed = Date.now() - started;
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_HEADERS_TIMEOUT']);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1000);
    await conn.closedPromise;
    expect(toGatewayError(rec.error, errorContext).code).toBe('upstream_response_timeout');
  });

  it('headers timeout after a streamed body on a fresh socket', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server();
    const p = pool(s.origin, { headersTimeoutMs: 300 });
    const body = manualBody();
    body.push('x');
    body.push(null);
    const rec = send(p, post(body));
    await rec.finished(2000);
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_HEADERS_TIMEOUT']);
  });

  // BUG (connection.ts:91 + 215): deadlineKind is left at 'body' by the previous exchange on a reused
  // socket. start() for a streamed body only zeroes the deadline, and #onBodyEnd then skips
  // #awaitHeaders() because `this.deadlineKind !== 'body'` is false. So a streamed-body request on a
  // reused socket has NO headers timeout: a silent upstream hangs it forever (until the client
  // leaves). Fix: in start() reset the phase, e.g. `this.deadlineKind = this.#connected ? 'headers' : 'connect'`
  // before the body branch, or track a per-exchange `#headReceived` flag and test that in #onBodyEnd.
  it('BUG: headers timeout also applies to a streamed body on a REUSED socket', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, _conn, n) => (n === 0 ? OK() : null)));
    const p = pool(s.origin, { headersTimeoutMs: 300 });
    await (await send(p, get()).finished()).assertClean(0);
    const body = manualBody();
    body.push('x');
    body.push(null);
    const rec = send(p, post(body));
    await rec.finished(1200);
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_HEADERS_TIMEOUT']);
    expect(s.conns).toHaveLength(1);
  });

  it('body idle timeout → UPSTREAM_BODY_TIMEOUT after some data', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => 'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n6\r\ndata: \r\n'));
    const p = pool(s.origin, { bodyTimeoutMs: 300 });
    const started = Date.now();
    const rec = await send(p, get()).finished(2000);
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'headers 200', 'data', 'error UPSTREAM_BODY_TIMEOUT']);
    expect(rec.body).toBe('data: ');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await s.conns[0].closedPromise;
  });

  it('body idle timeout is refreshed by every chunk (a slow but live stream completes)', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      let n = 0;
      const timer = setInterval(() => {
        if (n++ < 6) conn.write('1\r\n.\r\n');
        else {
          clearInterval(timer);
          conn.write('0\r\n\r\n');
        }
      }, 120);
      return null;
    }));
    const p = pool(s.origin, { bodyTimeoutMs: 300 });
    const rec = await send(p, get()).finished(3000);
    await rec.assertClean();
    expect(rec.completed).toBe(true);
    expect(rec.body).toBe('......');
  });

  // BUG (connection.ts:114-119, 144-146): the body idle deadline keeps running while the HANDLER has
  // paused the socket (backpressure from a slow client), and resume() does not re-arm it. A slow
  // reader (ForwardHandler returns false until the client's socket drains) longer than bodyTimeoutMs
  // gets its healthy upstream stream killed as UPSTREAM_BODY_TIMEOUT. undici does not time out a
  // paused parser (its onParserTimeout checks `!paused`). Fix: when onHeaders/onData return false set
  // `this.deadline = 0` (remember "paused"), and in #resume re-arm `this.deadline = owner.now + bodyTimeoutMs`
  // (when bodyTimeoutMs > 0).
  it('BUG: no body timeout while the handler itself has paused the stream', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\na');
      setTimeout(() => conn.write('b'), 50);
      return null;
    }));
    const p = pool(s.origin, { bodyTimeoutMs: 300 });
    const rec = new Recorder();
    rec.dataReturn = (_chunk, r) => r.bodyBytes > 1; // pause after the first byte
    send(p, get(), rec);
    await sleep(800); // the client is slow
    rec.resume();
    await rec.finished(2000);
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'headers 200', 'data', 'complete']);
    expect(rec.body).toBe('ab');
  });

  it('connect timeout: https origin on a TCP server that never speaks TLS → UPSTREAM_CONNECT_TIMEOUT', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server();
    const p = pool(new URL(`https://127.0.0.1:${s.port}`), { connectTimeoutMs: 300, tls: { ca: CERT } });
    const started = Date.now();
    const rec = await send(p, get()).finished(2000);
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_CONNECT_TIMEOUT']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await s.conns[0].closedPromise;
    expect(toGatewayError(rec.error, errorContext).code).toBe('upstream_connect_timeout');
  });

  it('ECONNREFUSED (closed port) → onError with code ECONNREFUSED', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await rawServer();
    const port = s.port;
    await s.close();
    const p = pool(new URL(`http://127.0.0.1:${port}`));
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error ECONNREFUSED']);
    expect(toGatewayError(rec.error, errorContext).code).toBe('upstream_unreachable');
  });

  it('Keep-Alive: timeout=1 → the pool closes the idle socket itself, well before the server would', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK('ok', 'keep-alive: timeout=1\r\n')));
    const p = pool(s.origin);
    await (await send(p, get()).finished()).assertClean(0);
    const started = Date.now();
    await s.conns[0].closedPromise;
    expect(Date.now() - started).toBeLessThan(700);
  });

  it('keepAliveTimeoutMs without a server hint closes the idle socket; the next request opens a new one', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin, { keepAliveTimeoutMs: 300 });
    await (await send(p, get()).finished()).assertClean(0);
    await s.conns[0].closedPromise;
    await (await send(p, get()).finished()).assertClean();
    expect(s.conns).toHaveLength(2);
  });
});

// --- failures and abort ------------------------------------------------------------------------------

describe.concurrent('H1Pool: upstream failures and abort', () => {
  it('upstream reset mid-body → onError (not onComplete)', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc');
      setTimeout(() => conn.socket.resetAndDestroy(), 30);
      return null;
    }));
    const p = pool(s.origin);
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events.slice(0, 3)).toEqual(['connect', 'headers 200', 'data']);
    expect(rec.events[3]).toMatch(/^error (ECONNRESET|UPSTREAM_CLOSED)$/);
    expect(rec.body).toBe('abc');
  });

  it('upstream FIN mid content-length body → UPSTREAM_CLOSED', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc');
      setTimeout(() => conn.socket.end(), 30);
      return null;
    }));
    const p = pool(s.origin);
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'headers 200', 'data', 'error UPSTREAM_CLOSED']);
  });

  it('upstream FIN mid chunked body (SSE cut off) → UPSTREAM_CLOSED', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n');
      setTimeout(() => conn.socket.end(), 30);
      return null;
    }));
    const p = pool(s.origin);
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'headers 200', 'data', 'error UPSTREAM_CLOSED']);
  });

  it('upstream closes before any response byte → UPSTREAM_CLOSED, mapped to upstream_unreachable', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.socket.end();
      return null;
    }));
    const p = pool(s.origin);
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_CLOSED']);
    expect(toGatewayError(rec.error, errorContext).code).toBe('upstream_unreachable');
  });

  it('abort() mid-body → the server sees the socket close; one onError; nothing after it', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
      return null;
    }));
    const p = pool(s.origin);
    const rec = new Recorder();
    rec.onDataHook = (_chunk, r) => r.abort();
    send(p, get(), rec);
    await rec.finished();
    await s.conns[0].closedPromise;
    s.conns[0].write('defghij'); // too late: must not reach the handler
    await rec.assertClean(50);
    expect(rec.events).toEqual(['connect', 'headers 200', 'data', 'error UPSTREAM_ABORTED']);
  });

  it('abort(err) from outside, mid-body, delivers that error; abort again is a no-op', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n');
      return null;
    }));
    const p = pool(s.origin);
    const rec = send(p, get());
    await s.nextConn();
    while (rec.bodyBytes < 3) await sleep(5);
    const reason = new Error('client gone');
    rec.abort(reason);
    rec.abort(new Error('second'));
    await rec.finished();
    await rec.assertClean();
    expect(rec.error).toBe(reason);
    await s.conns[0].closedPromise;
  });

  it('abort() inside onConnect → onError at once; nothing is written', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server();
    const p = pool(s.origin);
    const rec = new Recorder();
    const connect = rec.onConnect.bind(rec);
    rec.onConnect = (abort) => {
      connect(abort);
      abort();
    };
    send(p, get(), rec);
    await rec.finished();
    await rec.assertClean(50);
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_ABORTED']);
    for (const conn of s.conns) expect(conn.received.length).toBe(0);
  });

  // BUG (connection.ts:144-151): `#abort` and `#resume` are per-CONNECTION closures checked only against
  // `this.#handler !== null`. Once an exchange ends and its socket is reused, the OLD handler's abort()
  // kills the NEW exchange, and its resume() un-pauses the new exchange's backpressure. ForwardHandler
  // guards abort with #done, but not resume: its 'drain' listener (registered when onData returned
  // false) can fire after onComplete and resume the socket now paused by another client's exchange.
  // Fix: create the two closures per exchange in start(), capturing the handler:
  // `const abort = (err) => { if (this.#handler === handler) this.#fail(...) }`, same for resume.
  it('BUG: a stale abort() from a finished exchange does not kill the next exchange on the same socket', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn, n) => {
      if (n === 0) return OK('first');
      setTimeout(() => conn.write(OK('second')), 50);
      return null;
    }));
    const p = pool(s.origin);
    const first = await send(p, get()).finished();
    await first.assertClean(0);
    const second = send(p, get());
    await sleep(10);
    first.abort(); // the first exchange's client leaves late: must be a no-op
    await second.finished();
    await second.assertClean();
    expect(second.events).toEqual(['connect', 'headers 200', 'data', 'complete']);
    expect(second.body).toBe('second');
  });

  it('BUG: a stale resume() from a finished exchange does not undo the next exchange\'s pause', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn, n) => {
      if (n === 0) return OK('first');
      conn.write('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nsec');
      setTimeout(() => conn.write('ond'), 50);
      return null;
    }));
    const p = pool(s.origin);
    const first = await send(p, get()).finished();
    await first.assertClean(0);
    const second = new Recorder();
    second.dataReturn = () => false; // a slow client: paused after every chunk
    send(p, get(), second);
    while (second.bodyBytes < 3) await sleep(5);
    first.resume(); // the first client's late 'drain'
    await sleep(150);
    expect(second.body).toBe('sec'); // still paused
    second.dataReturn = () => true;
    second.resume();
    await second.finished();
    await second.assertClean();
    expect(second.body).toBe('second');
  });
});

// --- backpressure, interim responses, concurrency ----------------------------------------------------

describe.concurrent('H1Pool: backpressure, 1xx, concurrency', () => {
  it('onData false → socket paused: the server\'s writes stall; resume() continues to the end', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const total = 8 * 1024 * 1024;
    const piece = Buffer.alloc(64 * 1024, 'z');
    let stalledAt = -1;
    const s = await server(answering((_req, conn) => {
      conn.write(`HTTP/1.1 200 OK\r\ncontent-length: ${total}\r\n\r\n`);
      void (async () => {
        let sent = 0;
        while (sent < total) {
          sent += piece.length;
          if (!conn.write(piece)) {
            const drained = await Promise.race([once(conn.socket, 'drain').then(() => true), sleep(200).then(() => false)]);
            if (!drained) {
              if (stalledAt === -1) stalledAt = sent;
              await once(conn.socket, 'drain');
            }
          }
        }
      })().catch(() => {});
      return null;
    }));
    const p = pool(s.origin);
    const rec = new Recorder();
    let paused = true;
    rec.dataReturn = () => !paused;
    send(p, get(), rec);
    while (stalledAt === -1) await sleep(20);
    const seen = rec.bodyBytes;
    await sleep(100);
    expect(rec.bodyBytes).toBe(seen); // nothing more while paused
    expect(seen).toBeLessThan(1024 * 1024); // the pool did not read (and buffer) the stream
    expect(stalledAt).toBeLessThan(total);
    paused = false;
    rec.resume();
    await rec.finished(5000);
    await rec.assertClean();
    expect(rec.bodyBytes).toBe(total);
  });

  // BUG (contract, connection.ts:111,118 + response-parser.ts:159-242): returning false only pauses the
  // SOCKET; the parser still delivers the rest of the current read. So onData (and even onComplete)
  // arrive after the handler said "pause" and before resume(). types.ts promises "return false to
  // pause until resume". Harm is bounded (≤ one socket read, ~64 KiB), but it breaks the contract and
  // undici's semantics. Fix: let ResponseSink.onBody return a boolean, stop execute() when it is
  // false and return the offset; the connection keeps the unconsumed slice and feeds it on resume()
  // (before socket.resume()).
  it('BUG: onData false → no more onData (nor onComplete) until resume(), even within one read', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n'));
    const p = pool(s.origin);
    const rec = new Recorder();
    let paused = true;
    rec.dataReturn = () => !paused;
    send(p, get(), rec);
    while (rec.bodyBytes === 0) await sleep(5);
    await sleep(50);
    expect({ body: rec.body, completed: rec.completed }).toEqual({ body: 'abc', completed: false });
    paused = false;
    rec.resume();
    await rec.finished();
    await rec.assertClean();
    expect(rec.body).toBe('abcdef');
  });

  it('BUG: onHeaders false → no onData until resume(), even within one read', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK('body-in-same-read')));
    const p = pool(s.origin);
    const rec = new Recorder();
    rec.headersReturn = () => false;
    send(p, get(), rec);
    while (rec.status === 0) await sleep(5);
    await sleep(50);
    expect(rec.events).toEqual(['connect', 'headers 200']);
    rec.resume();
    await rec.finished();
    await rec.assertClean();
    expect(rec.body).toBe('body-in-same-read');
  });

  it('1xx (100, 103) then 200: the handler gets the final response; the socket is reused', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      conn.write('HTTP/1.1 100 Continue\r\n\r\n');
      // Chained, not two timers of 10 and 20 ms: under load Node may run those out of order, and a
      // 103 after the final response is bytes past its end (the socket is then not reused).
      setTimeout(() => {
        conn.write('HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\n');
        setTimeout(() => conn.write(OK('final')), 10);
      }, 10);
      return null;
    }));
    const p = pool(s.origin);
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events.filter((e) => !/^headers 1\d\d$/.test(e))).toEqual(['connect', 'headers 200', 'data', 'complete']);
    expect(rec.body).toBe('final');
    await (await send(p, get()).finished()).assertClean();
    expect(s.conns).toHaveLength(1);
  });

  it('200 concurrent dispatches all complete with their own response; a second wave reuses the sockets', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((req) => {
      const path = /^GET (\S+)/.exec(req.toString('latin1'))![1];
      return OK(path);
    }));
    const p = pool(s.origin);
    const wave = async (): Promise<void> => {
      const recs = Array.from({ length: 200 }, (_, i) => send(p, get(`/r/${i}`)));
      await Promise.all(recs.map((r) => r.finished(5000)));
      for (const [i, r] of recs.entries()) {
        await r.assertClean(0);
        expect(r.body).toBe(`/r/${i}`);
      }
    };
    await wave();
    const opened = s.conns.length;
    expect(opened).toBeLessThanOrEqual(200);
    await wave();
    expect(s.conns.length).toBe(opened);
  });
});

// --- close() -----------------------------------------------------------------------------------------

describe.concurrent('H1Pool: close()', () => {
  it('waits for in-flight exchanges, then closes every socket; later dispatches fail cleanly', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((req, conn) => {
      if (req.toString('latin1').startsWith('GET /slow')) {
        setTimeout(() => conn.write(OK('slow')), 150);
        return null;
      }
      return OK('fast');
    }));
    const p = pool(s.origin);
    await (await send(p, get('/fast')).finished()).assertClean(0);
    const a = send(p, get('/fast'));
    const b = send(p, get('/fast')); // two sockets: one will be idle at close()
    await Promise.all([a.finished(), b.finished()]);
    const slow = send(p, get('/slow'));
    await sleep(20);
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    await sleep(60);
    expect(closed).toBe(false);
    expect(slow.completed).toBe(false);
    await closing;
    await slow.finished();
    await slow.assertClean(0);
    expect(slow.body).toBe('slow');
    await Promise.all(s.conns.map((c) => c.closedPromise));

    const late = send(p, get());
    await late.finished();
    await late.assertClean();
    expect(late.events).toEqual(['connect', 'error UPSTREAM_CLOSED']);
  });

  it('close() with nothing in flight resolves at once and closes idle sockets', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering(() => OK()));
    const p = pool(s.origin);
    await (await send(p, get()).finished()).assertClean(0);
    await p.close();
    await s.conns[0].closedPromise;
  });

  // BUG (pool.ts:103-113): each close() call overwrites `#drained`, so with a request in flight the
  // earlier close() promise never resolves (e.g. SIGTERM handler and a second shutdown path both
  // awaiting it → shutdown hangs). Fix: `#closing: Promise<void> | null`; `close() { return this.#closing ??= ... }`.
  it('BUG: close() called twice while a request is in flight resolves both promises', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server(answering((_req, conn) => {
      setTimeout(() => conn.write(OK()), 100);
      return null;
    }));
    const p = pool(s.origin);
    const rec = send(p, get());
    await sleep(20);
    const first = p.close().then(() => 'first');
    const second = p.close().then(() => 'second');
    await rec.finished();
    const results = await Promise.all([first, second].map((pr) => Promise.race([pr, sleep(300).then(() => 'hung')])));
    expect(results).toEqual(['first', 'second']);
  });
});

// --- TLS ---------------------------------------------------------------------------------------------

describe.concurrent('H1Pool: HTTPS', () => {
  it('https with the fixture cert (tls.ca): requests succeed and the second reuses the TLS socket', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server({ tls: true, ...answering((_req, _conn, n) => OK(`tls${n}`)) });
    const p = pool(s.origin, { tls: { ca: CERT } });
    const a = await send(p, get()).finished();
    await a.assertClean(0);
    const b = await send(p, get()).finished();
    await b.assertClean();
    expect([a.body, b.body]).toEqual(['tls0', 'tls1']);
    expect(s.conns).toHaveLength(1);
    expect(s.conns[0].received.toString('latin1')).toContain(`host: 127.0.0.1:${s.port}\r\n`);
  });

  it('a new TLS connection resumes the previous session; SNI is sent for a host name', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const reused: Array<boolean | null> = [];
    const s = await server({
      tls: true,
      ...answering((_req, conn, n) => {
        reused.push((conn.socket as TLSSocket).isSessionReused());
        return OK(`s${n}`, 'connection: close\r\n');
      }),
    });
    const p = pool(new URL(`https://localhost:${s.port}`), { tls: { ca: CERT } });
    for (let i = 0; i < 3; i++) {
      const rec = await send(p, get()).finished();
      await rec.assertClean(0);
      expect(rec.completed).toBe(true);
      await s.conns[i].closedPromise;
    }
    expect(s.conns.map((c) => (c.socket as TLSSocket).servername)).toEqual(['localhost', 'localhost', 'localhost']);
    expect(reused).toEqual([false, true, true]);
    expect(s.conns[0].received.toString('latin1')).toContain(`host: localhost:${s.port}\r\n`);
  });

  it('an untrusted certificate (no tls.ca) → onError with the TLS verification error', async ({ onTestFinished }) => {
    const { server, pool, send } = harness(onTestFinished);
    const s = await server({ tls: true });
    const p = pool(s.origin);
    const rec = await send(p, get()).finished();
    await rec.assertClean();
    expect(rec.events).toHaveLength(2);
    expect(rec.events[1]).toMatch(/^error (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/);
  });
});
