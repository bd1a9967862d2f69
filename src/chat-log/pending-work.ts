/**
 * Work that will still hand records to the sink — the scheduled drain of request records, a
 * decoder finishing a compressed body — so a flush can wait for exactly the work begun before it
 * and not for work that keeps arriving under steady load. Entries are per drain or per compressed
 * body, never per exchange.
 */
export class PendingWork {
  #lastId = 0;
  /** Ids in progress; ids grow and a Set keeps insertion order, so the first is the oldest. */
  readonly #pending = new Set<number>();
  #waiters: { upTo: number; resolve: () => void }[] = [];

  /** Marks work in progress; pass the id to {@link done}. */
  begin(): number {
    const id = ++this.#lastId;
    this.#pending.add(id);
    return id;
  }

  done(id: number): void {
    this.#pending.delete(id);
    if (this.#waiters.length === 0) return;
    const oldest = this.#pending.size === 0 ? Number.POSITIVE_INFINITY : (this.#pending.values().next().value as number);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (waiter.upTo >= oldest) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves once the work begun so far is done (work begun later is not waited for). */
  settled(): Promise<void> {
    if (this.#pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ upTo: this.#lastId, resolve }));
  }
}
