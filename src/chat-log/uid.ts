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
import { Buffer } from 'node:buffer';
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

/**
 * The uids of one source (see the file comment) as their two parts: a uid is {@link base} — the
 * prefix and the counter's high half, the same for 2^24 uids in a row — followed by six hex digits
 * of the low half, which {@link next} returns. The chat log keeps these parts and makes the text
 * only when it needs it ({@link uidText}): its WebAssembly builder writes the digits itself.
 */
export class UidCounter {
  #prefix: string;
  #high: number;
  #low: number;
  readonly #random: (size: number) => Buffer;
  /** The first 30 characters of the uids from here on, `xxxxxxxx-xxxx-4xxx-yxxx-` and 6 hex digits. */
  base: string;

  constructor({ start = 0, random = randomBytes }: UidGeneratorOptions = {}) {
    this.#random = random;
    this.#prefix = randomPrefix(random);
    this.#high = Math.floor(start / SPAN) % SPAN;
    this.#low = (start % SPAN) - 1;
    this.base = this.#prefix + hex24(this.#high);
  }

  /** Moves on to the next uid (its {@link base} may change): the low 24 bits of its counter. */
  next(): number {
    if (++this.#low === SPAN) {
      this.#low = 0;
      if (++this.#high === SPAN) {
        this.#prefix = randomPrefix(this.#random);
        this.#high = 0;
      }
      this.base = this.#prefix + hex24(this.#high);
    }
    return this.#low;
  }
}

/** The text of the uid of {@link UidCounter.base} `base` and low half `low`. */
export function uidText(base: string, low: number): string {
  return base + hex24(low);
}

/** A new uid source (see the file comment); each call of the function returns the next uid. */
export function createUidGenerator(options: UidGeneratorOptions = {}): () => string {
  const counter = new UidCounter(options);
  return function nextUid(): string {
    const low = counter.next();
    return uidText(counter.base, low);
  };
}
