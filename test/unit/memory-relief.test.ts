import { describe, expect, it } from 'vitest';
import { exposeGc, MemoryRelief } from '../../src/node/memory-relief.js';

function relief(): { relief: MemoryRelief; ticksWithGc: number[]; tick: (n: number) => void } {
  let calls = 0;
  let ticks = 0;
  const ticksWithGc: number[] = [];
  const r = new MemoryRelief(() => {
    calls++;
    ticksWithGc.push(ticks);
  });
  return {
    relief: r,
    ticksWithGc,
    tick: (n) => {
      ticks++;
      r.tick(n);
    },
  };
}

describe('MemoryRelief', () => {
  it('collects four times over seven ticks once a crowd of connections has left and stayed gone for two ticks', () => {
    const { tick, ticksWithGc } = relief();
    for (const n of [10, 5000, 10_000, 9000]) tick(n); // ticks 1-4
    tick(100); // 5: first low tick
    expect(ticksWithGc).toEqual([]);
    tick(100); // 6: second low tick: relief starts
    for (let i = 0; i < 30; i++) tick(100);
    expect(ticksWithGc).toEqual([6, 9, 11, 13]);
  });

  it('does nothing for small peaks or while many connections stay open', () => {
    const small = relief();
    for (const n of [999, 0, 0, 0, 0]) small.tick(n);
    expect(small.ticksWithGc).toEqual([]);
    const busy = relief();
    for (const n of [8000, 2001, 2001, 2001, 2001]) busy.tick(n);
    expect(busy.ticksWithGc).toEqual([]);
  });

  it('needs the low count for two ticks in a row', () => {
    const { tick, ticksWithGc } = relief();
    for (const n of [4000, 10, 3000, 10, 3000, 10]) tick(n);
    expect(ticksWithGc).toEqual([]);
    tick(10);
    expect(ticksWithGc).toEqual([7]);
  });

  it('a new crowd after a relief is relieved again', () => {
    const { tick, relief: r } = relief();
    for (const n of [4000, 0, 0]) tick(n);
    for (let i = 0; i < 9; i++) tick(0);
    expect(r.collections).toBe(4);
    for (const n of [5000, 0, 0]) tick(n);
    expect(r.collections).toBe(5);
  });
});

describe('exposeGc', () => {
  it('returns a working gc() on this Node', () => {
    const gc = exposeGc();
    expect(typeof gc).toBe('function');
    expect(() => gc!()).not.toThrow();
  });
});
