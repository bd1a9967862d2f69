/**
 * Finds the end of a message head (the empty line) in socket reads, shared by the request and
 * response parsers. A head almost always arrives whole in one read, usually with its body: the
 * first bytes are decoded once (latin1) and searched as a string, which costs half of a Buffer
 * search followed by a decode. A head split across reads is gathered in a pending buffer.
 */
import { Buffer } from 'node:buffer';
import { ownCopy } from '../../core/own-copy.js';

/** Bytes decoded at once on the fast path; longer heads take the Buffer path. */
const PROBE = 4096;

export class HeadReader {
  #pending: Buffer | null = null;
  /** After a successful `read`: the offset in its `chunk` just past the head. */
  end = 0;

  /** Part of a head has been seen and more is awaited. */
  get pending(): boolean {
    return this.#pending !== null;
  }

  reset(): void {
    this.#pending = null;
  }

  /**
   * Reads a head from `chunk` at `at`: returns its text (start line and header lines, without the
   * final CRLF CRLF) and sets `end`, or returns null when the head is not complete yet (the bytes
   * are kept). Throws `tooLarge()` once the head exceeds `max` bytes.
   */
  read(chunk: Buffer, at: number, max: number, tooLarge: () => Error): string | null {
    const pending = this.#pending;
    if (pending === null) {
      const probeEnd = Math.min(chunk.length, at + PROBE);
      const probe = chunk.toString('latin1', at, probeEnd);
      const found = probe.indexOf('\r\n\r\n');
      if (found !== -1) {
        if (found + 4 > max) throw tooLarge();
        this.end = at + found + 4;
        return probe.slice(0, found);
      }
      if (probeEnd === chunk.length) {
        if (probe.length >= max) throw tooLarge();
        this.#pending = ownCopy(chunk.subarray(at));
        return null;
      }
    }
    // A head split across reads, or longer than the probe.
    const buf = pending === null ? chunk.subarray(at) : Buffer.concat([pending, chunk.subarray(at)]);
    const found = buf.indexOf('\r\n\r\n', Math.max(0, (pending?.length ?? 0) - 3), 'latin1');
    if (found === -1) {
      if (buf.length >= max) throw tooLarge();
      this.#pending = ownCopy(buf);
      return null;
    }
    if (found + 4 > max) throw tooLarge();
    this.#pending = null;
    this.end = at + found + 4 - (pending?.length ?? 0);
    return buf.toString('latin1', 0, found);
  }
}
