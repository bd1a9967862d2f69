/**
 * The keep-alive race (h1/connection.ts, RESEND_RTTS): a request that meets a kept-alive
 * connection the upstream is closing — nothing of a response received — goes again, once, on a new
 * connection. Everything else that fails stays a failure: a first request on a fresh connection, a
 * response that had begun, a streamed body, a connection that died long after the request was sent.
 */
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { H1Pool } from '../../src/node/h1/pool.js';
import type { UpstreamRequest } from '../../src/node/h1/types.js';
import { OK, Recorder, answering, get, makePool, rawServer, sleep, type RawServer, type ServerConn } from './helpers.js';

/** What the upstream does with the `n`-th request on connection `conn` (counted from 0 on each). */
type Answer = (conn: ServerConn, n: number) => void;

interface Setup {
  server: RawServer;
  pool: H1Pool;
  /** Requests as the server received them, `connection#:request-line`. */
  seen: string[];
  resends: () => number;
}

async function setup(onTestFinished: (fn: () => Promise<void>) => void, answer: Answer, headersTimeoutMs = 2000): Promise<Setup> {
  const seen: string[] = [];
  const server = await rawServer(
    answering((request, conn, n) => {
      seen.push(`${conn.index}:${request.toString('latin1', 0, request.indexOf('\r\n'))}`);
      answer(conn, n);
      return null;
    }),
  );
  let resends = 0;
  const pool = makePool(server.origin, {
    headersTimeoutMs,
    onResend: () => {
      resends++;
    },
  });
  onTestFinished(async () => {
    await Promise.race([pool.close(), sleep(300)]);
    await server.close();
  });
  return { server, pool, seen, resends: () => resends };
}

function send(pool: H1Pool, request: UpstreamRequest): Promise<Recorder> {
  const rec = new Recorder();
  pool.dispatch(request, rec);
  return rec.finished();
}

const post = (path: string, body: Buffer | Readable | null = Buffer.from('{"model":"m"}')): UpstreamRequest => ({
  method: 'POST',
  path,
  headers: ['content-type', 'application/json'],
  body,
});

describe.concurrent('H1Pool: a request that meets the keep-alive race goes again on a new connection', () => {
  it('the upstream closes the used connection instead of answering (FIN) → sent again once, answered', async ({ onTestFinished }) => {
    const { pool, seen, resends } = await setup(onTestFinished, (conn, n) => {
      if (conn.index > 0) conn.write(OK('second'));
      else if (n === 0) conn.write(OK('first'));
      else conn.socket.end();
    });
    await (await send(pool, post('/one'))).assertClean();
    const rec = await send(pool, post('/two'));
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'connect', 'headers 200', 'data', 'complete']);
    expect(rec.body).toBe('second');
    expect(seen).toEqual(['0:POST /one HTTP/1.1', '0:POST /two HTTP/1.1', '1:POST /two HTTP/1.1']);
    expect(resends()).toBe(1);
  });

  it('the upstream resets the used connection (RST) → sent again with the same body', async ({ onTestFinished }) => {
    const bodies: string[] = [];
    const { server, pool, resends } = await setup(onTestFinished, (conn, n) => {
      if (conn.index > 0) conn.write(OK('second'));
      else if (n === 0) conn.write(OK('first'));
      else conn.socket.resetAndDestroy();
    });
    await (await send(pool, post('/one'))).assertClean();
    const rec = await send(pool, post('/two', Buffer.from('{"model":"m","n":2}')));
    await rec.assertClean();
    expect(rec.body).toBe('second');
    for (const conn of server.conns) {
      const text = conn.received.toString('latin1');
      bodies.push(text.slice(text.lastIndexOf('\r\n\r\n') + 4));
    }
    expect(bodies).toEqual(['{"model":"m","n":2}', '{"model":"m","n":2}']);
    expect(resends()).toBe(1);
  });

  it('at most once: the new connection failing too is the failure', async ({ onTestFinished }) => {
    const { pool, seen, resends } = await setup(onTestFinished, (conn, n) => {
      if (conn.index === 0 && n === 0) conn.write(OK('first'));
      else conn.socket.end();
    });
    await (await send(pool, post('/one'))).assertClean();
    const rec = await send(pool, post('/two'));
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'connect', 'error UPSTREAM_CLOSED']);
    expect(seen).toEqual(['0:POST /one HTTP/1.1', '0:POST /two HTTP/1.1', '1:POST /two HTTP/1.1']);
    expect(resends()).toBe(1);
  });

  it('not on a fresh connection: the upstream read the request on a socket opened for it', async ({ onTestFinished }) => {
    const { pool, seen, resends } = await setup(onTestFinished, (conn) => conn.socket.end());
    const rec = await send(pool, post('/one'));
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_CLOSED']);
    expect(seen).toEqual(['0:POST /one HTTP/1.1']);
    expect(resends()).toBe(0);
  });

  /** A second request on a used connection meets `fate` (its first was answered): never sent again. */
  it.for<[string, (conn: ServerConn) => void, () => UpstreamRequest['body'], number]>([
    ['not once a byte of the response came back', (conn) => {
      conn.write('HTTP/1.1 200');
      setTimeout(() => conn.socket.end(), 20);
    }, () => Buffer.from('{}'), 2000],
    ['not a streamed body: it cannot be sent twice', (conn) => conn.socket.end(), () => Readable.from([Buffer.from('{"model":"m"}')], { objectMode: false }), 2000],
    ['not when it dies a few round trips after: on loopback 400 ms is time to have worked on it', (conn) => {
      setTimeout(() => conn.socket.end(), 400);
    }, () => Buffer.from('{}'), 2000],
    ['not when it dies long after (the upstream was working on it)', (conn) => {
      setTimeout(() => conn.socket.end(), 2300);
    }, () => Buffer.from('{}'), 10_000],
  ])('%s', async ([, fate, body, headersTimeoutMs], { onTestFinished }) => {
    const { pool, seen, resends } = await setup(onTestFinished, (conn, n) => {
      if (n === 0) conn.write(OK('first'));
      else fate(conn);
    }, headersTimeoutMs);
    await (await send(pool, post('/one'))).assertClean();
    const rec = await send(pool, post('/two', body()));
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'error UPSTREAM_CLOSED']);
    expect(seen).toHaveLength(2);
    expect(resends()).toBe(0);
  });

  it('a GET without a body goes again too', async ({ onTestFinished }) => {
    const { pool, seen } = await setup(onTestFinished, (conn, n) => {
      if (conn.index > 0) conn.write(OK('models'));
      else if (n === 0) conn.write(OK('first'));
      else conn.socket.end();
    });
    await (await send(pool, get('/v1/models'))).assertClean();
    const rec = await send(pool, get('/v1/models'));
    await rec.assertClean();
    expect(rec.body).toBe('models');
    expect(seen).toEqual(['0:GET /v1/models HTTP/1.1', '0:GET /v1/models HTTP/1.1', '1:GET /v1/models HTTP/1.1']);
  });

  it('an abort after the resend reaches the new connection', async ({ onTestFinished }) => {
    const { server, pool, seen } = await setup(onTestFinished, (conn, n) => {
      // The new connection never answers.
      if (conn.index === 0 && n === 0) conn.write(OK('first'));
      else if (conn.index === 0) conn.socket.end();
    });
    await (await send(pool, post('/one'))).assertClean();
    const rec = new Recorder();
    pool.dispatch(post('/two'), rec);
    while (seen.length < 3) await sleep(5);
    const fresh = server.conns[1];
    rec.abort();
    await rec.finished();
    await rec.assertClean();
    expect(rec.events).toEqual(['connect', 'connect', 'error UPSTREAM_ABORTED']);
    await fresh.closedPromise;
  });

  it('a pool closing meanwhile still lets the resent request finish, then closes', async ({ onTestFinished }) => {
    const { pool } = await setup(onTestFinished, (conn, n) => {
      if (conn.index > 0) setTimeout(() => conn.write(OK('second')), 30);
      else if (n === 0) conn.write(OK('first'));
      else setTimeout(() => conn.socket.end(), 30);
    });
    await (await send(pool, post('/one'))).assertClean();
    const done = send(pool, post('/two'));
    await sleep(5);
    let closed = false;
    const closing = pool.close().then(() => {
      closed = true;
    });
    const rec = await done;
    await rec.assertClean();
    expect(rec.body).toBe('second');
    await closing;
    expect(closed).toBe(true);
  });
});
