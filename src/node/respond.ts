/** Writing the gateway's own answers (errors, health) on a Node response. */
import type { ServerResponse } from 'node:http';
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
