/**
 * Many concurrent open SSE streams through the gateway (run pinned to CPU 0, with a raised
 * open-files limit). Opens `--count` streams in batches, spreading source addresses over
 * 127.0.0.2… so no single address runs out of ephemeral ports, counts the events of each stream,
 * and reports in phases (one `RESULT` line each):
 *
 *   {"phase":"open"}      every stream has connected and received its first event (or failed);
 *   {"phase":"progress"}  every open stream has received `--min-events` events (or timeout);
 *   {"phase":"ended"}     every stream has ended (the upstream finished them; or timeout).
 *
 *   node bench/dist/clients/streams.js --port P --count N --min-events K
 */
import { connect, type Socket } from 'node:net';
import { numArg, printResult } from '../child.js';
import { chatRequestBody } from '../payloads.js';
import { FORWARD_KEY } from '../wrk.js';

const port = numArg('port', 0);
const count = numArg('count', 10_000);
const minEvents = numArg('min-events', 3);
const batch = numArg('batch', 250);
const sources = numArg('sources', 4);
const phaseTimeoutMs = numArg('timeout-ms', 60_000);

const body = chatRequestBody(true);
const request = Buffer.from(
  `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Authorization: Bearer ${FORWARD_KEY}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
);
const DATA = 'data: ';
const END = '0\r\n\r\n';

interface Stream {
  socket: Socket;
  events: number;
  /** Last bytes of the previous read, so a marker split over two reads is still seen. */
  carry: string;
  state: 'connecting' | 'open' | 'ended' | 'failed';
}

const streams: Stream[] = [];
const counts = { open: 0, ended: 0, failed: 0 };
const errors = new Map<string, number>();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function countOf(text: string, needle: string): number {
  let n = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) n++;
  return n;
}

function fail(s: Stream, why: string): void {
  if (s.state === 'ended' || s.state === 'failed') return;
  if (s.state === 'open') counts.open--;
  s.state = 'failed';
  counts.failed++;
  errors.set(why, (errors.get(why) ?? 0) + 1);
  s.socket.destroy();
}

function open(i: number): Stream {
  const socket = connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % sources)}`, noDelay: true });
  const s: Stream = { socket, events: 0, carry: '', state: 'connecting' };
  socket.setEncoding('latin1');
  socket.on('connect', () => socket.write(request));
  socket.on('data', (text: string) => {
    const seen = s.carry + text;
    // Markers are short; count them in the carried tail plus the new text, then keep a new tail.
    s.events += countOf(seen, DATA) - countOf(s.carry, DATA);
    s.carry = seen.slice(-8);
    if (s.state === 'connecting' && s.events > 0) {
      s.state = 'open';
      counts.open++;
    }
    if (seen.endsWith(END)) {
      if (s.state === 'open') counts.open--;
      s.state = 'ended';
      counts.ended++;
      socket.destroy();
    }
  });
  socket.on('error', (err: NodeJS.ErrnoException) => fail(s, err.code ?? err.message));
  socket.on('close', () => fail(s, 'closed before the end of the stream'));
  return s;
}

async function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

const t0 = Date.now();
for (let i = 0; i < count; i += batch) {
  const n = Math.min(batch, count - i);
  for (let j = 0; j < n; j++) streams.push(open(i + j));
  // Let each batch connect and start before the next, so accept queues never overflow.
  await waitUntil(() => streams.every((s) => s.state !== 'connecting'), 30_000);
}
printResult({ phase: 'open', requested: count, open: counts.open, failed: counts.failed, openMs: Date.now() - t0, errors: Object.fromEntries(errors) });

const progressed = (): number => streams.filter((s) => s.state === 'open' && s.events >= minEvents).length;
// Every stream needs `minEvents` more events than it has now: all of them progress while all are open.
const base = streams.map((s) => s.events);
const allMoved = (): boolean => streams.every((s, i) => s.state !== 'open' || s.events >= base[i] + minEvents);
const ok = await waitUntil(allMoved, phaseTimeoutMs);
let fewest = Number.POSITIVE_INFINITY;
streams.forEach((s, i) => {
  if (s.state === 'open') fewest = Math.min(fewest, s.events - base[i]);
});
printResult({ phase: 'progress', allProgressed: ok && counts.failed === 0, open: counts.open, failed: counts.failed, withMinEvents: progressed(), fewestNewEvents: Number.isFinite(fewest) ? fewest : 0 });

await waitUntil(() => counts.ended + counts.failed === count, phaseTimeoutMs);
printResult({ phase: 'ended', ended: counts.ended, failed: counts.failed, errors: Object.fromEntries(errors) });
for (const s of streams) s.socket.destroy();
process.exit(0);
