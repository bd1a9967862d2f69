/**
 * Reads of accepted sockets into the shared buffer (src/node/socket-reads.ts), over real loopback
 * sockets: each read is a copy of its own, false pauses, 'end' still comes, and a socket that is
 * not the expected shape is left alone.
 */
import { once } from 'node:events';
import { connect, createServer, Socket, type OnReadOpts, type Server, type SocketConstructorOpts } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { onReadFields, READ_BUFFER, readIntoSharedBuffer } from '../../src/node/socket-reads.js';

let server: Server | null = null;
/** Both ends of every connection the tests made (half-open servers do not close on the client's FIN). */
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  if (server !== null) {
    server.close();
    await once(server, 'close');
  }
  server = null;
});

/** A server whose accepted socket is handed to `setup`; resolves with the client and the accepted socket. */
async function pair(setup: (accepted: Socket) => void): Promise<{ client: Socket; accepted: Socket }> {
  let accepted: Socket | null = null;
  const s = createServer({ allowHalfOpen: true }, (socket) => {
    accepted = socket;
    sockets.push(socket);
    setup(socket);
  });
  server = s;
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  const client = connect({ port, host: '127.0.0.1', noDelay: true });
  sockets.push(client);
  await once(client, 'connect');
  while (accepted === null) await new Promise((r) => setImmediate(r));
  return { client, accepted };
}

/** Waits until `test` holds, checking after each turn of the event loop (at most 2 s). */
async function until(test: () => boolean): Promise<void> {
  const end = Date.now() + 2000;
  while (!test()) {
    if (Date.now() > end) throw new Error('condition not reached within 2 s');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('readIntoSharedBuffer', () => {
  it('delivers each read as a copy of its own: bytes kept from an earlier read survive later reads; no data events', async () => {
    const chunks: Buffer[] = [];
    let dataEvents = 0;
    let installed = false;
    const { client, accepted } = await pair((socket) => {
      installed = readIntoSharedBuffer(socket, (chunk) => {
        chunks.push(chunk);
        return true;
      });
      socket.on('data', () => dataEvents++);
    });
    expect(installed).toBe(true);
    const parts = ['first-read-bytes', 'second', 'x'.repeat(5000), 'y'.repeat(70_000)];
    for (const part of parts) {
      client.write(part);
      const before = Buffer.concat(chunks).length;
      await until(() => Buffer.concat(chunks).length >= before + part.length);
    }
    expect(Buffer.concat(chunks).toString('latin1')).toBe(parts.join(''));
    expect(chunks[0].toString('latin1')).toBe('first-read-bytes');
    for (const chunk of chunks) expect(chunk.buffer).not.toBe(READ_BUFFER.buffer);
    expect(dataEvents).toBe(0);
    expect(accepted.listenerCount('data')).toBe(1);
  });

  it('answering false stops reading until resume(); what was sent meanwhile arrives after it', async () => {
    const chunks: Buffer[] = [];
    const { client, accepted } = await pair((socket) => {
      readIntoSharedBuffer(socket, (chunk) => {
        chunks.push(chunk);
        return false;
      });
    });
    client.write('one');
    await until(() => chunks.length === 1);
    client.write('two');
    // Given time to arrive, the bytes stay in the kernel while the socket is paused.
    await new Promise((r) => setTimeout(r, 50));
    expect(chunks.map((c) => c.toString())).toEqual(['one']);
    accepted.resume();
    await until(() => chunks.length === 2);
    expect(chunks[1].toString()).toBe('two');
  });

  it("pause() and resume() of the socket stop and restart the reads; the client's FIN is still 'end'", async () => {
    const chunks: Buffer[] = [];
    const { client, accepted } = await pair((socket) => {
      readIntoSharedBuffer(socket, (chunk) => {
        chunks.push(chunk);
        return true;
      });
    });
    const ended = once(accepted, 'end');
    accepted.pause();
    client.write('held');
    await new Promise((r) => setTimeout(r, 50));
    expect(chunks).toEqual([]);
    accepted.resume();
    await until(() => chunks.length === 1);
    client.end('last');
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe('heldlast');
  });

  it('after the reader pushes its copies into the socket (a detached connection), pipe() and data events work', async () => {
    const received: string[] = [];
    const { client, accepted } = await pair((socket) => {
      readIntoSharedBuffer(socket, (chunk) => socket.push(chunk));
    });
    accepted.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    client.write('pushed');
    await until(() => received.join('') === 'pushed');
  });

  it('leaves alone a socket whose fields are set already (created with onread) and one without a handle', async () => {
    // `onread` is taken by the Socket constructor (lib/net.js), though its types name it for connect() only.
    const options: SocketConstructorOpts & { onread: OnReadOpts } = { onread: { buffer: Buffer.alloc(16), callback: () => true } };
    const withOnRead = new Socket(options);
    expect(readIntoSharedBuffer(withOnRead, () => true)).toBe(false);
    const unconnected = new Socket();
    expect(readIntoSharedBuffer(unconnected, () => true)).toBe(false);
    unconnected.destroy();
    withOnRead.destroy();
  });

  it("finds Node's fields on a socket by their descriptions, and none on an object without them", () => {
    const socket = new Socket();
    const fields = onReadFields(socket);
    expect(fields?.buffer.description).toBe('kBuffer');
    expect(fields?.callback.description).toBe('kBufferCb');
    expect(onReadFields({})).toBeNull();
    expect(onReadFields({ [Symbol('kBuffer')]: null, [Symbol('kBufferCb')]: null })).toBeNull();
    socket.destroy();
  });
});
