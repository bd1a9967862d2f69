/**
 * Bytes kept past the read they arrived in are copied into memory of their own. Small reads are
 * slices of a shared pool block (Buffer's 8 KB pool, H1Connection.onRead): a view kept for long —
 * a head awaiting its end, a partial SSE line, a stream's first bytes — would pin the whole block,
 * and with it every other slice in it.
 */
import { Buffer } from 'node:buffer';

export function ownCopy(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}
