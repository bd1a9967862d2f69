/**
 * The sink/source upstream for the 200 MB transfers (node:http; big chunks make its per-request
 * cost irrelevant): `POST` anything → reads and counts the body, answers `{"bytes":N}`;
 * `GET …?bytes=N` → sends N bytes of filler with Content-Length, 64 KiB per write, with backpressure.
 *
 *   node bench/dist/upstreams/transfer.js   → prints `LISTENING <port>`
 */
import { createServer, type ServerResponse } from 'node:http';
import { announceListening, exitOnSignals } from '../child.js';

const BLOCK = Buffer.alloc(64 * 1024, 'x');

function sendBytes(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, BLOCK.length);
      left -= n;
      const ok = res.write(n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n));
      if (!ok) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

exitOnSignals();
const server = createServer({ noDelay: true }, (req, res) => {
  if (req.method === 'GET') {
    const q = req.url?.indexOf('bytes=') ?? -1;
    sendBytes(res, q === -1 ? 0 : Number(req.url?.slice(q + 6)) || 0);
    return;
  }
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  req.on('end', () => {
    const body = JSON.stringify({ bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(body.length) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => announceListening(server));
