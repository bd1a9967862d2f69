/**
 * The chat log's `time` field: ISO-8601 UTC with milliseconds (`2025-01-31T12:00:00.123Z`), as
 * `Date#toISOString` writes it. A busy gateway stamps two records per exchange and thousands per
 * second; formatting a Date costs about as much as parsing a small request body, so the text up to
 * the second is computed once per second and only the milliseconds are appended per record.
 */

/** `'000'` … `'999'`: the millisecond part, without formatting a number per record. */
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, ms) => String(ms).padStart(3, '0'));

/** The last second formatted (epoch seconds) and its text up to the dot (`2025-01-31T12:00:00.`). */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * `new Date(ms).toISOString()`, cached per second. Like it, throws a RangeError for a time that is
 * not a valid date (the caller's catch counts it).
 */
export function isoTime(ms: number): string {
  // Fractional or huge values are not what Date.now() returns: leave them to Date itself.
  if (!Number.isSafeInteger(ms)) return new Date(ms).toISOString();
  return `${isoSecond(ms)}${MILLIS[ms - Math.floor(ms / 1000) * 1000]}Z`;
}

/**
 * isoTime's text up to the milliseconds (`2025-01-31T12:00:00.`) for a safe-integer `ms`: the same
 * string as long as the second is the same.
 */
export function isoSecond(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString();
    // Strip `000Z`: what is left ends with the dot, also for the extended `+YYYYYY` years.
    cachedPrefix = iso.slice(0, -4);
    cachedSecond = second;
  }
  return cachedPrefix;
}
