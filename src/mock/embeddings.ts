/**
 * `POST /v1/embeddings`: one deterministic, unit-length vector per input (8 floats unless the
 * request asks for `dimensions`), derived from the input text alone. Honours
 * `encoding_format: "base64"` (little-endian float32), which the official SDKs request by default.
 */
import { Buffer } from 'node:buffer';
import type { JsonObject } from './body.js';
import { invalidParamError } from './errors.js';
import { sendError, sendJson, type MockExchange } from './reply.js';
import { modelOf, promptTokensOf } from './script.js';

/** Length of a vector when the request does not ask for `dimensions`. */
export const DEFAULT_DIMENSIONS = 8;
const MAX_DIMENSIONS = 4096;

/** FNV-1a over the UTF-16 code units of `text`: a cheap, stable seed. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * The embedding of `text`: `dimensions` float32-representable values of unit Euclidean length,
 * the same on every call.
 */
export function embeddingOf(text: string, dimensions = DEFAULT_DIMENSIONS): number[] {
  let state = fnv1a(text) || 1;
  const raw: number[] = [];
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    // xorshift32: deterministic pseudo-random values in [-1, 1).
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const value = ((state >>> 0) / 0x80000000) - 1;
    raw.push(value);
    norm += value * value;
  }
  const scale = norm === 0 ? 1 : 1 / Math.sqrt(norm);
  return raw.map((value) => Math.fround(value * scale));
}

/** Little-endian float32 bytes, base64-encoded, as OpenAI sends `encoding_format: "base64"`. */
export function toBase64(vector: readonly number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/** The inputs of an embeddings request as texts (token arrays joined), or `undefined` if malformed. */
export function inputsOf(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return undefined;
  if (input.every((item) => typeof item === 'number')) return [input.join(' ')];
  const texts: string[] = [];
  for (const item of input) {
    if (typeof item === 'string') texts.push(item);
    else if (Array.isArray(item) && item.every((token) => typeof token === 'number')) texts.push(item.join(' '));
    else return undefined;
  }
  return texts;
}

/** Handles `POST /v1/embeddings` with an already parsed body. */
export function handleEmbeddings(ex: MockExchange, body: JsonObject): void {
  const texts = inputsOf(body.input);
  if (texts === undefined) {
    sendError(ex, invalidParamError("'input' must be a string, an array of strings, or an array of token arrays.", 'input'));
    return;
  }
  let dimensions = DEFAULT_DIMENSIONS;
  if (body.dimensions !== undefined) {
    const asked = body.dimensions;
    if (typeof asked !== 'number' || !Number.isInteger(asked) || asked < 1 || asked > MAX_DIMENSIONS) {
      sendError(ex, invalidParamError(`'dimensions' must be an integer from 1 to ${MAX_DIMENSIONS}.`, 'dimensions'));
      return;
    }
    dimensions = asked;
  }
  const base64 = body.encoding_format === 'base64';
  const tokens = promptTokensOf(ex.body.length);
  sendJson(ex, 200, {
    object: 'list',
    data: texts.map((text, index) => {
      const vector = embeddingOf(text, dimensions);
      return { object: 'embedding', index, embedding: base64 ? toBase64(vector) : vector };
    }),
    model: modelOf(body),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}
