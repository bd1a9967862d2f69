/**
 * A/B micro-benchmark of the chat log's WebAssembly line builder (src/core/chat-lines-wasm.ts and
 * wasm/) alone: two builds loaded in one process, their rounds alternating, so that a machine
 * whose speed drifts from minute to minute (as this VM's does) moves both alike. It prints each
 * build's minimum and median CPU ns per exchange and the median over rounds of B's time ÷ A's.
 *
 *   npm run build && node bench/micro/chat-lines-ab.mjs --a DIR --b DIR [--rounds 15] [--only both,req,resp,respoa]
 *
 * `--a` and `--b` are package roots holding `dist/` and `wasm/build/` (a copy of an older build, a
 * git worktree); both default to this one. Scenarios, each built 100,000 times per round:
 * - both:   the request line and the response line of the bench's exchange (bench/wrk.ts's request,
 *           bench/nginx.ts's reply);
 * - req:    its request line alone;
 * - resp:   its response line alone;
 * - respoa: the response line of a reply as OpenAI writes it (bodies.mjs: pretty-printed, usage details).
 */
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { openaiReply } from './bodies.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i === -1 ? fallback : args[i + 1];
};
const here = fileURLToPath(new URL('../..', import.meta.url));
const roots = [resolve(option('a', here)), resolve(option('b', here))];
const rounds = Number(option('rounds', '15'));
const only = option('only', 'both,req,resp,respoa').split(',');
const N = 100_000;

const builders = [];
for (const root of roots) {
  const { createChatLineBuilder } = await import(pathToFileURL(`${root}/dist/core/chat-lines-wasm.js`).href);
  const builder = createChatLineBuilder(() => {});
  if (builder === null) throw new Error(`${root}: the module could not be loaded (npm run build there)`);
  builders.push(builder);
}

const request = Buffer.from(
  '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"What is the capital of France, and what river runs through it? One sentence please."}],"temperature":0.2,"max_tokens":64,"stream":false,"user":"bench-user-0001"}',
);
const reply = Buffer.from(
  '{"id":"chatcmpl-bench000000000000000000000001","object":"chat.completion","created":1735689600,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Paris is the capital of France, and the Seine runs"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":38,"completion_tokens":9,"total_tokens":47}}',
);
const startedAt = Date.now();
const uid = 'abcdef01-2345-6789-abcd-';
/** One round of `scenario` on `builder`: CPU ns per exchange. */
function round(builder, scenario) {
  const t0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const uidLow = i & 0xffff;
    if (scenario === 'both' || scenario === 'req') {
      if (!builder.requestLine({ uid, uidLow, startedAt, ip: '127.0.0.1', route: '/v1/chat/completions' }, request)) throw new Error('request line declined');
    }
    if (scenario !== 'req') {
      const body = scenario === 'respoa' ? openaiReply : reply;
      if (!builder.responseLine({ uid, uidLow, endedAt: startedAt + 1, status: 200, ttftMs: 1, durationMs: 1 }, 'chat', body)) throw new Error('response line declined');
    }
    // As the log hands the outbox over once per event-loop turn (~20 exchanges under load).
    if ((i & 31) === 31) builder.flush();
  }
  builder.flush();
  const used = process.cpuUsage(t0);
  return ((used.user + used.system) * 1000) / N;
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
console.log(`A: ${roots[0]}\nB: ${roots[1]}\nrounds: ${rounds} (CPU ns per exchange, user+system)`);
for (const scenario of only) {
  const a = [];
  const b = [];
  for (let r = 0; r < rounds; r++) {
    a.push(round(builders[0], scenario));
    b.push(round(builders[1], scenario));
  }
  const ratios = a.map((x, r) => b[r] / x);
  console.log(
    `${scenario.padEnd(7)} A min ${Math.min(...a).toFixed(0)} median ${median(a).toFixed(0)} | B min ${Math.min(...b).toFixed(0)} median ${median(b).toFixed(0)} | B ÷ A ${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)})`,
  );
}
