/** core/slot-set.ts: membership by each member's own slot, with the last member moved into a vacated one. */
import { describe, expect, it } from 'vitest';
import { SlotSet } from '../../src/core/slot-set.js';

interface Member {
  name: string;
  slot: number;
}
const member = (name: string): Member => ({ name, slot: -1 });
const names = (set: SlotSet<Member>): string[] => set.snapshot().map((m) => m.name);

describe('SlotSet', () => {
  it('adds members once and tells who is in', () => {
    const set = new SlotSet<Member>();
    const a = member('a');
    const b = member('b');
    set.add(a);
    set.add(b);
    set.add(a);
    expect(set.size).toBe(2);
    expect(names(set)).toEqual(['a', 'b']);
    expect([set.has(a), set.has(b), set.has(member('c'))]).toEqual([true, true, false]);
    expect([a.slot, b.slot]).toEqual([0, 1]);
  });

  it('deleting moves the last member into the vacated slot and frees the member', () => {
    const set = new SlotSet<Member>();
    const [a, b, c] = [member('a'), member('b'), member('c')];
    for (const m of [a, b, c]) set.add(m);
    expect(set.delete(a)).toBe(true);
    expect(names(set)).toEqual(['c', 'b']);
    expect([a.slot, b.slot, c.slot]).toEqual([-1, 1, 0]);
    expect(set.has(a)).toBe(false);
    expect(set.delete(c)).toBe(true);
    expect(set.delete(b)).toBe(true);
    expect(set.size).toBe(0);
    expect(names(set)).toEqual([]);
  });

  it('deleting a member that is not in it changes nothing, also one whose slot points at another', () => {
    const set = new SlotSet<Member>();
    const [a, b] = [member('a'), member('b')];
    set.add(a);
    expect(set.delete(b)).toBe(false);
    // A member of another SlotSet (or a stale slot) must not remove whoever holds that place here.
    const stranger = { name: 's', slot: 0 };
    expect(set.has(stranger)).toBe(false);
    expect(set.delete(stranger)).toBe(false);
    expect(names(set)).toEqual(['a']);
    expect(set.delete(a)).toBe(true);
    expect(set.delete(a)).toBe(false);
  });

  it('reuses its places: members come and go in any order and the set stays right', () => {
    const set = new SlotSet<Member>();
    const pool = Array.from({ length: 20 }, (_, i) => member(`m${i}`));
    const reference = new Set<Member>();
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % pool.length;
    for (let step = 0; step < 2000; step++) {
      const m = pool[next()];
      if (reference.has(m)) {
        reference.delete(m);
        expect(set.delete(m)).toBe(true);
      } else {
        reference.add(m);
        set.add(m);
      }
      expect(set.size).toBe(reference.size);
    }
    expect(new Set(set.snapshot())).toEqual(reference);
    for (const m of pool) expect(set.has(m)).toBe(reference.has(m));
    set.snapshot().forEach((m, i) => expect(m.slot).toBe(i));
  });

  it('a snapshot is its own array: deleting while walking it visits every member', () => {
    const set = new SlotSet<Member>();
    const all = ['a', 'b', 'c', 'd'].map(member);
    for (const m of all) set.add(m);
    const seen: string[] = [];
    for (const m of set.snapshot()) {
      seen.push(m.name);
      set.delete(m);
    }
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
    expect(set.size).toBe(0);
  });
});
