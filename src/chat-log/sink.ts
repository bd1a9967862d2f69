/**
 * Where finished chat-log lines go: the file writer (single process, cluster primary) or the IPC
 * sender (cluster worker). Both batch through {@link BatchQueue} and report failures through
 * {@link FailureReporter}, so neither ever throws at the tap or blocks a request.
 */

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
  /** Resolves once every line accepted so far is written (or counted as dropped). */
  flush(): Promise<void>;
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

export interface BatchQueueOptions {
  /** Writes one batch, in order; must not reject (the writer counts its own failures). */
  write(lines: string[]): Promise<void>;
  /** Characters allowed to wait (default 64 Mi); {@link BatchQueue.append} refuses lines beyond. */
  maxQueuedChars?: number;
  /** How long the first waiting line waits for company (default 20 ms; 0 = next event-loop turn). */
  delayMs?: number;
}

/**
 * Collects lines and hands them to `write` in batches: everything appended within `delayMs` of the
 * first waiting line goes in one batch (one timer per batch, never one per record), and while a
 * batch is being written the next one grows. Each write costs a thread-pool round trip (or an IPC
 * message) however small it is, so at thousands of exchanges a second batching per event-loop turn
 * meant a write every exchange or two; `flush()` writes at once, so shutdown does not wait.
 */
export class BatchQueue {
  readonly #write: (lines: string[]) => Promise<void>;
  readonly #maxQueuedChars: number;
  readonly #delayMs: number;
  #timer: NodeJS.Timeout | null = null;
  #lines: string[] = [];
  #chars = 0;
  #active = false;
  /** Lines accepted / lines through `write`, ever: a flush waits for its snapshot of the first. */
  #accepted = 0;
  #handled = 0;
  #waiters: { upTo: number; resolve: () => void }[] = [];

  constructor({ write, maxQueuedChars = 64 * 1024 * 1024, delayMs = 20 }: BatchQueueOptions) {
    this.#write = write;
    this.#maxQueuedChars = maxQueuedChars;
    this.#delayMs = delayMs;
  }

  /** Queues a line; false when the queue is full (the caller counts it as dropped). */
  append(line: string): boolean {
    if (this.#chars + line.length > this.#maxQueuedChars && this.#lines.length > 0) return false;
    this.#lines.push(line);
    this.#chars += line.length;
    this.#accepted++;
    if (!this.#active) {
      this.#active = true;
      if (this.#delayMs > 0) this.#timer = setTimeout(this.#drain, this.#delayMs);
      else setImmediate(this.#drain);
    }
    return true;
  }

  /**
   * Resolves when every line accepted so far has gone through `write` — not later ones, so a flush
   * under steady load does not wait for a quiet moment.
   */
  flush(): Promise<void> {
    if (this.#handled >= this.#accepted) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.#waiters.push({ upTo: this.#accepted, resolve }));
    if (this.#timer !== null) void this.#drain();
    return done;
  }

  readonly #drain = async (): Promise<void> => {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    try {
      while (this.#lines.length > 0) {
        const batch = this.#lines;
        this.#lines = [];
        this.#chars = 0;
        try {
          await this.#write(batch);
        } finally {
          this.#handled += batch.length;
          this.#wake();
        }
      }
    } finally {
      this.#active = false;
    }
  };

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
  readonly #queue: BatchQueue;
  #closed = false;
  /** Lines written (or handed to the primary) and lines lost; subclasses count them. */
  protected writtenLines = 0;
  protected droppedLines = 0;

  constructor(stderr: NodeJS.WritableStream) {
    this.reporter = new FailureReporter(stderr);
    this.#queue = new BatchQueue({ write: (lines) => this.writeBatch(lines) });
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

  flush(): Promise<void> {
    return this.#queue.flush();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue.flush();
    await this.release();
  }

  /** Writes one batch in order; never rejects (counts and reports its own failures). */
  protected abstract writeBatch(lines: string[]): Promise<void>;

  /** Releases the file or channel after the last batch. */
  protected async release(): Promise<void> {}
}
