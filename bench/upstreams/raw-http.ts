/**
 * A minimal HTTP/1.1 server on raw `net` sockets for the bench upstreams: it frames requests
 * (head, then a Content-Length or chunked body, which it skips) and hands each to a handler that
 * writes the response bytes itself. No header objects, no per-request closures, so the upstream
 * costs as little CPU as possible and never becomes what is measured.
 */
import { createServer, type Server, type Socket } from 'node:net';

/** What the handler learns about one request. */
export interface RawRequest {
  readonly method: string;
  readonly path: string;
  /** The request head, lower-cased (for cheap `includes` checks). */
  readonly head: string;
}

/** Writes the whole response to `socket` (now or later); the socket stays open for the next request. */
export type RawHandler = (socket: Socket, req: RawRequest) => void;

const HEAD_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('\r\n0\r\n\r\n');

interface ParseState {
  buf: Buffer;
  /** Body bytes still to skip (Content-Length), or -1 when skipping a chunked body, 0 when in a head. */
  bodyLeft: number;
  pending: RawRequest | null;
}

function contentLengthOf(head: string): number {
  const at = head.indexOf('\r\ncontent-length:');
  if (at === -1) return 0;
  const end = head.indexOf('\r\n', at + 2);
  return Number(head.slice(at + 17, end === -1 ? undefined : end).trim()) || 0;
}

function feed(state: ParseState, socket: Socket, handler: RawHandler): void {
  for (;;) {
    if (state.pending !== null) {
      if (state.bodyLeft > 0) {
        const take = Math.min(state.bodyLeft, state.buf.length);
        state.bodyLeft -= take;
        state.buf = state.buf.subarray(take);
        if (state.bodyLeft > 0) return;
      } else if (state.bodyLeft < 0) {
        const end = state.buf.indexOf(CHUNKED_END);
        if (end === -1) {
          // Keep only a tail long enough to hold a split terminator.
          if (state.buf.length > CHUNKED_END.length) state.buf = state.buf.subarray(state.buf.length - CHUNKED_END.length);
          return;
        }
        state.buf = state.buf.subarray(end + CHUNKED_END.length);
      }
      const req = state.pending;
      state.pending = null;
      state.bodyLeft = 0;
      handler(socket, req);
      continue;
    }
    const end = state.buf.indexOf(HEAD_END);
    if (end === -1) return;
    const head = state.buf.toString('latin1', 0, end + 2).toLowerCase();
    state.buf = state.buf.subarray(end + HEAD_END.length);
    const sp1 = head.indexOf(' ');
    const sp2 = head.indexOf(' ', sp1 + 1);
    state.pending = { method: head.slice(0, sp1).toUpperCase(), path: head.slice(sp1 + 1, sp2), head };
    if (head.includes('\r\ntransfer-encoding: chunked')) {
      // A chunked body: the terminator may follow the head directly.
      state.bodyLeft = -1;
      state.buf = Buffer.concat([Buffer.from('\r\n'), state.buf]);
    } else {
      state.bodyLeft = contentLengthOf(head);
    }
  }
}

/** Starts a raw HTTP server on 127.0.0.1 (port 0 = any) and resolves with it once listening. */
export function startRawServer(port: number, handler: RawHandler): Promise<Server> {
  const server = createServer({ noDelay: true }, (socket) => {
    const state: ParseState = { buf: Buffer.alloc(0), bodyLeft: 0, pending: null };
    socket.on('data', (chunk: Buffer) => {
      state.buf = state.buf.length === 0 ? chunk : Buffer.concat([state.buf, chunk]);
      feed(state, socket, handler);
    });
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => resolve(server));
  });
}
