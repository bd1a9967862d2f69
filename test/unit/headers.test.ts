import { describe, expect, it } from 'vitest';
import { decimalLength, nameSet, readClientHeaders, readUpstreamHeaders } from '../../src/core/headers.js';

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

describe('nameSet', () => {
  const names = ['connection', 'keep-alive', 'te', 'trailer', 'upgrade', 'proxy-authorization'];
  const has = nameSet(names);

  it('knows each of its names, also a fresh or sliced copy of one', () => {
    for (const name of names) {
      expect(has(name), name).toBe(true);
      expect(has(`x${name}`.slice(1)), name).toBe(true);
      expect(has(`X-${name.toUpperCase()}: v`.slice(2, 2 + name.length).toLowerCase()), name).toBe(true);
    }
  });

  it('refuses any other name: same length, same length and first letter, longer, shorter, empty', () => {
    for (const name of ['connectioN', 'connectiox', 'kept-alive', 'tx', 'ta', 'trailers', 'upgradex', 'proxy-authorizatiox', 'proxy-authorization-x', 'c', '', 'content-type', 'content-length']) {
      expect(has(name), name).toBe(false);
    }
  });

  it('is the same test as a Set of the names, over many names', () => {
    const set = new Set(names);
    for (const name of [...names, 'host', 'cookie', 'expect', 'authorization', 'x-forwarded-for', 'a'.repeat(40)]) expect(has(name), name).toBe(set.has(name));
  });

  it('an empty list knows no name', () => {
    expect(nameSet([])('te')).toBe(false);
    expect(nameSet([])('')).toBe(false);
  });
});

describe('decimalLength', () => {
  it('reads 1 to 15 ASCII digits as the number they write', () => {
    for (const [text, n] of [['0', 0], ['7', 7], ['0042', 42], ['123456789', 123456789], ['999999999999999', 999999999999999]] as const) {
      expect(decimalLength(text), text).toBe(n);
      expect(decimalLength(`Content-Length: ${text}\r\n`.slice(16, 16 + text.length)), text).toBe(n);
    }
  });

  it('answers -1 for anything else, as the parsers refused with /^\\d{1,15}$/', () => {
    for (const text of ['', ' 1', '1 ', '+1', '-1', '1.0', '1e3', '0x10', '1_000', '١٢', '１２', '1000000000000000', 'abc', '12a']) {
      expect(decimalLength(text), text).toBe(-1);
      expect(/^\d{1,15}$/.test(text), text).toBe(false);
    }
  });
});
