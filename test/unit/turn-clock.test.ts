/**
 * turn-clock.ts: one clock read per event-loop turn — with a hand-run end of turn, then with the
 * real one (TurnWrites.afterWrites, a `setImmediate`) under real I/O.
 */
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { TurnClock } from '../../src/node/turn-clock.js';
import { TurnWrites } from '../../src/node/turn-writes.js';

/** A clock that says 1000, 2000, … and counts its reads; the turn's ends are run by hand. */
function handClock(): { clock: TurnClock; reads: () => number; ends: (() => void)[] } {
  let reads = 0;
  const ends: (() => void)[] = [];
  const clock = new TurnClock(
    (task) => ends.push(task),
    () => ++reads * 1000,
  );
  return { clock, reads: () => reads, ends };
}

describe('TurnClock', () => {
  it('reads the clock at the first call of a turn and answers the later ones with that reading', () => {
    const { clock, reads, ends } = handClock();
    expect([clock.now(), clock.now(), clock.now()]).toEqual([1000, 1000, 1000]);
    expect(reads()).toBe(1);
    // One end of turn asked for, not one per call.
    expect(ends).toHaveLength(1);
  });

  it('reads anew after the turn ended, and asks for that turn’s end', () => {
    const { clock, reads, ends } = handClock();
    clock.now();
    ends.shift()?.();
    expect(clock.now()).toBe(2000);
    expect(clock.now()).toBe(2000);
    expect(reads()).toBe(2);
    expect(ends).toHaveLength(1);
  });

  it('a turn that never asks for the time reads nothing', () => {
    const { clock, reads, ends } = handClock();
    clock.now();
    ends.shift()?.();
    expect(reads()).toBe(1);
    expect(ends).toHaveLength(0);
  });

  it('defaults to Date.now, looked up at each read', () => {
    const clock = new TurnClock(() => {});
    const before = Date.now();
    const reading = clock.now();
    expect(reading).toBeGreaterThanOrEqual(before);
    expect(reading).toBeLessThanOrEqual(Date.now());
  });

  it('under real I/O, events of different turns get the time their turn began', async () => {
    let reads = 0;
    let ms = 0;
    const clock = new TurnClock(
      (task) => writes.afterWrites(task),
      () => {
        reads++;
        return ms;
      },
    );
    const writes = new TurnWrites();
    const stamps: number[] = [];
    const server = createServer((socket) => {
      socket.on('data', () => {
        stamps.push(clock.now());
        // Time passes within the turn: the turn's reading does not move.
        ms += 5;
        stamps.push(clock.now());
        socket.write('ok');
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    const client: Socket = connect(port, '127.0.0.1');
    try {
      await once(client, 'connect');
      for (let round = 0; round < 3; round++) {
        client.write('ping');
        await once(client, 'data');
      }
    } finally {
      client.destroy();
      server.close();
    }
    // Each read of the socket came in its own turn (the client waited for each answer).
    expect(stamps).toEqual([0, 0, 5, 5, 10, 10]);
    expect(reads).toBe(3);
  });
});
