/**
 * Lets the kernel have back the chat log's pages once they are on disk. The writer never reads
 * what it wrote, yet every page of it would stay in the page cache until memory ran short: a busy
 * log grows the cache by its whole rate (~19 MB a second under the bench's load), counted against a
 * container's memory limit, and each new page is memory the kernel takes from its free lists — on
 * a virtual machine whose balloon hands free memory back to the host, a fault on the host at the
 * first write of every page (BENCHMARKS.md, measure 4).
 *
 * Every `threshold` bytes the writer appends, the file is synced (`fdatasync`, on libuv's thread
 * pool: the writeback the kernel would do ~30 s later anyway) and the synced range dropped from the
 * cache (file-advice.ts): its pages go back to the kernel's free lists, where the next appends find
 * them. Clean pages only — advice never loses data — and at most one sync at a time; a file the
 * writer is done with (rotated, closed) is synced and dropped whole. A sync that fails is not
 * retried, and is reported: the writes of the bytes it refused had succeeded.
 */

/** What the release does to its file. */
export interface PageReleaseFile {
  /** `fdatasync`. */
  sync(): Promise<void>;
  /** Drops the cached pages of `length` bytes from `offset`, which are clean. */
  drop(offset: number, length: number): void;
  /**
   * Told when a sync fails: the disk refused bytes whose writes had succeeded — a full disk under
   * delayed allocation, an I/O error — which without the sync no one would have heard of.
   */
  syncFailed(err: unknown): void;
}

/**
 * Bytes appended between two releases. Of the open file the cache so holds about twice this at
 * most: what waits for the next release, and what is appended while one runs.
 */
export const RELEASE_BYTES = 4 * 1024 * 1024;

/** The kernel's page: a release while the file grows stops at a multiple of it (see {@link PageRelease.appended}). */
export const PAGE_BYTES = 4096;

/** One open log file's release: told of every append, it syncs and drops as the file grows. */
export class PageRelease {
  readonly #file: PageReleaseFile;
  readonly #threshold: number;
  readonly #pageBytes: number;
  /** Bytes from the file's start that were synced and dropped. */
  #released = 0;
  /** The sync and drop under way, if any. */
  #running: Promise<void> | null = null;

  constructor(file: PageReleaseFile, threshold = RELEASE_BYTES, pageBytes = PAGE_BYTES) {
    this.#file = file;
    this.#threshold = threshold;
    this.#pageBytes = pageBytes;
  }

  /** Bytes released so far (for tests). */
  get released(): number {
    return this.#released;
  }

  /**
   * After an append: the file now holds `size` bytes. Starts a release once `threshold` bytes wait,
   * up to the start of the last page: the next append writes into that page, which, dropped, the
   * kernel would first read back from the disk.
   */
  appended(size: number): void {
    const end = size - (size % this.#pageBytes);
    if (this.#running === null && end - this.#released >= this.#threshold) this.#start(end);
  }

  /** Once the writer is done with the file, at `size` bytes: resolves when all of it is released. Never rejects. */
  async finish(size: number): Promise<void> {
    if (this.#running !== null) await this.#running;
    if (size > this.#released) await this.#start(size);
  }

  #start(size: number): Promise<void> {
    const run = this.#release(size);
    this.#running = run;
    return run;
  }

  async #release(size: number): Promise<void> {
    let synced = false;
    try {
      await this.#file.sync();
      synced = true;
      this.#file.drop(this.#released, size - this.#released);
    } catch (err) {
      // These pages stay cached. Advice that fails changes nothing: only a failed sync is news.
      if (!synced) this.#file.syncFailed(err);
    }
    this.#released = size;
    this.#running = null;
  }
}
