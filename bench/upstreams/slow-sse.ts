/**
 * The slow SSE upstream for the open-streams scenario: each request gets the response head and one
 * event at once, then one event per second (one timer for all streams) until SIGUSR2, when every
 * stream gets `[DONE]`, its end, and its connection closed (`connection: close`, so the gateway
 * keeps no idle upstream sockets afterwards and its memory can be compared with idle).
 *
 *   node bench/dist/upstreams/slow-sse.js   → prints `LISTENING <port>`; on SIGUSR2 `ENDED <n>`
 */
import type { Socket } from 'node:net';
import { announceListening, exitOnSignals } from '../child.js';
import { SSE_DONE, sseEvent } from '../payloads.js';
import { startRawServer } from './raw-http.js';

function chunk(text: string): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]);
}

const HEAD = Buffer.from(
  'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\ncache-control: no-cache\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n',
);
const EVENT = chunk(sseEvent(0));
const END = Buffer.concat([chunk(SSE_DONE), Buffer.from('0\r\n\r\n')]);
const streams = new Set<Socket>();

exitOnSignals();
const server = await startRawServer(0, (socket) => {
  socket.write(HEAD);
  socket.write(EVENT);
  streams.add(socket);
  socket.once('close', () => streams.delete(socket));
});
server.maxConnections = 60_000;
setInterval(() => {
  for (const socket of streams) socket.write(EVENT);
}, 1000);
process.on('SIGUSR2', () => {
  const n = streams.size;
  for (const socket of streams) socket.end(END);
  streams.clear();
  process.stdout.write(`ENDED ${n}\n`);
});
announceListening(server);
