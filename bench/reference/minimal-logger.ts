/**
 * Measure 4's yardstick: aifwd's own forwarding (the same settings as the gateway under test) with
 * the least work any chat log has to do per exchange, instead of aifwd's chat log. It is what nginx
 * is to measure 1: not a product, a floor. Per exchange it keeps the request body and the response
 * chunks (references, as the real tap does), checks both bodies are JSON with a strict scan of
 * their bytes (a log must know whether a body parsed), and appends two lines — a short envelope
 * (uid, time, status) around the raw bodies — to one buffer that goes to the file every 100 ms with
 * one write. It does not read a single field out of either body: no model, messages, assistant
 * text or usage, none of the contract's record (DESIGN §6). So the distance from its throughput to
 * the gateway's without a log is what logging costs at the least on this core, and the distance
 * from aifwd's log to it is the cost of building the contract's records.
 *
 *   node bench/dist/reference/minimal-logger.js PORT UPSTREAM_PORT LOG_DIR
 */
import { mkdirSync, openSync, write } from 'node:fs';
import { join } from 'node:path';
import { createGateway, type ExchangeHook, type ExchangeTap, loadConfig, tuneV8ForServing } from 'aifwd';
import { coreSettings } from '../gateway.js';

const [port, upstreamPort, logDir] = process.argv.slice(2);
if (port === undefined || upstreamPort === undefined || logDir === undefined) {
  process.stderr.write('usage: minimal-logger.js PORT UPSTREAM_PORT LOG_DIR\n');
  process.exit(2);
}

/** 1 for the bytes that may stand in a JSON string unescaped (UTF-8 is not checked: a floor). */
const PLAIN = new Uint8Array(256).fill(1);
for (let b = 0; b < 0x20; b++) PLAIN[b] = 0;
PLAIN[0x22] = 0;
PLAIN[0x5c] = 0;

function space(b: Buffer, i: number): number {
  let c = b[i];
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++i];
  return i;
}

function string(b: Buffer, i: number): number {
  for (;;) {
    while (PLAIN[b[i]] === 1) i++;
    const c = b[i];
    if (c === 0x22) return i + 1;
    if (c !== 0x5c) return -1;
    i += b[i + 1] === 0x75 ? 6 : 2;
  }
}

function number(b: Buffer, i: number): number {
  const start = i;
  let c = b[i];
  while ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) c = b[++i];
  return i === start ? -1 : i;
}

/** Index just past the JSON value at `i`, or -1. */
function value(b: Buffer, i: number, depth: number): number {
  const c = b[i];
  if (c === 0x22) return string(b, i + 1);
  if (c === 0x7b || c === 0x5b) {
    if (depth > 64) return -1;
    const object = c === 0x7b;
    const close = object ? 0x7d : 0x5d;
    i = space(b, i + 1);
    if (b[i] === close) return i + 1;
    for (;;) {
      if (object) {
        if (b[i] !== 0x22) return -1;
        i = space(b, string(b, i + 1));
        if (i < 0 || b[i] !== 0x3a) return -1;
        i = space(b, i + 1);
      }
      i = value(b, i, depth + 1);
      if (i < 0) return -1;
      i = space(b, i);
      if (b[i] === close) return i + 1;
      if (b[i] !== 0x2c) return -1;
      i = space(b, i + 1);
    }
  }
  if (c === 0x74) return b.toString('latin1', i, i + 4) === 'true' ? i + 4 : -1;
  if (c === 0x66) return b.toString('latin1', i, i + 5) === 'false' ? i + 5 : -1;
  if (c === 0x6e) return b.toString('latin1', i, i + 4) === 'null' ? i + 4 : -1;
  return number(b, i);
}

function isJson(b: Buffer): boolean {
  const end = value(b, space(b, 0), 0);
  return end > 0 && space(b, end) === b.length;
}

mkdirSync(logDir, { recursive: true });
const fd = openSync(join(logDir, 'minimal.log'), 'a');
let buffer = Buffer.allocUnsafeSlow(1 << 20);
let start = 0;
let end = 0;
let timer: NodeJS.Timeout | null = null;

function flush(): void {
  timer = null;
  if (end > start) write(fd, buffer, start, end - start, () => {});
  start = end;
}

function room(bytes: number): void {
  if (end + bytes <= buffer.length) return;
  flush();
  buffer = Buffer.allocUnsafeSlow(Math.max(1 << 20, bytes));
  start = 0;
  end = 0;
}

let uid = 0;
let second = -1;
let secondText = '';
function time(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s !== second) {
    second = s;
    secondText = new Date(s * 1000).toISOString().slice(0, -4);
  }
  return `${secondText}${String(ms % 1000).padStart(3, '0')}Z`;
}

class MinimalTap implements ExchangeTap {
  #request: Buffer | null = null;
  #chunks: Buffer[] = [];
  #status = 0;
  readonly #startedAt: number;

  constructor(startedAt: number) {
    this.#startedAt = startedAt;
  }

  requestBody(body: Buffer): void {
    this.#request = body;
  }

  responseStart(status: number): void {
    this.#status = status;
  }

  responseData(chunk: Buffer): void {
    this.#chunks.push(chunk);
  }

  end(): void {
    const request = this.#request ?? Buffer.alloc(0);
    const response = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    const id = `uid-${++uid}`;
    const head = `{"type":"request","uid":"${id}","time":"${time(this.#startedAt)}","parsed":${isJson(request)},"body":`;
    const tail = `{"type":"response","uid":"${id}","time":"${time(Date.now())}","status":${this.#status},"parsed":${isJson(response)},"body":`;
    room(head.length + tail.length + request.length + response.length + 6);
    end += buffer.write(head, end, 'latin1');
    buffer.set(request, end);
    end += request.length;
    buffer[end++] = 0x7d;
    buffer[end++] = 0x0a;
    end += buffer.write(tail, end, 'latin1');
    buffer.set(response, end);
    end += response.length;
    buffer[end++] = 0x7d;
    buffer[end++] = 0x0a;
    timer ??= setTimeout(flush, 100);
  }
}

const hook: ExchangeHook = {
  open: (info) => (info.method === 'POST' ? new MinimalTap(info.startedAt) : undefined),
};

// The V8 settings `aifwd run` serves with, so the two differ only by the log.
tuneV8ForServing();
const config = loadConfig({ flags: coreSettings(Number(port), Number(upstreamPort)), env: {}, cwd: process.cwd() });
const gateway = createGateway(config, { hook });
await gateway.listen();
process.once('SIGTERM', () => {
  flush();
  process.exit(0);
});
