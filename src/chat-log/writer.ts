/**
 * The chat-log file writer: batched, asynchronous JSON Lines appends to `{dir}/chat.log`, rotated
 * at `rotateSize` bytes (scheme in log-files.ts). Only one writer may own a log directory: the
 * single process, or the cluster primary (workers send it their lines, see ipc.ts).
 *
 * Lines are never split or lost between files: a batch is cut into runs of whole lines that fit the
 * current file, and rotation happens only between runs. A line larger than the limit goes whole
 * into a fresh file. A failed write is reported once per failure streak on stderr, its lines are
 * counted as dropped, and the next batch tries again (reopening the file and directory); a write
 * that failed half-way is truncated back, so a later line never continues a torn one.
 */
import { type FileHandle, mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { nextRotationIndex, rotatedPath } from './log-files.js';
import { BatchedSink } from './sink.js';

export interface ChatLogWriterOptions {
  /** The active log file, e.g. `/srv/Log/chat.log`. */
  path: string;
  /** Rotate before a file would pass this many bytes; 0 = never. */
  rotateSize: number;
  stderr: NodeJS.WritableStream;
  /** Largest single write in bytes (default 4 MiB), so a backlog never becomes one huge string. */
  maxWriteBytes?: number;
}

const NEWLINE = 0x0a;
/** Size of the buffer batches are encoded into (kept once used); a line that may not fit goes alone. */
const RUN_BUFFER_BYTES = 1024 * 1024;

/** The file sink: the only thing that writes `chat.log` (see the file comment). */
export class ChatLogWriter extends BatchedSink {
  readonly path: string;
  readonly #rotateSize: number;
  readonly #maxWriteBytes: number;
  #handle: FileHandle | null = null;
  /** Bytes in the open file. */
  #size = 0;
  /** Where the current rotation period began (0, or the size at a failed rotation). */
  #base = 0;
  /** What {@link #encodeRun} encodes into, allocated at the first write. */
  #runBuffer: Buffer | null = null;

  constructor({ path, rotateSize, stderr, maxWriteBytes = 4 * 1024 * 1024 }: ChatLogWriterOptions) {
    super(stderr);
    this.path = path;
    this.#rotateSize = rotateSize > 0 ? rotateSize : Number.POSITIVE_INFINITY;
    this.#maxWriteBytes = maxWriteBytes;
  }

  protected override async writeBatch(lines: string[]): Promise<void> {
    let next = 0;
    try {
      while (next < lines.length) {
        const handle = await this.#open();
        const used = this.#size - this.#base;
        const room = this.#rotateSize - used;
        const run = this.#encodeRun(lines, next, room, used > 0);
        if (run.end === next) {
          await this.#rotate();
          continue;
        }
        await this.#append(handle, run.data);
        this.writtenLines += run.end - next;
        next = run.end;
      }
      this.reporter.ok();
    } catch (err) {
      this.droppedLines += lines.length - next;
      this.reporter.fail(`cannot write ${this.path}`, err);
      await this.release();
    }
  }

  /**
   * UTF-8 of the run of whole lines from `start` on that goes in one write: at most `maxWriteBytes`
   * and within the `room` left before rotation — except that the run's first line always goes in,
   * unless it would overflow a file that is not empty (`end === start` then: rotate first). Lines are
   * encoded once, straight into a reused buffer: joining a batch into one string and encoding that
   * cost ~12 times as much (~1 µs per line, on the thread that forwards).
   */
  #encodeRun(lines: readonly string[], start: number, room: number, fileUsed: boolean): { data: Buffer; end: number } {
    const limit = Math.min(room, this.#maxWriteBytes);
    const first = lines[start];
    if (first.length * 3 + 1 > RUN_BUFFER_BYTES) {
      // A line this long goes alone, in a buffer of its own.
      const data = Buffer.from(`${first}\n`);
      return { data, end: data.length > room && fileUsed ? start : start + 1 };
    }
    const buffer = (this.#runBuffer ??= Buffer.allocUnsafeSlow(RUN_BUFFER_BYTES));
    let bytes = 0;
    let end = start;
    while (end < lines.length) {
      const line = lines[end];
      // Room for the longest UTF-8 the line could need; a longer line starts the next run.
      if (bytes + line.length * 3 + 1 > buffer.length) break;
      const size = buffer.write(line, bytes) + 1;
      if (end === start ? size > room && fileUsed : bytes + size > limit) break;
      buffer[bytes + size - 1] = NEWLINE;
      bytes += size;
      end++;
    }
    return { data: buffer.subarray(0, bytes), end };
  }

  async #append(handle: FileHandle, data: Buffer): Promise<void> {
    const start = this.#size;
    try {
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await handle.write(data, offset, data.length - offset);
        offset += bytesWritten;
      }
      this.#size += data.length;
    } catch (err) {
      // Never leave a torn line for the next one to continue.
      await handle.truncate(start).catch(() => {});
      throw err;
    }
  }

  async #open(): Promise<FileHandle> {
    if (this.#handle !== null) return this.#handle;
    await mkdir(dirname(this.path), { recursive: true });
    // `a+`: appends (O_APPEND) and allows reading the last byte back.
    const handle = await open(this.path, 'a+');
    try {
      let { size } = await handle.stat();
      if (size > 0) {
        // A previous process died mid-line: end that line so the next record starts clean.
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== NEWLINE) {
          await handle.write('\n');
          size++;
        }
      }
      this.#size = size;
      this.#base = 0;
    } catch (err) {
      await handle.close().catch(() => {});
      throw err;
    }
    this.#handle = handle;
    return handle;
  }

  async #rotate(): Promise<void> {
    await this.release();
    try {
      await rename(this.path, rotatedPath(this.path, await nextRotationIndex(this.path)));
    } catch (err) {
      // Keep appending to the oversized file rather than dropping records; try again one
      // `rotateSize` later.
      this.reporter.fail(`cannot rotate ${this.path}`, err, 'appending to the full file instead');
      await this.#open();
      this.#base = this.#size;
    }
  }

  protected override async release(): Promise<void> {
    const handle = this.#handle;
    this.#handle = null;
    if (handle !== null) await handle.close().catch(() => {});
  }
}
