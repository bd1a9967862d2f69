/**
 * Micro-benchmark of the chat-log tap alone: no sockets, no file — `append` only looks at each line.
 * It measures the CPU the tap adds per exchange on the gateway's hot path (DESIGN §7, measure 4).
 *
 *   npm run build && node bench/micro/chat-log-tap.mjs [--dist DIR] [--rounds N] [--sink count|bytes|lines] [--only json,sse10]
 *
 * `--dist` points at another build (e.g. a copy of an older dist/) to compare before/after on the
 * same machine. As `aifwd run` has it, the hook also gets `appendLines`, so the common lines are
 * built in WebAssembly (builds from before take `appendBytes`, also given; older ones ignore both).
 * `--sink bytes` makes `append` compute each line's UTF-8 length, as the file writer does, so a
 * line built by concatenation pays for being flattened here, not later; `--sink lines` puts every
 * line in the file writer's buffer (line-batch.ts), as the log does before each write.
 *
 * Scenarios (all `POST /v1/chat/completions`, the same ~230-byte request body):
 * - json:    a 300-byte chat.completion reply in one chunk (the issue's example);
 * - jsonzh:  the same exchange in Chinese (request and reply text in non-ASCII UTF-8);
 * - jsonoa:  the json exchange with the reply as OpenAI writes it (pretty-printed, ~800 bytes);
 * - sse10:   10 chat.completion.chunk events (role, 8 tokens, finish) + [DONE], 4 events per chunk;
 * - sse100:  the same with 100 events; (sse100 − sse10) / 90 is the marginal cost of one event;
 * - sse100o: 100 events shaped as OpenAI sends them today (service_tier, system_fingerprint,
 *            `"usage":null` and a varying-length `obfuscation` member after `choices`), 1 per chunk.
 * Each prints the median and the minimum over rounds of CPU µs (user + system) per exchange.
 */
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openaiReply as replyOpenai } from './bodies.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const dist = resolve(option('dist', fileURLToPath(new URL('../../dist', import.meta.url))));
const rounds = Number(option('rounds', '7'));
const sinkMode = option('sink', 'count');
const only = option('only', '');

const { createChatLogHook } = await import(pathToFileURL(`${dist}/chat-log/tap.js`).href);
const { readUpstreamHeaders } = await import(pathToFileURL(`${dist}/core/headers.js`).href);

const { LineBytes } = await import(pathToFileURL(`${dist}/chat-log/line-batch.js`).href);

let lines = 0;
let bytes = 0;
/** The file writer's buffer (`--sink lines`): emptied every 1 MiB, as writes would. */
const buffer = new LineBytes();
const drain = () => {
  if (buffer.size > 1024 * 1024) buffer.recycle(buffer.take());
};
// Per sink: [append, appendLines, appendBytes]. appendBytes (one line, no newline) is what builds
// before 2026-11-28 take instead of appendLines, so that `--dist` can point at one of them.
/** Counts a block of lines, or a line given as bytes, without looking at them. */
const countBlock = (block, count) => {
  lines += count;
  bytes += block.length;
};
const countLine = (line) => {
  lines++;
  bytes += line.length + 1;
};
const sinks = {
  count: [
    (line) => {
      lines++;
      bytes += line.length;
    },
    countBlock,
    countLine,
  ],
  bytes: [
    (line) => {
      lines++;
      bytes += Buffer.byteLength(line);
    },
    countBlock,
    countLine,
  ],
  lines: [
    (line) => {
      lines++;
      buffer.push(line);
      drain();
    },
    (block, count) => {
      lines += count;
      buffer.pushLines(block, count);
      drain();
    },
    (line) => {
      lines++;
      buffer.pushBytes(line);
      drain();
    },
  ],
};
const [append, appendLines, appendBytes] = sinks[sinkMode];
// As `aifwd run` has it: the log tells the metrics each reply's usage (counted here, not summed).
let usages = 0;
const hook = createChatLogHook({ append, appendLines, appendBytes, onUsage: () => usages++ });

const requestBody = (stream) =>
  Buffer.from(
    `{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello! Could you tell me a short joke about proxies and gateways, please?"}],"temperature":0.7,"max_tokens":64${stream ? ',"stream":true' : ''}}`,
  );
const reply = Buffer.from(
  '{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}',
);
// The json scenario in Chinese: bodies with non-ASCII UTF-8 text, as many users' are.
const requestBodyZh = Buffer.from(
  '{"model":"qwen-plus","messages":[{"role":"system","content":"你是一个乐于助人的助手。"},{"role":"user","content":"你好！能给我讲一个关于代理和网关的简短笑话吗？"}],"temperature":0.7,"max_tokens":64}',
);
const replyZh = Buffer.from(
  '{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"qwen-plus","choices":[{"index":0,"message":{"role":"assistant","content":"你好！今天我能帮你做些什么？"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":9,"total_tokens":18}}',
);
const jsonHead = readUpstreamHeaders(['content-type', 'application/json', 'content-length', String(reply.length)]);
const sseHead = readUpstreamHeaders(['content-type', 'text/event-stream; charset=utf-8']);

/** `count` events as network chunks of `perChunk` events each (the last chunk adds [DONE]). */
function sseChunks(count, perChunk = 4, openai = false) {
  const events = [];
  const base = openai
    ? '"id":"chatcmpl-D0q8CZXN1uEzngZGkU7FuV92lnXWq","object":"chat.completion.chunk","created":1769092764,"model":"gpt-4o-mini-2024-07-18","service_tier":"default","system_fingerprint":"fp_29330a9688"'
    : '"id":"chatcmpl-bench000000000000000000000001","object":"chat.completion.chunk","created":1735689600,"model":"gpt-4o-mini-2024-07-18"';
  const padding = 'ZGFsbRK2aBvkJ0wmdEAC';
  for (let i = 0; i < count; i++) {
    let choice;
    if (i === 0) choice = '{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}';
    else if (i === count - 1) choice = '{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}';
    else choice = `{"index":0,"delta":{"content":" tok${i}"},"logprobs":null,"finish_reason":null}`;
    const tail = openai ? `,"usage":null,"obfuscation":"${padding.slice(0, 1 + (i * 7) % padding.length)}"` : '';
    events.push(`data: {${base},"choices":[${choice}]${tail}}\n\n`);
  }
  events.push('data: [DONE]\n\n');
  const chunks = [];
  for (let i = 0; i < events.length; i += perChunk) chunks.push(Buffer.from(events.slice(i, i + perChunk).join('')));
  return chunks;
}

const scenarios = {
  json: { body: requestBody(false), head: jsonHead, chunks: [reply], n: 100_000 },
  jsonzh: { body: requestBodyZh, head: jsonHead, chunks: [replyZh], n: 100_000 },
  jsonoa: { body: requestBody(false), head: jsonHead, chunks: [replyOpenai], n: 100_000 },
  sse10: { body: requestBody(true), head: sseHead, chunks: sseChunks(10), n: 40_000 },
  sse100: { body: requestBody(true), head: sseHead, chunks: sseChunks(100), n: 5_000 },
  sse100o: { body: requestBody(true), head: sseHead, chunks: sseChunks(100, 1, true), n: 5_000 },
};

async function run({ body, head, chunks, n }) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    // Yield now and then, as a server would: lets deferred work (setImmediate) run in batches.
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    const tap = hook.open({ method: 'POST', route: '/v1/chat/completions', ip: '127.0.0.1', startedAt: Date.now() });
    tap.requestBody(body);
    tap.responseStart(200, head);
    for (const chunk of chunks) tap.responseData(chunk);
    tap.end({ kind: 'complete' });
  }
  await hook.settled();
  const c = process.cpuUsage(t0);
  return (c.user + c.system) / n;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const [name, scenario] of Object.entries(scenarios)) {
  if (only !== '' && !only.split(',').includes(name)) continue;
  await run({ ...scenario, n: Math.ceil(scenario.n / 4) }); // warm-up
  const times = [];
  for (let r = 0; r < rounds; r++) times.push(await run(scenario));
  results[name] = median(times);
  results[`${name}Min`] = Math.min(...times);
}
if (hook.failures !== 0) throw new Error(`tap failures: ${hook.failures}`);

const f = (x) => x.toFixed(2).padStart(6);
console.log(`dist: ${dist}  sink: ${sinkMode}  rounds: ${rounds}  (CPU µs, user+system: median / min over rounds)`);
for (const [name, events] of [['json', 0], ['jsonzh', 0], ['jsonoa', 0], ['sse10', 10], ['sse100', 100], ['sse100o', 100]]) {
  if (results[name] === undefined) continue;
  const perEvent = events === 0 ? '' : `   per event (fixed cost included) ${f(results[name] / events)}`;
  console.log(`${name.padEnd(8)} per exchange ${f(results[name])} / ${f(results[`${name}Min`])}${perEvent}`);
}
if (results.sse100 !== undefined && results.sse10 !== undefined) {
  console.log(`marginal per SSE event ${f((results.sse100 - results.sse10) / 90)} / ${f((results.sse100Min - results.sse10Min) / 90)}   ((sse100 - sse10) / 90)`);
}
if (sinkMode !== 'lines') console.log(`lines ${lines}, avg line ${(bytes / lines).toFixed(0)} ${sinkMode === 'bytes' ? 'bytes' : 'chars'}`);
