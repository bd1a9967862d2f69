/**
 * Latency of each request, closed loop on one keep-alive connection (run pinned to CPU 0): write
 * the chat request, note when the whole response has arrived, repeat. Every request's own time is
 * kept as measured: unlike wrk, no samples are added for the requests a stall kept from being sent
 * (wrk's coordinated-omission correction; BENCHMARKS.md, measure 2). Prints one `RESULT` line with
 * percentiles in microseconds.
 *
 * The client must not add pauses of its own: reads land in one reused buffer (`onread`), so no
 * ArrayBuffer is made per read for the collector to free, and times are kept in a preallocated
 * Float64Array.
 *
 *   node bench/dist/clients/latency.js --port P --requests N --warmup W
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { arg, numArg, printResult } from '../child.js';
import { chatRequestMessage } from '../payloads.js';
import { percentile } from '../stats.js';

const port = numArg('port', 0);
const requests = numArg('requests', 10_000);
const warmup = numArg('warmup', 1000);
const path = arg('path', '/v1/chat/completions');

const request = chatRequestMessage(port, path, false);
const readBuffer = Buffer.allocUnsafe(64 * 1024);
const times = new Float64Array(requests);

let sent = 0;
let startedAt = 0;
/** Bytes of the current response still to come; -1 while its head is incomplete. */
let remaining = -1;
/** The head read so far (a response head may be split over reads, rarely). */
let head = '';

/** Body length named by a complete head, or throws: the fixed JSON reply always has one. */
function contentLength(text: string): number {
  const status = text.slice(0, 12);
  if (status !== 'HTTP/1.1 200') throw new Error(`unexpected response: ${text.slice(0, 60)}`);
  const match = /\r\ncontent-length: *(\d+)/i.exec(text);
  if (match === null) throw new Error('response without Content-Length');
  return Number(match[1]);
}

function onRead(size: number, buffer: Uint8Array): boolean {
  let at = 0;
  if (remaining === -1) {
    head += Buffer.from(buffer.buffer, buffer.byteOffset, size).toString('latin1');
    const end = head.indexOf('\r\n\r\n');
    if (end === -1) return true;
    const bodyRead = head.length - (end + 4);
    remaining = contentLength(head.slice(0, end + 2)) - bodyRead;
    head = '';
    at = size;
  }
  remaining -= size - at;
  if (remaining > 0) return true;
  if (remaining < 0) throw new Error('more bytes than the response announced');
  const elapsed = performance.now() - startedAt;
  if (sent > warmup) times[sent - warmup - 1] = elapsed * 1000;
  next();
  return true;
}

function next(): void {
  if (sent === warmup + requests) {
    socket.end();
    const all = Array.from(times);
    printResult({
      requests,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      p999: percentile(all, 99.9),
      max: Math.max(...all),
      over1ms: all.filter((t) => t > 1000).length,
    });
    return;
  }
  sent++;
  remaining = -1;
  startedAt = performance.now();
  socket.write(request);
}

const socket = connect({ port, host: '127.0.0.1', noDelay: true, onread: { buffer: readBuffer, callback: onRead } });
socket.on('error', (err) => {
  process.stderr.write(`latency: ${err.message}\n`);
  process.exit(1);
});
socket.on('connect', next);
