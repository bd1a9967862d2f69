import { describe, expect, it } from 'vitest';
import { MAX_RPM, RequestWindows, WINDOW_MS } from '../../src/core/request-window.js';

/** A small seeded PRNG (mulberry32), so a failing run can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('RequestWindows', () => {
  it('exports the window and the rpm cap', () => {
    expect(WINDOW_MS).toBe(60_000);
    expect(MAX_RPM).toBe(100_000);
  });

  it('limit 0 admits everything, even at one instant', () => {
    const windows = new RequestWindows([0]);
    for (let i = 0; i < 10_000; i++) expect(windows.admit(0, 1000)).toBe(0);
  });

  it('admits N at once, then refuses until the oldest is a minute old', () => {
    const windows = new RequestWindows([3]);
    expect([windows.admit(0, 0), windows.admit(0, 0), windows.admit(0, 0)]).toEqual([0, 0, 0]);
    expect(windows.admit(0, 0)).toBe(60_000);
    expect(windows.admit(0, 1)).toBe(59_999);
    expect(windows.admit(0, 59_999)).toBe(1);
    expect(windows.admit(0, 59_999.5)).toBe(0.5);
    expect(windows.admit(0, 60_000)).toBe(0);
    expect(windows.admit(0, 60_000)).toBe(0);
    expect(windows.admit(0, 60_000)).toBe(0);
    expect(windows.admit(0, 60_000)).toBe(60_000);
  });

  it('the wait is oldest + 60000 - now, with the oldest of the last N admitted', () => {
    const windows = new RequestWindows([3]);
    expect(windows.admit(0, 1_000)).toBe(0);
    expect(windows.admit(0, 11_000)).toBe(0);
    expect(windows.admit(0, 21_000)).toBe(0);
    expect(windows.admit(0, 30_000)).toBe(1_000 + 60_000 - 30_000);
    expect(windows.admit(0, 61_000)).toBe(0);
    // The oldest is now 11 000.
    expect(windows.admit(0, 61_000)).toBe(11_000 + 60_000 - 61_000);
    expect(windows.admit(0, 70_999)).toBe(1);
    expect(windows.admit(0, 71_000)).toBe(0);
    // The oldest is now 21 000.
    expect(windows.admit(0, 71_500)).toBe(21_000 + 60_000 - 71_500);
  });

  it('is a sliding window: no 2N across a minute boundary, as a fixed window would allow', () => {
    const windows = new RequestWindows([2]);
    expect(windows.admit(0, 59_998)).toBe(0);
    expect(windows.admit(0, 59_999)).toBe(0);
    expect(windows.admit(0, 60_000)).toBe(59_998);
    expect(windows.admit(0, 60_001)).toBe(59_997);
    expect(windows.admit(0, 119_997)).toBe(1);
    expect(windows.admit(0, 119_998)).toBe(0);
    expect(windows.admit(0, 119_998)).toBe(1);
    expect(windows.admit(0, 119_999)).toBe(0);
  });

  it('refused requests are not counted', () => {
    const windows = new RequestWindows([1]);
    expect(windows.admit(0, 0)).toBe(0);
    for (let t = 1; t < 60_000; t += 97) expect(windows.admit(0, t)).toBe(60_000 - t);
    // Had any refusal counted, this would be refused.
    expect(windows.admit(0, 60_000)).toBe(0);
    expect(windows.admit(0, 60_001)).toBe(59_999);
  });

  it('keys are independent', () => {
    const windows = new RequestWindows([1, 2, 0]);
    expect(windows.admit(0, 0)).toBe(0);
    expect(windows.admit(0, 0)).toBe(60_000);
    expect(windows.admit(1, 0)).toBe(0);
    expect(windows.admit(1, 10)).toBe(0);
    expect(windows.admit(1, 20)).toBe(59_980);
    for (let i = 0; i < 100; i++) expect(windows.admit(2, 20)).toBe(0);
    expect(windows.admit(0, 30)).toBe(59_970);
    expect(windows.admit(1, 60_000)).toBe(0);
    expect(windows.admit(0, 60_000)).toBe(0);
  });

  it('the whole cap: MAX_RPM admissions at one instant, then a refusal', () => {
    const windows = new RequestWindows([MAX_RPM]);
    let admitted = 0;
    for (let i = 0; i < MAX_RPM; i++) if (windows.admit(0, 5) === 0) admitted++;
    expect(admitted).toBe(MAX_RPM);
    expect(windows.admit(0, 5)).toBe(60_000);
    expect(windows.admit(0, 60_005)).toBe(0);
  });

  describe('against a brute-force count (randomized)', () => {
    /** Timestamps that do not go back: bursts at one instant, small steps, pauses; some fractional. */
    function timestamps(random: () => number, count: number, scale: number): number[] {
      const out: number[] = [];
      let now = random() * 1e6;
      for (let i = 0; i < count; i++) {
        const r = random();
        if (r < 0.25) now += 0;
        else if (r < 0.6) now += Math.floor(random() * 2_000 * scale);
        else if (r < 0.8) now += random() * 500 * scale;
        else if (r < 0.95) now += Math.floor(random() * 30_000 * scale);
        else now += Math.floor((30_000 + random() * 60_000) * scale);
        // Exact window edges, the hardest case.
        if (random() < 0.05 && out.length > 0) now = Math.max(now, out[Math.floor(random() * out.length)] + WINDOW_MS);
        out.push(now);
      }
      return out;
    }

    for (const limit of [1, 2, 3, 5, 8, 30, 120]) {
      for (const seed of [1, 2, 3, 42, 1234]) {
        it(`rpm ${limit}, seed ${seed}`, () => {
          const random = prng(seed * 7919 + limit);
          // Two keys interleaved: the second must not disturb the first.
          const windows = new RequestWindows([limit, Math.max(1, limit >> 1)]);
          const admitted: number[] = [];
          // Traffic denser the higher the limit, so that every limit is often reached.
          const times = timestamps(random, 4_000, Math.min(1, 6 / limit));
          for (const now of times) {
            if (random() < 0.3) windows.admit(1, now);
            // Brute force: admitted iff fewer than `limit` admissions in (now - 60 s, now].
            let inWindow = 0;
            for (let k = admitted.length - 1; k >= 0 && admitted[k] > now - WINDOW_MS; k--) inWindow++;
            const wait = windows.admit(0, now);
            if (inWindow < limit) {
              expect(wait, `at ${now}`).toBe(0);
              admitted.push(now);
            } else {
              // The oldest of the last `limit` admitted decides the wait.
              const oldest = admitted[admitted.length - limit];
              expect(wait, `at ${now}`).toBe(oldest + WINDOW_MS - now);
              expect(wait).toBeGreaterThan(0);
              expect(wait).toBeLessThanOrEqual(WINDOW_MS);
            }
          }
          // Both branches were exercised.
          expect(admitted.length).toBeGreaterThan(limit);
          expect(admitted.length).toBeLessThan(times.length * 0.9);
          // The guarantee itself: at most `limit` admissions in any span of 60 000 ms.
          for (let i = 0; i < admitted.length; i++) {
            let j = i;
            while (j < admitted.length && admitted[j] < admitted[i] + WINDOW_MS) j++;
            expect(j - i, `span from ${admitted[i]}`).toBeLessThanOrEqual(limit);
          }
        });
      }
    }

    it('a refused request waiting exactly its wait is admitted, one ms less is not', () => {
      const random = prng(99);
      for (const limit of [1, 4, 16]) {
        const windows = new RequestWindows([limit]);
        let now = 0;
        for (let i = 0; i < 2_000; i++) {
          now += Math.floor(random() * 3_000);
          const wait = windows.admit(0, now);
          if (wait > 1) {
            expect(windows.admit(0, now + wait - 1)).toBe(1);
            expect(windows.admit(0, now + wait)).toBe(0);
            now += wait;
          }
        }
      }
    });
  });
});
