/**
 * Forwarding end to end: the real CLI between the official OpenAI SDK and a fake upstream.
 * Each test asserts what the client got and what the upstream saw.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import OpenAI, { toFile } from 'openai';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startGateway, stopAll } from '../helpers/gateway.js';
import { actAsConnectProxy, sha256, upstreamsClosedAfterAll } from '../helpers/upstream.js';

const POOL = 'sk-fake-pool-one,sk-fake-pool-two';
const FORWARD = 'fk-fake-forward';

const upstream = upstreamsClosedAfterAll(afterAll);
afterEach(stopAll);

const chatReply = JSON.stringify({
  id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'hi there' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
});
const chatUpstream = () =>
  upstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'req_123', 'openai-processing-ms': '7' });
    res.end(chatReply);
  });

function client(url: string, apiKey: string): OpenAI {
  return new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
}

describe('credentials', () => {
  it('maps a forward key to the pool, round-robin, and never sends the forward key upstream', async () => {
    const up = await chatUpstream();
    const gw = await startGateway(['--base-url', up.url, '--api-key', POOL, '--forward-key', FORWARD]);
    const openai = client(gw.url, FORWARD);
    for (let i = 0; i < 4; i++) {
      const reply = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      expect(reply.choices[0].message.content).toBe('hi there');
    }
    expect(up.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer sk-fake-pool-one', 'Bearer sk-fake-pool-two', 'Bearer sk-fake-pool-one', 'Bearer sk-fake-pool-two',
    ]);
    expect(JSON.parse(up.requests[0].body.toString())).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(up.requests[0].url).toBe('/v1/chat/completions');
  });

  it('passes an unknown token through unchanged when forward keys are set', async () => {
    const up = await chatUpstream();
    const gw = await startGateway(['--base-url', up.url, '--api-key', POOL, '--forward-key', FORWARD]);
    await client(gw.url, 'sk-fake-client-own').models.list().catch(() => undefined);
    expect(up.requests[0].headers.authorization).toBe('Bearer sk-fake-client-own');
  });

  it('passthrough without a pool', async () => {
    const up = await chatUpstream();
    const gw = await startGateway(['--base-url', up.url, '--forward-key', FORWARD]);
    await client(gw.url, FORWARD).chat.completions.create({ model: 'm', messages: [] });
    await fetch(`${gw.url}/v1/models`);
    expect(up.requests[0].headers.authorization).toBe(`Bearer ${FORWARD}`);
    expect(up.requests[1].headers.authorization).toBeUndefined();
    expect(gw.stdout()).toContain('passthrough');
  });

  it('open mode: every request gets a pool key and the banner warns', async () => {
    const up = await chatUpstream();
    const gw = await startGateway(['--base-url', up.url, '--api-key', 'sk-fake-only']);
    await client(gw.url, 'anything').chat.completions.create({ model: 'm', messages: [] });
    await fetch(`${gw.url}/v1/models`);
    expect(up.requests.map((r) => r.headers.authorization)).toEqual(['Bearer sk-fake-only', 'Bearer sk-fake-only']);
    expect(gw.stdout()).toMatch(/WARNING: open mode/);
    expect(gw.stdout() + gw.stderr()).not.toContain('sk-fake-only');
  });
});

describe('forwarding', () => {
  it('forwards any method and path, keeps the query, honours a base path and route prefix', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', `${up.url}/proxy/openai/`, '--route-prefix', 'gw/']);
    for (const method of ['GET', 'DELETE', 'PATCH', 'PUT', 'OPTIONS']) {
      const res = await fetch(`${gw.url}/gw/v1/brand-new/endpoint?limit=3&after=x%2Fy`, { method });
      expect(res.status).toBe(200);
    }
    expect(up.requests.map((r) => `${r.method} ${r.url}`)).toEqual(
      ['GET', 'DELETE', 'PATCH', 'PUT', 'OPTIONS'].map((m) => `${m} /proxy/openai/v1/brand-new/endpoint?limit=3&after=x%2Fy`),
    );
    const outside = await fetch(`${gw.url}/v1/models`);
    expect(outside.status).toBe(404);
    expect(((await outside.json()) as { error: { code: string } }).error.code).toBe('not_found');
    expect(up.requests).toHaveLength(5);
  });

  it('relays status, body and headers of upstream errors untouched', async () => {
    const body = '{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded","param":null}}';
    const up = await upstream((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '3', 'x-ratelimit-remaining-requests': '0' });
      res.end(body);
    });
    const gw = await startGateway(['--base-url', up.url]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('3');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(await res.text()).toBe(body);

    const sdkError = await client(gw.url, 'sk-fake').chat.completions.create({ model: 'm', messages: [] }).catch((e: unknown) => e);
    expect(sdkError).toBeInstanceOf(OpenAI.RateLimitError);
  });

  it('relays a 500 with its body', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('upstream broke');
    });
    const gw = await startGateway(['--base-url', up.url]);
    const res = await fetch(`${gw.url}/v1/x`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('upstream broke');
  });

  it('sends no hop-by-hop or identifying headers upstream, and relays response headers', async () => {
    const up = await chatUpstream();
    const gw = await startGateway(['--base-url', up.url]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: 'session=1',
        'x-forwarded-for': '203.0.113.1',
        'x-real-ip': '203.0.113.1',
        forwarded: 'for=203.0.113.1',
        'openai-organization': 'org-fake',
        'x-custom': 'kept',
      },
      body: '{"model":"m","messages":[]}',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('req_123');
    expect(res.headers.get('openai-processing-ms')).toBe('7');
    const seen = up.requests[0].headers;
    expect(seen.host).toBe(`127.0.0.1:${up.port}`);
    for (const name of ['cookie', 'x-forwarded-for', 'x-real-ip', 'forwarded']) expect(seen[name]).toBeUndefined();
    expect(seen['openai-organization']).toBe('org-fake');
    expect(seen['x-custom']).toBe('kept');
    expect(seen['content-type']).toBe('application/json');
  });

  it('uploads a multipart file byte for byte (SDK files.create)', async () => {
    const up = await upstream((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'file-1', object: 'file', bytes: 3, created_at: 1, filename: 'train.jsonl', purpose: 'fine-tune' }));
    });
    const gw = await startGateway(['--base-url', up.url, '--api-key', 'sk-fake-a', '--forward-key', FORWARD]);
    const content = Buffer.from('{"messages":[{"role":"user","content":"hé"}]}\n'.repeat(100));
    const file = await client(gw.url, FORWARD).files.create({ file: await toFile(content, 'train.jsonl'), purpose: 'fine-tune' });
    expect(file.id).toBe('file-1');
    const seen = up.requests[0];
    expect(seen.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(seen.body.includes(content)).toBe(true);
    expect(seen.headers.authorization).toBe('Bearer sk-fake-a');
  });

  it('streams a 20 MB upload through unchanged, with backpressure instead of buffering', async () => {
    // The upstream holds off reading for a second. A gateway that buffered bodies would swallow all
    // 20 MB meanwhile; a streaming one lets only socket buffers' worth leave the client.
    let pulledWhenUpstreamStarted = 0;
    let rssWhileWaiting = 0;
    const size = 20 * 1024 * 1024;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) payload.writeUInt32LE((i * 2654435761) >>> 0, i);
    let pulled = 0;
    const { memoryOf } = await import('../helpers/gateway.js');
    let gwPid = 0;
    const up = await upstream(
      (req, res) => {
        req.pause();
        setTimeout(() => {
          pulledWhenUpstreamStarted = pulled;
          rssWhileWaiting = memoryOf(gwPid).rss;
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', () => {
            const body = Buffer.concat(chunks);
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ bytes: body.length, sha256: sha256(body) }));
          });
          req.resume();
        }, 1000);
      },
      { bufferBody: false },
    );
    const gw = await startGateway(['--base-url', up.url]);
    gwPid = gw.pid;
    const idle = memoryOf(gw.pid).rss;
    const body = new Readable({
      read() {
        if (pulled >= size) return void this.push(null);
        const piece = payload.subarray(pulled, pulled + 65536);
        pulled += piece.length;
        this.push(piece);
      },
    });
    const reply = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/v1/uploads/part`, { method: 'POST', headers: { 'content-length': size } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      body.pipe(req);
    });
    expect(JSON.parse(reply)).toEqual({ bytes: size, sha256: sha256(payload) });
    expect(pulledWhenUpstreamStarted).toBeGreaterThan(0);
    expect(pulledWhenUpstreamStarted).toBeLessThan(size * 0.75);
    expect(rssWhileWaiting - idle).toBeLessThan(size / 2);
  });

  it('413 for a body over --max-body-size, declared or streamed chunked', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url, '--max-body-size', '1kb']);
    const declared = await fetch(`${gw.url}/v1/files`, { method: 'POST', body: 'x'.repeat(2048) });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe('body_too_large');
    // No Content-Length: counted while it streams.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/v1/files`, { method: 'POST' }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write('y'.repeat(800));
      req.end('y'.repeat(800));
    });
    expect(chunked.status).toBe(413);
    expect(chunked.body).toContain('body_too_large');
    const small = await fetch(`${gw.url}/v1/files`, { method: 'POST', body: 'z'.repeat(1000) });
    expect(small.status).toBe(200);
    // The upstream may have seen the start of the streamed one, cut off; never a body over the limit.
    expect(up.requests.at(-1)?.body.length).toBe(1000);
    for (const r of up.requests) expect(r.body.length).toBeLessThanOrEqual(1024);
  });

  it('Expect: 100-continue: a body over --max-body-size gets the 413 without a 100 first (nothing uploaded); an accepted one gets the 100', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url, '--max-body-size', '1kb']);
    const exchange = (length: number, body: string): Promise<string> =>
      new Promise((resolve) => {
        const socket = connect(gw.port, '127.0.0.1');
        let received = '';
        socket.on('error', () => {});
        socket.on('data', (c: Buffer) => {
          received += c.toString('latin1');
          // The client sends its body only once told to continue, as curl and the SDKs do.
          if (received === 'HTTP/1.1 100 Continue\r\n\r\n') socket.write(body);
        });
        socket.on('close', () => resolve(received));
        socket.write(`POST /v1/files HTTP/1.1\r\nHost: gw\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`);
      });
    const refused = await exchange(5000, 'x'.repeat(5000));
    expect(refused).toMatch(/^HTTP\/1\.1 413 /);
    expect(refused).toContain('body_too_large');
    const accepted = await exchange(5, 'hello');
    expect(accepted).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(up.requests.map((r) => r.body.toString())).toEqual(['hello']);
  });

  it('answers /healthz with and without the prefix, without calling the upstream', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url, '--route-prefix', '/openai']);
    for (const path of ['/healthz', '/openai/healthz']) {
      const res = await fetch(gw.url + path);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('OK');
    }
    expect(up.requests).toHaveLength(0);
  });

  it('--keep-alive-timeout: responses announce it, and an idle client connection is closed after it', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url, '--keep-alive-timeout', '1']);
    const socket = connect(gw.port, '127.0.0.1');
    socket.on('error', () => {});
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET /healthz HTTP/1.1\r\nHost: gw\r\n\r\n');
    for (let i = 0; i < 100 && !received.endsWith('OK'); i++) await new Promise((r) => setTimeout(r, 10));
    const answeredAt = Date.now();
    expect(received).toContain('\r\nkeep-alive: timeout=1\r\n');
    const closedAt = await closed;
    // Never before the announced second; at most about two ticks of the coarse clock after it.
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(950);
    expect(closedAt - answeredAt).toBeLessThan(3500);
  });
});

describe('outbound proxy', () => {
  it('tunnels through HTTP_PROXY (CONNECT) when it is set, with the pool key', async () => {
    const up = await upstream();
    const proxy = await upstream();
    const tunnels = actAsConnectProxy(proxy);
    const gw = await startGateway(['--base-url', up.url, '--api-key', 'sk-fake-proxied'], { env: { HTTP_PROXY: proxy.url } });
    expect(gw.stdout()).toContain(`via proxy ${proxy.url}`);
    const res = await fetch(`${gw.url}/v1/models?x=1`);
    expect(res.status).toBe(200);
    await res.text();
    expect(tunnels).toEqual([`127.0.0.1:${up.port}`]);
    expect(up.requests[0].url).toBe('/v1/models?x=1');
    expect(up.requests[0].headers.authorization).toBe('Bearer sk-fake-proxied');
  });
});

describe('request targets', () => {
  /**
   * Sends a raw HTTP/1.1 request (fetch cannot send absolute-form targets) and returns the response
   * text. `halfClose`: end the sending side at once (a request the gateway answers before it
   * forwards anything); without, for a request forwarded with `Connection: close`, since a
   * half-close reads as the client leaving.
   */
  function raw(port: number, request: string, halfClose = true): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => (halfClose ? socket.end(request) : socket.write(request)));
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
  }

  it('ignores an upgrade to anything but WebSocket (curl --http2 offers h2c): answered in HTTP/1.1, forwarded without it', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url]);
    const text = await raw(gw.port, 'GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n', false);
    expect(text).toMatch(/^HTTP\/1\.1 200 /);
    expect(up.requests).toHaveLength(1);
    expect(up.requests[0].headers).not.toHaveProperty('upgrade');
    expect(up.requests[0].headers).not.toHaveProperty('http2-settings');
    const tls = await raw(gw.port, 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\nUpgrade: TLS/1.2\r\nContent-Length: 2\r\n\r\n{}', false);
    expect(tls).toMatch(/^HTTP\/1\.1 200 /);
    expect(up.requests).toHaveLength(2);
  });

  it.each([
    'GET http://127.0.0.1:{evil}/v1/models HTTP/1.1\r\nHost: 127.0.0.1:{evil}\r\nConnection: close\r\n\r\n',
    'GET //127.0.0.1:{evil}/v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'GET /v1/../../secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  ])('refuses %j with 400 and reaches no other origin', async (template) => {
    const up = await upstream();
    const evil = await upstream();
    const gw = await startGateway(['--base-url', up.url]);
    const text = await raw(gw.port, template.replaceAll('{evil}', String(evil.port)));
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toContain('"code":"bad_request_target"');
    expect(up.requests).toHaveLength(0);
    expect(evil.requests).toHaveLength(0);
  });
});

describe('a burst of requests', () => {
  // Under load the gateway holds the messages of an event-loop turn and sends them together at its
  // end (src/node/turn-writes.ts): many requests arriving, and many replies coming back, at once.
  it('64 requests at once, answered by the upstream all at once: each client gets its own answer, each request goes up once with a pool key', async () => {
    const COUNT = 64;
    const waiting: (() => void)[] = [];
    const up = await upstream((_req, res, seen) => {
      const { messages } = JSON.parse(seen.body.toString()) as { messages: { content: string }[] };
      const body = JSON.stringify({
        id: 'chatcmpl-burst', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: `answer to ${messages[0].content}` }, finish_reason: 'stop' }],
      });
      waiting.push(() => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      // Every reply is written in the same tick, once all requests are in.
      if (waiting.length === COUNT) for (const answer of waiting.splice(0)) answer();
    });
    const gw = await startGateway(['--base-url', up.url, '--api-key', POOL, '--forward-key', FORWARD]);
    const openai = client(gw.url, FORWARD);
    const answers = await Promise.all(
      Array.from({ length: COUNT }, (_, i) => openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }] })),
    );
    expect(answers.map((a) => a.choices[0].message.content)).toEqual(Array.from({ length: COUNT }, (_, i) => `answer to q${i}`));
    const asked = up.requests.map((r) => (JSON.parse(r.body.toString()) as { messages: { content: string }[] }).messages[0].content);
    expect(asked.sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `q${i}`).sort());
    expect(new Set(up.requests.map((r) => r.headers.authorization))).toEqual(new Set(['Bearer sk-fake-pool-one', 'Bearer sk-fake-pool-two']));
  });
});
