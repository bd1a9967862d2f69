/**
 * Header rules (DESIGN §5), pure, on Node's raw header arrays (`[name, value, name, value, …]`) so
 * no header object is built per request. Hop-by-hop headers (RFC 9110 §7.6.1), and anything the
 * client's `Connection` header names, never cross the gateway. Upstream-bound requests also lose
 * `host`, `cookie`, `forwarded`, `x-real-ip` and `x-forwarded-*`, and `expect` (Node answers
 * `100-continue` itself; undici refuses the header).
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

const NOT_UPSTREAM = new Set([...HOP_BY_HOP, 'host', 'cookie', 'forwarded', 'x-real-ip', 'expect']);

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
      contentLength = Number(value);
    } else if (name === 'origin') {
      origin = value;
    } else if (NOT_UPSTREAM.has(name) || name.startsWith('x-forwarded-')) {
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
    if (HOP_BY_HOP.has(name)) {
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
