/**
 * H1Server timeouts over real sockets: the headers timeout (408), the idle keep-alive timeout, and
 * what they must not cut. The server checks deadlines with one coarse 1 s timer, so each test
 * allows up to ~1 s of slack; the tests run concurrently (each owns its server) to keep the file
 * at about the length of the slowest one. Comments marked "Regression, fixed" describe bugs these
 * tests found.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/core/errors.js';
import { H1Server, type H1ServerOptions, type RequestHandler } from '../../src/node/server/server.js';
import type { OutgoingResponse } from '../../src/node/server/outgoing-response.js';

/** A raw client recording what it received and when the server closed. */
class Client {
  readonly socket: Socket;
  received = Buffer.alloc(0);
  /** Time (Date.now()) of the server's FIN / the close, or 0. */
  endedAt = 0;
  readonly closed: Promise<void>;
  #waiters: Array<() => void> = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.#wake();
    });
    socket.on('end', () => {
      this.endedAt ||= Date.now();
      this.#wake();
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.endedAt ||= Date.now();
        this.#wake();
        resolve();
      });
    });
  }

  send(data: string): void {
    this.socket.write(Buffer.from(data, 'latin1'));
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter();
  }

  async until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; received ${JSON.stringify(this.received.toString('latin1'))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for `count` complete Content-Length responses in total; returns their heads and bodies. */
  async responses(count: number, timeoutMs: number): Promise<Array<{ head: string; body: string }>> {
    let out: Array<{ head: string; body: string }> = [];
    await this.until(`${count} response(s)`, () => {
      out = splitResponses(this.received);
      return out.length >= count;
    }, timeoutMs);
    return out;
  }

  async serverClosed(timeoutMs: number): Promise<number> {
    await this.until('the server to close', () => this.endedAt !== 0, timeoutMs);
    return this.endedAt;
  }
}

/** Complete responses (each with a content-length) at the start of `buf`. */
function splitResponses(buf: Buffer): Array<{ head: string; body: string }> {
  const out: Array<{ head: string; body: string }> = [];
  let at = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd === -1) return out;
    const head = buf.toString('latin1', at, headEnd + 4);
    const cl = /\r\ncontent-length: (\d+)\r\n/.exec(head);
    if (cl === null) throw new Error(`response without content-length: ${JSON.stringify(head)}`);
    const end = headEnd + 4 + Number(cl[1]);
    if (buf.length < end) return out;
    out.push({ head, body: buf.toString('utf8', headEnd + 4, end) });
    at = end;
  }
}

interface Harness {
  start(handler: RequestHandler, options: Partial<Omit<H1ServerOptions, 'handler'>>): Promise<{ server: H1Server; port: number }>;
  open(port: number): Promise<Client>;
}

function harness(onTestFinished: (fn: () => Promise<void>) => void): Harness {
  const servers: H1Server[] = [];
  const clients: Client[] = [];
  onTestFinished(async () => {
    for (const client of clients) client.socket.destroy();
    await Promise.all(servers.map(async (server) => {
      const closed = server.close();
      server.closeAllConnections();
      await closed;
    }));
  });
  return {
    async start(handler, options) {
      const server = new H1Server({ handler, upgradeRefusal: () => new GatewayError('upgrade_not_supported', 'no upgrades'), onError: () => {}, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 10_000, ...options });
      const address = await server.listen(0, '127.0.0.1');
      servers.push(server);
      return { server, port: address.port };
    },
    async open(port) {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true });
      await once(socket, 'connect');
      const client = new Client(socket);
      clients.push(client);
      return client;
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function reply(res: OutgoingResponse, body: string, status = 200): void {
  res.writeHead(status, ['content-type', 'text/plain', 'content-length', String(Buffer.byteLength(body))]);
  res.end(body);
}

const GET = (path = '/'): string => `GET ${path} HTTP/1.1\r\nHost: gw.test\r\n\r\n`;

/** Resolves right after the server's coarse clock ticked (its `now` changed). */
async function nextTick(server: H1Server): Promise<void> {
  const before = server.now;
  const deadline = Date.now() + 2500;
  while (server.now === before) {
    if (Date.now() > deadline) throw new Error('the server clock did not tick');
    await sleep(2);
  }
}

describe.concurrent('H1Server timeouts', () => {
  it('a request head that does not complete within headersTimeoutMs gets a 408 JSON error, then the connection closes', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    let calls = 0;
    const { port } = await h.start(() => calls++, { headersTimeoutMs: 1500 });
    const client = await h.open(port);
    const startedAt = Date.now();
    client.send('GET /slow HTTP/1.1\r\nHost: gw.test\r\nX-Partial: ');
    const [res] = await client.responses(1, 4500);
    const elapsed = Date.now() - startedAt;
    // Deadlines are rounded up by one tick of the coarse clock (never early): 1.5 s + up to 2 ticks.
    expect(elapsed).toBeGreaterThanOrEqual(1450);
    expect(elapsed).toBeLessThan(4000);
    expect(res.head).toMatch(/^HTTP\/1\.1 408 /);
    expect(res.head).toMatch(/\r\ncontent-type: application\/json; charset=utf-8\r\n/);
    expect(res.head).toMatch(/\r\nconnection: close\r\n/);
    const body = JSON.parse(res.body) as { error: { message: string; type: string; code: string; param: null } };
    expect(body.error.code).toBe('request_timeout');
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.param).toBeNull();
    expect(body.error.message).toMatch(/1\.5 s/);
    await client.serverClosed(1000);
    expect(calls).toBe(0);
  });

  it('a connection that sends nothing is closed after headersTimeoutMs, without a response', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    const { server, port } = await h.start(() => {}, { headersTimeoutMs: 1000 });
    const client = await h.open(port);
    const startedAt = Date.now();
    const endedAt = await client.serverClosed(3000);
    expect(endedAt - startedAt).toBeLessThan(2500);
    expect(client.received.length).toBe(0);
    await client.closed;
    for (let i = 0; i < 500 && server.connections !== 0; i++) await sleep(2);
    expect(server.connections).toBe(0);
  });

  it('an idle keep-alive connection is closed after keepAliveTimeoutMs (and not by the headers timeout before)', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    const { port } = await h.start((req, res) => reply(res, req.url), { keepAliveTimeoutMs: 1000, headersTimeoutMs: 10_000 });
    const client = await h.open(port);
    client.send(GET('/a'));
    const [res] = await client.responses(1, 2000);
    expect(res.head).toMatch(/\r\nconnection: keep-alive\r\nkeep-alive: timeout=1\r\n/);
    const answeredAt = Date.now();
    const endedAt = await client.serverClosed(3000);
    expect(endedAt - answeredAt).toBeLessThan(2500);
    expect(splitResponses(client.received)).toHaveLength(1);
    expect(client.received.length).toBe(res.head.length + res.body.length);
  });

  it('a slow handler is not cut by the keep-alive timeout, and a slow but steady body not by the body timeout', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    const { port } = await h.start((req, res) => {
      req.readAll(0, (err, body) => {
        if (err !== null) return;
        setTimeout(() => reply(res, `${req.url} ${body.toString()}`), req.url === '/slow-handler' ? 2200 : 0);
      });
    }, { keepAliveTimeoutMs: 1000, headersTimeoutMs: 1000 });
    const a = await h.open(port);
    a.send(GET('/slow-handler'));
    const b = await h.open(port);
    b.send('POST /slow-body HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 6\r\n\r\na');
    // 3 s in all, but never more than 0.6 s without a byte.
    for (const byte of 'bcdef') {
      await sleep(600);
      b.send(byte);
    }
    const [ra] = await a.responses(1, 2000);
    const [rb] = await b.responses(1, 2000);
    expect(ra.body).toBe('/slow-handler ');
    expect(rb.body).toBe('/slow-body abcdef');
  });

  it('a request body that stalls for longer than headersTimeoutMs gets a 408; the reader hears of it', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    let readError: unknown = null;
    const { port } = await h.start((req) => req.readAll(0, (err) => (readError = err)), { headersTimeoutMs: 1000 });
    const client = await h.open(port);
    const startedAt = Date.now();
    client.send('POST /stall HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 100\r\n\r\nonly ten b');
    const [res] = await client.responses(1, 4500);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(950);
    expect(res.head).toMatch(/^HTTP\/1\.1 408 /);
    expect((JSON.parse(res.body) as { error: { code: string } }).error.code).toBe('request_timeout');
    expect((readError as { code?: string } | null)?.code).toBe('request_timeout');
    await client.serverClosed(3000);
  });

  it('the headers timeout starts again for each request on a keep-alive connection', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    const { port } = await h.start((req, res) => reply(res, req.url), { headersTimeoutMs: 1500, keepAliveTimeoutMs: 10_000 });
    const client = await h.open(port);
    client.send(GET('/1'));
    await client.responses(1, 2000);
    await sleep(1600); // longer than the headers timeout, while idle
    client.send(GET('/2'));
    const responses = await client.responses(2, 2000);
    expect(responses.map((r) => r.body)).toEqual(['/1', '/2']);
  });

  // Regression, fixed (connection.ts #setDeadline / server.ts #tick): deadlines are computed from the coarse clock
  // `server.now`, which is up to 1 s stale, and checked on the same 1 s ticks: a deadline of
  // `now + ms` fires up to a full tick EARLY. With keepAliveTimeoutMs 1500, a response sent 800 ms
  // after a tick is followed by the close about 1.2 s later, although it advertised
  // `keep-alive: timeout=1` and the server was configured for 1.5 s (a client reusing the connection
  // within the configured time races the close). The headers timeout likewise answers 408 up to 1 s
  // early. (Conversely, since setInterval's period measured with Date.now() can come out a ms short
  // of 1000, a deadline that is a whole number of ticks away may fire a full tick LATE.)
  // Fix: compute deadlines from Date.now() (cheap) rather than the cached clock, and compare with
  // Date.now() in #tick; or round up: `now + ms + TICK_MS`.
  it('an idle keep-alive connection is not closed before keepAliveTimeoutMs', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    const { server, port } = await h.start((req, res) => reply(res, req.url), { keepAliveTimeoutMs: 1500 });
    // Answer ~800 ms after a tick (the clock then being ~800 ms stale). On a loaded machine a tick
    // may slip in before the answer, which hides the effect: then try again on a new connection.
    for (let attempt = 1; ; attempt++) {
      const client = await h.open(port);
      await nextTick(server);
      const tick = server.now;
      await sleep(800);
      client.send(GET('/a'));
      await client.responses(1, 2000);
      const answeredAt = Date.now();
      if (server.now !== tick && attempt < 4) continue;
      expect(server.now, 'could not answer between two ticks').toBe(tick);
      const endedAt = await client.serverClosed(3000);
      expect(endedAt - answeredAt).toBeGreaterThanOrEqual(1450);
      return;
    }
  });

  // Regression, fixed (connection.ts #feed): the headers deadline is re-armed whenever a read arrives while the
  // parser is idle, and empty lines (CRLF) before a request line leave the parser idle: a client
  // that sends "\r\n" every few hundred ms keeps a connection open forever without ever sending a
  // request (a cheap slowloris; the timeout() path for an idle parser only destroys, it never fires
  // here). Masked only when headersTimeoutMs is one tick (1000 ms: the re-armed deadline, computed
  // from the stale clock, always lands on the next tick); the gateway's 60 s is affected. Fix: arm the headers deadline only when none is running (kind !== 'headers' or
  // deadline === 0), e.g. on the first byte after the connection opened / the previous response
  // ended, and do not re-arm it for further reads; or cap the number of leading empty lines.
  it('a client trickling empty lines (CRLF) is still closed by the headers timeout', async ({ onTestFinished }) => {
    const h = harness(onTestFinished);
    // Not 1000 ms: with exactly one tick the re-armed deadline happens to land on the next tick.
    const { port } = await h.start(() => {}, { headersTimeoutMs: 1500 });
    const client = await h.open(port);
    const startedAt = Date.now();
    const trickle = setInterval(() => {
      if (client.endedAt === 0) client.send('\r\n');
    }, 150);
    try {
      await client.serverClosed(4500);
    } finally {
      clearInterval(trickle);
    }
    expect(client.endedAt - startedAt).toBeLessThan(4500);
  });
});
