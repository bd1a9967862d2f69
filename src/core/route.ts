/**
 * Path mapping, pure: `{prefix}/{path}?{query}` → `{basePath}/{path}?{query}`. Only origin-form
 * request targets are accepted (RFC 9112 §3.2.1); absolute-form (`http://other/`), authority-form,
 * `*`, scheme-relative `//host/...` and dot segments that would climb out of the base path are
 * refused, so nothing a client sends can point the gateway at another origin or path.
 */
import { GatewayError } from './errors.js';

export type RouteResult =
  /** `path`: the upstream request target; `route`: the path after the prefix, without the query. */
  | { readonly kind: 'forward'; readonly path: string; readonly route: string }
  | { readonly kind: 'health' }
  | { readonly kind: 'error'; readonly error: GatewayError };

/** Normalises a route prefix to `/x` (leading slash, no trailing slash); `''` for none. */
export function normalisePrefix(prefix: string | undefined): string {
  if (prefix === undefined) return '';
  let p = prefix.trim();
  while (p.endsWith('/')) p = p.slice(0, -1);
  if (p === '') return '';
  return p.startsWith('/') ? p : `/${p}`;
}

/** Normalises a base URL's path to `/x` or `''`, the same way as a prefix. */
export const normaliseBasePath = normalisePrefix;

const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

function badTarget(target: string, why: string): RouteResult {
  const shown = target.length > 120 ? `${target.slice(0, 120)}…` : target;
  return {
    kind: 'error',
    error: new GatewayError('bad_request_target', `Bad request target "${shown}": ${why}`),
  };
}

export interface Router {
  route(method: string, target: string): RouteResult;
}

/** Builds the router for a prefix and base path (both already normalised). */
export function createRouter({ prefix, basePath }: { prefix: string; basePath: string }): Router {
  const healthPaths = new Set(['/healthz', `${prefix}/healthz`]);
  const notFound: RouteResult = {
    kind: 'error',
    error: new GatewayError('not_found', `Not found: this gateway serves paths under "${prefix}/"`),
  };
  const health: RouteResult = { kind: 'health' };

  return {
    route(method, target) {
      if (target.charCodeAt(0) !== 47 /* / */) {
        return badTarget(target, 'only origin-form targets ("/path?query") are accepted');
      }
      if (target.charCodeAt(1) === 47) {
        return badTarget(target, 'a target starting with "//" is not accepted');
      }
      const q = target.indexOf('?');
      const path = q === -1 ? target : target.slice(0, q);
      // Origin-form has no fragment (RFC 9112 §3.2.1): a client never sends one.
      if (target.indexOf('#') !== -1) return badTarget(target, 'a fragment ("#...") is not part of a request target');
      if (path.indexOf('\\') !== -1) return badTarget(target, 'backslashes are not accepted in paths');
      if ((path.indexOf('/.') !== -1 || path.indexOf('%') !== -1) && DOT_SEGMENT.test(path)) {
        return badTarget(target, 'dot segments ("." / "..") are not accepted');
      }
      if ((method === 'GET' || method === 'HEAD') && healthPaths.has(path)) return health;

      let rest = target;
      if (prefix !== '') {
        if (!target.startsWith(prefix)) return notFound;
        const next = target.charCodeAt(prefix.length);
        // After the prefix: end of target, "/" or "?".
        if (!(Number.isNaN(next) || next === 47 || next === 63)) return notFound;
        rest = target.slice(prefix.length);
        // What is left is the upstream path: as above, "//" would name another host.
        if (rest.charCodeAt(1) === 47 && rest.charCodeAt(0) === 47) return badTarget(target, 'a path starting with "//" after the route prefix is not accepted');
      }
      if (rest === '' || rest.charCodeAt(0) === 63 /* ? */) rest = `/${rest}`;
      const routeEnd = rest.indexOf('?');
      return {
        kind: 'forward',
        path: basePath === '' ? rest : basePath + rest,
        route: routeEnd === -1 ? rest : rest.slice(0, routeEnd),
      };
    },
  };
}
