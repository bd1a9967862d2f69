/**
 * Header rules (DESIGN §5), pure, on Node's raw header arrays (`[name, value, name, value, …]`) so
 * no header object is built per request. Hop-by-hop headers (RFC 9110 §7.6.1), and anything the
 * client's `Connection` header names, never cross the gateway. Upstream-bound requests also lose
 * `host`, `cookie`, `forwarded`, `x-real-ip` and `x-forwarded-*`, and `expect` (Node answers
 * `100-continue` itself; undici refuses the header).
 */
import { Buffer } from 'node:buffer';

/**
 * The number a Content-Length of 1 to 15 ASCII digits says (exact as a double), or -1 for any
 * other text. `Number()` of a string is a call into V8's runtime, which also hashes the string
 * (perf under load, 2026-11-28: ~0.3% of the gateway's CPU for the two or three per exchange).
 */
export function decimalLength(value: string): number {
  const n = value.length;
  if (n === 0 || n > 15) return -1;
  let result = 0;
  for (let i = 0; i < n; i++) {
    const digit = value.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    result = result * 10 + digit;
  }
  return result;
}

/**
 * A membership test for lower-case header names that never hashes the name it is asked about: by
 * its length, then its first character, then in full. The names come fresh from the parser, one
 * string per header, and a Set hashes each on lookup: perf on the gateway under load
 * (2026-11-28) put V8's `String::ComputeAndSetRawHash` at ~1% of its CPU, called from these
 * lookups in readUpstreamHeaders and readClientHeaders. Exported for its test.
 */
export function nameSet(names: readonly string[]): (name: string) => boolean {
  const byLength: string[][] = [];
  for (const name of names) {
    const same = byLength[name.length];
    if (same === undefined) byLength[name.length] = [name];
    else same.push(name);
  }
  return (name) => {
    if (name.length >= byLength.length) return false;
    const same = byLength[name.length];
    if (same === undefined) return false;
    const first = name.charCodeAt(0);
    for (const known of same) if (known.charCodeAt(0) === first && known === name) return true;
    return false;
  };
}

const HOP_BY_HOP_NAMES = [
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
];
const isHopByHop = nameSet(HOP_BY_HOP_NAMES);
const isNotUpstream = nameSet([...HOP_BY_HOP_NAMES, 'host', 'cookie', 'forwarded', 'x-real-ip', 'expect']);

/** Names listed in a `Connection` header value (lower-case), or `null` when it lists none. */
function connectionListed(value: string | undefined): Set<string> | null {
  if (value === undefined || value === 'keep-alive' || value === 'close') return null;
  let names: Set<string> | null = null;
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase();
    if (name === '' || name === 'close' || name === 'keep-alive') continue;
    (names ??= new Set()).add(name);
  }
  return names;
}

export interface ClientRequestHead {
  /** Headers to send upstream, flat; `authorization` is not among them (see `authorization`). */
  readonly headers: string[];
  /** The client's Authorization value, if any. */
  readonly authorization: string | undefined;
  readonly forwardedFor: string | undefined;
  /** The `Origin` header (a browser's request), forwarded upstream too. */
  readonly origin: string | undefined;
  /** Declared Content-Length, or -1 when absent. */
  readonly contentLength: number;
  /** True when the request declares a body (Content-Length > 0 or Transfer-Encoding). */
  readonly hasBody: boolean;
}

/**
 * One pass over the client's headers (`[name, value, …]`, names lower-case as the server's parser
 * gives them): what goes upstream, and the few values the pipeline reads.
 */
export function readClientHeaders(raw: readonly string[]): ClientRequestHead {
  const headers: string[] = [];
  let authorization: string | undefined;
  let forwardedFor: string | undefined;
  let origin: string | undefined;
  let connection: string | undefined;
  let contentLength = -1;
  let chunked = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name === 'authorization') {
      authorization = value;
      continue;
    }
    if (name === 'content-length') {
      // The server's parser took only 1 to 15 digits; Number() for anything else, as before.
      const length = decimalLength(value);
      contentLength = length === -1 ? Number(value) : length;
    } else if (name === 'origin') {
      origin = value;
    } else if (isNotUpstream(name) || name.startsWith('x-forwarded-')) {
      if (name === 'transfer-encoding') chunked = true;
      // Several Connection fields are one list (RFC 9110 §5.3): each names hop-by-hop headers.
      else if (name === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
      else if (name === 'x-forwarded-for') forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
      continue;
    }
    headers.push(name, value);
  }
  const listed = connectionListed(connection);
  return {
    headers: listed === null ? headers : dropNames(headers, listed),
    authorization,
    forwardedFor,
    origin,
    contentLength,
    hasBody: chunked || contentLength > 0,
  };
}

/** The first value of header `name` (lower-case) in a raw list from the server, or `undefined`. */
export function headerValue(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === name) return raw[i + 1];
  return undefined;
}

function dropContentLength(flat: string[]): void {
  for (let i = flat.length - 2; i >= 0; i -= 2) if (flat[i] === 'content-length') flat.splice(i, 2);
}

function dropNames(flat: string[], names: Set<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2) if (!names.has(flat[i])) out.push(flat[i], flat[i + 1]);
  return out;
}

export interface UpstreamResponseHead {
  /** Headers to send to the client, flat, hop-by-hop removed. */
  readonly headers: string[];
  /** True for `text/event-stream`: `X-Accel-Buffering: no` has been added. */
  readonly eventStream: boolean;
  /** The upstream's Content-Encoding (lower-case), or undefined. */
  readonly contentEncoding: string | undefined;
  readonly contentType: string | undefined;
}

/** Converts raw response headers (lower-case name strings, or undici's latin1 Buffers) into the client's flat list. */
export function readUpstreamHeaders(raw: readonly (Buffer | string)[]): UpstreamResponseHead {
  const headers: string[] = [];
  let connection: string | undefined;
  let contentType: string | undefined;
  let contentEncoding: string | undefined;
  let transferEncoding = false;
  for (let i = 0; i < raw.length; i += 2) {
    const rawName = raw[i];
    const rawValue = raw[i + 1];
    // The HTTP/1.1 pool already lower-cases names; undici's Buffers are as the upstream sent them.
    const name = typeof rawName === 'string' ? rawName : rawName.toString('latin1').toLowerCase();
    const value = typeof rawValue === 'string' ? rawValue : rawValue.toString('latin1');
    if (isHopByHop(name)) {
      if (name === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`;
      else if (name === 'transfer-encoding') transferEncoding = true;
      continue;
    }
    if (name === 'content-type') contentType = value;
    else if (name === 'content-encoding') contentEncoding = value.trim().toLowerCase();
    headers.push(name, value);
  }
  // With Transfer-Encoding the body was framed by it, not by a Content-Length also sent: that length
  // must not reach the client (RFC 9112 §6.3), which would read the decoded body by it.
  if (transferEncoding) dropContentLength(headers);
  const eventStream = contentType !== undefined && contentType.toLowerCase().startsWith('text/event-stream');
  if (eventStream) headers.push('x-accel-buffering', 'no');
  const listed = connectionListed(connection);
  return {
    headers: listed === null ? headers : dropNames(headers, listed),
    eventStream,
    contentEncoding,
    contentType,
  };
}
