/**
 * CORS for browser apps, end to end: preflights answered by the gateway (never forwarded), the CORS
 * headers on forwarded answers (the upstream's replaced) and on the gateway's own errors, requests
 * without Origin untouched, and `--cors-origins off` leaving it all to the upstream.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runCli, startGateway, stopAll } from '../helpers/gateway.js';
import { startUpstream, type FakeUpstream, type UpstreamHandler } from '../helpers/upstream.js';

const FORWARD_KEY = 'fk-fake-browser';
const PREFLIGHT = {
  origin: 'https://chat.example.com',
  'access-control-request-method': 'POST',
  'access-control-request-headers': 'authorization, content-type',
};

/** An upstream that answers CORS itself, as api.openai.com does, with an origin of its own choosing. */
const corsUpstream: UpstreamHandler = (_req, res) => {
  const body = '{"object":"list","data":[]}';
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': 'https://upstream-choice.example',
    'access-control-allow-credentials': 'true',
    'x-request-id': 'req_fake_1',
  });
  res.end(body);
};

let up: FakeUpstream;
afterEach(stopAll);
afterAll(async () => up?.close());

async function gateway(args: string[] = []) {
  up ??= await startUpstream(corsUpstream);
  return startGateway(['--base-url', up.url, '--api-key', 'sk-fake-pool', '--forward-key', FORWARD_KEY, ...args]);
}

describe('CORS (default: any origin)', () => {
  it('answers a preflight itself with 204 and the CORS headers; the upstream never sees it', async () => {
    const gw = await gateway();
    const before = up.requests.length;
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: PREFLIGHT });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, content-type');
    expect(res.headers.get('access-control-max-age')).toBe('7200');
    expect(res.headers.get('content-length')).toBeNull(); // RFC 9110 §8.6: none on a 204
    expect(res.headers.get('transfer-encoding')).toBeNull();
    expect(await res.text()).toBe('');
    expect(up.requests.length).toBe(before);
  });

  it("puts its CORS headers on a browser's forwarded answer in place of the upstream's", async () => {
    const gw = await gateway();
    const res = await fetch(`${gw.url}/v1/models`, { headers: { origin: 'https://chat.example.com', authorization: `Bearer ${FORWARD_KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toBe('*');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    expect(res.headers.get('x-request-id')).toBe('req_fake_1');
    expect(await res.json()).toEqual({ object: 'list', data: [] });
    // The upstream got the request as sent: Origin is end-to-end, the forward key became a pool key.
    const seen = up.requests.at(-1);
    expect(seen?.headers.origin).toBe('https://chat.example.com');
    expect(seen?.headers.authorization).toBe('Bearer sk-fake-pool');
  });

  it('leaves a request without Origin (an SDK on a server) exactly as the upstream answered', async () => {
    const gw = await gateway();
    const res = await fetch(`${gw.url}/v1/models`);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://upstream-choice.example');
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('forwards an OPTIONS request that is not a preflight', async () => {
    const gw = await gateway();
    const before = up.requests.length;
    const res = await fetch(`${gw.url}/v1/models`, { method: 'OPTIONS', headers: { origin: 'https://chat.example.com' } });
    expect(res.status).toBe(200);
    expect(up.requests.length).toBe(before + 1);
    expect(up.requests.at(-1)?.method).toBe('OPTIONS');
  });

  it("gives the gateway's own errors the CORS headers, so a web app can read them", async () => {
    const denied = await gateway(['--ip-whitelist', '10.0.0.0/8']);
    const res = await fetch(`${denied.url}/v1/models`, { headers: { origin: 'https://chat.example.com' } });
    expect(res.status).toBe(403);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('ip_forbidden');

    const unreachable = await startGateway(['--base-url', 'http://127.0.0.1:1']);
    const bad = await fetch(`${unreachable.url}/v1/models`, { headers: { origin: 'https://chat.example.com' } });
    expect(bad.status).toBe(502);
    expect(bad.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('CORS on answers given before the headers are read', () => {
  it('a path outside the route prefix (404) and /healthz carry the CORS headers too', async () => {
    const gw = await gateway(['--route-prefix', '/openai']);
    const outside = await fetch(`${gw.url}/v1/models`, { headers: { origin: 'https://chat.example.com' } });
    expect(outside.status).toBe(404);
    expect(outside.headers.get('access-control-allow-origin')).toBe('*');
    const health = await fetch(`${gw.url}/healthz`, { headers: { origin: 'https://chat.example.com' } });
    expect(health.status).toBe(200);
    expect(health.headers.get('access-control-allow-origin')).toBe('*');
    expect((await fetch(`${gw.url}/healthz`)).headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CORS with a list of origins', () => {
  it('names an allowed origin and varies on Origin; another origin gets no CORS header', async () => {
    const gw = await gateway(['--cors-origins', 'https://chat.example.com,http://localhost:3000']);
    const allowed = await fetch(`${gw.url}/v1/models`, { headers: { origin: 'http://localhost:3000' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(allowed.headers.get('vary')).toContain('origin');

    const other = await fetch(`${gw.url}/v1/models`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const before = up.requests.length;
    const preflight = await fetch(`${gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { ...PREFLIGHT, origin: 'https://evil.example' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(up.requests.length).toBe(before);
  });
});

describe('CORS off', () => {
  it('forwards preflights and relays the upstream CORS headers as they are', async () => {
    const gw = await gateway(['--cors-origins', 'off']);
    const before = up.requests.length;
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'OPTIONS', headers: PREFLIGHT });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('https://upstream-choice.example');
    expect(up.requests.length).toBe(before + 1);
  });

  it('refuses a cors_origins value that is not an origin, in one line with exit code 2', async () => {
    const run = runCli(['run', '--cors-origins', 'chat.example.com', '--port', '0']);
    expect(await run.exited).toBe(2);
    expect(run.stderr().trim().split('\n')).toHaveLength(1);
    expect(run.stderr()).toContain('"chat.example.com" is not an origin');
  });
});
