/**
 * The chat-log file writer: batched, asynchronous JSON Lines appends to `{dir}/chat.log`, rotated
 * at `rotateSize` bytes (scheme in log-files.ts). Only one writer may own a log directory: the
 * single process, or the cluster primary (workers send it their lines, see ipc.ts).
 *
 * Lines are never split or lost between files: a batch is cut into runs of whole lines that fit the
 * current file, and rotation happens only between runs. A line larger than the limit goes whole
 * into a fresh file. A failed write is reported once per failure streak on stderr, its lines are
 * counted as dropped, and the next batch tries again (reopening the file and directory); a write
 * that failed half-way is truncated back, so a later line never continues a torn one. What is
 * written goes back to the kernel as the file grows: synced and dropped from the page cache every
 * 4 MiB, and whole once the writer is done with the file (page-release.ts).
 */
import { Buffer } from 'node:buffer';
import { closeSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { type FileHandle, mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pageDropper } from './file-advice.js';
import { type ByteBatch, countLines } from './line-batch.js';
import { nextRotationIndex, rotatedPath } from './log-files.js';
import { PageRelease } from './page-release.js';
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

/** What is left of `buffers` after their first `written` bytes. */
function unwritten(buffers: Buffer[], written: number): Buffer[] {
  let skip = written;
  let i = 0;
  while (skip >= buffers[i].length) skip -= buffers[i++].length;
  return [buffers[i].subarray(skip), ...buffers.slice(i + 1)];
}

/** The file sink: the only thing that writes `chat.log` (see the file comment). */
export class ChatLogWriter extends BatchedSink {
  readonly path: string;
  readonly #rotateSize: number;
  readonly #maxWriteBytes: number;
  #handle: FileHandle | null = null;
  /** Hands the open file's written pages back to the kernel (page-release.ts); null where it cannot. */
  #pages: PageRelease | null = null;
  /** Files left (rotated, or after a failure) whose release and close are under way. */
  #retiring: Promise<void> = Promise.resolve();
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

  protected override async writeBatch({ buffers, lines }: ByteBatch): Promise<void> {
    let index = 0;
    let offset = 0;
    try {
      // A batch spans a few chunks (line-batch.ts): when it all fits before rotation, one `writev`
      // writes it — one thread-pool round trip, which costs the core that forwards far more than
      // the bytes (sink.ts). With 100 ms batches, one write per batch instead of one per 1 MiB
      // chunk saved ~0.3 µs of CPU per request (by hand on 2026-11-28: 4 MiB chunks against 1 MiB,
      // two gateways loaded at once, 6 pairs).
      if (buffers.length > 1) {
        const handle = await this.#open();
        let total = 0;
        for (const buffer of buffers) total += buffer.length;
        if (total <= Math.min(this.#rotateSize - (this.#size - this.#base), this.#maxWriteBytes)) {
          await this.#appendAll(handle, buffers, total);
          index = buffers.length;
        }
      }
      for (; index < buffers.length; index++, offset = 0) {
        const buffer = buffers[index];
        while (offset < buffer.length) {
          const handle = await this.#open();
          const used = this.#size - this.#base;
          const end = this.#runEnd(buffer, offset, this.#rotateSize - used, used > 0);
          if (end === offset) {
            await this.#rotate();
            continue;
          }
          await this.#append(handle, buffer.subarray(offset, end));
          offset = end;
        }
      }
      this.writtenLines += lines;
      this.#pages?.appended(this.#size);
      this.reporter.ok();
    } catch (err) {
      let lost = 0;
      for (let i = index; i < buffers.length; i++) lost += countLines(i === index ? buffers[i].subarray(offset) : buffers[i]);
      this.writtenLines += lines - lost;
      this.droppedLines += lost;
      this.reporter.fail(`cannot write ${this.path}`, err);
      await this.release();
    }
  }

  /**
   * Where the run of whole lines from `start` that goes in one write ends: at most `maxWriteBytes`
   * and within the `room` left before rotation — except that the run's first line always goes in,
   * unless it would overflow a file that is not empty (`start` is returned then: rotate first).
   */
  #runEnd(buffer: Buffer, start: number, room: number, fileUsed: boolean): number {
    const limit = Math.min(room, this.#maxWriteBytes);
    if (buffer.length - start <= limit) return buffer.length;
    const lastNewline = limit > 0 ? buffer.lastIndexOf(NEWLINE, start + limit - 1) : -1;
    if (lastNewline >= start) return lastNewline + 1;
    const firstEnd = buffer.indexOf(NEWLINE, start) + 1;
    return firstEnd - start > room && fileUsed ? start : firstEnd;
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

  /** #append for several buffers whose bytes total `total`, in one `writev` (more if it writes part). */
  async #appendAll(handle: FileHandle, buffers: Buffer[], total: number): Promise<void> {
    const start = this.#size;
    try {
      let rest = buffers;
      let written = 0;
      while (written < total) {
        const { bytesWritten } = await handle.writev(rest);
        written += bytesWritten;
        if (written < total) rest = unwritten(buffers, written);
      }
      this.#size += total;
    } catch (err) {
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
    this.#pages = this.#pageReleaseOf(handle);
    return handle;
  }

  /** The release of `handle`'s pages, or null where the kernel cannot be advised (file-advice.ts). */
  #pageReleaseOf(handle: FileHandle): PageRelease | null {
    const drop = pageDropper(handle.fd);
    if (drop === null) return null;
    return new PageRelease({
      sync: () => handle.datasync(),
      drop,
      syncFailed: (err) => this.reporter.fail(`cannot write ${this.path}`, err, 'records written before may be lost (the disk refused them when they were synced)'),
    });
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

  /**
   * The exiting process's last batch (sink.ts, writeWaitingSync): appended synchronously to the
   * active file as it is, even past the rotation size (the next start rotates it), on the file's
   * descriptor — or on one of its own, ending a torn last line first as #open does, and left for
   * the exit to close.
   */
  protected override writeBatchSync({ buffers, lines }: ByteBatch): void {
    try {
      const fd = this.#handle?.fd ?? this.#openSync();
      for (const buffer of buffers) {
        for (let offset = 0; offset < buffer.length; ) offset += writeSync(fd, buffer, offset);
      }
      this.writtenLines += lines;
    } catch (err) {
      this.droppedLines += lines;
      this.reporter.fail(`cannot write ${this.path}`, err);
    }
  }

  #openSync(): number {
    mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, 'a+');
    try {
      const { size } = fstatSync(fd);
      const last = Buffer.alloc(1);
      if (size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== NEWLINE) writeSync(fd, '\n');
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return fd;
  }

  /**
   * Closes the file. Its last pages are released first, in the background: a slow sync (a busy
   * disk, a network filesystem) must not hold up the next file's writes while lines queue up.
   */
  protected override async release(): Promise<void> {
    const handle = this.#handle;
    const pages = this.#pages;
    this.#handle = null;
    this.#pages = null;
    if (handle === null) return;
    if (pages === null) {
      await handle.close().catch(() => {});
      return;
    }
    // The release needs the descriptor: it closes after.
    const released = pages.finish(this.#size).then(() => handle.close().catch(() => {}));
    const before = this.#retiring;
    this.#retiring = Promise.all([before, released]).then(() => {});
  }

  /** Flushes and closes, once the files it wrote are released (see {@link release}). */
  override async close(): Promise<void> {
    await super.close();
    await this.#retiring;
  }
}
