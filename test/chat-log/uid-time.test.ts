import { describe, expect, it } from 'vitest';
import { createUidGenerator } from '../../src/chat-log/uid.js';
import { isoTime } from '../../src/core/chat-time.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('uids', () => {
  it('are UUID v4-shaped and unique', () => {
    const next = createUidGenerator();
    const uids = Array.from({ length: 100_000 }, next);
    expect(new Set(uids).size).toBe(uids.length);
    expect(uids.filter((uid) => !UUID_V4.test(uid))).toEqual([]);
  });

  it('differ between generators (one per process: a fresh random prefix each)', () => {
    expect(createUidGenerator()()).not.toBe(createUidGenerator()());
  });

  it('count through the low half into the high half', () => {
    const next = createUidGenerator({ start: 0xffffff, random: () => Buffer.alloc(10) });
    expect(next()).toBe('00000000-0000-4000-8000-000000ffffff');
    expect(next()).toBe('00000000-0000-4000-8000-000001000000');
    expect(next()).toBe('00000000-0000-4000-8000-000001000001');
  });

  it('draw a fresh prefix when the 48-bit counter is used up', () => {
    let draws = 0;
    const next = createUidGenerator({ start: 2 ** 48 - 1, random: (size) => Buffer.alloc(size, draws++ === 0 ? 0 : 0xff) });
    expect(next()).toBe('00000000-0000-4000-8000-ffffffffffff');
    const after = next();
    expect(after).toBe('ffffffff-ffff-4fff-bfff-000000000000');
    expect(after).toMatch(UUID_V4);
  });
});

describe('isoTime', () => {
  it('equals Date#toISOString, across second, minute and year boundaries', () => {
    const starts = [0, Date.UTC(2025, 0, 31, 12, 0, 0, 0), Date.UTC(2024, 11, 31, 23, 59, 58, 990), -1500, Date.UTC(10000, 0, 1)];
    for (const start of starts) {
      for (let ms = start; ms < start + 2100; ms += 7) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });

  it('alternating seconds stay correct', () => {
    for (const ms of [1000, 2999, 1001, 5000, 1002]) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  it('fractional times as Date has them; invalid ones throw like Date', () => {
    expect(isoTime(1234.9)).toBe(new Date(1234.9).toISOString());
    expect(() => isoTime(Number.NaN)).toThrow(RangeError);
    expect(() => isoTime(9e15)).toThrow(RangeError);
  });
});
