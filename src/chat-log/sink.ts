/**
 * Where finished chat-log lines go: the file writer (single process, cluster primary) or the IPC
 * sender (cluster worker). Both batch through {@link BatchQueue} and report failures through
 * {@link FailureReporter}, so neither ever throws at the tap or blocks a request.
 */
import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { type ByteBatch, type LineBatch, LineBytes } from './line-batch.js';

/** Counters every sink keeps, in lines. */
export interface SinkStats {
  /** Lines written to the file (or, in a worker, handed to the primary). */
  readonly written: number;
  /** Lines lost: write errors, closed sink, full queue. */
  readonly dropped: number;
}

export interface LineSink extends SinkStats {
  /** Accepts one complete JSON line (without `\n`). Never throws, never waits. */
  append(line: string): void;
  /**
   * The same for `count` lines as UTF-8 bytes, each ending in `\n`, which are copied at once (the
   * caller may reuse them).
   */
  appendLines(lines: Uint8Array, count: number): void;
  /** Resolves once every line accepted so far is written (or counted as dropped). */
  flush(): Promise<void>;
  /**
   * Writes the lines waiting for their batch now, synchronously: for a process that is exiting
   * without a shutdown (an uncaught exception), whose event loop runs no timer again. A write
   * already under way is not waited for. A sink that cannot write synchronously counts them dropped.
   */
  writeWaitingSync(): void;
  /** Flushes, then releases the file or channel; later lines are dropped. */
  close(): Promise<void>;
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return err instanceof Error ? err.message : String(err);
}

/**
 * One stderr line per failure streak — not per record — naming the path and the error code: a full
 * disk must not flood the terminal. A success ends the streak, so a later failure is reported again.
 */
export class FailureReporter {
  #failing = false;

  constructor(private readonly stderr: NodeJS.WritableStream) {}

  /** `problem` names the action and path (`cannot write /srv/Log/chat.log`); the code is appended. */
  fail(problem: string, err: unknown, consequence = 'records are dropped until it works again'): void {
    if (this.#failing) return;
    this.#failing = true;
    try {
      this.stderr.write(`aifwd: chat log: ${problem} (${errorCode(err)}); ${consequence}\n`);
    } catch {
      // stderr itself is gone: nothing left to tell.
    }
  }

  ok(): void {
    this.#failing = false;
  }
}

export interface BatchQueueOptions<B> {
  /** Where lines wait (line-batch.ts); the queue owns it from now on. */
  batch: LineBatch<B>;
  /** Writes one batch of `lines` lines, in order; must not reject (the writer counts its own failures). */
  write(batch: B, lines: number): Promise<void>;
  /**
   * Size allowed to wait, in the batch's units (default 64 Mi); {@link BatchQueue.append} refuses
   * lines beyond (a new line counts by its characters: its UTF-8 may add up to twice that again).
   */
  maxQueued?: number;
  /** How long the first waiting line waits for company (default 100 ms). */
  delayMs?: number;
  /** A batch this large is written without waiting out the delay (default 4 Mi units). */
  eagerSize?: number;
  /** Milliseconds, for the delay (default `performance.now`: monotonic, so a clock step cannot hold a batch back). */
  now?: () => number;
}

/**
 * Collects lines and hands them to `write` in batches, one write at a time: a batch is written
 * `delayMs` after its first line arrived (one timer per batch, never one per record), or at once
 * when it reaches `eagerSize` or someone flushes. Each write costs a thread-pool round trip (or an
 * IPC message) however small it is, and on the core that forwards it costs far more than its
 * bytes. Writing what gathered during a write as soon as it ended made the batches small under
 * load — ~16 exchanges, 1,600 writes a second at 26k requests a second — and log on ÷ off read
 * 0.65–0.69x; one batch per 20 ms brought it to ~0.86x, and one per 100 ms (~2 MB at that rate)
 * saved another ~0.8 µs of CPU per request, median (by hand on 2026-11-28, two gateways with the
 * log on loaded at once, one batch per 100 ms and one `writev` each against one per 20 ms:
 * 0.99–1.05x the requests, median ~1.02x, in 12 pairs; 250 ms gained no more). So
 * the next batch waits out its own delay too, and records reach the file up to ~100 ms after their
 * exchange — on SIGTERM/SIGINT `flush()` writes at once, so nothing answered is lost and shutdown
 * does not wait.
 */
export class BatchQueue<B> {
  readonly #batch: LineBatch<B>;
  readonly #write: (batch: B, lines: number) => Promise<void>;
  readonly #maxQueued: number;
  readonly #delayMs: number;
  readonly #eagerSize: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #writing = false;
  /** Set by {@link takeWaiting}: the process is exiting, lines wait for the next one, no write starts. */
  #exiting = false;
  /** When the oldest waiting line arrived. */
  #firstAt = 0;
  /** Lines accepted / lines through `write`, ever: a flush waits for its snapshot of the first. */
  #accepted = 0;
  #handled = 0;
  #waiters: { upTo: number; resolve: () => void }[] = [];

  constructor({ batch, write, maxQueued = 64 * 1024 * 1024, delayMs = 100, eagerSize = 4 * 1024 * 1024, now = () => performance.now() }: BatchQueueOptions<B>) {
    this.#batch = batch;
    this.#write = write;
    this.#maxQueued = maxQueued;
    this.#delayMs = delayMs;
    this.#eagerSize = eagerSize;
    this.#now = now;
  }

  /** Queues a line; false when the queue is full (the caller counts it as dropped). */
  append(line: string): boolean {
    // A UTF-16 unit is at most 3 bytes of UTF-8: the exact count is taken only near the limit.
    const batch = this.#batch;
    const size = batch.lines > 0 && batch.size + line.length * 3 > this.#maxQueued ? Buffer.byteLength(line) : line.length;
    if (!this.#admits(size)) return false;
    this.#batch.push(line);
    this.#added(1);
    return true;
  }

  /** Queues `count` lines given as UTF-8 bytes, each ending in `\n` (copied at once); false when the queue is full. */
  appendLines(lines: Uint8Array, count: number): boolean {
    if (!this.#admits(lines.length)) return false;
    this.#batch.pushLines(lines, count);
    this.#added(count);
    return true;
  }

  /** Queues `lines` lines that `push` adds to the batch (`size` in its units); false when full. */
  add(size: number, lines: number, push: (batch: LineBatch<B>) => void): boolean {
    if (!this.#admits(size)) return false;
    push(this.#batch);
    this.#added(lines);
    return true;
  }

  /** True when `size` more may wait (the first waiting line always may: it starts the delay). */
  #admits(size: number): boolean {
    const batch = this.#batch;
    if (batch.lines === 0) this.#firstAt = this.#now();
    else if (batch.size + size > this.#maxQueued) return false;
    return true;
  }

  #added(lines: number): void {
    this.#accepted += lines;
    if (this.#writing || this.#exiting) return;
    if (this.#batch.size >= this.#eagerSize) this.#start();
    else this.#timer ??= setTimeout(this.#start, this.#delayMs);
  }

  /**
   * Resolves when every line accepted so far has gone through `write` — not later ones, so a flush
   * under steady load does not wait for a quiet moment.
   */
  flush(): Promise<void> {
    if (this.#handled >= this.#accepted) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push({ upTo: this.#accepted, resolve }));
    if (!this.#writing) this.#start();
    return done;
  }

  /**
   * Takes what waits, for a write that cannot wait for the timer: the process is exiting. From
   * then on lines only wait (no write of the queue's starts, which the exit would cut short), for
   * the next call to take.
   */
  takeWaiting(): { batch: B; lines: number } | null {
    this.#exiting = true;
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const lines = this.#batch.lines;
    if (lines === 0) return null;
    this.#handled += lines;
    return { batch: this.#batch.take(), lines };
  }

  /** Writes everything waiting now (when nothing is being written). */
  readonly #start = (): void => {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const batch = this.#batch;
    if (this.#writing || batch.lines === 0) return;
    this.#writing = true;
    const lines = batch.lines;
    this.#write(batch.take(), lines)
      .catch(() => {})
      .finally(() => {
        this.#handled += lines;
        this.#writing = false;
        this.#wake();
        this.#next();
      });
  };

  /** After a write: the next batch goes now if it is due (or awaited), else when its delay ends. */
  #next(): void {
    const batch = this.#batch;
    if (batch.lines === 0) return;
    const wait = this.#firstAt + this.#delayMs - this.#now();
    if (wait <= 0 || this.#waiters.length > 0 || batch.size >= this.#eagerSize) this.#start();
    else this.#timer = setTimeout(this.#start, wait);
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const handled = this.#handled;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.upTo > handled) return true;
      waiter.resolve();
      return false;
    });
  }
}

/**
 * What the file writer and the worker's IPC sender share: the batch queue, the counters, the
 * failure reporter, and the append / flush / close protocol. A subclass writes a batch.
 */
export abstract class BatchedSink implements LineSink {
  protected readonly reporter: FailureReporter;
  /** Where lines wait, encoded (line-batch.ts); a batch's chunks are reused once it is written. */
  readonly #bytes: LineBytes;
  readonly #queue: BatchQueue<ByteBatch>;
  #closed = false;
  /** Lines written (or handed to the primary) and lines lost; subclasses count them. */
  protected writtenLines = 0;
  protected droppedLines = 0;

  constructor(stderr: NodeJS.WritableStream, chunkBytes?: number) {
    this.reporter = new FailureReporter(stderr);
    const bytes = (this.#bytes = new LineBytes(chunkBytes));
    this.#queue = new BatchQueue({
      batch: bytes,
      write: async (taken) => {
        await this.writeBatch(taken);
        bytes.recycle(taken);
      },
    });
  }

  get written(): number {
    return this.writtenLines;
  }

  get dropped(): number {
    return this.droppedLines;
  }

  append(line: string): void {
    if (this.#closed || !this.#queue.append(line)) this.droppedLines++;
  }

  appendLines(lines: Uint8Array, count: number): void {
    if (this.#closed || !this.#queue.appendLines(lines, count)) this.droppedLines += count;
  }

  /** Queues `lines` lines already encoded (a cluster worker's message, see ipc.ts), as they are. */
  appendEncoded(bytes: Buffer, lines: number): void {
    if (this.#closed || !this.#queue.add(bytes.length, lines, () => this.#bytes.pushEncoded(bytes, lines))) this.droppedLines += lines;
  }

  flush(): Promise<void> {
    return this.#queue.flush();
  }

  writeWaitingSync(): void {
    const taken = this.#queue.takeWaiting();
    if (taken !== null) this.writeBatchSync(taken.batch);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue.flush();
    await this.release();
  }

  /** Writes one batch in order; never rejects (counts and reports its own failures). */
  protected abstract writeBatch(batch: ByteBatch): Promise<void>;

  /** The same, synchronously, for {@link writeWaitingSync}; by default the lines are lost (counted). */
  protected writeBatchSync(batch: ByteBatch): void {
    this.droppedLines += batch.lines;
  }

  /** Releases the file or channel after the last batch. */
  protected async release(): Promise<void> {}
}
