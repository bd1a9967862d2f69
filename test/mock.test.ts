import { createHash } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliDecompressSync, createGunzip, gunzipSync, inflateSync } from 'node:zlib';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMockListener, MOCK_HEADERS, startMock, type MockServer } from '../src/mock/server.js';

let mock: MockServer;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMock();
  client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: 'sk-test-fake', maxRetries: 0 });
});

afterAll(async () => {
  await mock.close();
});

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body as received, one entry per socket read. */
  chunks: Buffer[];
  /** Set when the connection broke before the body ended. */
  error?: Error;
}

interface RawOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A plain node:http request: no decoding, no retries, errors reported rather than thrown. */
function raw(path: string, { method = 'POST', headers = {}, body }: RawOptions = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(`${mock.url}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      const done = (error?: Error): void => resolve({
        status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), chunks, error,
      });
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done());
      res.on('error', (err) => done(err));
      res.on('aborted', () => done(new Error('aborted')));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function chatBody(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], ...extra });
}

interface Spy {
  url: string;
  /** Every `res.write` the mock listener made, with the time it happened. */
  writes: { chunk: string; at: number }[];
  /** When each response emitted 'close'. */
  closes: number[];
  close(): Promise<void>;
}

/** Mounts the mock listener on a server that records each `res.write` call. */
async function startSpy(): Promise<Spy> {
  const listener = createMockListener();
  const writes: Spy['writes'] = [];
  const closes: number[] = [];
  const server: Server = createServer((req, res) => {
    const write = res.write.bind(res) as (chunk: string | Buffer) => boolean;
    res.write = ((chunk: string | Buffer) => {
      writes.push({ chunk: String(chunk), at: performance.now() });
      return write(chunk);
    }) as typeof res.write;
    res.on('close', () => closes.push(performance.now()));
    listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    writes,
    closes,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The `data:` payloads of an SSE text. */
function dataLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.startsWith('data: ')).map((line) => line.slice(6));
}

describe('mock upstream through the official SDK', () => {
  it('answers chat completions as JSON with usage', async () => {
    const completion = await client.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe('gpt-test');
    expect(completion.choices[0].message).toMatchObject({ role: 'assistant', content: 'Hello from the aifwd mock upstream!' });
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.usage?.completion_tokens).toBe(8);
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + 8);
  });

  it('streams chat completions: role first, 8 deltas, finish, usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    const chunks = [];
    for await (const chunk of stream) {
      chunks.push(chunk);
      const content = chunk.choices[0]?.delta.content;
      if (content) deltas.push(content);
    }
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(deltas).toHaveLength(8);
    expect(deltas.join('')).toBe('Hello from the aifwd mock upstream!');
    expect(chunks.at(-2)?.choices[0].finish_reason).toBe('stop');
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.completion_tokens).toBe(8);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('honours x-mock-chunks in stream and JSON alike', async () => {
    const headers = { 'x-mock-chunks': '3' };
    const json = await client.chat.completions.create({ model: 'm', messages: [] }, { headers });
    expect(json.choices[0].message.content).toBe('tok0 tok1 tok2 ');
    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true }, { headers });
    const deltas: string[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) deltas.push(chunk.choices[0].delta.content);
    expect(deltas).toEqual(['tok0 ', 'tok1 ', 'tok2 ']);
    const none = await client.chat.completions.create({ model: 'm', messages: [] }, { headers: { 'x-mock-chunks': '0' } });
    expect(none.choices[0].message.content).toBe('');
  });

  it('answers legacy completions, JSON and stream', async () => {
    const json = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });
    expect(json.object).toBe('text_completion');
    expect(json.choices[0].text).toBe('Hello from the aifwd mock upstream!');
    expect(json.usage?.completion_tokens).toBe(8);
    const stream = await client.completions.create({ model: 'x', prompt: 'Say hi', stream: true }, { headers: { 'x-mock-chunks': '4' } });
    let text = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0].text;
      finish = chunk.choices[0].finish_reason ?? finish;
    }
    expect(text).toBe('tok0 tok1 tok2 tok3 ');
    expect(finish).toBe('stop');
  });

  it('answers the Responses API as JSON', async () => {
    const response = await client.responses.create({ model: 'gpt-test', input: 'hi', instructions: 'be brief' });
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.output_text).toBe('Hello from the aifwd mock upstream!');
    expect(response.instructions).toBe('be brief');
    expect(response.usage?.output_tokens).toBe(8);
  });

  it('streams the Responses API with the real event names and sequence numbers', async () => {
    const stream = await client.responses.create({ model: 'gpt-test', input: 'hi', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(8);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.flatMap((e) => (e.type === 'response.output_text.delta' ? [e.delta] : [])).join('');
    expect(text).toBe('Hello from the aifwd mock upstream!');
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error('no response.completed');
    expect(completed.response.usage?.total_tokens).toBeGreaterThan(8);
    expect(completed.response.output[0]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text }] });
  });

  it('returns deterministic embeddings, base64 (SDK default) and float alike', async () => {
    const viaSdk = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    expect(viaSdk.data).toHaveLength(2);
    expect(viaSdk.data[0].embedding).toHaveLength(8);
    const norm = Math.hypot(...viaSdk.data[0].embedding);
    expect(norm).toBeCloseTo(1, 5);
    const floats = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'alpha', encoding_format: 'float' });
    expect(floats.data[0].embedding).toEqual(viaSdk.data[0].embedding);
    expect(viaSdk.data[1].embedding).not.toEqual(viaSdk.data[0].embedding);
    const wide = await client.embeddings.create({ model: 'e', input: 'alpha', dimensions: 32, encoding_format: 'float' });
    expect(wide.data[0].embedding).toHaveLength(32);
  });

  it('lists and retrieves models; an unknown model is a 404', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toContain('gpt-4o-mini');
    expect((await client.models.retrieve('gpt-4o')).object).toBe('model');
    await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('accepts a multipart file upload and reports its size and sha256', async () => {
    const content = Buffer.from('{"messages":[{"role":"user","content":"hi"}]}\n'.repeat(100) + '\u00e9\u0000\u00ff');
    const file = await client.files.create({ file: await toFile(content, 'train.jsonl'), purpose: 'fine-tune' });
    expect(file).toMatchObject({ object: 'file', bytes: content.length, filename: 'train.jsonl', purpose: 'fine-tune' });
    expect(file.id).toMatch(/^file-/);
    expect((file as unknown as { sha256: string }).sha256).toBe(createHash('sha256').update(content).digest('hex'));
  });

  it('turns x-mock-status 429 into a RateLimitError', async () => {
    const call = client.chat.completions.create({ model: 'm', messages: [] }, { headers: { 'x-mock-status': '429' } });
    await expect(call).rejects.toBeInstanceOf(OpenAI.RateLimitError);
  });
});

describe('steering headers (raw HTTP)', () => {
  it('documents every header', () => {
    expect(MOCK_HEADERS).toContain('x-mock-chunks');
    expect(MOCK_HEADERS).toHaveLength(10);
  });

  it('answers injected statuses in the OpenAI error shape', async () => {
    const limited = await raw('/v1/chat/completions', { headers: { 'x-mock-status': '429' }, body: chatBody() });
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect(JSON.parse(limited.body.toString()).error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });
    const auth = await raw('/v1/chat/completions', { headers: { 'x-mock-status': '401' }, body: chatBody() });
    expect(JSON.parse(auth.body.toString()).error.code).toBe('invalid_api_key');
    const broken = await raw('/v1/chat/completions', { headers: { 'x-mock-status': '500' }, body: chatBody() });
    expect(JSON.parse(broken.body.toString()).error.type).toBe('server_error');
    const bad = await raw('/v1/chat/completions', { headers: { 'x-mock-chunks': 'many' }, body: chatBody() });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body.toString()).error.code).toBe('invalid_mock_header');
  });

  it('answers 404 for unknown routes and 400 for invalid JSON', async () => {
    const missing = await raw('/v1/nothing', { method: 'GET' });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toEqual({
      error: { message: 'Invalid URL (GET /v1/nothing)', type: 'invalid_request_error', code: 'not_found', param: null },
    });
    const invalid = await raw('/v1/chat/completions', { body: '{"model":' });
    expect(invalid.status).toBe(400);
    expect(JSON.parse(invalid.body.toString()).error.type).toBe('invalid_request_error');
  });

  it('sends SSE with the right headers, one write per event, and JSON with content-length', async () => {
    const stream = await raw('/v1/chat/completions', { body: chatBody({ stream: true }) });
    expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers['cache-control']).toBe('no-cache');
    expect(stream.headers['transfer-encoding']).toBe('chunked');
    const data = dataLines(stream.body.toString());
    expect(data).toHaveLength(11); // role, 8 deltas, finish, [DONE]
    expect(data.at(-1)).toBe('[DONE]');
    const json = await raw('/v1/chat/completions', { body: chatBody() });
    expect(Number(json.headers['content-length'])).toBe(json.body.length);

    const spy = await startSpy();
    const res = await fetch(`${spy.url}/v1/chat/completions`, {
      method: 'POST', body: chatBody({ stream: true }), headers: { 'x-mock-ping': 'true' },
    });
    await res.text();
    await spy.close();
    const writes = spy.writes.map((w) => w.chunk);
    expect(writes.filter((w) => w.startsWith('data: '))).toHaveLength(11);
    expect(writes.filter((w) => w === ': ping\n\n')).toHaveLength(10);
    expect(writes.every((w) => w.endsWith('\n\n'))).toBe(true);
  });

  it('uses CRLF line endings and pings when asked', async () => {
    const res = await raw('/v1/chat/completions', { headers: { 'x-mock-crlf': 'true', 'x-mock-ping': '1' }, body: chatBody({ stream: true }) });
    const text = res.body.toString();
    expect(text).toContain('\r\n\r\n');
    expect(text).not.toMatch(/[^\r]\n/);
    expect(text).toContain(': ping\r\n\r\n');
  });

  it('cuts a stream after x-mock-reset-after deltas: the client sees an error, no [DONE]', async () => {
    const res = await raw('/v1/chat/completions', { headers: { 'x-mock-reset-after': '2', 'x-mock-chunks': '5' }, body: chatBody({ stream: true }) });
    expect(res.error).toBeDefined();
    const text = res.body.toString();
    expect(text).toContain('tok1 ');
    expect(text).not.toContain('tok2 ');
    expect(text).not.toContain('[DONE]');
    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true }, { headers: { 'x-mock-reset-after': '3' } });
    const seen: string[] = [];
    await expect((async () => {
      for await (const chunk of stream) if (chunk.choices[0]?.delta.content) seen.push(chunk.choices[0].delta.content);
    })()).rejects.toThrow();
    expect(seen).toEqual(['Hello', ' from', ' the']);
  });

  it('cuts a non-stream request before answering', async () => {
    await expect(fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST', body: chatBody(), headers: { 'x-mock-reset-after': '0' },
    })).rejects.toThrow();
  });

  it('compresses streams so each event decodes as it arrives (gzip)', async () => {
    const events = await new Promise<{ firstAt: number; endAt: number; text: string; encoding?: string }>((resolve, reject) => {
      const started = Date.now();
      const req = request(`${mock.url}/v1/chat/completions`, {
        method: 'POST', agent: false,
        headers: { 'x-mock-encoding': 'gzip', 'x-mock-chunks': '3', 'x-mock-delay-ms': '40' },
      }, (res) => {
        let text = '';
        let firstAt = 0;
        const gunzip = res.pipe(createGunzip());
        gunzip.on('data', (chunk: Buffer) => {
          if (firstAt === 0 && chunk.toString().includes('tok0')) firstAt = Date.now() - started;
          text += chunk.toString();
        });
        gunzip.on('end', () => resolve({ firstAt, endAt: Date.now() - started, text, encoding: res.headers['content-encoding'] }));
        gunzip.on('error', reject);
      });
      req.end(chatBody({ stream: true }));
    });
    expect(events.encoding).toBe('gzip');
    expect(dataLines(events.text).at(-1)).toBe('[DONE]');
    expect(dataLines(events.text).slice(0, -1).map((d) => JSON.parse(d).object)).toSatisfy((o: string[]) => o.every((x) => x === 'chat.completion.chunk'));
    expect(events.firstAt).toBeGreaterThan(0);
    expect(events.endAt - events.firstAt).toBeGreaterThanOrEqual(60);
  });

  it('compresses JSON with gzip, br and deflate', async () => {
    for (const [encoding, decode] of [['gzip', gunzipSync], ['br', brotliDecompressSync], ['deflate', inflateSync]] as const) {
      const res = await raw('/v1/chat/completions', { headers: { 'x-mock-encoding': encoding }, body: chatBody() });
      expect(res.headers['content-encoding']).toBe(encoding);
      expect(Number(res.headers['content-length'])).toBe(res.body.length);
      expect(JSON.parse(decode(res.body).toString()).choices[0].message.content).toBe('Hello from the aifwd mock upstream!');
    }
    const br = await raw('/v1/responses', { headers: { 'x-mock-encoding': 'br' }, body: JSON.stringify({ model: 'm', input: 'x', stream: true }) });
    expect(brotliDecompressSync(br.body).toString()).toContain('event: response.completed');
  });

  it('streams tool calls with split arguments (chat) and function_call items (responses)', async () => {
    const headers = { 'x-mock-tool-calls': 'get_weather,get_time' };
    const stream = await client.chat.completions.create({ model: 'm', messages: [], stream: true }, { headers });
    const calls: { id?: string; name?: string; args: string }[] = [];
    let finish: string | null = null;
    let argumentDeltas = 0;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      finish = choice?.finish_reason ?? finish;
      for (const call of choice?.delta.tool_calls ?? []) {
        calls[call.index] ??= { args: '' };
        if (call.id) calls[call.index].id = call.id;
        if (call.function?.name) calls[call.index].name = call.function.name;
        if (call.function?.arguments) {
          calls[call.index].args += call.function.arguments;
          argumentDeltas++;
        }
      }
    }
    expect(finish).toBe('tool_calls');
    expect(calls.map((c) => c.name)).toEqual(['get_weather', 'get_time']);
    expect(calls.map((c) => JSON.parse(c.args))).toEqual([{ city: 'Paris' }, { city: 'Paris' }]);
    expect(calls.every((c) => c.id?.startsWith('call_'))).toBe(true);
    expect(argumentDeltas).toBeGreaterThan(2);

    const json = await client.chat.completions.create({ model: 'm', messages: [] }, { headers });
    expect(json.choices[0].finish_reason).toBe('tool_calls');
    expect(json.choices[0].message.tool_calls?.map((c) => c.type === 'function' && c.function.name)).toEqual(['get_weather', 'get_time']);

    const events = [];
    for await (const e of await client.responses.create({ model: 'm', input: 'x', stream: true }, { headers })) events.push(e);
    const args = events.flatMap((e) => (e.type === 'response.function_call_arguments.delta' ? [e.delta] : []));
    expect(args.join('')).toBe('{"city":"Paris"}{"city":"Paris"}');
    const done = events.at(-1);
    if (done?.type !== 'response.completed') throw new Error('no response.completed');
    expect(done.response.output.map((o) => o.type)).toEqual(['function_call', 'function_call']);
  });

  it('sends reasoning before the answer', async () => {
    const headers = { 'x-mock-reasoning': 'true' };
    const res = await raw('/v1/chat/completions', { headers, body: chatBody({ stream: true }) });
    const deltas = dataLines(res.body.toString()).slice(0, -1).map((d) => JSON.parse(d).choices[0].delta);
    const reasoning = deltas.filter((d) => d.reasoning_content).map((d) => d.reasoning_content).join('');
    expect(reasoning).toBe('Thinking about it.');
    expect(deltas.findIndex((d) => d.reasoning_content)).toBeLessThan(deltas.findIndex((d) => d.content));
    const json = await raw('/v1/chat/completions', { headers, body: chatBody() });
    expect(JSON.parse(json.body.toString()).choices[0].message.reasoning_content).toBe('Thinking about it.');
    const events = [];
    for await (const e of await client.responses.create({ model: 'm', input: 'x', stream: true }, { headers })) events.push(e);
    expect(events[2]).toMatchObject({ type: 'response.output_item.added', item: { type: 'reasoning' } });
    const summary = events.flatMap((e) => (e.type === 'response.reasoning_summary_text.delta' ? [e.delta] : [])).join('');
    expect(summary).toBe('Thinking about it.');
  });

  it('delays the first byte and each delta', async () => {
    const started = Date.now();
    const res = await fetch(`${mock.url}/v1/chat/completions`, {
      method: 'POST', body: chatBody({ stream: true }),
      headers: { 'x-mock-first-byte-ms': '60', 'x-mock-delay-ms': '15', 'x-mock-chunks': '4' },
    });
    const headersAt = Date.now() - started;
    await res.text();
    expect(headersAt).toBeGreaterThanOrEqual(55);
    expect(Date.now() - started).toBeGreaterThanOrEqual(55 + 4 * 14);
  });

  it('stops writing and clears its timer when the client goes away', async () => {
    const spy = await startSpy();
    const controller = new AbortController();
    const res = await fetch(`${spy.url}/v1/chat/completions`, {
      method: 'POST', body: chatBody({ stream: true }), signal: controller.signal,
      headers: { 'x-mock-delay-ms': '20', 'x-mock-chunks': '1000' },
    });
    const reader = res.body?.getReader();
    await reader?.read();
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await spy.close();
    expect(spy.closes).toHaveLength(1);
    expect(spy.writes.length).toBeGreaterThan(0);
    expect(spy.writes.length).toBeLessThan(10);
    expect(spy.writes.every((w) => w.at <= spy.closes[0])).toBe(true);
  });

  it('closes promptly with a delayed stream in progress', async () => {
    const own = await startMock();
    const controller = new AbortController();
    const res = await fetch(`${own.url}/v1/chat/completions`, {
      method: 'POST', body: chatBody({ stream: true }), signal: controller.signal,
      headers: { 'x-mock-delay-ms': '50', 'x-mock-chunks': '1000' },
    });
    const reader = res.body?.getReader();
    await reader?.read();
    controller.abort();
    const started = Date.now();
    await own.close();
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('echoes the request with credentials masked', async () => {
    const body = Buffer.from('some body bytes');
    const res = await raw('/mock/echo/deeper/path?a=1&b=%20x', {
      method: 'PUT', body,
      headers: { authorization: 'Bearer sk-test-secret-key-1234', 'api-key': 'azure-secret-key-9876', 'x-custom': 'kept', 'x-api-key': 'short' },
    });
    const echo = JSON.parse(res.body.toString());
    expect(echo).toMatchObject({
      method: 'PUT', path: '/mock/echo/deeper/path', query: 'a=1&b=%20x',
      body_bytes: body.length, body_sha256: createHash('sha256').update(body).digest('hex'),
    });
    expect(echo.headers.authorization).toBe('Bearer sk-te…1234');
    expect(echo.headers['api-key']).toBe('azure…9876');
    expect(echo.headers['x-api-key']).toBe('*****');
    expect(echo.headers['x-custom']).toBe('kept');
    expect(res.body.toString()).not.toContain('secret');
  });
});
