/**
 * What lines wait in until the batch queue (sink.ts) hands them to a write: UTF-8 bytes, for the
 * file and for a cluster worker's messages to the primary alike.
 *
 * Lines are encoded the moment they are appended, into 1 MiB chunks that are written (or sent) as
 * they are. Keeping the strings until the batch is written (up to 100 ms, thousands of
 * records under load) kept them alive across young-generation collections, which copied and then
 * promoted them, and encoding a record built by concatenation flattened it first; a string that is
 * encoded at once dies young and is never copied. Chunks are filled to the end: a batch taken from
 * the middle of one is a view, and later lines go on after it.
 */
import { Buffer } from 'node:buffer';

/** Lines waiting for the next write; `B` is what a write gets. */
export interface LineBatch<B> {
  /** Lines waiting. */
  readonly lines: number;
  /** Their size, in the container's units (bytes of UTF-8 for LineBytes). */
  readonly size: number;
  /** Adds a complete line (no newline). */
  push(line: string): void;
  /** Adds `count` complete lines given as UTF-8 bytes, each ending in `\n`, copied: the caller may reuse them. */
  pushLines(lines: Uint8Array, count: number): void;
  /** Everything waiting, as one batch; the container is empty afterwards. */
  take(): B;
}

/** A batch of encoded lines: whole lines, each ending in `\n`, in order across the buffers. */
export interface ByteBatch {
  readonly buffers: Buffer[];
  readonly lines: number;
  /** Chunks whose last bytes are in this batch: free for new lines once it is written. */
  readonly filled: Buffer[];
}

const NEWLINE = 0x0a;
/** Default chunk size; a line that may need more goes alone, in a buffer of its own size. */
export const CHUNK_BYTES = 1024 * 1024;
/**
 * Written chunks kept for reuse: as many as a batch fills when it is written at its eager size
 * (sink.ts, 4 MiB, so it may span 5 chunks) and one more, so a busy log allocates none — a fresh
 * chunk is external memory V8 counts towards its next full collection. At most 7 MiB stay.
 */
const SPARE_CHUNKS = 6;

/** The file's container: lines encoded as UTF-8 into chunks (see the file comment). */
export class LineBytes implements LineBatch<ByteBatch> {
  readonly #chunkBytes: number;
  /** The chunk being filled, and where its waiting bytes start and end. */
  #chunk: Buffer | null = null;
  #start = 0;
  #end = 0;
  /** Waiting bytes before those of the current chunk (earlier chunks, long lines). */
  #sealed: Buffer[] = [];
  /** Chunks left full since the last take, and written chunks ready for reuse. */
  #filled: Buffer[] = [];
  #spare: Buffer[] = [];
  #lines = 0;
  #bytes = 0;

  constructor(chunkBytes = CHUNK_BYTES) {
    this.#chunkBytes = chunkBytes;
  }

  get lines(): number {
    return this.#lines;
  }

  get size(): number {
    return this.#bytes;
  }

  push(line: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units).
    const most = line.length * 3 + 1;
    let bytes: number;
    if (most > this.#chunkBytes) {
      const own = Buffer.allocUnsafeSlow(Buffer.byteLength(line) + 1);
      bytes = own.write(line) + 1;
      own[bytes - 1] = NEWLINE;
      this.#pushOwn(own);
    } else {
      const chunk = this.#room(most);
      bytes = chunk.write(line, this.#end) + 1;
      chunk[this.#end + bytes - 1] = NEWLINE;
      this.#end += bytes;
    }
    this.#lines++;
    this.#bytes += bytes;
  }

  pushLines(lines: Uint8Array, count: number): void {
    const bytes = lines.length;
    if (bytes > this.#chunkBytes) {
      const own = Buffer.allocUnsafeSlow(bytes);
      own.set(lines);
      this.#pushOwn(own);
    } else {
      this.#room(bytes).set(lines, this.#end);
      this.#end += bytes;
    }
    this.#lines += count;
    this.#bytes += bytes;
  }

  /** The current chunk, with room for `most` more bytes at `#end` (a new one when it has not). */
  #room(most: number): Buffer {
    let chunk = this.#chunk;
    if (chunk === null || this.#end + most > chunk.length) {
      this.#seal();
      if (chunk !== null) this.#filled.push(chunk);
      // Reused, not allocated: a fresh 1 MiB every 1 MiB of log is external memory V8 counts
      // towards its next full collection.
      chunk = this.#chunk = this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#chunkBytes);
      this.#start = this.#end = 0;
    }
    return chunk;
  }

  /** A line too long for a chunk goes in a buffer of its own, after what waits. */
  #pushOwn(own: Buffer): void {
    this.#seal();
    this.#sealed.push(own);
  }

  /**
   * Adds `lines` lines already encoded (each ending in `\n`, as a worker sends them), as they are:
   * no copy; lines pushed later go after them.
   */
  pushEncoded(bytes: Buffer, lines: number): void {
    this.#seal();
    this.#sealed.push(bytes);
    this.#lines += lines;
    this.#bytes += bytes.length;
  }

  take(): ByteBatch {
    this.#seal();
    const batch = { buffers: this.#sealed, lines: this.#lines, filled: this.#filled };
    this.#sealed = [];
    this.#filled = [];
    this.#lines = 0;
    this.#bytes = 0;
    return batch;
  }

  /** Takes back the chunks of a batch that was written (or given up): no view of them is used any more. */
  recycle(batch: ByteBatch): void {
    for (const chunk of batch.filled) if (this.#spare.length < SPARE_CHUNKS) this.#spare.push(chunk);
  }

  /** Moves the current chunk's waiting bytes to the sealed list; later lines go on after them. */
  #seal(): void {
    if (this.#chunk === null || this.#end === this.#start) return;
    this.#sealed.push(this.#chunk.subarray(this.#start, this.#end));
    this.#start = this.#end;
  }
}

/** Lines in each buffer of `batch`. */
export function linesPerBuffer({ buffers, lines }: ByteBatch): number[] {
  return buffers.length === 1 ? [lines] : buffers.map(countLines);
}

/** Lines in `bytes` (each ends in `\n`): for the counts of a batch cut or lost part-way. */
export function countLines(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count;
}
