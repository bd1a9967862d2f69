/** The command line and process behaviour: flags, env, .env, exit codes, banner, workers, signals, HTTPS. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ROOT, runCli, startGateway, stopAll } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { sleep, upstreamsClosedAfterAll } from '../helpers/upstream.js';

const upstream = upstreamsClosedAfterAll(afterAll);
afterEach(stopAll);

const tmp = (files: Record<string, string> = {}): string => {
  const d = mkdtempSync(join(tmpdir(), 'aifwd-cli-'));
  for (const [name, body] of Object.entries(files)) writeFileSync(join(d, name), body);
  return d;
};

describe('bad input exits 2 with one line', () => {
  it.each([
    [['run', '--port', 'eighty'], '--port "eighty": expected an integer from 0 to 65535'],
    [['run', '--frobnicate'], "unknown option '--frobnicate'"],
    [['run', '--base-url', 'not a url'], '--base-url "not a url": expected an http(s) URL'],
    // Named as given: the flag, not the variable of the same meaning.
    [['run', '--ip-whitelist', '10.0.0.0/99'], '--ip-whitelist "10.0.0.0/99": "10.0.0.0/99" is not an IP address or CIDR range'],
    [['run', '--trusted_proxies=bad'], '--trusted-proxies "bad": "bad" is not an IP address or CIDR range'],
    [['run', '--route-prefix', '/a?b'], '--route-prefix "/a?b": expected a path such as /openai'],
    [['run', '--route-prefix', 'v1/../x'], '--route-prefix "v1/../x": a prefix cannot hold "." or ".." segments'],
    [['run', '--config', ''], '--config "": expected the path of a YAML or JSON config file'],
    // Commander's suggestion on the same line, the flag as it was typed.
    [['run', '--base_ur', 'http://x'], "unknown option '--base_ur' (did you mean --base-url?)"],
    [['help', 'bogus'], "unknown command 'bogus' (commands: run, health, mock, convert, help)"],
    [['run', '--config', 'nope.yaml'], 'cannot read config file'],
    [['run', '--ssl-keyfile', 'k.pem', '--ssl-certfile', 'c.pem'], 'cannot read ssl_keyfile'],
    [['run', '--log-chat', 'perhaps'], '--log-chat "perhaps": expected true or false'],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('%j', async (args, message) => {
    const run = runCli(args);
    expect(await run.exited).toBe(2);
    const lines = run.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(message);
    expect(lines[0]).toMatch(/^aifwd: /);
  });

  it('names an environment variable and masks secrets in messages', async () => {
    const run = runCli(['run'], { env: { OPENAI_BASE_URL: 'gopher://x', OPENAI_API_KEY: 'sk-fake-secret-value-123456' } });
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toContain('OPENAI_BASE_URL "gopher://x"');
  });

  it('never shows the password of a URL it refuses', async () => {
    const run = runCli(['run', '--base-url', 'https://someone:sk-fake-url-password-1@x.example/v1']);
    expect(await run.exited).toBe(2);
    expect(run.stderr().trim()).toBe('aifwd: --base-url "https://****@x.example/v1": put credentials in OPENAI_API_KEY, not in the URL');
  });

  it('TLS files that are not a PEM key and its certificate: one line, also as the primary of --workers', async () => {
    const fixtures = join(ROOT, 'test/fixtures');
    const dir = tmp({ 'junk.pem': 'junk\n' });
    const cases: [string[], string][] = [
      [['--ssl-keyfile', join(dir, 'junk.pem'), '--ssl-certfile', join(fixtures, 'localhost-cert.pem')], 'DECODER routines::unsupported'],
      // The two swapped.
      [['--ssl-keyfile', join(fixtures, 'localhost-cert.pem'), '--ssl-certfile', join(fixtures, 'localhost-key.pem'), '--workers', '2'], 'PEM routines::no start line'],
    ];
    for (const [args, reason] of cases) {
      const run = runCli(['run', '--port', '0', ...args]);
      expect(await run.exited).toBe(2);
      const lines = run.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^aifwd: cannot serve HTTPS with ssl_keyfile \S+ and ssl_certfile \S+ \(.*\): expected a PEM private key and the PEM certificate chain it belongs to$/);
      expect(lines[0]).toContain(reason);
    }
  });

  it('aifwd mock on a port in use or a host that does not exist: one line', async () => {
    const busy = createServer();
    busy.listen(0, '127.0.0.1');
    await new Promise((resolve) => busy.once('listening', resolve));
    const { port } = busy.address() as AddressInfo;
    try {
      const taken = runCli(['mock', '--port', String(port)]);
      expect(await taken.exited).toBe(2);
      expect(taken.stderr().trim()).toBe(`aifwd: cannot listen on 127.0.0.1:${port}: address already in use`);
    } finally {
      busy.close();
    }
    const nowhere = runCli(['mock', '--port', '0', '--host', 'no-such-host.invalid']);
    expect(await nowhere.exited).toBe(2);
    expect(nowhere.stderr().trim()).toBe('aifwd: cannot listen on no-such-host.invalid:0: no such host');
  });
});

describe('configuration sources', () => {
  it('reads .env, and underscore flags override it', async () => {
    const up = await upstream();
    const cwd = tmp({ '.env': `OPENAI_BASE_URL=http://127.0.0.1:1\nROUTE_PREFIX=/fromenv\nOPENAI_API_KEY=sk-fake-dotenv\n` });
    const gw = await startGateway([`--base_url=${up.url}`], { cwd });
    const res = await fetch(`${gw.url}/fromenv/v1/models`);
    expect(res.status).toBe(200);
    expect(up.requests[0].headers.authorization).toBe('Bearer sk-fake-dotenv');
    expect(gw.stdout()).toContain('/fromenv');
  });

  it('the banner shows the prefix as it is served: normalised', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url, '--route_prefix', 'pfx/']);
    expect(gw.stdout()).toMatch(/route prefix\s+\/pfx\n/);
    expect((await fetch(`${gw.url}/pfx/v1/models`)).status).toBe(200);
  });

  it('reads a YAML config file; the environment wins over it', async () => {
    const up = await upstream();
    const cwd = tmp({ 'aifwd.yaml': `base_url: http://127.0.0.1:1\nroute_prefix: /cfg\napi_key:\n  - sk-fake-file\n` });
    const gw = await startGateway(['--config', 'aifwd.yaml'], { cwd, env: { OPENAI_BASE_URL: up.url } });
    await fetch(`${gw.url}/cfg/v1/models`);
    expect(up.requests[0].headers.authorization).toBe('Bearer sk-fake-file');
  });

  it('npm start and the openai-forward name run the same program', async () => {
    const { ROOT } = await import('../helpers/gateway.js');
    const pkg = JSON.parse(execFileSync('cat', [join(ROOT, 'package.json')]).toString()) as { bin: Record<string, string>; scripts: Record<string, string> };
    expect(pkg.bin.aifwd).toBe(pkg.bin['openai-forward']);
    expect(pkg.scripts.start).toContain('run');
  });
});

describe('banner and secrets', () => {
  it('shows the setup, no key, no colour without a TTY', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url, '--api-key', 'sk-fake-banner-key-1 sk-fake-banner-key-2', '--forward-key', 'fk-fake-banner']);
    const out = gw.stdout();
    expect(out).toContain(`upstream     ${up.url}`);
    expect(out).toMatch(/key pool\s+2 keys/);
    expect(out).toMatch(/forward keys\s+1 key/);
    expect(out).toMatch(/chat log\s+off/);
    expect(out).toMatch(/listening\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(out).not.toMatch(/\x1b\[/);
    await fetch(`${gw.url}/v1/models`, { headers: { authorization: 'Bearer fk-fake-banner' } });
    await gw.stop();
    for (const secret of ['sk-fake-banner-key-1', 'sk-fake-banner-key-2', 'fk-fake-banner']) {
      expect(gw.stdout() + gw.stderr()).not.toContain(secret);
    }
  });
});

describe('process lifecycle', () => {
  it('SIGTERM lets an in-flight stream finish, refuses new connections, exits 0', async () => {
    const up = await upstream(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < 5; i++) {
        res.write(`data: {"i":${i}}\n\n`);
        await sleep(150);
      }
      res.end('data: [DONE]\n\n');
    });
    const gw = await startGateway(['--base-url', up.url]);
    const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{"stream":true}' });
    const reader = res.body!.getReader();
    await reader.read();
    const exited = gw.stop('SIGTERM');
    await sleep(100);
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    expect(text).toContain('data: [DONE]');
    expect(await exited).toBe(0);
  });

  it('--workers 2 serves from two processes on one port and replaces a crashed worker', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url, '--workers', '2']);
    for (let i = 0; i < 40; i++) {
      // A new connection each time, so the cluster primary spreads them over the workers.
      const res = await fetch(`${gw.url}/v1/pid`, { headers: { connection: 'close' } });
      await res.text();
    }
    expect(up.requests).toHaveLength(40);
    const workers = execFileSync('pgrep', ['-P', String(gw.pid)]).toString().trim().split('\n');
    expect(workers).toHaveLength(2);
    process.kill(Number(workers[0]), 'SIGKILL');
    for (let i = 0; i < 40; i++) {
      await sleep(100);
      const now = execFileSync('pgrep', ['-P', String(gw.pid)]).toString().trim().split('\n');
      if (now.length === 2 && !now.includes(workers[0])) break;
    }
    const replaced = execFileSync('pgrep', ['-P', String(gw.pid)]).toString().trim().split('\n');
    expect(replaced).toHaveLength(2);
    expect(replaced).not.toContain(workers[0]);
    expect(gw.stderr()).toContain('starting a replacement');
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    // What the primary said, should it exit otherwise (a rare failure of this test in a full run, exit 1, unexplained).
    expect(await gw.stop('SIGTERM'), gw.stderr()).toBe(0);
  });

  it('--workers 2: when every worker dies at once the primary stays and replaces them; a SIGTERM while none runs exits 0', async () => {
    const up = await upstream();
    const children = (pid: number): string[] => {
      try {
        return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n');
      } catch {
        return []; // pgrep exits 1 when there are none
      }
    };
    const gw = await startGateway(['--base-url', up.url, '--workers', '2', '--port', String(await freePort())]);
    const first = children(gw.pid);
    expect(first).toHaveLength(2);
    for (const pid of first) process.kill(Number(pid), 'SIGKILL');
    let replacements: string[] = [];
    for (let i = 0; i < 60 && replacements.length < 2; i++) {
      // One look per try: the killed workers may still be listed until the primary reaps them.
      const now = children(gw.pid);
      if (now.length === 2 && !now.some((pid) => first.includes(pid))) replacements = now;
      else await sleep(100);
    }
    expect(replacements).toHaveLength(2);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);

    // Both die again; the replacements are scheduled (in 1 s and more) when the stop comes.
    for (const pid of children(gw.pid)) process.kill(Number(pid), 'SIGKILL');
    for (let i = 0; i < 30 && children(gw.pid).length > 0; i++) await sleep(50);
    const stoppedAt = Date.now();
    expect(await gw.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(1500);
  });

  it('serves HTTPS with ssl_keyfile / ssl_certfile', async () => {
    const up = await upstream();
    const fixtures = join(ROOT, 'test/fixtures');
    const gw = await startGateway(['--base-url', up.url], {
      env: { ssl_keyfile: join(fixtures, 'localhost-key.pem'), SSL_CERTFILE: join(fixtures, 'localhost-cert.pem') },
    });
    expect(gw.stdout()).toMatch(/listening\s+https:\/\//);
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const { request } = await import('undici');
    const res = await request(`https://127.0.0.1:${gw.port}/v1/models`, { dispatcher });
    expect(res.statusCode).toBe(200);
    await res.body.text();
    await dispatcher.close();
  });
});

describe('aifwd health', () => {
  const health = async (args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) => {
    const run = runCli(['health', ...args], options);
    const code = await run.exited;
    return { code, out: run.stdout(), err: run.stderr() };
  };

  it('finds the gateway from the same settings as run: flags, environment, config file', async () => {
    const up = await upstream();
    const gw = await startGateway(['--base-url', up.url]);
    const byFlag = await health(['--host', '127.0.0.1', '--port', String(gw.port)]);
    expect(byFlag).toMatchObject({ code: 0, err: '' });
    expect(byFlag.out).toBe(`aifwd: healthy (http://127.0.0.1:${gw.port}/healthz answered 200)\n`);
    // The default host (0.0.0.0) is probed on the loopback, and so is `::` (a container may have no ::1).
    expect((await health([], { env: { PORT: String(gw.port) } })).code).toBe(0);
    const dual = await health(['--host', '::', '--port', String(gw.port)]);
    expect(dual.out).toBe(`aifwd: healthy (http://127.0.0.1:${gw.port}/healthz answered 200)\n`);
    expect((await health([], { cwd: tmp({ 'aifwd.yaml': `port: ${gw.port}\n` }), env: { AIFWD_CONFIG: 'aifwd.yaml' } })).code).toBe(0);
    // It never calls the upstream.
    expect(up.requests).toHaveLength(0);
  });

  it('over HTTPS when run serves HTTPS (its certificate is not checked: it names a public host)', async () => {
    const up = await upstream();
    const fixtures = join(ROOT, 'test/fixtures');
    const env = { ssl_keyfile: join(fixtures, 'localhost-key.pem'), SSL_CERTFILE: join(fixtures, 'localhost-cert.pem') };
    const gw = await startGateway(['--base-url', up.url], { env });
    const got = await health(['--port', String(gw.port)], { env });
    expect(got.code).toBe(0);
    expect(got.out).toContain(`https://127.0.0.1:${gw.port}/healthz answered 200`);
    // Without the TLS settings it would speak plain HTTP to a TLS port: unhealthy, not a hang.
    const plain = await health(['--port', String(gw.port), '--timeout', '2']);
    expect(plain.code).toBe(1);
  });

  it('exit 1 with one line when nothing answers; exit 2 for bad input', async () => {
    const port = await freePort();
    const down = await health(['--port', String(port)]);
    expect(down).toMatchObject({ code: 1, out: '' });
    expect(down.err).toBe(`aifwd: unhealthy: http://127.0.0.1:${port}/healthz ECONNREFUSED\n`);

    // A port that accepts but never answers: the timeout, not a hang.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const slow = await health(['--port', String(silentPort), '--timeout', '0.3']);
    // Below a millisecond is a millisecond, not "no timeout".
    const tiny = await health(['--port', String(silentPort), '--timeout', '0.0001']);
    silent.close();
    expect(slow.code).toBe(1);
    expect(slow.err).toContain('no answer within 300 ms');
    expect(tiny).toMatchObject({ code: 1, err: `aifwd: unhealthy: http://127.0.0.1:${silentPort}/healthz no answer within 1 ms\n` });

    for (const [args, message] of [
      [['--timeout', 'soon'], '--timeout "soon": expected a duration in seconds such as 10, 0.5, 1500ms or 10m'],
      [['--timeout', '0'], '--timeout "0": expected a duration above 0'],
      // Node's timers fire at once beyond 2^31-1 ms.
      [['--timeout', '3000000'], '--timeout "3000000": expected at most 2000000 seconds (about 23 days)'],
      [['--port', 'eighty'], '--port "eighty": expected an integer from 0 to 65535'],
    ] as const) {
      const bad = await health([...args]);
      expect(bad.code).toBe(2);
      expect(bad.err).toBe(`aifwd: ${message}\n`);
    }
  });
});
