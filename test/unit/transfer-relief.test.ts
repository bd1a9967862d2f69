import { describe, expect, it } from 'vitest';
import { exposeGc } from '../../src/node/memory-relief.js';
import { LARGE_READ_BYTES, noteRelayed, startTransferRelief, TransferRelief } from '../../src/node/transfer-relief.js';

describe('TransferRelief', () => {
  it('asks for a collection every `everyBytes` of large reads, and never for small ones', () => {
    let collections = 0;
    const relief = new TransferRelief(() => collections++, 1024 * 1024);
    // A million small reads (JSON requests, SSE events): never.
    for (let i = 0; i < 1_000_000; i++) relief.note(LARGE_READ_BYTES - 1);
    expect(collections).toBe(0);
    // 64 KiB reads: one collection per 16 of them (1 MiB), counting from the last.
    for (let i = 0; i < 15; i++) relief.note(64 * 1024);
    expect(collections).toBe(0);
    relief.note(64 * 1024);
    expect(collections).toBe(1);
    for (let i = 0; i < 16 * 3 + 5; i++) relief.note(64 * 1024);
    expect(collections).toBe(4);
    expect(relief.collections).toBe(4);
    // One read larger than the budget: one collection.
    relief.note(5 * 1024 * 1024);
    expect(collections).toBe(5);
  });

  it('noteRelayed goes to the relief started for the process, and to none once it is stopped', () => {
    let collections = 0;
    const stop = startTransferRelief(new TransferRelief(() => collections++, LARGE_READ_BYTES));
    noteRelayed(LARGE_READ_BYTES);
    expect(collections).toBe(1);
    // A relief started after it replaces it; stopping the first then leaves the second alone.
    let later = 0;
    const stopLater = startTransferRelief(new TransferRelief(() => later++, LARGE_READ_BYTES));
    stop();
    noteRelayed(LARGE_READ_BYTES);
    expect([collections, later]).toEqual([1, 1]);
    stopLater();
    noteRelayed(LARGE_READ_BYTES);
    expect([collections, later]).toEqual([1, 1]);
  });

  it("Node's gc() takes a young-generation collection, as the gateway asks for", () => {
    const gc = exposeGc();
    expect(gc).toBeTypeOf('function');
    expect(() => gc?.({ type: 'minor' })).not.toThrow();
  });
});
