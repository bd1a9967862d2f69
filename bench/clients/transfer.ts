/**
 * One large transfer through a proxy (run pinned to CPU 0): `--mode upload` POSTs `--bytes` of
 * filler with Content-Length, 64 KiB per write with backpressure; `--mode download` GETs
 * `…?bytes=N` and reads it all. Prints one `RESULT` line: bytes moved, seconds, MB/s (10^6 bytes).
 *
 *   node bench/dist/clients/transfer.js --port P --mode upload|download --bytes N
 */
import { request, type IncomingMessage } from 'node:http';
import { arg, numArg, printResult } from '../child.js';
import { FORWARD_KEY } from '../wrk.js';

const port = numArg('port', 0);
const mode = arg('mode', 'download');
const bytes = numArg('bytes', 200_000_000);
const BLOCK = Buffer.alloc(64 * 1024, 'y');

function finish(t0: bigint, res: IncomingMessage, moved: () => number, verified: () => boolean): void {
  res.on('end', () => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const ok = res.statusCode === 200 && verified();
    printResult({ mode, status: res.statusCode, ok, bytes: moved(), seconds, mbPerSecond: moved() / 1e6 / seconds });
    process.exit(ok ? 0 : 1);
  });
}

const t0 = process.hrtime.bigint();
const headers: Record<string, string> = { authorization: `Bearer ${FORWARD_KEY}` };
if (mode === 'upload') {
  headers['content-type'] = 'application/octet-stream';
  headers['content-length'] = String(bytes);
}
const req = request(
  {
    host: '127.0.0.1',
    port,
    method: mode === 'upload' ? 'POST' : 'GET',
    path: mode === 'upload' ? '/v1/files' : `/v1/files/bench/content?bytes=${bytes}`,
    headers,
    agent: false,
  },
  (res) => {
    let received = 0;
    let reply = '';
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (mode === 'upload' && reply.length < 1000) reply += chunk.toString('latin1');
    });
    // An upload counts once the upstream says it got every byte; a download once all is read.
    const verified = (): boolean => (mode === 'upload' ? reply === JSON.stringify({ bytes }) : received === bytes);
    finish(t0, res, () => (mode === 'upload' ? bytes : received), verified);
  },
);
req.on('error', (err) => {
  process.stderr.write(`transfer: ${err.message}\n`);
  process.exit(1);
});
if (mode === 'upload') {
  let left = bytes;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, BLOCK.length);
      left -= n;
      if (!req.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n))) {
        req.once('drain', pump);
        return;
      }
    }
    req.end();
  };
  pump();
} else {
  req.end();
}
