/** Writing the gateway's own answers (errors, health) on a Node response. */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { GatewayError, toOpenAIErrorBody } from '../core/errors.js';

/** Sends `err` in OpenAI's error shape. `close` asks the client to drop the connection (unread body). */
export function sendError(res: ServerResponse, err: GatewayError, close = false): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const body = toOpenAIErrorBody(err);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  };
  if (close) {
    headers.connection = 'close';
    res.shouldKeepAlive = false;
  }
  res.writeHead(err.status, headers);
  res.end(body);
}

const OK = Buffer.from('OK');

export function sendHealth(res: ServerResponse, head: boolean): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': OK.length });
  res.end(head ? undefined : OK);
}

/**
 * Answers a connection upgrade (WebSocket, e.g. the Realtime API) with an error and closes it:
 * without this, node:http would drop the socket and the client would see a bare reset.
 */
export function refuseUpgrade(socket: Duplex): void {
  const err = new GatewayError(
    'upgrade_not_supported',
    'WebSocket upgrades (the Realtime API) are not forwarded by this gateway yet; use HTTP endpoints',
  );
  const body = toOpenAIErrorBody(err);
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${err.status} Not Implemented\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
