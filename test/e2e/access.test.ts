/** IP whitelist / blacklist and trusted proxies, end to end over IPv4 and IPv6 loopback. */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startGateway, stopAll } from '../helpers/gateway.js';
import { startUpstream, type FakeUpstream } from '../helpers/upstream.js';

let up: FakeUpstream;
afterEach(stopAll);
afterAll(async () => up?.close());

async function statusVia(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/v1/models`, { headers });
  return { status: res.status, body: await res.text() };
}

describe('ip access', () => {
  it.each([
    [['--ip-whitelist', '10.0.0.0/8'], 403, 'Forbidden, ip=127.0.0.1 not in whitelist'],
    [['--ip-whitelist', '10.0.0.0/8, 127.0.0.0/8'], 200, ''],
    [['--ip-blacklist', '127.0.0.1'], 403, 'Forbidden, ip=127.0.0.1 in blacklist'],
    [['--ip-blacklist', '192.168.0.0/16'], 200, ''],
  ])('IPv4 %j → %i', async (args, status, message) => {
    up ??= await startUpstream();
    const gw = await startGateway(['--base-url', up.url, ...args]);
    const res = await statusVia(gw.url);
    expect(res.status).toBe(status);
    if (message) {
      const error = JSON.parse(res.body).error;
      expect(error.message).toBe(message);
      expect(error.code).toBe('ip_forbidden');
    }
  });

  it('IPv6 rules on an IPv6 listener, and IPv4-mapped peers on a dual-stack one', async () => {
    up ??= await startUpstream();
    const v6 = await startGateway(['--base-url', up.url, '--host', '::1', '--ip-whitelist', '::1/128']);
    expect((await statusVia(`http://[::1]:${v6.port}`)).status).toBe(200);
    const v6deny = await startGateway(['--base-url', up.url, '--host', '::1', '--ip-whitelist', 'fe80::/10']);
    const denied = await statusVia(`http://[::1]:${v6deny.port}`);
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).error.message).toBe('Forbidden, ip=::1 not in whitelist');
    // A dual-stack listener sees 127.0.0.1 as ::ffff:127.0.0.1; the IPv4 rule must still match.
    const dual = await startGateway(['--base-url', up.url, '--host', '::', '--ip-blacklist', '127.0.0.0/8']);
    expect((await statusVia(`http://127.0.0.1:${dual.port}`)).status).toBe(403);
  });

  it('believes X-Forwarded-For only from trusted proxies', async () => {
    up ??= await startUpstream();
    const untrusting = await startGateway(['--base-url', up.url, '--ip-whitelist', '203.0.113.0/24']);
    expect((await statusVia(untrusting.url, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(403);
    const trusting = await startGateway(['--base-url', up.url, '--ip-whitelist', '203.0.113.0/24', '--trusted-proxies', '127.0.0.1']);
    expect((await statusVia(trusting.url, { 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
    // The client cannot put an allowed address in front of its real one.
    expect((await statusVia(trusting.url, { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })).status).toBe(403);
  });
});
