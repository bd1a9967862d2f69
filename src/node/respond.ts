/** Writing the gateway's own answers (errors, health). */
import { Buffer } from 'node:buffer';
import { GatewayError, toOpenAIErrorBody } from '../core/errors.js';
import type { OutgoingResponse } from './server/outgoing-response.js';

/**
 * Sends `err` in OpenAI's error shape. `close` asks the client to drop the connection (unread body);
 * `cors` are the CORS headers of a browser's request (core/cors.ts), so a web app can read the error.
 */
export function sendError(res: OutgoingResponse, err: GatewayError, close = false, cors: readonly string[] | null = null): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(toOpenAIErrorBody(err));
  if (close) res.keepAlive = false;
  const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(body.length)];
  if (err.retryAfterSeconds !== null) headers.push('retry-after', String(err.retryAfterSeconds));
  if (cors !== null) headers.push(...cors);
  res.writeHead(err.status, headers);
  res.end(body);
}

/** The gateway's own answer to a CORS preflight: 204 with `headers` (CorsPolicy.preflightHeaders). */
export function sendPreflight(res: OutgoingResponse, headers: string[], close: boolean): void {
  if (close) res.keepAlive = false;
  res.writeHead(204, headers);
  res.end();
}

const OK = Buffer.from('OK');

export function sendHealth(res: OutgoingResponse, cors: readonly string[] | null = null): void {
  const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(OK.length)];
  if (cors !== null) headers.push(...cors);
  res.writeHead(200, headers);
  res.end(OK);
}

/** The answer to a protocol upgrade the gateway does not forward (`why` says which and what to do). */
export function upgradeRefusal(why: string): GatewayError {
  return new GatewayError('upgrade_not_supported', why);
}
