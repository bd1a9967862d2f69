/**
 * Realistic-looking, unique ids (`chatcmpl-…`, `resp_…`, `call_…`) without per-request randomness:
 * a random process seed plus a counter. Cheap enough for the benchmarked hot path.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlnum(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return out;
}

const SEED = randomAlnum(14);
let counter = 0;

/**
 * Returns `prefix` followed by 24 characters, unique within the process
 * (e.g. `mockId('chatcmpl-')` → `chatcmpl-Xk3…0000001a`).
 */
export function mockId(prefix: string): string {
  counter = (counter + 1) % 0x7fffffff;
  return prefix + SEED + counter.toString(36).padStart(10, '0');
}

/** Current time in whole seconds, as in OpenAI's `created` / `created_at` fields. */
export function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
