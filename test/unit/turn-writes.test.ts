/**
 * turn-writes.ts: which writes of a turn are held (TurnLoad, no sockets), and what holding does to
 * real loopback sockets (TurnWrites with a hand-run end of turn).
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket, connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TurnLoad, TurnWrites } from '../../src/node/turn-writes.js';

describe('TurnLoad', () => {
  it('a quiet turn writes its first message at once and holds the rest', () => {
    const load = new TurnLoad();
    expect([load.write(), load.write(), load.write()]).toEqual([false, true, true]);
  });

  it('after a turn of two or more writes, the next turn holds its first too; after a quiet one, not', () => {
    const load = new TurnLoad();
    load.write();
    load.write();
    load.turnEnded();
    expect(load.write()).toBe(true);
    load.turnEnded();
    expect(load.write()).toBe(false);
    load.turnEnded();
    load.turnEnded();
    expect(load.write()).toBe(false);
  });

  it('busy: the last turn counted wrote two or more', () => {
    const load = new TurnLoad();
    expect(load.busy).toBe(false);
    load.write();
    load.turnEnded();
    expect(load.busy).toBe(false);
    load.write();
    load.write();
    load.turnEnded();
    expect(load.busy).toBe(true);
  });

  it('a turn without writes counts as quiet', () => {
    const load = new TurnLoad();
    load.write();
    load.write();
    load.turnEnded();
    load.turnEnded();
    expect(load.write()).toBe(false);
  });
});

// --- real sockets -----------------------------------------------------------------------------------

interface Pair {
  /** The side written to. */
  local: Socket;
  /** What the other side has received so far. */
  received: () => string;
  ended: Promise<unknown>;
}

let server: Server | null = null;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  if (server !== null) {
    const closing = once(server, 'close');
    server.close();
    await closing;
    server = null;
  }
});

async function pairs(n: number): Promise<Pair[]> {
  const accepted: Socket[] = [];
  server = createServer((socket) => accepted.push(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  const result: Pair[] = [];
  for (let i = 0; i < n; i++) {
    const local = connect(port, '127.0.0.1');
    await once(local, 'connect');
    sockets.push(local);
    while (accepted.length <= i) await new Promise((resolve) => setImmediate(resolve));
    const remote = accepted[i];
    sockets.push(remote);
    let text = '';
    remote.setEncoding('latin1');
    remote.on('data', (chunk: string) => {
      text += chunk;
    });
    result.push({ local, received: () => text, ended: once(remote, 'end') });
  }
  return result;
}

/** Lets the sockets move bytes (several turns of the real loop; the TurnWrites under test has its own). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));

/** A TurnWrites whose turn ends when the test says. */
function manual(): { writes: TurnWrites; endTurn: () => void; scheduled: () => number } {
  const ends: (() => void)[] = [];
  const writes = new TurnWrites((callback) => ends.push(callback));
  return {
    writes,
    endTurn: () => {
      const end = ends.shift();
      if (end === undefined) throw new Error('no end of turn was scheduled');
      end();
    },
    scheduled: () => ends.length,
  };
}

describe('TurnWrites over loopback sockets', () => {
  it('the first message of a quiet turn leaves at once; the next ones wait for the end of the turn, in order', async () => {
    const [a, b] = await pairs(2);
    const { writes, endTurn, scheduled } = manual();
    writes.hold(a.local);
    a.local.write('A1');
    writes.hold(b.local);
    b.local.write('B1');
    // Later writes to a held socket wait behind the held message, whoever makes them.
    b.local.write('B2');
    expect(scheduled()).toBe(1);
    await settle();
    expect(a.received()).toBe('A1');
    expect(b.received()).toBe('');
    endTurn();
    await settle();
    expect(b.received()).toBe('B1B2');
    expect(b.local.writableCorked).toBe(0);
  });

  it('after a busy turn the first message of the next is held too; after a quiet turn it is not', async () => {
    const [a, b] = await pairs(2);
    const { writes, endTurn } = manual();
    writes.hold(a.local);
    a.local.write('1');
    writes.hold(b.local);
    b.local.write('1');
    endTurn();
    writes.hold(a.local);
    a.local.write('2');
    await settle();
    expect(a.received()).toBe('1');
    endTurn();
    await settle();
    expect(a.received()).toBe('12');
    writes.hold(a.local);
    a.local.write('3');
    await settle();
    expect(a.received()).toBe('123');
    endTurn();
  });

  it('a socket corked by someone else is left to them (not corked twice, not uncorked for them)', async () => {
    const [a, b] = await pairs(2);
    const { writes, endTurn } = manual();
    writes.hold(a.local);
    a.local.write('x');
    b.local.cork();
    writes.hold(b.local);
    b.local.write('y');
    expect(b.local.writableCorked).toBe(1);
    endTurn();
    await settle();
    expect(b.received()).toBe('');
    b.local.uncork();
    await settle();
    expect(b.received()).toBe('y');
  });

  it('end() on a held socket sends the held message before the FIN; the end of the turn then does nothing to it', async () => {
    const [a, b] = await pairs(2);
    const { writes, endTurn } = manual();
    writes.hold(a.local);
    a.local.write('first');
    writes.hold(b.local);
    b.local.write('held');
    b.local.end();
    await b.ended;
    expect(b.received()).toBe('held');
    expect(() => endTurn()).not.toThrow();
  });

  it('a held socket destroyed before the end of the turn: the end of the turn neither throws nor writes', async () => {
    const [a, b] = await pairs(2);
    const { writes, endTurn } = manual();
    writes.hold(a.local);
    a.local.write('first');
    writes.hold(b.local);
    b.local.write('lost');
    b.local.destroy();
    expect(() => endTurn()).not.toThrow();
    await settle();
    expect(b.received()).toBe('');
  });

  it('afterWrites: tasks run at the end of the turn, after the held messages were handed to the kernel; one end per turn', async () => {
    const [a, b] = await pairs(2);
    const { writes, endTurn, scheduled } = manual();
    const seen: string[] = [];
    writes.afterWrites(() => seen.push(`task1 corked=${b.local.writableCorked}`));
    writes.hold(a.local);
    a.local.write('a');
    writes.hold(b.local);
    b.local.write('b');
    writes.afterWrites(() => seen.push('task2'));
    expect(scheduled()).toBe(1);
    expect(seen).toEqual([]);
    endTurn();
    expect(seen).toEqual(['task1 corked=0', 'task2']);
    await settle();
    expect(b.received()).toBe('b');
    // A task added by a task runs in the next turn.
    writes.afterWrites(() => writes.afterWrites(() => seen.push('later')));
    endTurn();
    expect(seen).toHaveLength(2);
    endTurn();
    expect(seen.at(-1)).toBe('later');
  });

  it('no more than maxHeld sockets wait at once: holding one more sends those held so far', async () => {
    const [a, b, c, d] = await pairs(4);
    const ends: (() => void)[] = [];
    const writes = new TurnWrites((callback) => ends.push(callback), undefined, 2);
    for (const [pair, text] of [[a, 'a'], [b, 'b'], [c, 'c'], [d, 'd']] as const) {
      writes.hold(pair.local);
      pair.local.write(text);
    }
    await settle();
    // a went at once (the first of a quiet turn); b and c were held, then sent when d was held.
    expect([a, b, c, d].map((p) => p.received())).toEqual(['a', 'b', 'c', '']);
    ends[0]();
    await settle();
    expect(d.received()).toBe('d');
  });

  it('a task that throws does not stop the tasks after it; its error goes to onError', () => {
    const ends: (() => void)[] = [];
    const errors: unknown[] = [];
    const writes = new TurnWrites((callback) => ends.push(callback), (err) => errors.push(err));
    const ran: string[] = [];
    writes.afterWrites(() => {
      throw new Error('task bug');
    });
    writes.afterWrites(() => ran.push('second'));
    ends[0]();
    expect(ran).toEqual(['second']);
    expect(errors).toEqual([new Error('task bug')]);
  });

  it('by default the end of the turn is the loop\'s check phase (setImmediate)', async () => {
    const [a, b] = await pairs(2);
    const writes = new TurnWrites();
    writes.hold(a.local);
    a.local.write('a');
    writes.hold(b.local);
    b.local.write('b');
    expect(b.local.writableCorked).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(b.local.writableCorked).toBe(0);
    await settle();
    expect(b.received()).toBe('b');
  });
});
