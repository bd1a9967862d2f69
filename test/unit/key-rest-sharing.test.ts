import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { KeyPool } from '../../src/core/key-pool.js';
import { isKeyRestMessage, KEY_REST_MESSAGE_TYPE, type KeyRestMessage, relayKeyRests, shareKeyRests, type WorkerHandle } from '../../src/node/key-rest-sharing.js';

/** A worker's channel to the primary: what it sent, and a way to deliver a message from the primary. */
function fakeChannel(): { sent: KeyRestMessage[]; deliver: (message: unknown) => void; channel: Parameters<typeof shareKeyRests>[1] } {
  const events = new EventEmitter();
  const sent: KeyRestMessage[] = [];
  return {
    sent,
    deliver: (message) => events.emit('message', message),
    channel: {
      send: (message) => sent.push(message),
      on: (event, listener) => events.on(event, listener),
    },
  };
}

function fakeWorker(connected = true): WorkerHandle & { got: KeyRestMessage[] } {
  const got: KeyRestMessage[] = [];
  return { got, isConnected: () => connected, send: (message) => got.push(message) };
}

describe('key rests shared between workers', () => {
  it('a worker announces the rests it decides, once per later end, and applies the ones relayed to it silently', () => {
    const pool = new KeyPool(['sk-fake-a', 'sk-fake-b', 'sk-fake-c']);
    const { sent, deliver, channel } = fakeChannel();
    shareKeyRests(pool, channel);
    const now = Date.now();
    pool.rest(0, now + 20_000, now);
    pool.rest(0, now + 10_000, now); // ends sooner: nothing new to tell
    expect(sent).toEqual([{ type: KEY_REST_MESSAGE_TYPE, index: 0, until: now + 20_000 }]);

    deliver({ type: KEY_REST_MESSAGE_TYPE, index: 1, until: now + 60_000 });
    expect(pool.available(1, now)).toBe(false);
    expect(pool.available(1, now + 60_000)).toBe(true);
    expect(sent).toHaveLength(1); // a relayed rest is not sent back

    // Foreign, malformed, out-of-range and finished rests change nothing.
    deliver({ type: 'aifwd:chat-log', lines: [] });
    deliver({ type: KEY_REST_MESSAGE_TYPE, index: 7, until: now + 60_000 });
    deliver({ type: KEY_REST_MESSAGE_TYPE, index: 2, until: Number.NaN });
    deliver({ type: KEY_REST_MESSAGE_TYPE, index: 2, until: now - 1 });
    expect(pool.available(2, now)).toBe(true);
  });

  it('the primary passes a rest to every other worker, and replays running rests to a worker that starts listening later', () => {
    const source = new EventEmitter() as EventEmitter & { workers: Record<string, WorkerHandle> };
    const [a, b, gone] = [fakeWorker(), fakeWorker(), fakeWorker(false)];
    source.workers = { 1: a, 2: b, 3: gone };
    let clock = 1_000_000;
    relayKeyRests(source, () => clock);
    const rest: KeyRestMessage = { type: KEY_REST_MESSAGE_TYPE, index: 1, until: clock + 30_000 };
    source.emit('message', a, rest);
    source.emit('message', a, { type: 'aifwd:chat-log', lines: ['{}'] });
    expect(a.got).toEqual([]);
    expect(b.got).toEqual([rest]);
    expect(gone.got).toEqual([]);

    const late = fakeWorker();
    source.emit('listening', late);
    expect(late.got).toEqual([rest]);
    clock += 30_000;
    const later = fakeWorker();
    source.emit('listening', later);
    expect(later.got).toEqual([]);
  });

  it('the primary counts a rest once when two workers refused at once announce it, and again once it ended', () => {
    const source = new EventEmitter() as EventEmitter & { workers: Record<string, WorkerHandle> };
    const [a, b] = [fakeWorker(), fakeWorker()];
    source.workers = { 1: a, 2: b };
    let clock = 1_000_000;
    const relay = relayKeyRests(source, () => clock);
    source.emit('message', a, { type: KEY_REST_MESSAGE_TYPE, index: 0, until: clock + 30_000 });
    source.emit('message', b, { type: KEY_REST_MESSAGE_TYPE, index: 0, until: clock + 31_000 });
    source.emit('message', b, { type: KEY_REST_MESSAGE_TYPE, index: 1, until: clock + 5_000 });
    expect(relay.restsStarted).toBe(2);
    clock += 31_000;
    source.emit('message', a, { type: KEY_REST_MESSAGE_TYPE, index: 0, until: clock + 30_000 });
    expect(relay.restsStarted).toBe(3);
  });

  it('recognises only well-formed messages', () => {
    expect(isKeyRestMessage({ type: KEY_REST_MESSAGE_TYPE, index: 0, until: 5 })).toBe(true);
    expect(isKeyRestMessage({ type: KEY_REST_MESSAGE_TYPE, index: -1, until: 5 })).toBe(false);
    expect(isKeyRestMessage({ type: KEY_REST_MESSAGE_TYPE, index: 0.5, until: 5 })).toBe(false);
    expect(isKeyRestMessage({ type: KEY_REST_MESSAGE_TYPE, index: 0, until: '5' })).toBe(false);
    expect(isKeyRestMessage(null)).toBe(false);
  });
});
