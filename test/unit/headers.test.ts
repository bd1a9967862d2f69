import { describe, expect, it } from 'vitest';
import { readClientHeaders, readUpstreamHeaders } from '../../src/core/headers.js';

const b = (list: string[]): Buffer[] => list.map((s) => Buffer.from(s, 'latin1'));

describe('readClientHeaders', () => {
  it('drops hop-by-hop, identifying and Connection-listed headers, keeps the rest in order', () => {
    const head = readClientHeaders([
      'host', 'gw.example',
      'content-type', 'application/json',
      'connection', 'keep-alive, X-Secret-Hop',
      'x-secret-hop', '1',
      'keep-alive', 'timeout=5',
      'cookie', 'a=b',
      'x-forwarded-for', '1.1.1.1',
      'x-forwarded-proto', 'https',
      'x-real-ip', '1.1.1.1',
      'forwarded', 'for=1.1.1.1',
      'transfer-encoding', 'chunked',
      'te', 'trailers',
      'expect', '100-continue',
      'authorization', 'Bearer fk-test',
      'openai-organization', 'org-1',
      'accept-encoding', 'gzip',
    ]);
    expect(head.headers).toEqual([
      'content-type', 'application/json',
      'openai-organization', 'org-1',
      'accept-encoding', 'gzip',
    ]);
    expect(head.authorization).toBe('Bearer fk-test');
    expect(head.forwardedFor).toBe('1.1.1.1');
    expect(head.hasBody).toBe(true);
    expect(head.contentLength).toBe(-1);
  });

  it('several Connection fields are one list: a name in any of them is dropped', () => {
    const head = readClientHeaders(['connection', 'X-Custom', 'connection', 'keep-alive', 'x-custom', 'secret', 'x-kept', '1']);
    expect(head.headers).toEqual(['x-kept', '1']);
  });

  it('reads content-length and keeps it', () => {
    const head = readClientHeaders(['content-length', '0']);
    expect(head.hasBody).toBe(false);
    expect(head.headers).toEqual(['content-length', '0']);
    expect(readClientHeaders(['content-length', '12']).contentLength).toBe(12);
  });
});

describe('readUpstreamHeaders', () => {
  it('drops a Content-Length sent with Transfer-Encoding (the decoded body is framed anew)', () => {
    const head = readUpstreamHeaders(['content-type', 'application/json', 'transfer-encoding', 'chunked', 'content-length', '5']);
    expect(head.headers).toEqual(['content-type', 'application/json']);
  });

  it('drops hop-by-hop, marks event streams', () => {
    const head = readUpstreamHeaders(
      b(['Content-Type', 'text/event-stream; charset=utf-8', 'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive', 'X-Request-Id', 'req_1', 'Content-Encoding', 'GZIP']),
    );
    expect(head.headers).toEqual([
      'content-type', 'text/event-stream; charset=utf-8',
      'x-request-id', 'req_1',
      'content-encoding', 'GZIP',
      'x-accel-buffering', 'no',
    ]);
    expect(head.eventStream).toBe(true);
    expect(head.contentEncoding).toBe('gzip');
  });

  it('several Connection fields are one list here too', () => {
    const head = readUpstreamHeaders(b(['connection', 'x-drop', 'connection', 'keep-alive', 'x-drop', '1', 'x-kept', '2']));
    expect(head.headers).toEqual(['x-kept', '2']);
  });

  it('leaves JSON alone', () => {
    const head = readUpstreamHeaders(b(['content-type', 'application/json', 'content-length', '2']));
    expect(head.eventStream).toBe(false);
    expect(head.headers).toEqual(['content-type', 'application/json', 'content-length', '2']);
  });
});
