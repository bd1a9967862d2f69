/** chat-log/pending-work.ts: settled() waits for the work begun before it, in whatever order it ends. */
import { describe, expect, it } from 'vitest';
import { PendingWork } from '../../src/chat-log/pending-work.js';

/** Whether `promise` settled by the time queued microtasks ran. */
async function isSettled(promise: Promise<void>): Promise<boolean> {
  let settled = false;
  void promise.then(() => {
    settled = true;
  });
  await new Promise<void>((resolve) => setImmediate(resolve));
  return settled;
}

describe('PendingWork', () => {
  it('settled() resolves at once with nothing in progress', async () => {
    expect(await isSettled(new PendingWork().settled())).toBe(true);
  });

  it('waits for the work begun before it, not for work begun after', async () => {
    const work = new PendingWork();
    const first = work.begin();
    const waiting = work.settled();
    const later = work.begin();
    expect(await isSettled(waiting)).toBe(false);
    work.done(first);
    expect(await isSettled(waiting)).toBe(true);
    work.done(later);
  });

  it('work that ends out of order: resolves once the oldest before it ended', async () => {
    const work = new PendingWork();
    const [a, b, c] = [work.begin(), work.begin(), work.begin()];
    const waiting = work.settled();
    work.done(b);
    work.done(c);
    expect(await isSettled(waiting)).toBe(false);
    work.done(a);
    expect(await isSettled(waiting)).toBe(true);
  });

  it('each waiter waits for its own work: an earlier one resolves first', async () => {
    const work = new PendingWork();
    const a = work.begin();
    const early = work.settled();
    const b = work.begin();
    const late = work.settled();
    work.done(a);
    expect([await isSettled(early), await isSettled(late)]).toEqual([true, false]);
    work.done(b);
    expect(await isSettled(late)).toBe(true);
    expect(await isSettled(work.settled())).toBe(true);
  });

  it('a done id given twice, or never begun, changes nothing', async () => {
    const work = new PendingWork();
    const a = work.begin();
    work.done(a);
    const b = work.begin();
    const waiting = work.settled();
    work.done(a);
    work.done(999);
    expect(await isSettled(waiting)).toBe(false);
    work.done(b);
    expect(await isSettled(waiting)).toBe(true);
  });
});
