/**
 * Work that will still hand records to the sink — the scheduled drain of request records, a
 * decoder finishing a compressed body — so a flush can wait for exactly the work begun before it
 * and not for work that keeps arriving under steady load. Entries are per drain or per compressed
 * body, never per exchange.
 *
 * The ids in progress are an array, not a Set: at one connection a drain begins and ends per
 * exchange, and a long-lived Set that gains and loses members that often makes old-generation
 * garbage (core/slot-set.ts says why); the array holds a few ids at most.
 */
export class PendingWork {
  #lastId = 0;
  /** Ids in progress, oldest first (ids grow and are added in order). */
  readonly #pending: number[] = [];
  #waiters: { upTo: number; resolve: () => void }[] = [];

  /** Marks work in progress; pass the id to {@link done}. */
  begin(): number {
    const id = ++this.#lastId;
    this.#pending.push(id);
    return id;
  }

  done(id: number): void {
    const pending = this.#pending;
    const at = pending.indexOf(id);
    if (at !== -1) {
      pending.copyWithin(at, at + 1);
      pending.pop();
    }
    if (this.#waiters.length === 0) return;
    const oldest = pending.length === 0 ? Number.POSITIVE_INFINITY : pending[0];
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.upTo >= oldest) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once the work begun so far is done (work begun later is not waited for). */
  settled(): Promise<void> {
    if (this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo: this.#lastId, resolve }));
  }
}
