/**
 * CORS for browser clients (the Fetch standard's CORS protocol), pure. A chat app in a browser that
 * calls the gateway with `Authorization: Bearer <forward key>` first sends a preflight (`OPTIONS`
 * with `Access-Control-Request-Method`), and then can read the answer only if it carries
 * `Access-Control-Allow-Origin`. Upstreams differ (api.openai.com answers CORS, most self-hosted
 * servers do not), and the gateway's own errors (403, 413, 502, 504) never came from an upstream,
 * so the gateway owns CORS: it answers preflights itself and sets the CORS headers of every answer
 * to a request that carries `Origin`, replacing any the upstream sent (two `Access-Control-Allow-
 * Origin` values make a browser reject the response). Requests without `Origin` — SDKs on servers,
 * curl — are untouched and cost one comparison.
 *
 * `cors_origins` (DESIGN §4 style list): `*` allows every origin (the default, as openai-forward
 * does), a list allows those origins, `off` leaves CORS alone (preflights are forwarded like any
 * request and upstream headers pass through).
 */

export interface CorsPolicy {
  /**
   * True when a page from `origin` may use the gateway. Browsers enforce CORS on fetch, but not on
   * WebSocket: for upgrades the gateway itself refuses an origin outside the list.
   */
  allows(origin: string): boolean;
  /** Headers for the answer to a request from `origin`: the CORS headers when it is allowed, only `Vary` when not (list mode). */
  responseHeaders(origin: string): readonly string[];
  /** Headers of the gateway's 204 answer to a preflight from `origin` (none of them CORS headers when it is not allowed). */
  preflightHeaders(origin: string, requestHeaders: string | undefined): string[];
}

/** What a preflight may ask for: any method (the gateway forwards every method). */
const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS';
/** Browsers cache a preflight answer at most this long (Chromium caps at 2 h, Firefox at 24 h). */
const MAX_AGE_SECONDS = '7200';

/** What `cors_origins` may hold besides `*` and `off`: an origin as browsers serialise it. */
const ORIGIN = /^https?:\/\/[^/?#\s]+$/i;

/** Why `value` is not a valid `cors_origins` entry, or `undefined` when it is. */
export function corsOriginProblem(value: string): string | undefined {
  if (value === '*' || ORIGIN.test(value)) return undefined;
  return `"${value}" is not an origin: use * (any origin), off, or origins such as https://chat.example.com (scheme and host, no path)`;
}

/**
 * The policy for a validated `cors_origins` list, or `null` when CORS is off (`off`, or no origins).
 * Origins compare case-insensitively in scheme and host, as browsers send them in lower case.
 */
export function createCorsPolicy(origins: readonly string[]): CorsPolicy | null {
  if (origins.length === 0 || (origins.length === 1 && origins[0].toLowerCase() === 'off')) return null;
  const any = origins.includes('*');
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  // With `*` the answer does not depend on the origin; with a list it names it, so caches must vary.
  const anyHeaders = ['access-control-allow-origin', '*', 'access-control-expose-headers', '*'];
  const isAllowed = (origin: string): boolean => any || allowed.has(origin.toLowerCase());
  return {
    allows: isAllowed,
    responseHeaders(origin) {
      if (any) return anyHeaders;
      if (!isAllowed(origin)) return ['vary', 'origin'];
      return ['access-control-allow-origin', origin, 'access-control-expose-headers', '*', 'vary', 'origin'];
    },
    preflightHeaders(origin, requestHeaders) {
      const vary = any ? 'access-control-request-headers' : 'origin, access-control-request-headers';
      if (!isAllowed(origin)) return ['vary', vary];
      const headers = ['access-control-allow-origin', any ? '*' : origin, 'access-control-allow-methods', ALLOW_METHODS];
      if (requestHeaders !== undefined && requestHeaders !== '') headers.push('access-control-allow-headers', requestHeaders);
      headers.push('access-control-max-age', MAX_AGE_SECONDS, 'vary', vary);
      return headers;
    },
  };
}

/** The upstream's response headers for a browser request: its own CORS headers replaced by `cors`. */
export function withCorsHeaders(headers: readonly string[], cors: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!headers[i].startsWith('access-control-')) out.push(headers[i], headers[i + 1]);
  }
  out.push(...cors);
  return out;
}
