/**
 * Request bodies: buffered for the JSON and upload endpoints (small, and it is a mock), or only
 * counted and hashed for `/mock/echo` so large transfers never sit in memory.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

const EMPTY = Buffer.alloc(0);

/** Reads a whole request body. Calls `done` once, with `undefined` if the request failed. */
export function readBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
  });
  let called = false;
  req.once('end', () => {
    if (called) return;
    called = true;
    done(chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
  });
  req.once('error', () => {
    if (called) return;
    called = true;
    done(undefined);
  });
}

/** Size and SHA-256 of a request body that was not kept. */
export interface BodyDigest {
  readonly bytes: number;
  readonly sha256: string;
}

/** Counts and hashes a request body as it streams in. */
export function digestBody(req: IncomingMessage, done: (digest: BodyDigest | undefined) => void): void {
  const hash = createHash('sha256');
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  let called = false;
  req.once('end', () => {
    if (called) return;
    called = true;
    done({ bytes, sha256: hash.digest('hex') });
  });
  req.once('error', () => {
    if (called) return;
    called = true;
    done(undefined);
  });
}

/** A parsed JSON request body. */
export type JsonObject = Record<string, unknown>;

/** Parses a body that must be a JSON object; `undefined` when it is not. */
export function parseJsonObject(body: Buffer): JsonObject | undefined {
  if (body.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}
