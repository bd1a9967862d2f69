/**
 * Where each top-level member of a JSON object's text sits, so a record can copy members as the
 * client wrote them instead of re-serialising what `JSON.parse` built (which costs as much again).
 *
 * The text must already have passed `JSON.parse` as an object: the scanner leans on that (it does
 * not validate numbers, literals or escapes) and only checks the structure it relies on, answering
 * `undefined` when anything is not as expected, so the caller takes its general path. Strings are
 * skipped with `indexOf`, so the per-character loop only walks structure, numbers and literals.
 */

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, OPEN_BRACE, OPEN_BRACKET, QUOTE } from './json-scan.js';

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The first index from `i` on that is not JSON whitespace. */
export function skipSpace(text: string, i: number): number {
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  return i;
}

/** Index of the quote that closes the string opening at `open`, or -1. */
export function stringEnd(text: string, open: number): number {
  let quote = text.indexOf('"', open + 1);
  while (quote !== -1) {
    // A quote preceded by an odd number of backslashes is escaped.
    let k = quote - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((quote - 1 - k) % 2 === 0) return quote;
    quote = text.indexOf('"', quote + 1);
  }
  return -1;
}

/** Index just past the value that starts at `start` (no space before it), or -1. */
export function valueEnd(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first === QUOTE) {
    const end = stringEnd(text, start);
    return end === -1 ? -1 : end + 1;
  }
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i = stringEnd(text, i);
        if (i === -1) return -1;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        depth++;
      } else if ((c === CLOSE_BRACE || c === CLOSE_BRACKET) && --depth === 0) {
        return i + 1;
      }
    }
    return -1;
  }
  // A number, true, false or null: up to the next delimiter.
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break;
    i++;
  }
  return i === start ? -1 : i;
}

/**
 * The members of the object that `text` holds (or that starts at `start`, spaces allowed before
 * it), as offsets: for member k, `[4k]` is its key's opening quote, `[4k+1]` just past the key's
 * closing quote, `[4k+2]` the value's first character and `[4k+3]` just past its last. `undefined`
 * when the text is not shaped as expected.
 */
export function objectMembers(text: string, start = 0): number[] | undefined {
  let i = skipSpace(text, start);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  const members: number[] = [];
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) return members;
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return undefined;
    const keyEnd = stringEnd(text, i);
    if (keyEnd === -1) return undefined;
    const colon = skipSpace(text, keyEnd + 1);
    if (text.charCodeAt(colon) !== COLON) return undefined;
    const valueStart = skipSpace(text, colon + 1);
    const end = valueEnd(text, valueStart);
    if (end === -1) return undefined;
    members.push(i, keyEnd + 1, valueStart, end);
    i = skipSpace(text, end);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACE) return members;
    if (c !== COMMA) return undefined;
    i = skipSpace(text, i + 1);
  }
}
