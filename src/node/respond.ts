/** Writing the gateway's own answers (errors, health). */
import { GatewayError, toOpenAIErrorBody } from '../core/errors.js';
import type { OutgoingResponse } from './server/outgoing-response.js';

/** Sends `err` in OpenAI's error shape. `close` asks the client to drop the connection (unread body). */
export function sendError(res: OutgoingResponse, err: GatewayError, close = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(toOpenAIErrorBody(err));
  if (close) res.keepAlive = false;
  res.writeHead(err.status, ['content-type', 'application/json; charset=utf-8', 'content-length', String(body.length)]);
  res.end(body);
}

const OK = Buffer.from('OK');

export function sendHealth(res: OutgoingResponse): void {
  res.writeHead(200, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(OK.length)]);
  res.end(OK);
}

/** The answer to a connection upgrade (WebSocket, e.g. the Realtime API): not forwarded yet. */
export function upgradeRefusal(): GatewayError {
  return new GatewayError(
    'upgrade_not_supported',
    'WebSocket upgrades (the Realtime API) are not forwarded by this gateway yet; use HTTP endpoints',
  );
}
