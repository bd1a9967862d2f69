/**
 * Forward-key policies end to end: the real CLI with a config file giving keys models, routes, an
 * rpm and an expiry; what clients get, what the upstream saw (only admitted requests, each with a
 * pool key), the metrics, and the rpm counted once for `--workers 2`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startMock } from '../../src/mock/server.js';
import { BIN, runCli, startGateway, stopAll } from '../helpers/gateway.js';
import { freePort } from '../helpers/ports.js';
import { sleep, upstreamsClosedAfterAll } from '../helpers/upstream.js';

const POOL = 'fake-pool-key-not-real';
const ALICE = 'fk-fake-alice-000000000000';
const BOB = 'fk-fake-bob-00000000000000';
const CAROL = 'fk-fake-carol-000000000000';
const PLAIN = 'fk-fake-plain-000000000000';
const DAVE = 'fk-fake-dave-0000000000000';
const upstream = upstreamsClosedAfterAll(afterAll);
afterEach(stopAll);

/** A directory holding `aifwd.yaml` with `yaml`; the gateway runs there. */
function configDir(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'aifwd-policy-'));
  writeFileSync(join(dir, 'aifwd.yaml'), yaml);
  return dir;
}

const CONFIG = `
api_key: ${POOL}
forward_key:
  - ${PLAIN}
  - key: ${ALICE}
    name: alice
    models: [gpt-4o-mini, "gpt-4.1*", whisper-1]
    routes: [/v1/chat/completions, /v1/audio/*, /v1/models, /v1/realtime]
    rpm: 4
  - key: ${BOB}
    name: bob
    expires: 2020-01-01
  - key: ${CAROL}
    name: carol
    expires: 2999-01-01T00:00:00Z
    routes: [/v1/embeddings]
  - key: ${DAVE}
    name: dave
    rpm: 1
`;

interface Answer {
  status: number;
  headers: Headers;
  error: { message: string; code: string; type: string; param: string | null } | undefined;
}

async function call(url: string, key: string, path: string, body?: string | FormData, contentType = 'application/json'): Promise<Answer> {
  // A new connection each time: under --workers the cluster hands them to the workers in turn.
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, connection: 'close' };
  if (typeof body === 'string') headers['content-type'] = contentType;
  const res = await fetch(`${url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers, body });
  const text = await res.text();
  const parsed = res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as { error?: Answer['error'] }) : {};
  return { status: res.status, headers: res.headers, error: parsed.error };
}

/** Writes `request` on a new connection and resolves with all the gateway answered once it closed. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(request);
  });
}

const chat = (model: string): string => JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] });

describe('forward-key policies', () => {
  it('refuses what a key may not do, with stable codes, and forwards the rest with a pool key', async () => {
    const up = await upstream();
    const metricsPort = await freePort();
    const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', up.url, '--metrics-port', String(metricsPort)], { cwd: configDir(CONFIG) });
    expect(gw.stdout()).toContain('forward keys 5 keys (4 with a policy)');

    // alice: an allowed model, a prefix pattern, a refused model, a duplicate that hides one, a route off her list
    expect((await call(gw.url, ALICE, '/v1/chat/completions', chat('gpt-4o-mini'))).status).toBe(200);
    expect((await call(gw.url, ALICE, '/v1/chat/completions', chat('gpt-4.1-nano'))).status).toBe(200);
    const model = await call(gw.url, ALICE, '/v1/chat/completions', chat('gpt-4o'));
    expect(model.status).toBe(403);
    expect(model.error).toMatchObject({ code: 'model_not_allowed', type: 'permission_error', param: 'model' });
    expect(model.error?.message).toBe('Forward key alice may not use model "gpt-4o" (allowed: gpt-4o-mini, gpt-4.1*, whisper-1)');
    const twice = await call(gw.url, ALICE, '/v1/chat/completions', '{"model":"gpt-4o-mini","messages":[],"model":"o3"}');
    expect(twice.error?.code).toBe('model_not_allowed');
    // Any Content-Type: many servers read JSON whatever it says; what cannot be read is refused.
    expect((await call(gw.url, ALICE, '/v1/chat/completions', chat('o3'), 'text/plain')).error?.code).toBe('model_not_allowed');
    const nan = await call(gw.url, ALICE, '/v1/chat/completions', '{"model":"o3","temperature":NaN}');
    expect(nan).toMatchObject({ status: 400, error: { code: 'model_unreadable' } });
    const route = await call(gw.url, ALICE, '/v1/embeddings', JSON.stringify({ model: 'gpt-4o-mini', input: 'x' }));
    expect(route.status).toBe(403);
    expect(route.error?.code).toBe('route_not_allowed');
    expect(route.error?.message).toContain('may not use POST "/v1/embeddings"');
    // A request that names no model (GET) is governed by the routes alone.
    expect((await call(gw.url, ALICE, '/v1/models')).status).toBe(200);

    // bob expired; carol expires in 2999 and may use embeddings only; the plain key may do anything
    const expired = await call(gw.url, BOB, '/v1/models');
    expect(expired).toMatchObject({ status: 401, error: { code: 'forward_key_expired' } });
    expect(expired.error?.message).toBe("Forward key bob expired at 2020-01-01T00:00:00.000Z; ask the gateway's operator for a new one");
    expect((await call(gw.url, CAROL, '/v1/embeddings', JSON.stringify({ model: 'any', input: 'x' }))).status).toBe(200);
    expect((await call(gw.url, CAROL, '/v1/models')).error?.code).toBe('route_not_allowed');
    expect((await call(gw.url, PLAIN, '/v1/embeddings', JSON.stringify({ model: 'o3', input: 'x' }))).status).toBe(200);

    // The upstream saw exactly the admitted requests, each with the pool key, never a forward key.
    const seen = up.requests.map((r) => `${r.method} ${r.url} ${r.headers.authorization === `Bearer ${POOL}` ? 'pool' : String(r.headers.authorization)}`);
    expect(seen).toEqual([
      'POST /v1/chat/completions pool',
      'POST /v1/chat/completions pool',
      'GET /v1/models pool',
      'POST /v1/embeddings pool',
      'POST /v1/embeddings pool',
    ]);
    // The body went on as the client sent it.
    expect(up.requests[0].body.toString()).toBe(chat('gpt-4o-mini'));

    const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="alice",code="model_not_allowed"} 3');
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="alice",code="model_unreadable"} 1');
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="alice",code="route_not_allowed"} 1');
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="bob",code="forward_key_expired"} 1');
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="carol",code="route_not_allowed"} 1');
    // Admitted: alice's two chats and her model list, carol's embeddings; a plain key is not counted.
    expect(scrape).toContain('aifwd_forward_key_requests_total{key="alice"} 3');
    expect(scrape).toContain('aifwd_forward_key_requests_total{key="carol"} 1');
    expect(scrape).not.toContain('aifwd_forward_key_requests_total{key="bob"}');
    for (const secret of [POOL, ALICE, BOB, CAROL, PLAIN]) {
      expect(scrape).not.toContain(secret);
      expect(gw.stdout() + gw.stderr()).not.toContain(secret);
    }
  });

  it('closes the ways around the model list: letter case, the query, a JSON body sent as multipart, a declared length too large', async () => {
    const up = await upstream();
    const metricsPort = await freePort();
    const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', up.url, '--metrics-port', String(metricsPort), '--max-body-size', '2kb'], { cwd: configDir(CONFIG) });
    // Go's encoding/json reads "MODEL" as model; LiteLLM reads ?model= over the body's.
    expect((await call(gw.url, ALICE, '/v1/chat/completions', '{"model":"gpt-4o-mini","MODEL":"gpt-4o","messages":[]}')).error?.code).toBe('model_not_allowed');
    expect((await call(gw.url, ALICE, '/v1/chat/completions?model=gpt-4o', chat('gpt-4o-mini'))).error?.code).toBe('model_not_allowed');
    // A JSON body under a multipart type, read by a server that ignores the type.
    const sneaky = await call(gw.url, ALICE, '/v1/chat/completions', `${chat('gpt-4o')}\r\n--X--\r\n`, 'multipart/form-data; boundary=X');
    expect(sneaky).toMatchObject({ status: 400, error: { code: 'model_unreadable' } });
    expect((await call(gw.url, ALICE, '/v1/chat/completions', chat('gpt-4o-mini'), 'application/x-www-form-urlencoded')).error?.code).toBe('model_unreadable');
    // max_body_size still answers for itself, also for a chunked body read to check its model,
    // and that is no policy refusal.
    const chunked = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' },
      body: new Blob([JSON.stringify({ model: 'gpt-4o-mini', input: 'x'.repeat(3000) })]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.text()).toContain('MAX_BODY_SIZE');
    expect(up.requests).toHaveLength(0);
    const scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="alice",code="model_not_allowed"} 2');
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="alice",code="model_unreadable"} 2');
    expect(scrape).not.toContain('code="body_too_large"');
  });

  it('refuses a declared body over 64 MiB for a key with models at once, before reading it', async () => {
    const up = await upstream();
    const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', up.url], { cwd: configDir(CONFIG) });
    // The head only: the answer must come without the body.
    const answer = await rawExchange(gw.port, `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ALICE}\r\ncontent-type: application/json\r\ncontent-length: ${64 * 1024 * 1024 + 1}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"code":"body_too_large"');
    expect(answer).toContain('Forward key alice is limited to some models');
    expect(up.requests).toHaveLength(0);
  });

  it('reads the model field of a multipart upload (audio transcription) and passes the bytes on untouched', async () => {
    const up = await upstream();
    const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', up.url], { cwd: configDir(CONFIG) });
    const audio = new Uint8Array(200_000).map((_, i) => (i * 7) % 256);
    const form = (model: string): FormData => {
      const data = new FormData();
      data.append('file', new Blob([audio], { type: 'audio/wav' }), 'speech.wav');
      data.append('model', model);
      return data;
    };
    expect((await call(gw.url, ALICE, '/v1/audio/transcriptions', form('whisper-1'))).status).toBe(200);
    const refused = await call(gw.url, ALICE, '/v1/audio/transcriptions', form('gpt-4o-transcribe'));
    expect(refused).toMatchObject({ status: 403, error: { code: 'model_not_allowed' } });
    expect(up.requests).toHaveLength(1);
    const body = up.requests[0].body;
    expect(up.requests[0].headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(body.includes(Buffer.from(audio))).toBe(true);
    expect(body.toString('latin1')).toContain('name="model"\r\n\r\nwhisper-1\r\n');
  });

  it('admits rpm requests in any minute, answers the rest 429 with Retry-After, and counts once across --workers 2', async () => {
    const up = await upstream();
    const metricsPort = await freePort();
    const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', up.url, '--workers', '2', '--metrics-port', String(metricsPort)], { cwd: configDir(CONFIG) });
    // Each on a new connection, so both workers serve alice: counted apart, they would admit 8.
    const statuses: number[] = [];
    let limited: Answer | undefined;
    for (let i = 0; i < 10; i++) {
      const res = await call(gw.url, ALICE, '/v1/models');
      statuses.push(res.status);
      if (res.status === 429) limited ??= res;
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429, 429, 429, 429]);
    expect(limited?.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect(limited?.error?.message).toMatch(/^Forward key alice is limited to 4 requests per minute; retry in \d+ s$/);
    const retryAfter = Number(limited?.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(55);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // A client waiting on 100-continue is refused before it uploads: the primary's answer comes
    // first. (dave has an rpm but no models: alice's body is read before her rpm, to check its model.)
    expect((await call(gw.url, DAVE, '/v1/models')).status).toBe(200);
    const raw = await rawExchange(gw.port, `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${DAVE}\r\nexpect: 100-continue\r\ncontent-length: 1000\r\n\r\n`);
    expect(raw).toMatch(/^HTTP\/1\.1 429 /);
    expect(raw).not.toContain('100 Continue');
    // Other keys are not limited by alice's minute.
    expect((await call(gw.url, PLAIN, '/v1/models')).status).toBe(200);
    expect(up.requests).toHaveLength(6);
    // The workers report their counts every second; the primary sums them.
    const series = 'aifwd_forward_key_refusals_total{key="alice",code="rate_limit_exceeded"} 6';
    let scrape = '';
    for (let tries = 0; tries < 30 && !scrape.includes(series); tries++) {
      await sleep(200);
      scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    }
    expect(scrape).toContain(series);
    expect(scrape).toContain('aifwd_forward_key_requests_total{key="alice"} 4');
    expect(scrape).toContain('aifwd_forward_key_refusals_total{key="dave",code="rate_limit_exceeded"} 1');
  });

  it('checks a WebSocket (Realtime) session: its route, the model in its query, before anything goes upstream', async () => {
    const upgrades: string[] = [];
    const server: Server = createServer((_req, res) => res.end());
    server.on('upgrade', (req, socket) => {
      upgrades.push(`${req.url} ${req.headers.authorization === `Bearer ${POOL}` ? 'pool' : 'other'}`);
      socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', base], { cwd: configDir(CONFIG) });
      const upgrade = (target: string): Promise<string> =>
        rawExchange(
          gw.port,
          `GET ${target} HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nauthorization: Bearer ${ALICE}\r\n\r\n`,
        );
      const refused = await upgrade('/v1/realtime?model=gpt-realtime');
      expect(refused).toMatch(/^HTTP\/1\.1 403 /);
      expect(refused).toContain('"code":"model_not_allowed"');
      expect(await upgrade('/v1/responses?model=gpt-4o-mini')).toContain('"code":"route_not_allowed"');
      const allowed = await upgrade('/v1/realtime?model=gpt-4o-mini');
      expect(allowed).toMatch(/^HTTP\/1\.1 400 /);
      expect(upgrades).toEqual(['/v1/realtime?model=gpt-4o-mini pool']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('with the chat log on, counts the tokens of each forward key with a policy, summed over --workers 2', async () => {
    const mock = await startMock();
    try {
      const metricsPort = await freePort();
      const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', mock.url, '--workers', '2', '--metrics-port', String(metricsPort), '--log-chat'], { cwd: configDir(CONFIG) });
      const usage = { input: 0, output: 0 };
      for (let i = 0; i < 4; i++) {
        const res = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json', connection: 'close' }, body: chat('gpt-4o-mini') });
        const reply = (await res.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
        usage.input += reply.usage.prompt_tokens;
        usage.output += reply.usage.completion_tokens;
      }
      // A plain key's tokens count by model only.
      expect((await call(gw.url, PLAIN, '/v1/chat/completions', chat('gpt-4o-mini'))).status).toBe(200);
      expect(usage.input).toBeGreaterThan(0);
      const input = `aifwd_forward_key_tokens_total{key="alice",type="input"} ${usage.input}`;
      let scrape = '';
      for (let tries = 0; tries < 30 && !scrape.includes(input); tries++) {
        await sleep(200);
        scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      }
      expect(scrape).toContain(input);
      expect(scrape).toContain(`aifwd_forward_key_tokens_total{key="alice",type="output"} ${usage.output}`);
      expect(scrape.match(/^aifwd_forward_key_tokens_total\{/gm)).toHaveLength(2);
    } finally {
      await mock.close();
    }
  });

  it('workers started after the config file changed run the configuration the primary read', async () => {
    const up = await upstream();
    const dir = configDir(CONFIG);
    // A port of its own: with port 0, workers that start listening after all listening ones died
    // would get another port than the banner shows.
    const gw = await startGateway(['--config', 'aifwd.yaml', '--base-url', up.url, '--workers', '2', '--port', String(await freePort())], { cwd: dir });
    expect((await call(gw.url, ALICE, '/v1/models')).status).toBe(200);
    // alice leaves the file, a new key comes first; then both workers die and are replaced, so
    // every answer below comes from a worker started after the change.
    writeFileSync(join(dir, 'aifwd.yaml'), `api_key: fake-other-pool-not-real\nforward_key:\n  - fk-fake-newcomer-0000000000\n`);
    const children = (): number[] => {
      try {
        return execFileSync('pgrep', ['-P', String(gw.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
      } catch {
        return []; // none at the moment: pgrep exits 1
      }
    };
    const workers = children();
    expect(workers).toHaveLength(2);
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    let replacements: number[] = [];
    for (let tries = 0; tries < 100; tries++) {
      // One look per try: the killed workers may still be listed until the primary reaps them.
      const now = children();
      if (now.length === 2 && !now.some((pid) => workers.includes(pid))) {
        replacements = now;
        break;
      }
      await sleep(100);
    }
    expect(replacements).toHaveLength(2);
    // The replacements serve alice with the first configuration's pool key, and the primary still
    // counts her rpm of 4 (one used above).
    for (let i = 0; i < 3; i++) expect((await call(gw.url, ALICE, '/v1/models')).status).toBe(200);
    expect(up.requests.map((r) => r.headers.authorization === `Bearer ${POOL}`)).toEqual([true, true, true, true]);
    expect((await call(gw.url, ALICE, '/v1/models')).status).toBe(429);
    expect((await call(gw.url, ALICE, '/v1/embeddings', '{}')).error?.code).toBe('route_not_allowed');
  });

  it('run by another cluster primary (PM2), it serves as a single gateway at once, counting rpm itself', async () => {
    const up = await upstream();
    const dir = configDir(CONFIG);
    const port = await freePort();
    const script = join(dir, 'foreign-primary.mjs');
    // A plain node:cluster primary that forks the gateway once and answers nothing.
    writeFileSync(script, `import cluster from 'node:cluster';\ncluster.setupPrimary({ exec: ${JSON.stringify(BIN)}, args: ['run', '--host', '127.0.0.1', '--port', '${port}', '--config', 'aifwd.yaml', '--base-url', '${up.url}'] });\ncluster.fork();\nprocess.on('SIGTERM', () => process.exit(0));\n`);
    const primary = spawn(process.execPath, [script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      primary.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const started = Date.now();
      for (let tries = 0; tries < 100 && !out.includes('listening'); tries++) await sleep(50);
      expect(out).toContain('listening');
      // It asked nobody for its configuration (no 5 s wait), and counts dave's rpm of 1 itself.
      expect(Date.now() - started).toBeLessThan(3000);
      expect((await call(`http://127.0.0.1:${port}`, DAVE, '/v1/models')).status).toBe(200);
      const second = Date.now();
      expect((await call(`http://127.0.0.1:${port}`, DAVE, '/v1/models')).status).toBe(429);
      expect(Date.now() - second).toBeLessThan(500);
    } finally {
      // Its worker leaves with it (the cluster channel closes).
      primary.kill('SIGTERM');
      await new Promise((resolve) => primary.once('exit', resolve));
    }
  });

  it('refuses a bad policy at start-up with one line naming the entry, never the key, and exit 2', async () => {
    const up = await upstream();
    for (const [yaml, message] of [
      [`api_key: ${POOL}\nforward_key:\n  - key: ${ALICE}\n    rpm: 0\n`, 'entry 1: "rpm" must be a whole number of requests per minute from 1 to 100000'],
      [`api_key: ${POOL}\nforward_key:\n  - key: ${ALICE}\n    modles: [a]\n`, 'entry 1: unknown field "modles"'],
      [`forward_key:\n  - key: ${ALICE}\n    name: alice\n    rpm: 5\n`, 'forward key alice has a policy, but there is no key pool'],
      // The key written where a field belongs (a YAML slip) is not printed whole.
      [`api_key: ${POOL}\nforward_key:\n  - ${ALICE}:\n      models: [gpt-4o-mini]\n`, 'entry 1: unknown field "fk…0000"'],
    ] as const) {
      const run = runCli(['run', '--config', 'aifwd.yaml', '--base-url', up.url, '--port', '0'], { cwd: configDir(yaml) });
      expect(await run.exited).toBe(2);
      expect(run.stderr()).toContain(message);
      expect(run.stderr().trim().split('\n')).toHaveLength(1);
      expect(run.stderr()).not.toContain(ALICE);
    }
  });
});
