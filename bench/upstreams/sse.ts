/**
 * The fast SSE upstream: answers every request with a chunked `text/event-stream` of
 * `--events` chat.completion.chunk events (the last is `[DONE]`), each event its own socket write,
 * from buffers built once at start-up (no per-response allocation).
 *
 *   node bench/dist/upstreams/sse.js [--events 50]   → prints `LISTENING <port>`
 */
import { announceListening, exitOnSignals, numArg } from '../child.js';
import { SSE_DONE, SSE_EVENTS, sseEvent } from '../payloads.js';
import { startRawServer } from './raw-http.js';

function chunk(text: string, last: boolean): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from(last ? '\r\n0\r\n\r\n' : '\r\n')]);
}

const events = numArg('events', SSE_EVENTS);
const HEAD = Buffer.from(
  'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n',
);
const CHUNKS: Buffer[] = [];
for (let i = 0; i < events - 1; i++) CHUNKS.push(chunk(sseEvent(i), false));
CHUNKS.push(chunk(SSE_DONE, true));

exitOnSignals();
const server = await startRawServer(0, (socket) => {
  socket.write(HEAD);
  for (let i = 0; i < CHUNKS.length; i++) socket.write(CHUNKS[i]);
});
announceListening(server);
