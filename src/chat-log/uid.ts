/**
 * Record uids. `crypto.randomUUID()` costs about a third of a microsecond, a noticeable share of
 * what the chat log may add per exchange, and only uniqueness matters here, not unpredictability.
 *
 * A uid is UUID-shaped (8-4-4-4-12 lower-case hex, version 4, RFC 9562 variant), so anything that
 * checks for a UUID accepts it: the first 20 hex digits are drawn at random once per generator
 * (74 random bits after the version and variant bits) and the last 12 are a counter (48 bits).
 * Unique within a process: the counter never repeats under one prefix (after 2^48 uids a fresh
 * prefix is drawn). Unique across cluster workers and restarts: each process draws its own prefix
 * from the CSPRNG, and two of P processes share one with probability about P² / 2^75 — below
 * 10^-10 even for a million process starts.
 */
import { randomBytes } from 'node:crypto';

/** `'00'` … `'ff'`. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Values of the counter's low 24 bits (three bytes, formatted per uid) and of its high 24 bits. */
const SPAN = 0x1000000;

/** A random `xxxxxxxx-xxxx-4xxx-yxxx-` prefix (`y` is 8, 9, a or b). */
function randomPrefix(random: (size: number) => Buffer): string {
  const b = random(10);
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // variant 10xx
  const h = (i: number): string => HEX[b[i]];
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-`;
}

/** Six hex digits of a 24-bit value. */
function hex24(value: number): string {
  return `${HEX[value >>> 16]}${HEX[(value >>> 8) & 0xff]}${HEX[value & 0xff]}`;
}

export interface UidGeneratorOptions {
  /** Where the counter starts (0 ≤ start < 2^48); tests use it to reach the roll-overs. */
  start?: number;
  /** Source of the prefix's random bytes (default `crypto.randomBytes`). */
  random?: (size: number) => Buffer;
}

/** A new uid source (see the file comment); each call of the function returns the next uid. */
export function createUidGenerator({ start = 0, random = randomBytes }: UidGeneratorOptions = {}): () => string {
  let prefix = randomPrefix(random);
  let high = Math.floor(start / SPAN) % SPAN;
  let low = (start % SPAN) - 1;
  // The prefix plus the counter's high half: rebuilt once every 2^24 uids, not per uid.
  let base = prefix + hex24(high);
  return function nextUid(): string {
    if (++low === SPAN) {
      low = 0;
      if (++high === SPAN) {
        prefix = randomPrefix(random);
        high = 0;
      }
      base = prefix + hex24(high);
    }
    return base + hex24(low);
  };
}
