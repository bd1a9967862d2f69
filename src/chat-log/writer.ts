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
        const limit = Math.min(room, this.#maxWriteBytes);
        let end = next;
        let bytes = 0;
        while (end < lines.length) {
          const size = Buffer.byteLength(lines[end]) + 1;
          // The first line of a run goes in unless it overflows a non-empty file (then rotate first).
          if (end === next ? size > room && used > 0 : bytes + size > limit) break;
          bytes += size;
          end++;
        }
        if (end === next) {
          await this.#rotate();
          continue;
        }
        const text = end === next + 1 ? `${lines[next]}\n` : `${lines.slice(next, end).join('\n')}\n`;
        await this.#append(handle, Buffer.from(text));
        this.writtenLines += end - next;
        next = end;
      }
      this.reporter.ok();
    } catch (err) {
      this.droppedLines += lines.length - next;
      this.reporter.fail(`cannot write ${this.path}`, err);
      await this.release();
    }
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
