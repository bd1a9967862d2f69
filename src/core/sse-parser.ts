/**
 * Incremental server-sent-events parser, per WHATWG HTML "Interpreting an event stream"
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 *
 * Bytes go in as they arrive (chunks may split a line, a CRLF pair or a multi-byte UTF-8 character
 * anywhere); events come out through a callback. Line ends are found on bytes — CR and LF never
 * occur inside a UTF-8 sequence — so a character split across chunks decodes correctly: the
 * complete lines of a chunk are decoded in one call (one native call per chunk, not per line, which
 * is most of the parser's cost) and split as text; only a line left unfinished at the chunk's end is
 * kept as bytes. Decoding lines together gives the same text as one by one: a line end is ASCII and
 * never part of a (valid or invalid) UTF-8 sequence. O(total bytes), no whole-buffer rescans.
 *
 * What a logger needs and the spec does not say:
 * - `id` and `retry` are not reported (nothing downstream reconnects);
 * - {@link SseParser.end} dispatches an event left without its closing blank line (the spec drops
 *   it; a log wants the last delta of a stream whose upstream was cut off);
 * - a line longer than `maxLineBytes` is dropped, so a mislabelled binary body cannot eat memory.
 */
import { Buffer } from 'node:buffer';
import { ownCopy } from './own-copy.js';

const LF = 0x0a;
const CR = 0x0d;

/** Receives each dispatched event: its type (`message` when no `event:` field) and its data. */
export type SseListener = (event: string, data: string) => void;

export interface SseParserOptions {
  /** Longest line kept, in bytes (default 16 MiB); longer lines are dropped whole. */
  maxLineBytes?: number;
}

/** One event stream's parser: feed it with {@link SseParser.push}, finish with {@link SseParser.end}. */
export class SseParser {
  readonly #onEvent: SseListener;
  readonly #maxLineBytes: number;
  /**
   * Bytes of the line not yet terminated, copied: they may wait long (a slow stream), and a view
   * would pin the whole buffer the chunk is a slice of.
   */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** The current line passed `maxLineBytes`: drop everything up to its end. */
  #overflow = false;
  /** The previous chunk ended with CR: a LF opening the next chunk belongs to the same line end. */
  #skipLf = false;
  #firstLine = true;
  #eventType = '';
  #data: string | null = null;

  constructor(onEvent: SseListener, { maxLineBytes = 16 * 1024 * 1024 }: SseParserOptions = {}) {
    this.#onEvent = onEvent;
    this.#maxLineBytes = maxLineBytes;
  }

  /** Feeds the next bytes of the stream. Nothing keeps a view of the chunk after the call. */
  push(chunk: Buffer): void {
    const len = chunk.length;
    if (len === 0) return;
    let pos = 0;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (chunk[0] === LF) pos = 1;
    }
    // Everything up to the chunk's last line end is complete lines. Most chunks end with one.
    const end = chunk[len - 1];
    const last = end === LF || end === CR ? len - 1 : Math.max(chunk.lastIndexOf(LF), chunk.lastIndexOf(CR));
    if (last < pos) {
      if (pos < len) this.#keep(chunk.subarray(pos));
      return;
    }
    if (this.#partialBytes > 0 || this.#overflow) pos = this.#finishPartial(chunk, pos);
    if (pos <= last) this.#lines(chunk.toString('utf8', pos, last + 1));
    // A CR ending the chunk may be the first half of a CRLF (never followed by LF inside it: the
    // LF would be the last line end).
    if (last === len - 1) this.#skipLf = chunk[last] === CR;
    else this.#keep(chunk.subarray(last + 1));
  }

  /** The stream ended: handles an unterminated last line and dispatches a pending event. */
  end(): void {
    if (this.#partialBytes > 0 || this.#overflow) this.#completeLine(Buffer.alloc(0), 0, 0);
    this.#dispatch();
  }

  #keep(bytes: Buffer): void {
    if (this.#overflow) return;
    this.#partialBytes += bytes.length;
    if (this.#partialBytes > this.#maxLineBytes) {
      this.#overflow = true;
      this.#partial = [];
      this.#partialBytes = 0;
      return;
    }
    this.#partial.push(ownCopy(bytes));
  }

  /** Ends the line kept from earlier chunks at the first line end from `pos`; returns what follows it. */
  #finishPartial(chunk: Buffer, pos: number): number {
    const lf = chunk.indexOf(LF, pos);
    const cr = chunk.indexOf(CR, pos);
    const eol = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    this.#completeLine(chunk, pos, eol);
    return chunk[eol] === CR && chunk[eol + 1] === LF ? eol + 2 : eol + 1;
  }

  /** Complete lines as text, each ended by CR, LF or CRLF (the text ends with a line end). */
  #lines(text: string): void {
    const len = text.length;
    let pos = 0;
    // Next CR / LF positions, searched again only once passed: each character is looked at once per kind.
    let cr = text.indexOf('\r');
    let lf = text.indexOf('\n');
    while (pos < len) {
      if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
      if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
      const eol = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      const line = eol === pos ? '' : text.slice(pos, eol);
      pos = eol === cr && lf === eol + 1 ? eol + 2 : eol + 1;
      // A line has at least as many UTF-8 bytes as UTF-16 units and at most three times as many:
      // count its bytes only when that decides.
      if (line.length * 3 > this.#maxLineBytes && Buffer.byteLength(line) > this.#maxLineBytes) continue;
      this.#accept(line);
    }
  }

  #completeLine(chunk: Buffer, start: number, end: number): void {
    if (this.#overflow) {
      this.#overflow = false;
      return;
    }
    let line: string;
    if (this.#partialBytes === 0) {
      if (end - start > this.#maxLineBytes) return;
      line = start === end ? '' : chunk.toString('utf8', start, end);
    } else {
      if (this.#partialBytes + (end - start) > this.#maxLineBytes) {
        this.#partial = [];
        this.#partialBytes = 0;
        return;
      }
      this.#partial.push(chunk.subarray(start, end));
      line = Buffer.concat(this.#partial).toString('utf8');
      this.#partial = [];
      this.#partialBytes = 0;
    }
    this.#accept(line);
  }

  #accept(line: string): void {
    if (this.#firstLine) {
      this.#firstLine = false;
      // A UTF-8 BOM may open the stream (and only there).
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    }
    this.#line(line);
  }

  #line(line: string): void {
    if (line.length === 0) {
      this.#dispatch();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return; // comment, e.g. `: ping` keep-alives
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 0x20 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    if (field === 'data') this.#data = this.#data === null ? value : `${this.#data}\n${value}`;
    else if (field === 'event') this.#eventType = value;
    // `id`, `retry` and unknown fields are ignored (see the file comment).
  }

  #dispatch(): void {
    const data = this.#data;
    const type = this.#eventType;
    this.#data = null;
    this.#eventType = '';
    if (data === null) return;
    this.#onEvent(type === '' ? 'message' : type, data);
  }
}
