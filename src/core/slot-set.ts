/**
 * A set of objects that each keep their own index in it: add and delete in O(1) with no allocation
 * once its array has grown to the most members it held.
 *
 * For a set that lives as long as the process and gains and loses a member per request. V8's
 * `Set` never reuses a deleted entry's slot: it rebuilds its table once the deleted ones fill it,
 * and shrinks it as members leave, each time allocating a new table; a `Set` that is old lives in
 * the old generation and so does every table it rebuilds. Measured (perf uprobes on V8's old-space
 * allocation, 2026-11-28): the upstream pool's set of busy connections, added to and deleted from
 * once per request, was the gateway's one source of old-generation garbage, ~1.4 MB/s at one
 * connection, and that garbage brought a full collection (4–6 ms) every ~3 s.
 *
 * The array is never shortened (a shorter array is trimmed, and growing it back allocates); a
 * member's old place holds `undefined` so it keeps nothing alive. An object belongs to at most one
 * SlotSet: its `slot` is its place there, -1 when it is in none.
 */
export interface Slotted {
  slot: number;
}

export class SlotSet<T extends Slotted> {
  readonly #items: (T | undefined)[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  has(item: T): boolean {
    return item.slot !== -1 && item.slot < this.#size && this.#items[item.slot] === item;
  }

  /** Adds `item` (nothing when it is here already). */
  add(item: T): void {
    if (this.has(item)) return;
    const at = this.#size++;
    item.slot = at;
    if (at < this.#items.length) this.#items[at] = item;
    else this.#items.push(item);
  }

  /** Removes `item`; the last member takes its place. False when it was not here. */
  delete(item: T): boolean {
    if (!this.has(item)) return false;
    const at = item.slot;
    const lastAt = --this.#size;
    const last = this.#items[lastAt] as T;
    this.#items[at] = last;
    last.slot = at;
    this.#items[lastAt] = undefined;
    item.slot = -1;
    return true;
  }

  /** The members now, in an array of their own (the set may change while it is walked). */
  snapshot(): T[] {
    return this.#items.slice(0, this.#size) as T[];
  }
}
