/**
 * The parameters of a header value such as `multipart/form-data; boundary="x"` or
 * `form-data; name="model"; filename="a.wav"` (RFC 9110 §5.6.6), read strictly, pure.
 *
 * Where parsers could disagree about what a value says, the answer is `null`: a parameter named
 * twice (some take the first, others the last), a syntax error, a character outside the grammar,
 * or a backslash inside a quoted string (python-multipart and Python's email package take every
 * `\"` for an escaped quote, even after an escaped backslash; clients never escape there). A quoted
 * string may hold a `;`, and that `;` does not start a parameter. Names are lower-cased; RFC 2231 forms such as `name*` and
 * `name*0` keep their star, so a caller can refuse them.
 */

/** RFC 9110 tchar. */
function isTokenChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || '!#$%&\'*+-.^_`|~'.indexOf(String.fromCharCode(c)) !== -1
  );
}

function skipSpace(text: string, i: number): number {
  while (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09) i++;
  return i;
}

function tokenEnd(text: string, i: number): number {
  while (i < text.length && isTokenChar(text.charCodeAt(i))) i++;
  return i;
}

/**
 * The value's leading token (the media or disposition type, lower-cased) and its parameters, or
 * `null` when the value is not exactly `token *( OWS ";" OWS name "=" value )`.
 */
export function headerParams(value: string): { type: string; params: Map<string, string> } | null {
  let i = skipSpace(value, 0);
  let end = tokenEnd(value, i);
  // A media type is `type/subtype`: two tokens.
  if (value.charCodeAt(end) === 0x2f) end = tokenEnd(value, end + 1);
  if (end === i) return null;
  const type = value.slice(i, end).toLowerCase();
  const params = new Map<string, string>();
  i = skipSpace(value, end);
  while (i < value.length) {
    if (value.charCodeAt(i) !== 0x3b /* ; */) return null;
    i = skipSpace(value, i + 1);
    if (i === value.length) break; // a trailing ";" is tolerated
    const nameEnd = tokenEnd(value, i);
    // Spaces around "=" are outside RFC 9110's grammar, but common parsers accept them: so does this.
    const equals = skipSpace(value, nameEnd);
    if (nameEnd === i || value.charCodeAt(equals) !== 0x3d /* = */) return null;
    const name = value.slice(i, nameEnd).toLowerCase();
    i = skipSpace(value, equals + 1);
    let paramValue = '';
    if (value.charCodeAt(i) === 0x22 /* " */) {
      i++;
      for (;;) {
        if (i >= value.length) return null;
        const c = value.charCodeAt(i);
        if (c === 0x22) break;
        if (c === 0x5c /* \ */ || (c < 0x20 && c !== 0x09)) return null;
        paramValue += value[i];
        i++;
      }
      i++;
    } else {
      const valueEnd = tokenEnd(value, i);
      if (valueEnd === i) return null;
      paramValue = value.slice(i, valueEnd);
      i = valueEnd;
    }
    if (params.has(name)) return null;
    params.set(name, paramValue);
    i = skipSpace(value, i);
  }
  return { type, params };
}

/** True when `params` holds an RFC 2231 form of `name` (`name*`, `name*0`, `name*0*`, …). */
export function hasExtendedForm(params: ReadonlyMap<string, string>, name: string): boolean {
  for (const key of params.keys()) if (key.startsWith(`${name}*`)) return true;
  return false;
}
