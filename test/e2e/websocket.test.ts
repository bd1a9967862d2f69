/**
 * WebSocket pass-through (the Realtime API), end to end over raw sockets: the upgrade request as
 * the upstream saw it (credentials swapped, upgrade headers kept), the 101 as the client saw it,
 * bytes both ways (early bytes and a large payload included), refusals relayed as responses, the
 * gateway's own errors, closes in both directions, and shutdown.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { WebSocket } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ROOT, startGateway, stopAll } from '../helpers/gateway.js';
import { sleep } from '../helpers/upstream.js';

const POOL_KEY = 'sk-fake-realtime-pool';
const FORWARD_KEY = 'fk-fake-realtime';
const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
/** The test-only certificate (test/fixtures), for https:// proxies and upstreams. */
const CERT = join(ROOT, 'test/fixtures/localhost-cert.pem');
const tlsMaterial = (): { cert: Buffer; key: Buffer } => ({ cert: readFileSync(CERT), key: readFileSync(join(ROOT, 'test/fixtures/localhost-key.pem')) });

interface SeenUpgrade {
  url: string;
  headers: IncomingHttpHeaders;
  /** Everything the tunnel delivered to the upstream after the switch. */
  received: Buffer[];
  socket: Socket;
  closed: boolean;
}

type Mode = 'echo' | 'refuse' | 'frames' | 'bad-header' | 'stall' | 'stall-401' | 'half-close' | 'fin';

/**
 * A fake Realtime upstream: switches protocols (echoing every byte with a prefix) or refuses with 401
 * JSON. `refusal` may refuse some keys (it gets the key of `Authorization`): its answer is written
 * as is and the connection closed.
 */
async function wsUpstream(mode: Mode = 'echo', refusal?: (key: string) => string | undefined, secure = false): Promise<{ port: number; url: string; seen: SeenUpgrade[]; server: Server }> {
  const seen: SeenUpgrade[] = [];
  const plain = (_req: unknown, res: { end: (text: string) => void }): void => res.end('plain');
  const server: Server = secure ? createHttpsServer(tlsMaterial(), plain) : createServer(plain);
  server.on('upgrade', (req, socket: Socket, head: Buffer) => {
    const entry: SeenUpgrade = { url: req.url ?? '', headers: req.headers, received: head.length > 0 ? [head] : [], socket, closed: false };
    seen.push(entry);
    upgraded.push(socket);
    // The gateway's side ending (FIN) or resetting: either way the session is over for the upstream.
    socket.on('end', () => (entry.closed = true));
    socket.on('close', () => (entry.closed = true));
    socket.on('error', () => {});
    const refused = refusal?.((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (refused !== undefined) {
      socket.end(refused);
      return;
    }
    if (mode === 'bad-header') {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nx-note: a\x00Set-Cookie: injected=1\r\n\r\n');
      return;
    }
    if (mode === 'stall') {
      // A refusal whose body never comes (a 403: relayed as it comes; a 401 would be held, see below).
      socket.write('HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: 100\r\naccess-control-allow-origin: https://upstream.example\r\n\r\n{"err');
      return;
    }
    if (mode === 'stall-401') {
      socket.write('HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"err');
      return;
    }
    if (mode === 'refuse') {
      const body = '{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}';
      socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      return;
    }
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    if (mode === 'fin') {
      socket.end(); // goes away without answering
      return;
    }
    if (mode === 'half-close') {
      // Says goodbye and closes its sending side at once, but still listens.
      socket.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\nbye;`);
      socket.on('data', (chunk: Buffer) => entry.received.push(chunk));
      return;
    }
    if (mode === 'frames') {
      // Chooses `realtime` when offered, as OpenAI does.
      const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
      const chosen = offered.includes('realtime') ? 'Sec-WebSocket-Protocol: realtime\r\n' : '';
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${chosen}\r\n`);
      echoFrames(socket);
      return;
    }
    // The 101 and the first server message in one write: the tunnel must relay both.
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\nsession.created;`);
    socket.on('data', (chunk: Buffer) => {
      entry.received.push(chunk);
      socket.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  servers.push(server);
  return { port, url: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`, seen, server };
}

const servers: Server[] = [];
/** Switched sockets: node:http no longer tracks them, so closing the servers would wait for them. */
const upgraded: Socket[] = [];
afterEach(stopAll);
afterAll(async () => {
  for (const socket of upgraded) socket.destroy();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const upgradeRequest = (path = '/v1/realtime?model=gpt-realtime', extra = ''): string =>
  `GET ${path} HTTP/1.1\r\nHost: gateway.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Protocol: realtime\r\n` +
  `Authorization: Bearer ${FORWARD_KEY}\r\nX-Forwarded-For: 198.51.100.1\r\n${extra}\r\n`;

/** A raw client: what it received so far, and a way to wait for some of it. */
function client(port: number, first: string | Buffer): { socket: Socket; text: () => string; bytes: () => Buffer; until: (test: (text: string) => boolean) => Promise<string>; ended: Promise<void> } {
  const socket = connect(port, '127.0.0.1', () => socket.write(first));
  const chunks: Buffer[] = [];
  const waiters: (() => void)[] = [];
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    for (const wake of waiters.splice(0)) wake();
  });
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  const text = (): string => Buffer.concat(chunks).toString('latin1');
  const until = async (test: (t: string) => boolean): Promise<string> => {
    const deadline = Date.now() + 5_000;
    while (!test(text())) {
      if (Date.now() > deadline) throw new Error(`timed out; received so far: ${JSON.stringify(text().slice(0, 400))}`);
      await Promise.race([new Promise<void>((r) => waiters.push(r)), ended, sleep(50)]);
    }
    return text();
  };
  return { socket, text, bytes: () => Buffer.concat(chunks), until, ended };
}

const gatewayFor = (url: string, args: string[] = []) => startGateway(['--base-url', url, '--api-key', POOL_KEY, '--forward-key', FORWARD_KEY, ...args]);

describe('WebSocket pass-through', () => {
  it('relays the upgrade with a pool key, the 101 as the upstream wrote it, and bytes both ways', async () => {
    const up = await wsUpstream();
    const gw = await gatewayFor(up.url);
    const c = client(gw.port, upgradeRequest());
    const head = await c.until((t) => t.includes('session.created;'));
    expect(head).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(head.toLowerCase()).toContain('upgrade: websocket\r\n');
    expect(head.toLowerCase()).toContain('connection: upgrade\r\n');
    const accept = createHash('sha1').update(`${WS_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    expect(head).toContain(`sec-websocket-accept: ${accept}\r\n`);

    const seen = up.seen[0];
    expect(seen.url).toBe('/v1/realtime?model=gpt-realtime');
    expect(seen.headers.authorization).toBe(`Bearer ${POOL_KEY}`);
    expect(seen.headers.upgrade).toBe('websocket');
    expect(seen.headers.connection?.toLowerCase()).toBe('upgrade');
    expect(seen.headers['sec-websocket-key']).toBe(WS_KEY);
    expect(seen.headers['sec-websocket-protocol']).toBe('realtime');
    expect(seen.headers.host).toBe(`127.0.0.1:${up.port}`);
    expect(seen.headers['x-forwarded-for']).toBeUndefined();

    // A large message both ways, intact (backpressure on both sockets).
    const payload = Buffer.alloc(4 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) % 251;
    const before = c.bytes().length;
    c.socket.write(payload);
    await c.until(() => c.bytes().length >= before + payload.length);
    const echoed = c.bytes().subarray(before);
    expect(createHash('sha256').update(echoed).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  });

  it('carries a real WebSocket client session (undici) with the forward key', async () => {
    const up = await wsUpstream('frames');
    const gw = await gatewayFor(up.url);
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/v1/realtime?model=gpt-realtime`, { headers: { authorization: `Bearer ${FORWARD_KEY}` } });
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => {
        ws.send('{"type":"session.update"}');
        ws.send('x'.repeat(300));
      });
      ws.addEventListener('message', (event) => {
        replies.push(String(event.data));
        if (replies.length === 2) ws.close();
      });
      ws.addEventListener('close', () => resolve());
      ws.addEventListener('error', () => reject(new Error('WebSocket error')));
    });
    // The second message needs a 16-bit length on both sides: frames cross the tunnel intact.
    expect(replies).toEqual(['echo:{"type":"session.update"}', `echo:${'x'.repeat(300)}`]);
    expect(up.seen[0].headers.authorization).toBe(`Bearer ${POOL_KEY}`);
  });

  it("takes a browser's key subprotocol (openai-insecure-api-key.<forward key>): the upstream gets the pool key in Authorization, never the forward key", async () => {
    const up = await wsUpstream('frames');
    const gw = await gatewayFor(up.url);
    // What a browser can do: no headers, the key as one of the offered subprotocols.
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/v1/realtime?model=gpt-realtime`, ['realtime', `openai-insecure-api-key.${FORWARD_KEY}`, 'openai-beta.realtime-v1']);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.addEventListener('open', () => ws.send('{"type":"session.update"}'));
      ws.addEventListener('message', (event) => {
        resolve(String(event.data));
        ws.close();
      });
      ws.addEventListener('error', () => reject(new Error('WebSocket error')));
    });
    expect(reply).toBe('echo:{"type":"session.update"}');
    expect(ws.protocol).toBe('realtime');
    const seen = up.seen[0].headers;
    expect(seen.authorization).toBe(`Bearer ${POOL_KEY}`);
    expect(seen['sec-websocket-protocol']).toBe('realtime, openai-beta.realtime-v1');
    expect(JSON.stringify(seen)).not.toContain(FORWARD_KEY);
  });

  it('passes a key subprotocol that is no forward key on unchanged (the client\'s own key), and an Authorization header still wins', async () => {
    const up = await wsUpstream();
    const gw = await gatewayFor(up.url);
    const own = 'sk-fake-client-own';
    const offer = `Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.${own}\r\n`;
    const bare = upgradeRequest().replace(`Authorization: Bearer ${FORWARD_KEY}\r\n`, '').replace('Sec-WebSocket-Protocol: realtime\r\n', offer);
    const c = client(gw.port, bare);
    await c.until((t) => t.includes('session.created;'));
    expect(up.seen[0].headers.authorization).toBeUndefined();
    expect(up.seen[0].headers['sec-websocket-protocol']).toBe(`realtime, openai-insecure-api-key.${own}`);
    c.socket.destroy();

    // A forward key in Authorization decides; a forward key offered as a subprotocol too is dropped.
    const both = upgradeRequest().replace('Sec-WebSocket-Protocol: realtime\r\n', `Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.${FORWARD_KEY}\r\n`);
    const d = client(gw.port, both);
    await d.until((t) => t.includes('session.created;'));
    expect(up.seen[1].headers.authorization).toBe(`Bearer ${POOL_KEY}`);
    expect(up.seen[1].headers['sec-websocket-protocol']).toBe('realtime');
    d.socket.destroy();
  });

  it('in open mode (a pool, no forward keys) replaces a key subprotocol with the pool key, as it replaces Authorization', async () => {
    const up = await wsUpstream();
    const gw = await startGateway(['--base-url', up.url, '--api-key', POOL_KEY]);
    const offer = 'Sec-WebSocket-Protocol: openai-insecure-api-key.sk-fake-anything\r\n';
    const c = client(gw.port, upgradeRequest().replace(`Authorization: Bearer ${FORWARD_KEY}\r\n`, '').replace('Sec-WebSocket-Protocol: realtime\r\n', offer));
    await c.until((t) => t.includes('session.created;'));
    expect(up.seen[0].headers.authorization).toBe(`Bearer ${POOL_KEY}`);
    expect(up.seen[0].headers['sec-websocket-protocol']).toBeUndefined();
    c.socket.destroy();
  });

  it('delivers bytes the client sent right behind the request head once the upstream switched', async () => {
    const up = await wsUpstream();
    const gw = await gatewayFor(up.url);
    const c = client(gw.port, `${upgradeRequest()}early-frame`);
    await c.until((t) => t.includes('session.created;early-frame'));
    expect(Buffer.concat(up.seen[0].received).toString()).toBe('early-frame');
  });

  it('counts sessions for the metrics: open while joined, and ever', async () => {
    const up = await wsUpstream();
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const metricsPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const gw = await gatewayFor(up.url, ['--metrics-port', String(metricsPort)]);
    const scrape = async (series: string): Promise<number | undefined> => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    const c = client(gw.port, upgradeRequest());
    await c.until((t) => t.includes('session.created;'));
    expect(await scrape('aifwd_websocket_sessions_open')).toBe(1);
    expect(await scrape('aifwd_websocket_sessions_total')).toBe(1);
    expect(await scrape('aifwd_responses_total{code="101"}')).toBe(1);
    // The client goes; its FIN reaches the upstream, which then closes too (node:http keeps an
    // upgraded socket half-open: until then the session may still carry the upstream's bytes).
    c.socket.destroy();
    await expectSoon(() => up.seen[0].closed);
    up.seen[0].socket.destroy();
    let open: number | undefined = 1;
    for (let tries = 0; tries < 50 && open !== 0; tries++) {
      await sleep(20);
      open = await scrape('aifwd_websocket_sessions_open');
    }
    expect(open).toBe(0);
    expect(await scrape('aifwd_websocket_sessions_total')).toBe(1);
  });

  it("passes a FIN on: the upstream's goodbye reaches the client, and what the client sends after it reaches the upstream", async () => {
    const up = await wsUpstream('half-close');
    const gw = await gatewayFor(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.until((t) => t.includes('bye;'));
    c.socket.end('late-reply');
    await expectSoon(() => Buffer.concat(up.seen[0]?.received ?? []).toString() === 'late-reply');
    await c.ended;
  });

  it('closes the upstream socket when the client goes, and the client when the upstream goes', async () => {
    const up = await wsUpstream();
    const gw = await gatewayFor(up.url);
    const a = client(gw.port, upgradeRequest());
    await a.until((t) => t.includes('session.created;'));
    a.socket.destroy();
    await expectSoon(() => up.seen[0].closed);

    const b = client(gw.port, upgradeRequest());
    await b.until((t) => t.includes('session.created;'));
    up.seen[1].socket.destroy();
    await b.ended;
  });

  it("relays an upstream's refusal (401 JSON) as a response and closes the connection", async () => {
    const up = await wsUpstream('refuse');
    const gw = await gatewayFor(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    const text = c.text();
    expect(text).toMatch(/^HTTP\/1\.1 401 /);
    expect(text).toContain('connection: close');
    expect(text).toContain('"code":"invalid_api_key"');
  });

  it("answers with the gateway's own errors before any switch: 403, 502, 501", async () => {
    const up = await wsUpstream();
    const denied = await gatewayFor(up.url, ['--ip-whitelist', '10.0.0.0/8']);
    const forbidden = client(denied.port, upgradeRequest());
    await forbidden.ended;
    expect(forbidden.text()).toMatch(/^HTTP\/1\.1 403 /);
    expect(up.seen).toHaveLength(0);

    const down = await gatewayFor('http://127.0.0.1:1');
    const unreachable = client(down.port, upgradeRequest());
    await unreachable.ended;
    expect(unreachable.text()).toMatch(/^HTTP\/1\.1 502 /);
    expect(unreachable.text()).toContain('"code":"upstream_unreachable"');

    const gw = await gatewayFor(up.url);
    // WebSocket offered with POST: refused, no switch.
    const posted = client(gw.port, upgradeRequest().replace('GET ', 'POST '));
    await posted.ended;
    expect(posted.text()).toMatch(/^HTTP\/1\.1 501 /);
    expect(posted.text()).toContain('"code":"upgrade_not_supported"');

    const proxied = await startGateway(['--base-url', up.url], { env: { HTTP_PROXY: 'socks5://127.0.0.1:1' } });
    const viaSocks = client(proxied.port, upgradeRequest());
    await viaSocks.ended;
    expect(viaSocks.text()).toMatch(/^HTTP\/1\.1 501 /);
    expect(viaSocks.text()).toContain('http:// and https:// proxies only');
    expect(up.seen).toHaveLength(0);
  });

  it('an origin list applies to WebSocket too (browsers apply no CORS there): other origins get 403', async () => {
    const up = await wsUpstream();
    const gw = await gatewayFor(up.url, ['--cors-origins', 'https://chat.example.com']);
    const evil = client(gw.port, upgradeRequest(undefined, 'Origin: https://evil.example\r\n'));
    await evil.ended;
    expect(evil.text()).toMatch(/^HTTP\/1\.1 403 /);
    expect(evil.text()).toContain('"code":"origin_forbidden"');
    expect(up.seen).toHaveLength(0);
    const allowed = client(gw.port, upgradeRequest(undefined, 'Origin: https://chat.example.com\r\n'));
    await allowed.until((t) => t.includes('session.created;'));
    // A non-browser client sends no Origin: not a cross-site request.
    const sdk = client(gw.port, upgradeRequest());
    await sdk.until((t) => t.includes('session.created;'));
    expect(up.seen).toHaveLength(2);
  });

  it('refuses a 101 whose header values the client must not get (502), as on the normal path', async () => {
    const up = await wsUpstream('bad-header');
    const gw = await gatewayFor(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    expect(c.text()).toMatch(/^HTTP\/1\.1 502 /);
    expect(c.text()).not.toContain('injected');
  });

  it("a refusal's body that stalls is cut after idle_timeout; its CORS headers are the gateway's alone", async () => {
    const up = await wsUpstream('stall');
    const gw = await gatewayFor(up.url, ['--idle-timeout', '0.5']);
    const c = client(gw.port, upgradeRequest(undefined, 'Origin: https://chat.example.com\r\n'));
    const started = Date.now();
    await c.ended;
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 403 /);
    expect(c.text().match(/access-control-allow-origin/g)).toHaveLength(1);
    expect(c.text()).toContain('access-control-allow-origin: *');
  });

  it("a 401 to a pool key is held until its body says whether the key is at fault: a body that stalls is the gateway's 502, not a torn 401", async () => {
    const up = await wsUpstream('stall-401');
    const gw = await gatewayFor(up.url, ['--idle-timeout', '0.5']);
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    expect(c.text()).toMatch(/^HTTP\/1\.1 502 /);
    expect(c.text()).toContain('"code":"upstream_error"');
  });

  it('connect_timeout 0 means no connect limit, as on the normal path', async () => {
    const up = await wsUpstream();
    const gw = await gatewayFor(up.url.replace('127.0.0.1', 'localhost'), ['--connect-timeout', '0']);
    for (let i = 0; i < 5; i++) {
      const c = client(gw.port, upgradeRequest());
      await c.until((t) => t.includes('session.created;'));
      c.socket.destroy();
    }
  });

  it('goes through an http:// outbound proxy with CONNECT (credentials from the URL), and direct when NO_PROXY names the upstream', async () => {
    const up = await wsUpstream();
    const { connects, port: proxyPort } = await connectProxy(createServer());
    const proxyUrl = `http://fake-user:fake-pass@127.0.0.1:${proxyPort}`;

    const gw = await startGateway(['--base-url', up.url, '--api-key', POOL_KEY, '--forward-key', FORWARD_KEY], { env: { HTTP_PROXY: proxyUrl } });
    const c = client(gw.port, upgradeRequest());
    await c.until((t) => t.includes('session.created;'));
    c.socket.write('through-the-proxy');
    await c.until((t) => t.includes('session.created;through-the-proxy'));
    expect(connects).toEqual([{ authority: `127.0.0.1:${up.port}`, auth: `Basic ${Buffer.from('fake-user:fake-pass').toString('base64')}` }]);
    expect(up.seen[0].headers.authorization).toBe(`Bearer ${POOL_KEY}`);

    const direct = await startGateway(['--base-url', up.url], { env: { HTTP_PROXY: proxyUrl, NO_PROXY: 'localhost,127.0.0.1' } });
    const d = client(direct.port, upgradeRequest());
    await d.until((t) => t.includes('session.created;'));
    expect(connects).toHaveLength(1);
  });

  it('goes through an https:// outbound proxy: TLS to the proxy, CONNECT inside it', async () => {
    const up = await wsUpstream();
    const { connects, port: proxyPort } = await connectProxy(createHttpsServer(tlsMaterial()));
    const authorities = (): string[] => connects.map((c) => c.authority);
    const proxyUrl = `https://127.0.0.1:${proxyPort}`;
    // The proxy's certificate is the test's own: the gateway trusts it as users trust a corporate CA.
    const gw = await startGateway(['--base-url', up.url, '--api-key', POOL_KEY, '--forward-key', FORWARD_KEY], { env: { HTTP_PROXY: proxyUrl, NODE_EXTRA_CA_CERTS: CERT } });
    const c = client(gw.port, upgradeRequest());
    await c.until((t) => t.includes('session.created;'));
    c.socket.write('through-tls');
    await c.until((t) => t.includes('session.created;through-tls'));
    expect(authorities()).toEqual([`127.0.0.1:${up.port}`]);
    expect(up.seen[0].headers.authorization).toBe(`Bearer ${POOL_KEY}`);
    // Plain requests take the same proxy (undici's proxy agent).
    const plain = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${FORWARD_KEY}` } });
    expect(await plain.text()).toBe('plain');
    expect(authorities()).toEqual([`127.0.0.1:${up.port}`, `127.0.0.1:${up.port}`]);
    connects.length = 0;

    // An https upstream through it: TLS to the upstream inside the TLS to the proxy.
    const secureUp = await wsUpstream('echo', undefined, true);
    const secureGw = await startGateway(['--base-url', secureUp.url, '--api-key', POOL_KEY, '--forward-key', FORWARD_KEY], { env: { HTTPS_PROXY: proxyUrl, NODE_EXTRA_CA_CERTS: CERT } });
    const s = client(secureGw.port, upgradeRequest());
    await s.until((t) => t.includes('session.created;'));
    s.socket.write('tls-in-tls');
    await s.until((t) => t.includes('session.created;tls-in-tls'));
    expect(authorities()).toEqual([`127.0.0.1:${secureUp.port}`]);
    expect(secureUp.seen[0].headers.host).toBe(`127.0.0.1:${secureUp.port}`);

    // A proxy whose certificate is not trusted: the 502 names the proxy, not the upstream.
    const untrusting = await startGateway(['--base-url', up.url], { env: { HTTP_PROXY: proxyUrl } });
    const refused = client(untrusting.port, upgradeRequest());
    await refused.ended;
    expect(refused.text()).toMatch(/^HTTP\/1\.1 502 /);
    expect(refused.text()).toContain(`outbound proxy 127.0.0.1:${proxyPort}`);
    expect(refused.text()).toMatch(/self.signed|SELF_SIGNED|DEPTH_ZERO/i);
  });

  it('an upstream that closes without answering is a 502 at once, not a wait for the response timeout', async () => {
    const up = await wsUpstream('fin');
    const gw = await gatewayFor(up.url);
    const started = Date.now();
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 502 /);
  });

  it('a proxy that refuses the tunnel is a 502 naming the proxy', async () => {
    const up = await wsUpstream();
    const proxy = createServer();
    proxy.on('connect', (_req, socket: Socket) => socket.end('HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    servers.push(proxy);
    const gw = await startGateway(['--base-url', up.url], { env: { HTTP_PROXY: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` } });
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    expect(c.text()).toMatch(/^HTTP\/1\.1 502 /);
    expect(c.text()).toContain('refused the tunnel (HTTP/1.1 407');
    expect(up.seen).toHaveLength(0);
  });

  it('cuts open sessions at shutdown once shutdown_timeout has passed, and exits 0', async () => {
    const up = await wsUpstream();
    const gw = await gatewayFor(up.url, ['--shutdown-timeout', '0.3']);
    const c = client(gw.port, upgradeRequest());
    await c.until((t) => t.includes('session.created;'));
    const started = Date.now();
    const code = await gw.stop('SIGTERM');
    await c.ended;
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
    await expectSoon(() => up.seen[0].closed);
  });
});

/** A minimal WebSocket echo server side (RFC 6455): unmasks client text frames, answers `echo:<text>`. */
function echoFrames(socket: Socket): void {
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      const opcode = buffered[0] & 0x0f;
      let length = buffered[1] & 0x7f;
      let at = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        at = 4;
      }
      if (buffered.length < at + 4 + length) return;
      const mask = buffered.subarray(at, at + 4);
      const payload = Buffer.from(buffered.subarray(at + 4, at + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
      buffered = buffered.subarray(at + 4 + length);
      if (opcode === 0x8) {
        socket.end(Buffer.from([0x88, 0x00]));
        return;
      }
      const reply = Buffer.concat([Buffer.from('echo:'), payload]);
      const header = reply.length < 126 ? Buffer.from([0x81, reply.length]) : Buffer.from([0x81, 126, reply.length >> 8, reply.length & 0xff]);
      socket.write(Buffer.concat([header, reply]));
    }
  });
}

describe('WebSocket key failover', () => {
  const KEY_A = 'sk-fake-realtime-aaaa-1111';
  const KEY_B = 'sk-fake-realtime-bbbb-2222';
  const keyOf = (entry: SeenUpgrade): string => (entry.headers.authorization ?? '').replace(/^Bearer /, '');
  const refusalOf = (status: number, headers: string, code: string): string => {
    const body = JSON.stringify({ error: { message: 'Refused', type: 'requests', code } });
    return `HTTP/1.1 ${status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n${headers}\r\n${body}`;
  };
  const twoKeys = (url: string) => startGateway(['--base-url', url, '--api-key', `${KEY_A},${KEY_B}`, '--forward-key', FORWARD_KEY]);

  it('a 429 on the upgrade rests the key for Retry-After and the session opens with the next key; the next session goes straight to it', async () => {
    const up = await wsUpstream('echo', (key) => (key === KEY_A ? refusalOf(429, 'retry-after: 30\r\n', 'rate_limit_exceeded') : undefined));
    const gw = await twoKeys(up.url);
    const first = client(gw.port, upgradeRequest());
    const head = await first.until((t) => t.includes('session.created;'));
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    expect(head).not.toContain('429');
    first.socket.write('hello');
    await first.until((t) => t.endsWith('hello'));
    expect(up.seen.map(keyOf)).toEqual([KEY_A, KEY_B]);
    // Both attempts carried the client's upgrade request.
    for (const entry of up.seen) expect(entry.headers['sec-websocket-key']).toBe(WS_KEY);

    const second = client(gw.port, upgradeRequest());
    await second.until((t) => t.includes('session.created;'));
    expect(up.seen.map(keyOf)).toEqual([KEY_A, KEY_B, KEY_B]);
    first.socket.destroy();
    second.socket.destroy();

    await expectSoon(() => gw.stderr().includes('pool key'));
    const lines = gw.stderr().split('\n').filter((l) => l.includes('pool key'));
    expect(lines).toEqual(['aifwd: pool key sk-fa…1111 got 429 from the upstream; out of rotation for 30 s (retry-after)']);
    expect(gw.stderr() + gw.stdout()).not.toContain(KEY_A);
  });

  it('a 401 whose body blames the key fails over too; a 401 about something else is the answer', async () => {
    const up = await wsUpstream('echo', (key) => (key === KEY_A ? refusalOf(401, '', 'invalid_api_key') : undefined));
    const gw = await twoKeys(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.until((t) => t.includes('session.created;'));
    expect(up.seen.map(keyOf)).toEqual([KEY_A, KEY_B]);
    c.socket.destroy();

    const other = await wsUpstream('echo', () => refusalOf(401, '', 'invalid_organization'));
    const gw2 = await twoKeys(other.url);
    const refused = client(gw2.port, upgradeRequest());
    await refused.ended;
    expect(refused.text()).toMatch(/^HTTP\/1\.1 401 /);
    expect(refused.text()).toContain('"code":"invalid_organization"');
    expect(other.seen).toHaveLength(1);
  });

  it('a 401 whose body ends with the connection (no length) fails over once: one 101 reaches the client', async () => {
    const body = JSON.stringify({ error: { message: 'Refused', type: 'requests', code: 'invalid_api_key' } });
    const up = await wsUpstream('echo', (key) => (key === KEY_A ? `HTTP/1.1 401 Refused\r\ncontent-type: application/json\r\n\r\n${body}` : undefined));
    const gw = await twoKeys(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.until((t) => t.includes('session.created;'));
    await sleep(100);
    expect(c.text().match(/HTTP\/1\.1 101/g)).toHaveLength(1);
    expect(up.seen.map(keyOf)).toEqual([KEY_A, KEY_B]);
    c.socket.destroy();
  });

  it("a held 401 whose head the client may not get, ended by the connection, is the gateway's 502, and the gateway keeps serving", async () => {
    const body = JSON.stringify({ error: { message: 'Refused', type: 'requests', code: 'invalid_organization' } });
    const up = await wsUpstream('echo', () => `HTTP/1.1 401 Refused\r\ncontent-type: application/json\r\nx-note: a\x01b\r\n\r\n${body}`);
    const gw = await twoKeys(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    expect(c.text()).toMatch(/^HTTP\/1\.1 502 /);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });

  it('a 401 body larger than the hold limit (16 KB) is relayed whole as it comes, without failover', async () => {
    const big = JSON.stringify({ error: { message: `Refused ${'x'.repeat(20_000)}`, type: 'requests', code: 'invalid_api_key' } });
    const up = await wsUpstream('echo', () => `HTTP/1.1 401 Refused\r\ncontent-type: application/json\r\ncontent-length: ${big.length}\r\n\r\n${big}`);
    const gw = await twoKeys(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    expect(c.text()).toMatch(/^HTTP\/1\.1 401 /);
    expect(c.text().endsWith(big)).toBe(true);
    expect(up.seen).toHaveLength(1);
  });

  it('when every key is refused the last refusal reaches the client, each key tried once', async () => {
    const up = await wsUpstream('echo', () => refusalOf(429, 'retry-after: 30\r\n', 'rate_limit_exceeded'));
    const gw = await twoKeys(up.url);
    const c = client(gw.port, upgradeRequest());
    await c.ended;
    expect(c.text()).toMatch(/^HTTP\/1\.1 429 /);
    expect(c.text()).toContain('"code":"rate_limit_exceeded"');
    expect(up.seen.map(keyOf)).toEqual([KEY_A, KEY_B]);
  });
});

/** Makes `proxy` a CONNECT proxy (what it was asked for, with the credentials), listening on 127.0.0.1. */
async function connectProxy(proxy: Server): Promise<{ connects: { authority: string; auth: string | undefined }[]; port: number }> {
  const connects: { authority: string; auth: string | undefined }[] = [];
  proxy.on('connect', (req: IncomingMessage, socket: Socket) => {
    connects.push({ authority: req.url ?? '', auth: req.headers['proxy-authorization'] });
    upgraded.push(socket);
    const [host, port] = (req.url ?? '').split(':');
    const onward = connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      socket.pipe(onward);
      onward.pipe(socket);
    });
    upgraded.push(onward);
    onward.on('error', () => socket.destroy());
    socket.on('error', () => onward.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  servers.push(proxy);
  return { connects, port: (proxy.address() as AddressInfo).port };
}

async function expectSoon(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await sleep(20);
  }
}
