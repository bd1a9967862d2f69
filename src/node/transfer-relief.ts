/**
 * Keeps large transfers from growing the process's memory. Every socket read that Node hands over
 * whole comes in an ArrayBuffer of its own, and V8 frees those only when it collects the young
 * generation. A large upload or download allocates few JavaScript objects, so V8 collects only
 * under "external memory pressure": on this project's machine about every 40 ms of a 200 MB upload,
 * some 26 MB of 64 KiB reads, each such collection taking 2.3–2.9 ms (`--trace-gc`). The dead reads
 * gather in between. Asking for a young-generation collection every 16 MB of large reads relayed
 * (each taking about 0.3 ms) changed the full bench's 200 MB transfers (5 each way per run, the
 * runs of 2026-11-28 in bench/out): uploads had grown peak RSS by 24–43 MB in 20 of 33 and grew it
 * by 0–5.5 MB after the first, which grows it by 18–30 MB while the allocator grows its pools;
 * downloads from up to 33 MB to 0–3 MB (0–7.7 MB in the three runs after the client sockets' shared
 * reads, socket-reads.ts); uploads ran at 654–1,037 MB/s against 505–1,007 before.
 *
 * The gateway starts it when asked for memory relief (the CLI does: see memory-relief.ts); the
 * relay notes each body chunk it passes on, either way ({@link noteRelayed}).
 */

/** A read at least this large has an ArrayBuffer of its own (smaller ones are few next to the objects of their requests). */
export const LARGE_READ_BYTES = 16 * 1024;
/** Bytes of large reads relayed between two collections. */
export const RELIEF_BYTES = 16 * 1024 * 1024;

/** Counts large reads relayed and asks for a collection every `everyBytes` of them (pure: `collect` does the work). */
export class TransferRelief {
  #bytes = 0;
  /** Collections asked for so far. */
  collections = 0;

  constructor(
    readonly collect: () => void,
    readonly everyBytes = RELIEF_BYTES,
  ) {}

  /** A body chunk of `bytes` relayed, either way. */
  note(bytes: number): void {
    if (bytes < LARGE_READ_BYTES) return;
    this.#bytes += bytes;
    if (this.#bytes < this.everyBytes) return;
    this.#bytes = 0;
    this.collections++;
    this.collect();
  }
}

/** The relief of this process, if started: collections are process-wide, as is what they relieve. */
let active: TransferRelief | undefined;

/** Starts `relief` for this process (in place of any other); returns what stops it. */
export function startTransferRelief(relief: TransferRelief): () => void {
  active = relief;
  return () => {
    if (active === relief) active = undefined;
  };
}

/** Notes a body chunk of `bytes` relayed (see {@link TransferRelief.note}); nothing when none is started. */
export function noteRelayed(bytes: number): void {
  if (active !== undefined) active.note(bytes);
}
