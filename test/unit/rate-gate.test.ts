/** Where forward keys' requests per minute are counted: in-process, and by the primary for its workers. */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { answerRateQuestions, localRateGate, primaryRateGate, RATE_MESSAGE_TYPE, type RateWorker } from '../../src/node/rate-gate.js';

afterEach(() => {
  vi.useRealTimers();
});

function admitNow(gate: ReturnType<typeof localRateGate>, index: number): number {
  let answer = -1;
  gate.admit(index, (wait) => (answer = wait));
  return answer;
}

/** A primary and two workers joined by in-memory channels that deliver on the next tick. */
function cluster(limits: number[], now: () => number) {
  const primary = new EventEmitter();
  const workers = [0, 1].map(() => {
    const channel = new EventEmitter();
    const handle: RateWorker = {
      isConnected: () => true,
      send: (message) => {
        setImmediate(() => channel.emit('message', message));
        return true;
      },
    };
    const gate = primaryRateGate({
      send: (message, _h, _o, callback) => {
        setImmediate(() => primary.emit('message', handle, message));
        callback(null);
        return true;
      },
      on: (event, listener) => channel.on(event, listener),
    });
    return gate;
  });
  answerRateQuestions({ on: (event, listener) => primary.on(event, listener) }, localRateGate(limits, now));
  return workers;
}

const ask = (gate: ReturnType<typeof primaryRateGate>, index: number): Promise<number> => new Promise((resolve) => gate.admit(index, resolve));

describe('rate gates', () => {
  it('in-process: admits the limit, then says how long to wait; keys without a limit always pass', () => {
    let t = 1000;
    const gate = localRateGate([2, 0], () => t);
    expect([admitNow(gate, 0), admitNow(gate, 0)]).toEqual([0, 0]);
    t = 31_000;
    expect(admitNow(gate, 0)).toBe(30_000);
    expect(admitNow(gate, 1)).toBe(0);
    t = 61_000;
    expect(admitNow(gate, 0)).toBe(0);
  });

  it('across workers: the primary counts once for all of them', async () => {
    const t = 5000;
    const [a, b] = cluster([3], () => t);
    const answers = await Promise.all([ask(a, 0), ask(b, 0), ask(a, 0), ask(b, 0), ask(a, 0)]);
    expect(answers.filter((wait) => wait === 0)).toHaveLength(3);
    expect(answers.filter((wait) => wait === 60_000)).toHaveLength(2);
  });

  it('admits when the primary does not answer within a second, or the channel is closed', async () => {
    vi.useFakeTimers();
    const channel = new EventEmitter();
    const silent = primaryRateGate({ send: () => true, on: (event, listener) => channel.on(event, listener) });
    const answered: number[] = [];
    silent.admit(0, (wait) => answered.push(wait));
    vi.advanceTimersByTime(999);
    expect(answered).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(answered).toEqual([0]);
    // The primary's answer, arriving after the timeout, is not told a second time.
    channel.emit('message', { type: RATE_MESSAGE_TYPE, id: 1, wait: 5000 });
    expect(answered).toEqual([0]);
    // An answer in time is told, once.
    silent.admit(0, (wait) => answered.push(wait));
    channel.emit('message', { type: RATE_MESSAGE_TYPE, id: 2, wait: 5000 });
    channel.emit('message', { type: RATE_MESSAGE_TYPE, id: 2, wait: 0 });
    vi.advanceTimersByTime(5000);
    expect(answered).toEqual([0, 5000]);
    answered.length = 0;

    const closed = primaryRateGate({ send: (_m, _h, _o, callback) => callback(new Error('channel closed')), on: () => undefined });
    closed.admit(0, (wait) => answered.push(wait));
    const throwing = primaryRateGate({
      send: () => {
        throw new Error('ERR_IPC_CHANNEL_CLOSED');
      },
      on: () => undefined,
    });
    throwing.admit(0, (wait) => answered.push(wait));
    expect(answered).toEqual([0, 0]);
    // Their timers were cleared: nothing more comes.
    vi.advanceTimersByTime(5000);
    expect(answered).toEqual([0, 0]);
  });

  it('ignores what is not its own on the channels', () => {
    const primary = new EventEmitter();
    const sent: unknown[] = [];
    const worker: RateWorker = { isConnected: () => true, send: (message) => sent.push(message) };
    answerRateQuestions({ on: (event, listener) => primary.on(event, listener) }, localRateGate([1]));
    primary.emit('message', worker, { type: 'aifwd:key-rest', index: 0, until: 1 });
    primary.emit('message', worker, { type: RATE_MESSAGE_TYPE, id: 1, index: -1 });
    primary.emit('message', worker, { type: RATE_MESSAGE_TYPE, id: 'x', index: 0 });
    expect(sent).toEqual([]);
    primary.emit('message', worker, { type: RATE_MESSAGE_TYPE, id: 7, index: 0 });
    expect(sent).toEqual([{ type: RATE_MESSAGE_TYPE, id: 7, wait: 0 }]);
  });
});
