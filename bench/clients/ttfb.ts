/**
 * Time to first SSE event, closed loop on one keep-alive connection (run pinned to CPU 0): send the
 * stream request, note when the first `data:` bytes arrive (hrtime), read to the end of the chunked
 * response, repeat. Prints one `RESULT` line with percentiles in microseconds.
 *
 *   node bench/dist/clients/ttfb.js --port P --requests N --warmup W
 */
import { connect } from 'node:net';
import { arg, numArg, printResult } from '../child.js';
import { chatRequestMessage } from '../payloads.js';
import { percentile } from '../stats.js';

const port = numArg('port', 0);
const requests = numArg('requests', 1000);
const warmup = numArg('warmup', 100);
const path = arg('path', '/v1/chat/completions');

const request = chatRequestMessage(port, path, true);
const DATA = Buffer.from('data:');
const END = Buffer.from('0\r\n\r\n');

const firstEventUs: number[] = [];
const totalUs: number[] = [];
let sent = 0;
let t0 = 0n;
let gotFirst = false;
let tail: Buffer = Buffer.alloc(0);

const socket = connect({ port, host: '127.0.0.1', noDelay: true });

function next(): void {
  if (sent === warmup + requests) {
    socket.end();
    printResult({
      requests,
      p25: percentile(firstEventUs, 25),
      p50: percentile(firstEventUs, 50),
      p75: percentile(firstEventUs, 75),
      p90: percentile(firstEventUs, 90),
      p99: percentile(firstEventUs, 99),
      totalP50: percentile(totalUs, 50),
    });
    return;
  }
  sent++;
  gotFirst = false;
  tail = Buffer.alloc(0);
  t0 = process.hrtime.bigint();
  socket.write(request);
}

socket.on('data', (chunk: Buffer) => {
  const now = process.hrtime.bigint();
  if (!gotFirst && chunk.indexOf(DATA) !== -1) {
    gotFirst = true;
    if (sent > warmup) firstEventUs.push(Number(now - t0) / 1000);
  }
  // The response ends with the last chunk `0\r\n\r\n`; it may be split over reads.
  tail = tail.length === 0 ? chunk.subarray(-8) : Buffer.concat([tail, chunk]).subarray(-8);
  if (tail.length >= END.length && tail.subarray(tail.length - END.length).equals(END)) {
    if (!gotFirst) throw new Error('response ended without an event');
    if (sent > warmup) totalUs.push(Number(now - t0) / 1000);
    next();
  }
});
socket.on('error', (err) => {
  process.stderr.write(`ttfb: ${err.message}\n`);
  process.exit(1);
});
socket.on('connect', next);
