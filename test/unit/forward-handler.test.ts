/**
 * What the forward handler keeps of the request it dispatched: the body, for a retry with another
 * pool key, until the response head goes to the client; then nothing, so that a stream open for
 * hours does not keep it (and the 8 KB buffer-pool block it is a slice of).
 */
import { describe, expect, it } from 'vitest';
import { KeyPool } from '../../src/core/key-pool.js';
import { type ForwardContext, type ForwardExchange, ForwardHandler } from '../../src/node/forward-handler.js';
import type { UpstreamRequest } from '../../src/node/h1/types.js';
import type { OutgoingResponse } from '../../src/node/server/outgoing-response.js';

/** The part of OutgoingResponse the handler uses, noting the heads written. */
class FakeResponse {
  onClose: (() => void) | null = null;
  onDrain: (() => void) | null = null;
  destroyed = false;
  readonly heads: number[] = [];
  writeHead(status: number): void {
    this.heads.push(status);
  }
  flushHeaders(): void {}
  write(): boolean {
    return true;
  }
  end(): void {}
  retractHead(): boolean {
    return false;
  }
  destroy(): void {
    this.destroyed = true;
  }
}

const BODY = Buffer.from(JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] }));

function setUp(keyIndex: number, retriesLeft: number): { handler: ForwardHandler; exchange: ForwardExchange; res: FakeResponse; dispatched: UpstreamRequest[]; aborts: Error[] } {
  const dispatched: UpstreamRequest[] = [];
  const context: ForwardContext = {
    pool: new KeyPool(['sk-test-key-a', 'sk-test-key-b']),
    errorContext: { origin: 'http://upstream.test', connectTimeoutMs: 0, responseTimeoutMs: 0, totalTimeoutMs: 0, report: () => {} },
    dispatch: (request) => dispatched.push(request),
  };
  const request: UpstreamRequest = { method: 'POST', path: '/v1/chat/completions', headers: ['content-type', 'application/json', 'authorization', 'Bearer sk-test-key-a'], body: BODY };
  const exchange: ForwardExchange = { tap: undefined, cors: null, request, deadline: 0, keyIndex, retriesLeft };
  const res = new FakeResponse();
  const handler = new ForwardHandler(res as unknown as OutgoingResponse, context, exchange);
  const aborts: Error[] = [];
  handler.onConnect((err) => aborts.push(err ?? new Error('aborted')));
  return { handler, exchange, res, dispatched, aborts };
}

describe('forward handler: the request body', () => {
  it('is let go once the response head went to the client (an event stream)', () => {
    const { handler, exchange, res } = setUp(0, 1);
    expect(exchange.request.body).toBe(BODY);
    expect(handler.onHeaders(200, ['content-type', 'text/event-stream'], () => {})).toBe(true);
    expect(res.heads).toEqual([200]);
    expect(exchange.request.body).toBeNull();
  });

  it('is let go after a JSON head as well, and a passthrough request (no pool key) too', () => {
    const { handler, exchange } = setUp(-1, 0);
    handler.onHeaders(200, ['content-type', 'application/json'], () => {});
    expect(exchange.request.body).toBeNull();
  });

  it('is kept through a refused key: the retry with the next key sends it whole', () => {
    const { handler, exchange, res, dispatched, aborts } = setUp(0, 1);
    expect(handler.onHeaders(429, ['retry-after', '20', 'content-type', 'application/json'], () => {})).toBe(false);
    expect(res.heads).toEqual([]);
    expect(aborts).toHaveLength(1);
    handler.onError(aborts[0]);
    expect(dispatched).toHaveLength(1);
    expect(dispatched[0].body).toBe(BODY);
    expect(dispatched[0].headers.at(-1)).toBe('Bearer sk-test-key-b');
    // The refused attempt's request is the exchange's own, untouched.
    expect(exchange.request.body).toBe(BODY);
  });

  it('a 1xx head is not the response: the body stays', () => {
    const { handler, exchange } = setUp(0, 1);
    handler.onHeaders(100, [], () => {});
    expect(exchange.request.body).toBe(BODY);
  });
});
