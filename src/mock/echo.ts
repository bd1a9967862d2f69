/**
 * `ANY /mock/echo[/...]`: answers what the mock received — method, path, raw query, headers, body
 * size and SHA-256 — so end-to-end tests can see what a gateway sent upstream. Secrets are never
 * echoed whole: credential headers are replaced by a masked form (see {@link maskSecret}).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { BodyDigest } from './body.js';
import { sendJson, type MockExchange } from './reply.js';

/**
 * Headers whose values are masked in the echo: `authorization`, Azure's `api-key`, and the other
 * common credential carriers.
 */
export const MASKED_HEADERS: readonly string[] = Object.freeze(['authorization', 'api-key', 'x-api-key', 'proxy-authorization']);

/** Below this length a secret is fully starred: showing 9 characters would reveal most of it. */
const MIN_MASKED_LENGTH = 12;

/**
 * Masks a secret as its first 5 characters, `…`, and its last 4 (`sk-te…1234`); shorter values
 * (under 12 characters) become stars of the same length.
 */
export function maskSecret(secret: string): string {
  if (secret.length < MIN_MASKED_LENGTH) return '*'.repeat(secret.length);
  return `${secret.slice(0, 5)}…${secret.slice(-4)}`;
}

/**
 * Masks a credential header value. An auth scheme (`Bearer `, `Basic `) is kept in clear so the
 * echo still shows which key was sent: `Bearer sk-te…1234`.
 */
export function maskCredential(value: string): string {
  const match = /^([A-Za-z][A-Za-z0-9_-]*) +(\S.*)$/.exec(value);
  return match === null ? maskSecret(value) : `${match[1]} ${maskSecret(match[2])}`;
}

/** The received headers with credential values masked. */
export function maskedHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (MASKED_HEADERS.includes(name)) {
      out[name] = Array.isArray(value) ? value.map(maskCredential) : maskCredential(value);
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** The echo answer for a request whose body was counted and hashed as `digest`. */
export function echoOf(ex: MockExchange, digest: BodyDigest): Record<string, unknown> {
  const url = ex.req.url ?? '/';
  const q = url.indexOf('?');
  return {
    method: ex.req.method ?? 'GET',
    path: ex.path,
    query: q < 0 ? '' : url.slice(q + 1),
    headers: maskedHeaders(ex.req.headers),
    body_bytes: digest.bytes,
    body_sha256: digest.sha256,
  };
}

/** Handles `ANY /mock/echo[/...]` once the body has been digested. */
export function handleEcho(ex: MockExchange, digest: BodyDigest): void {
  sendJson(ex, 200, echoOf(ex, digest));
}
