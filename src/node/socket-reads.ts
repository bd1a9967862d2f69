/**
 * Socket reads into one shared buffer, copied out at their size.
 *
 * A socket that delivers its reads as 'data' events has Node allocate a 64 KB buffer for every
 * read, shrink it to the bytes read and wrap it in an ArrayBuffer of its own. Each of those is
 * freed one by one in the next young-generation collection: measured at one connection
 * (`--trace-gc-nvp`, 2026-11-28), freeing the client sockets' read buffers took 0.52–0.66 ms of
 * every second collection, most of its pause. With `onread`, Node reads into a buffer the program
 * owns and calls back with the size; a small read copied into a slice of Buffer's shared 8 KB pool
 * costs no ArrayBuffer of its own, and the read skips the Readable machinery ('data' events). Since
 * the client sockets read so too, the mean pause went from 0.93 to 0.55 ms (freeing ArrayBuffers
 * 0.53 → 0.18 ms), and a build loaded at once next to the one before served 1.07–1.09x its requests.
 *
 * Reads arrive one at a time (libuv callbacks), and each is copied out before the next can land,
 * so every socket of the process shares one buffer. A copy is what the reader keeps: a view of a
 * pool block pins the whole block, so what keeps bytes beyond the exchange's own pace copies them
 * again (core/own-copy.ts). A request body read whole stays such a slice for as long as its
 * exchange (it is kept for a resend with another key), so a long stream can pin up to one 8 KB
 * block that way: with all 10,000 streams of measure 5 open at once, RSS per stream went from
 * 13.7–14.1 KB (the two full runs before) to 14.3–14.7 KB (the three after).
 *
 * The upstream pool's sockets take `onread` as documented (net.connect, tls.connect). A server has
 * no such option for the sockets it accepts, so `readIntoSharedBuffer` does what Node's Socket
 * constructor does with `onread` (lib/net.js, initSocketHandle: the socket's kBuffer and kBufferCb
 * fields, then the handle's useUserBuffer), on a plain TCP socket just accepted. It checks that
 * each of those exists as expected first, and answers false without touching the socket when one
 * does not: the caller then reads 'data' events, as before.
 */
import { Buffer } from 'node:buffer';
import type { Socket } from 'node:net';

/** The buffer every socket of the process reads into. */
export const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);

/** A read's bytes, copied out of `buffer` (the shared one) before the next read reuses it. */
export function copyRead(size: number, buffer: Uint8Array): Buffer {
  const chunk = Buffer.allocUnsafe(size);
  chunk.set(size === buffer.length ? buffer : buffer.subarray(0, size));
  return chunk;
}

/** Node's own fields of a Socket that `onread` sets (lib/net.js), found by their descriptions. */
export interface OnReadFields {
  readonly buffer: symbol;
  readonly callback: symbol;
}

/** Undefined until the first socket is looked at; null when this Node has no such fields. */
let fields: OnReadFields | null | undefined;

/** Node's onread fields of `socket` (any net.Socket), or null when it has not got all three. */
export function onReadFields(socket: object): OnReadFields | null {
  const own = Object.getOwnPropertySymbols(socket);
  const named = (description: string): symbol | undefined => own.find((s) => s.description === description);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const generator = named('kBufferGen');
  if (buffer === undefined || callback === undefined || generator === undefined) return null;
  return { buffer, callback };
}

/** The socket's handle, if it is one that can read into a buffer of the program's. */
function userBufferHandle(socket: Socket): { useUserBuffer(buffer: Uint8Array): void } | null {
  const handle: unknown = (socket as { _handle?: unknown })._handle;
  if (typeof handle !== 'object' || handle === null) return null;
  const use: unknown = (handle as { useUserBuffer?: unknown }).useUserBuffer;
  return typeof use === 'function' ? (handle as { useUserBuffer(buffer: Uint8Array): void }) : null;
}

/**
 * Makes a plain TCP socket just accepted (no read delivered yet) read into READ_BUFFER: `onRead`
 * gets each read as a copy of its own, and its answer is `onread`'s (false pauses the socket).
 * 'data' events are no longer emitted; 'end', 'close', pause() and resume() work as before.
 * Returns false, and changes nothing, when this Node's sockets cannot be set up so.
 */
export function readIntoSharedBuffer(socket: Socket, onRead: (chunk: Buffer) => boolean): boolean {
  if (fields === undefined) fields = onReadFields(socket);
  if (fields === null) return false;
  const record = socket as unknown as Record<symbol, unknown>;
  // Fields of an onread socket already, or not the shape this was written for: leave it alone.
  if (record[fields.buffer] !== null || record[fields.callback] !== null) return false;
  const handle = userBufferHandle(socket);
  if (handle === null) return false;
  record[fields.buffer] = READ_BUFFER;
  record[fields.callback] = (size: number, buffer: Uint8Array): boolean => onRead(copyRead(size, buffer));
  handle.useUserBuffer(READ_BUFFER);
  return true;
}
