/**
 * Incremental server-sent-events parser, per WHATWG HTML "Interpreting an event stream"
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation).
 *
 * Bytes go in as they arrive (chunks may split a line, a CRLF pair or a multi-byte UTF-8 character
 * anywhere); events come out through a callback. Lines are found on bytes — CR and LF never occur
 * inside a UTF-8 sequence — and each complete line is decoded once, so a character split across
 * chunks decodes correctly and no byte is scanned twice: O(total bytes), no whole-buffer rescans.
 *
 * What a logger needs and the spec does not say:
 * - `id` and `retry` are not reported (nothing downstream reconnects);
 * - {@link SseParser.end} dispatches an event left without its closing blank line (the spec drops
 *   it; a log wants the last delta of a stream whose upstream was cut off);
 * - a line longer than `maxLineBytes` is dropped, so a mislabelled binary body cannot eat memory.
 */

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
  /** Bytes of the line not yet terminated, as views of the chunks they arrived in (no copies). */
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

  /** Feeds the next bytes of the stream. The chunk must not be mutated afterwards (views are kept). */
  push(chunk: Buffer): void {
    const len = chunk.length;
    if (len === 0) return;
    let pos = 0;
    if (this.#skipLf) {
      this.#skipLf = false;
      if (chunk[0] === LF) pos = 1;
    }
    // Next CR / LF positions, searched again only once passed: each byte is looked at once per kind.
    let cr = chunk.indexOf(CR, pos);
    let lf = chunk.indexOf(LF, pos);
    while (pos < len) {
      if (cr !== -1 && cr < pos) cr = chunk.indexOf(CR, pos);
      if (lf !== -1 && lf < pos) lf = chunk.indexOf(LF, pos);
      const eol = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (eol === -1) {
        this.#keep(chunk.subarray(pos));
        return;
      }
      this.#completeLine(chunk, pos, eol);
      if (chunk[eol] === LF) {
        pos = eol + 1;
      } else if (eol + 1 < len) {
        pos = chunk[eol + 1] === LF ? eol + 2 : eol + 1;
      } else {
        this.#skipLf = true;
        pos = len;
      }
    }
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
    this.#partial.push(bytes);
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
