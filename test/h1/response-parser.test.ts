/**
 * ResponseParser, table-driven. Every case is fed whole, split in two at EVERY byte position (sampled
 * for the very large inputs), and one byte at a time; all feedings must give identical results
 * (head, body bytes, end, bytes consumed, error, endOfInput()).
 */
import { describe, expect, it } from 'vitest';
import { ResponseParseError, ResponseParser, type ResponseHead, type ResponseSink } from '../../src/node/h1/response-parser.js';
import { compact, splitPoints } from './helpers.js';

interface Outcome {
  head: ResponseHead | null;
  /** latin1 of all body bytes, concatenated. */
  body: string;
  ended: boolean;
  /** Bytes the parser consumed, summed over execute() calls. */
  consumed: number;
  /** `ResponseParseError: message`, or null. */
  error: string | null;
  /** What endOfInput() returned after the input (null when an error was thrown). */
  endOfInput: boolean | null;
  /** `keepAlive` getter after the input. */
  keepAlive: boolean | null;
}

/** Records sink calls and checks their order (head once, before body; end once, last). */
class Recorder implements ResponseSink {
  head: ResponseHead | null = null;
  body: Buffer[] = [];
  ended = false;
  violations: string[] = [];
  onHead(head: ResponseHead): void {
    if (this.head !== null) this.violations.push('onHead twice');
    if (this.ended) this.violations.push('onHead after onEnd');
    this.head = head;
  }
  onBody(chunk: Buffer): void {
    if (this.head === null) this.violations.push('onBody before onHead');
    if (this.ended) this.violations.push('onBody after onEnd');
    if (chunk.length === 0) this.violations.push('empty onBody');
    this.body.push(Buffer.from(chunk)); // copy: slices may alias the input
  }
  onEnd(): void {
    if (this.head === null) this.violations.push('onEnd before onHead');
    if (this.ended) this.violations.push('onEnd twice');
    this.ended = true;
  }
}

function feed(pieces: Buffer[], method = 'GET'): Outcome {
  const rec = new Recorder();
  const parser = new ResponseParser(rec);
  parser.reset(method);
  let consumed = 0;
  let error: string | null = null;
  let endOfInput: boolean | null = null;
  try {
    for (const piece of pieces) {
      const used = parser.execute(piece);
      expect(used).toBeGreaterThanOrEqual(0);
      expect(used).toBeLessThanOrEqual(piece.length);
      consumed += used;
      if (used < piece.length) {
        // Fewer than given: only allowed once the response is complete.
        expect(parser.done).toBe(true);
        break;
      }
    }
    endOfInput = parser.endOfInput();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponseParseError);
    expect((err as ResponseParseError).code).toBe('UPSTREAM_PROTOCOL_ERROR');
    error = `${(err as Error).name}: ${(err as Error).message}`;
  }
  expect(rec.violations).toEqual([]);
  if (rec.ended) expect(parser.done).toBe(true);
  return {
    head: rec.head,
    body: Buffer.concat(rec.body).toString('latin1'),
    ended: rec.ended,
    consumed: error === null ? consumed : -1,
    error,
    endOfInput,
    keepAlive: error === null ? parser.keepAlive : null,
  };
}



/** Feeds whole, at every split, and byte by byte; asserts all agree; returns the whole-feed outcome. */
function parseAllWays(input: Buffer, method = 'GET'): Outcome {
  const whole = feed([input], method);
  for (const at of splitPoints(input.length, 64 * 1024)) {
    const split = feed([input.subarray(0, at), input.subarray(at)], method);
    if (JSON.stringify(split) !== JSON.stringify(whole)) {
      expect({ splitAt: at, outcome: compact(split) }).toEqual({ splitAt: at, outcome: compact(whole) });
    }
  }
  // One byte at a time. Above 16 KiB: single bytes near both ends and around the 64 KiB mark, 61-byte
  // pieces elsewhere (a 60 KiB head re-concatenated per byte costs ~2 s: see the O(n²) note below).
  const bytes: Buffer[] = [];
  for (let i = 0; i < input.length; ) {
    const fine = input.length <= 16 * 1024 || i < 512 || input.length - i < 512 || Math.abs(i - 64 * 1024) < 512;
    const step = fine ? 1 : 61;
    bytes.push(input.subarray(i, i + step));
    i += step;
  }
  const oneByOne = feed(bytes, method);
  if (JSON.stringify(oneByOne) !== JSON.stringify(whole)) {
    expect({ byteByByte: true, outcome: compact(oneByOne) }).toEqual({ byteByByte: true, outcome: compact(whole) });
  }
  return whole;
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

interface Case {
  name: string;
  input: Buffer;
  method?: string;
  expect: Partial<Omit<Outcome, 'head' | 'error'>> & {
    head?: Partial<ResponseHead>;
    error?: RegExp;
  };
}

const bigHeader = (bytes: number): string => `x-big: ${'a'.repeat(bytes)}\r\n`;
const chunkedHead = 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n';
const sse = 'data: {"x":1}\n\n';

const cases: Case[] = [
  // --- content-length ------------------------------------------------------------------------------
  {
    name: 'content-length body',
    input: b('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello'),
    expect: {
      head: { status: 200, statusText: 'OK', headers: ['content-type', 'text/plain', 'content-length', '5'], keepAlive: true, keepAliveHint: -1 },
      body: 'hello', ended: true, endOfInput: false, keepAlive: true,
    },
  },
  {
    name: 'content-length 0',
    input: b('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n'),
    expect: { head: { status: 200 }, body: '', ended: true, keepAlive: true },
  },
  {
    name: 'the same content-length twice is accepted',
    input: b('HTTP/1.1 200 OK\r\ncontent-length: 3\r\nContent-Length: 3\r\n\r\nabc'),
    expect: { head: { status: 200 }, body: 'abc', ended: true },
  },
  {
    name: 'binary body bytes (CR, LF, NUL, 0xff) are passed through',
    input: Buffer.concat([b('HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n'), Buffer.from([13, 10, 0, 255, 13, 10])]),
    expect: { body: '\r\n\u0000\u00ff\r\n', ended: true },
  },
  {
    name: 'header values trimmed, names lower-cased, empty values kept, no reason phrase',
    input: b('HTTP/1.1 200\r\nX-A:   spaced  value \t\r\nX-Empty:\r\ncontent-length: 0\r\n\r\n'),
    expect: { head: { status: 200, statusText: '', headers: ['x-a', 'spaced  value', 'x-empty', '', 'content-length', '0'] }, ended: true },
  },
  {
    name: 'reason phrase with spaces and latin1',
    input: b('HTTP/1.1 404 Not F\u00f6und Here\r\ncontent-length: 0\r\n\r\n'),
    expect: { head: { status: 404, statusText: 'Not F\u00f6und Here' }, ended: true },
  },
  // --- chunked -------------------------------------------------------------------------------------
  {
    name: 'chunked with extensions and uppercase hex',
    input: b(`${chunkedHead}5;name=val\r\nhello\r\nA\r\n0123456789\r\n1a ; a=1 ; b="x;y"\r\n${'z'.repeat(26)}\r\n1F\r\n${'q'.repeat(31)}\r\n0\r\n\r\n`),
    expect: { head: { status: 200, keepAlive: true }, body: `hello0123456789${'z'.repeat(26)}${'q'.repeat(31)}`, ended: true, keepAlive: true, endOfInput: false },
  },
  {
    name: 'chunked with trailers',
    input: b(`${chunkedHead}3\r\nabc\r\n0\r\nX-Checksum: 123\r\nX-Other: a b\r\n\r\n`),
    expect: { body: 'abc', ended: true, keepAlive: true },
  },
  {
    name: 'chunked, empty body (only the last chunk)',
    input: b(`${chunkedHead}0\r\n\r\n`),
    expect: { body: '', ended: true },
  },
  {
    name: 'chunked, last chunk with an extension',
    input: b(`${chunkedHead}2\r\nok\r\n0;done=1\r\n\r\n`),
    expect: { body: 'ok', ended: true },
  },
  {
    name: 'chunked, leading zeros within 13 hex digits',
    input: b(`${chunkedHead}0000000000003\r\nabc\r\n0\r\n\r\n`),
    expect: { body: 'abc', ended: true },
  },
  {
    name: 'chunked SSE stream: many small chunks',
    input: b(chunkedHead + Array.from({ length: 20 }, () => `${sse.length.toString(16)}\r\n${sse}\r\n`).join('') + '0\r\n\r\n'),
    expect: { body: sse.repeat(20), ended: true },
  },
  {
    name: 'transfer-encoding "gzip, chunked": chunked framing',
    input: b('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n'),
    expect: { body: 'x', ended: true, keepAlive: true },
  },
  // --- interim responses ---------------------------------------------------------------------------
  {
    name: '100 and 103 before the real head are skipped',
    input: b('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'),
    expect: { head: { status: 200, statusText: 'OK', headers: ['content-length', '2'] }, body: 'ok', ended: true },
  },
  {
    name: '101 Switching Protocols is an error',
    input: b('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n'),
    expect: { error: /upgrade/i, head: undefined },
  },
  // --- bodiless responses --------------------------------------------------------------------------
  {
    name: 'HEAD with content-length: no body',
    method: 'HEAD',
    input: b('HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n'),
    expect: { head: { status: 200, headers: ['content-length', '1234'] }, body: '', ended: true, keepAlive: true },
  },
  {
    name: 'HEAD with chunked: no body',
    method: 'HEAD',
    input: b(chunkedHead),
    expect: { body: '', ended: true, keepAlive: true },
  },
  {
    name: '204 without framing: no body, keep-alive',
    input: b('HTTP/1.1 204 No Content\r\n\r\n'),
    expect: { head: { status: 204 }, body: '', ended: true, keepAlive: true, endOfInput: false },
  },
  {
    name: '304 with content-length: no body',
    input: b('HTTP/1.1 304 Not Modified\r\ncontent-length: 50\r\netag: "x"\r\n\r\n'),
    expect: { head: { status: 304 }, body: '', ended: true, keepAlive: true },
  },
  // --- connection semantics ------------------------------------------------------------------------
  {
    name: 'HTTP/1.0: no keep-alive',
    input: b('HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok'),
    expect: { head: { status: 200, keepAlive: false }, body: 'ok', ended: true, keepAlive: false },
  },
  {
    name: 'HTTP/1.0 with connection: keep-alive',
    input: b('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\ncontent-length: 2\r\n\r\nok'),
    expect: { head: { keepAlive: true }, ended: true, keepAlive: true },
  },
  {
    name: 'connection: close',
    input: b('HTTP/1.1 200 OK\r\nConnection: Close\r\ncontent-length: 2\r\n\r\nok'),
    expect: { head: { keepAlive: false }, body: 'ok', ended: true, keepAlive: false },
  },
  {
    name: 'keep-alive: timeout=5 hint',
    input: b('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=1000\r\ncontent-length: 0\r\n\r\n'),
    expect: { head: { keepAlive: true, keepAliveHint: 5 }, ended: true },
  },
  {
    name: 'transfer-encoding chunked AND content-length: chunked wins, keepAlive false',
    input: b('HTTP/1.1 200 OK\r\ncontent-length: 100\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'),
    expect: { head: { keepAlive: false }, body: 'abc', ended: true, keepAlive: false },
  },
  {
    name: 'transfer-encoding gzip (not chunked): until close',
    input: b('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\ncontent-length: 3\r\n\r\n\u001f\u008babcdef'),
    expect: { body: '\u001f\u008babcdef', ended: true, keepAlive: false, endOfInput: true },
  },
  {
    name: 'transfer-encoding "chunked, gzip" (chunked not last): until close',
    input: b('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n'),
    expect: { body: '3\r\nabc\r\n', ended: true, keepAlive: false, endOfInput: true },
  },
  {
    name: 'no framing: until close, ended by endOfInput()',
    input: b('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nsome bytes\r\n\r\nHTTP/1.1 200 OK\r\n'),
    expect: { head: { keepAlive: true }, body: 'some bytes\r\n\r\nHTTP/1.1 200 OK\r\n', ended: true, keepAlive: false, endOfInput: true },
  },
  {
    name: 'no framing, no body bytes yet: endOfInput() ends it',
    input: b('HTTP/1.1 200 OK\r\n\r\n'),
    expect: { body: '', ended: true, endOfInput: true, keepAlive: false },
  },
  // --- extra bytes after a complete response -------------------------------------------------------
  {
    name: 'extra bytes after a content-length body are not consumed',
    input: b('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n'),
    expect: { body: 'ok', ended: true, consumed: 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'.length, keepAlive: true },
  },
  {
    name: 'extra bytes after a chunked body are not consumed',
    input: b(`${chunkedHead}2\r\nok\r\n0\r\n\r\nGARBAGE`),
    expect: { body: 'ok', ended: true, consumed: chunkedHead.length + 12 },
  },
  {
    name: 'extra bytes after a 204 are not consumed',
    input: b('HTTP/1.1 204 No Content\r\n\r\nxyz'),
    expect: { ended: true, consumed: 'HTTP/1.1 204 No Content\r\n\r\n'.length },
  },
  {
    name: 'extra bytes after a HEAD response are not consumed',
    method: 'HEAD',
    input: b('HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nabc'),
    expect: { ended: true, body: '', consumed: 'HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n'.length },
  },
  // --- errors --------------------------------------------------------------------------------------
  { name: 'invalid status line: HTTP/2', input: b('HTTP/2 200 OK\r\n\r\n'), expect: { error: /invalid status line/ } },
  { name: 'invalid status line: ICY', input: b('ICY 200 OK\r\n\r\n'), expect: { error: /invalid status line/ } },
  { name: 'invalid status line: two-digit status', input: b('HTTP/1.1 20 OK\r\n\r\n'), expect: { error: /invalid status line/ } },
  { name: 'invalid status line: letters', input: b('HTTP/1.1 abc OK\r\n\r\n'), expect: { error: /invalid status line/ } },
  { name: 'invalid status line: no space after status', input: b('HTTP/1.1 200OK\r\n\r\n'), expect: { error: /invalid status line/ } },
  { name: 'invalid status line: status 099', input: b('HTTP/1.1 099 X\r\n\r\n'), expect: { error: /invalid status line/ } },
  { name: 'invalid status line: lowercase http', input: b('http/1.1 200 OK\r\n\r\n'), expect: { error: /invalid status line/ } },
  // BUG (minor, response-parser.ts:253-254): Number('2e2') === 200 (also '.2e3'), so a non-digit status
  // passes. Fix: `if (!/^\d{3}$/.test(statusLine.slice(9, 12))) throw …`.
  { name: 'invalid status line: exponent digits (2e2)', input: b('HTTP/1.1 2e2 OK\r\ncontent-length: 0\r\n\r\n'), expect: { error: /invalid status line/ } },
  { name: 'bad content-length: letters', input: b('HTTP/1.1 200 OK\r\ncontent-length: 5x\r\n\r\nhello'), expect: { error: /content-length/ } },
  { name: 'bad content-length: negative', input: b('HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n'), expect: { error: /content-length/ } },
  { name: 'bad content-length: empty', input: b('HTTP/1.1 200 OK\r\ncontent-length:\r\n\r\n'), expect: { error: /content-length/ } },
  { name: 'bad content-length: list', input: b('HTTP/1.1 200 OK\r\ncontent-length: 5, 5\r\n\r\nhello'), expect: { error: /content-length/ } },
  { name: 'bad content-length: 16 digits', input: b('HTTP/1.1 200 OK\r\ncontent-length: 1234567890123456\r\n\r\n'), expect: { error: /content-length/ } },
  { name: 'bad content-length: plus sign', input: b('HTTP/1.1 200 OK\r\ncontent-length: +5\r\n\r\nhello'), expect: { error: /content-length/ } },
  {
    name: 'conflicting content-lengths',
    input: b('HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!'),
    expect: { error: /conflicting content-length/ },
  },
  {
    name: 'header line with a space before the colon',
    input: b('HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello'),
    expect: { error: /invalid header line/ },
  },
  // BUG (response-parser.ts:266): only SP is checked before the colon; HTAB slips through and
  // "content-length\t" is then not recognised as a framing header: the body is read until close
  // instead of by length (RFC 9112 §5.1: MUST reject). Names are not validated as tokens at all.
  // Fix: `if (colon <= 0 || !/^[!#$%&'*+\-.^_\`|~0-9A-Za-z]+$/.test(line.slice(0, colon))) throw …`.
  {
    name: 'header line with a tab before the colon',
    input: b('HTTP/1.1 200 OK\r\nContent-Length\t: 5\r\n\r\nhello'),
    expect: { error: /invalid header line/ },
  },
  { name: 'header line without a colon', input: b('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'), expect: { error: /invalid header line/ } },
  { name: 'header line with an empty name', input: b('HTTP/1.1 200 OK\r\n: value\r\n\r\n'), expect: { error: /invalid header line/ } },
  {
    name: 'obs-fold line (SP)',
    input: b('HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\ncontent-length: 0\r\n\r\n'),
    expect: { error: /invalid header line/ },
  },
  {
    name: 'obs-fold line (HTAB)',
    input: b('HTTP/1.1 200 OK\r\nX-Folded: a\r\n\tb\r\ncontent-length: 0\r\n\r\n'),
    expect: { error: /invalid header line/ },
  },
  { name: 'chunk size not hex', input: b(`${chunkedHead}zz\r\nhello\r\n0\r\n\r\n`), expect: { error: /invalid chunk size/, body: '' } },
  { name: 'chunk size missing (empty line)', input: b(`${chunkedHead}\r\nhello\r\n0\r\n\r\n`), expect: { error: /invalid chunk size/ } },
  { name: 'chunk size with a negative sign', input: b(`${chunkedHead}-5\r\nhello\r\n0\r\n\r\n`), expect: { error: /invalid chunk size/ } },
  { name: 'chunk size 0x prefix', input: b(`${chunkedHead}0x5\r\nhello\r\n0\r\n\r\n`), expect: { error: /invalid chunk size/ } },
  { name: 'chunk size with 14 hex digits', input: b(`${chunkedHead}00000000000005\r\nhello\r\n0\r\n\r\n`), expect: { error: /chunk size too large/ } },
  { name: 'chunk size > 2^53', input: b(`${chunkedHead}fffffffffffffff\r\n`), expect: { error: /chunk size too large/ } },
  {
    name: 'missing CRLF after chunk data',
    input: b(`${chunkedHead}5\r\nhelloXX\r\n0\r\n\r\n`),
    expect: { error: /missing CRLF after chunk data/, body: 'hello' },
  },
  {
    name: 'CR without LF after chunk data',
    input: b(`${chunkedHead}5\r\nhello\rX0\r\n\r\n`),
    expect: { error: /missing CRLF after chunk data/, body: 'hello' },
  },
  // BUG (response-parser.ts:235-239): the 64 KiB head limit is only enforced while the head is
  // incomplete, so a 70 KiB (or 10 MiB) head that arrives in one read is accepted, but the same bytes
  // split across reads are rejected. Fix: after finding `end`, also
  // `if (end + 4 - from > MAX_HEAD_BYTES) throw …` (and use `>=` in the incomplete case so the
  // boundary does not depend on where the read split).
  {
    name: 'head > 64 KiB',
    input: b(`HTTP/1.1 200 OK\r\n${bigHeader(70 * 1024)}content-length: 0\r\n\r\n`),
    expect: { error: /head too large/ },
  },
  {
    name: 'head just under 64 KiB is accepted',
    input: b(`HTTP/1.1 200 OK\r\n${bigHeader(60 * 1024)}content-length: 2\r\n\r\nok`),
    expect: { body: 'ok', ended: true },
  },
  {
    name: 'trailers > 16 KiB',
    input: b(`${chunkedHead}2\r\nok\r\n0\r\n${bigHeader(17 * 1024)}\r\n`),
    expect: { error: /trailers too large/, body: 'ok' },
  },
  {
    name: 'trailers just under 16 KiB are accepted',
    input: b(`${chunkedHead}2\r\nok\r\n0\r\n${bigHeader(15 * 1024)}\r\n`),
    expect: { body: 'ok', ended: true },
  },
  // BUG (minor, response-parser.ts:289-290): a later "Connection: keep-alive" line overrides an
  // earlier "Connection: close"; close must be sticky (RFC 9112 §9.6: the combined field value
  // contains "close"). Fix: remember `closeSeen` and never set keepAlive back to true after it.
  {
    name: 'connection: close then connection: keep-alive → not keep-alive',
    input: b('HTTP/1.1 200 OK\r\nconnection: close\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n'),
    expect: { head: { keepAlive: false }, ended: true, keepAlive: false },
  },
];

describe('ResponseParser (every case fed whole, split at every byte, and byte by byte)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const out = parseAllWays(c.input, c.method);
      const { head, error, ...rest } = c.expect;
      if (error !== undefined) {
        expect(out.error ?? `no error; outcome: ${JSON.stringify(compact(out))}`).toMatch(error);
        expect(out.ended).toBe(false);
        if (rest.body !== undefined) expect(out.body).toBe(rest.body);
        if (!('head' in c.expect)) return;
        expect(out.head).toBeNull();
        return;
      }
      expect(out.error).toBeNull();
      expect(out.head).not.toBeNull();
      if (head !== undefined) expect(out.head).toMatchObject(head);
      for (const [key, value] of Object.entries(rest)) expect({ [key]: out[key as keyof Outcome] }).toEqual({ [key]: value });
      // Unless stated, the whole input is consumed.
      if (rest.consumed === undefined) expect(out.consumed).toBe(c.input.length);
    });
  }
});

describe('ResponseParser, incremental details', () => {
  it('hands body slices of the input without copying (zero-copy)', () => {
    const input = b('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello');
    const slices: Buffer[] = [];
    const parser = new ResponseParser({ onHead() {}, onBody: (c) => slices.push(c), onEnd() {} });
    parser.reset('GET');
    parser.execute(input);
    expect(slices).toHaveLength(1);
    expect(slices[0].buffer).toBe(input.buffer);
    expect(slices[0].byteOffset).toBe(input.byteOffset + input.length - 5);
  });

  it('delivers a body chunk per read as it arrives (streaming, not buffered)', () => {
    const bodies: string[] = [];
    let ended = false;
    const parser = new ResponseParser({ onHead() {}, onBody: (c) => bodies.push(c.toString()), onEnd: () => (ended = true) });
    parser.reset('GET');
    parser.execute(b(`${chunkedHead}5\r\nhel`));
    expect(bodies).toEqual(['hel']);
    parser.execute(b('lo\r\n'));
    expect(bodies).toEqual(['hel', 'lo']);
    expect(ended).toBe(false);
    expect(parser.done).toBe(false);
    parser.execute(b('0\r\n\r\n'));
    expect(ended).toBe(true);
    expect(parser.done).toBe(true);
  });

  it('started: false before any byte, true once a partial head was seen', () => {
    const parser = new ResponseParser({ onHead() {}, onBody() {}, onEnd() {} });
    parser.reset('GET');
    expect(parser.started).toBe(false);
    expect(parser.done).toBe(false);
    parser.execute(b('HTTP/1.1 2'));
    expect(parser.started).toBe(true);
  });

  it('execute() on a done parser consumes nothing', () => {
    const parser = new ResponseParser({ onHead() {}, onBody() {}, onEnd() {} });
    parser.reset('GET');
    expect(parser.execute(b('HTTP/1.1 204 No Content\r\n\r\n'))).toBe(25 + 2);
    expect(parser.execute(b('more'))).toBe(0);
    expect(parser.endOfInput()).toBe(false);
  });

  it('endOfInput() mid content-length body / mid chunked body / mid head is not a clean end', () => {
    for (const input of [
      'HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc',
      `${chunkedHead}5\r\nabc`,
      `${chunkedHead}5\r\nabcde\r\n`,
      `${chunkedHead}0\r\n`,
      'HTTP/1.1 200 OK\r\ncontent-le',
    ]) {
      let ended = false;
      const parser = new ResponseParser({ onHead() {}, onBody() {}, onEnd: () => (ended = true) });
      parser.reset('GET');
      parser.execute(b(input));
      expect(parser.endOfInput(), input).toBe(false);
      expect(ended).toBe(false);
      expect(parser.done).toBe(false);
    }
  });

  it('reset() reuses the parser for a second response (and a HEAD after a GET)', () => {
    const events: string[] = [];
    const parser = new ResponseParser({
      onHead: (h) => events.push(`head ${h.status} ka=${h.keepAlive}`),
      onBody: (c) => events.push(`body ${c.toString()}`),
      onEnd: () => events.push('end'),
    });
    const first = b(`${chunkedHead}3\r\nabc\r\n0\r\n\r\n`);
    parser.reset('GET');
    expect(parser.execute(first)).toBe(first.length);
    expect(parser.done).toBe(true);

    parser.reset('POST');
    expect(parser.done).toBe(false);
    expect(parser.started).toBe(false);
    // A partial head, then the rest: state from the first response must not leak.
    parser.execute(b('HTTP/1.1 201 Created\r\ncontent-'));
    parser.execute(b('length: 4\r\n\r\nwxyz'));
    expect(parser.done).toBe(true);

    parser.reset('HEAD');
    parser.execute(b('HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n'));
    expect(parser.done).toBe(true);

    parser.reset('GET');
    parser.execute(b('HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 1\r\n\r\nz'));
    expect(parser.keepAlive).toBe(false);
    parser.reset('GET');
    expect(parser.keepAlive).toBe(true);
    parser.execute(b('HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nq'));
    expect(parser.keepAlive).toBe(true);

    expect(events).toEqual([
      'head 200 ka=true', 'body abc', 'end',
      'head 201 ka=true', 'body wxyz', 'end',
      'head 200 ka=true', 'end',
      'head 200 ka=false', 'body z', 'end',
      'head 200 ka=true', 'body q', 'end',
    ]);
  });

  it('reset() after an error mid-head starts clean', () => {
    const parser = new ResponseParser({ onHead() {}, onBody() {}, onEnd() {} });
    parser.reset('GET');
    parser.execute(b('HTTP/1.1 200 OK\r\nx: y'));
    parser.reset('GET');
    expect(parser.started).toBe(false);
    expect(parser.execute(b('HTTP/1.1 204 No Content\r\n\r\n'))).toBe(25 + 2);
    expect(parser.done).toBe(true);
  });
});
