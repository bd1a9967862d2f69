/**
 * The model a request names, for a forward key limited to some models (key-policy.ts), pure.
 *
 * - A JSON body: its top-level `model` members, in any letter case (Go's encoding/json matches
 *   keys so) — every one, should a body name it twice, since parsers differ on which duplicate wins.
 * - A `multipart/form-data` body (audio transcriptions, translations): its `model` fields.
 * - The request target: `model` and `deployment` query parameters (LiteLLM reads `?model=`, Azure
 *   `?deployment=`; a Realtime WebSocket names its model so), and the segment after `/deployments/`
 *   or `/engines/` in the path.
 *
 * It fails closed. A body of any other type must still be JSON or is `unreadable`, since many
 * OpenAI-compatible servers parse JSON whatever the Content-Type says. So is anything malformed,
 * invalid UTF-8, JSON that only lenient parsers accept (`NaN`), a form-encoded body (its fields and
 * its JSON could name different models), and a multipart body with a preamble (which a JSON
 * parser could read as the body).
 */
import { Buffer } from 'node:buffer';
import { objectMembers } from './chat-json-members.js';
import { hasExtendedForm, headerParams } from './header-params.js';
import { asciiObjectMembers } from './json-scan.js';
import type { RequestModels } from './key-policy.js';

const NONE: RequestModels = { kind: 'none' };
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function unreadable(why: string): RequestModels {
  return { kind: 'unreadable', why };
}

function decode(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function named(models: unknown[]): RequestModels {
  return models.length === 0 ? NONE : { kind: 'named', models };
}

/** True when text[from, to) — a key with its quotes — has an escape. */
function hasEscape(at: (i: number) => number, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (at(i) === 0x5c) return true;
  return false;
}

/**
 * The values of the members named `model` in any letter case, given their offsets
 * (chat-json-members.ts' layout). A key is made a string only when it may be `model`: written
 * plainly it is 7 long with its quotes; one with an escape (`"mod\u0065l"`) is decoded to compare.
 */
function modelMembers(members: readonly number[], at: (i: number) => number, slice: (from: number, to: number) => string): RequestModels {
  const models: unknown[] = [];
  for (let k = 0; k < members.length; k += 4) {
    const from = members[k];
    const to = members[k + 1];
    const plain = to - from === 7 && slice(from, to).toLowerCase() === '"model"';
    if (plain || (to - from > 7 && hasEscape(at, from, to) && (JSON.parse(slice(from, to)) as string).toLowerCase() === 'model')) {
      models.push(JSON.parse(slice(members[k + 2], members[k + 3])));
    }
  }
  return named(models);
}

/** The `model` members of a JSON body. */
function jsonModels(body: Buffer): RequestModels {
  // Most chat bodies are one line of ASCII: the byte scan validates them as strictly as JSON.parse
  // and finds the members, for a fraction of its cost (json-scan.ts).
  const scanned = asciiObjectMembers(body);
  if (scanned !== undefined) return modelMembers(scanned, (i) => body[i], (from, to) => body.toString('latin1', from, to));
  const text = decode(body);
  if (text === undefined) return unreadable('the body is not UTF-8 text');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return unreadable('the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return NONE;
  const members = objectMembers(text);
  // JSON.parse accepted the object, so the member scan finds its shape; should it not, the models
  // cannot be told for sure (duplicates, letter case): fail closed.
  if (members === undefined) return unreadable('the body could not be read member by member');
  return modelMembers(members, (i) => text.charCodeAt(i), (from, to) => text.slice(from, to));
}

/** The boundary of a multipart Content-Type (RFC 2046: 1 to 70 characters), or undefined. */
function boundaryOf(contentType: string): string | undefined {
  const parsed = headerParams(contentType);
  if (parsed === null || hasExtendedForm(parsed.params, 'boundary')) return undefined;
  const boundary = parsed.params.get('boundary');
  return boundary !== undefined && boundary.length >= 1 && boundary.length <= 70 ? boundary : undefined;
}

/** Transfer codings of a part that leave its bytes as they are (RFC 7578 §4.7 deprecates the rest). */
const IDENTITY_CODINGS = new Set(['7bit', '8bit', 'binary']);

/**
 * The `name` of a part, from its one `Content-Disposition: form-data` header; `null` when it cannot
 * be told for sure (header-params.ts), or when a transfer coding could make the bytes mean another
 * value upstream.
 */
function partName(head: string): string | null {
  let name: string | null = null;
  let dispositions = 0;
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon === -1) return null;
    const header = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (header === 'content-transfer-encoding' && !IDENTITY_CODINGS.has(value.toLowerCase())) return null;
    if (header !== 'content-disposition') continue;
    dispositions++;
    const parsed = headerParams(value);
    if (parsed === null || parsed.type !== 'form-data' || hasExtendedForm(parsed.params, 'name')) return null;
    name = parsed.params.get('name') ?? null;
  }
  return dispositions === 1 ? name : null;
}

const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

/** The `model` fields of a multipart/form-data body (RFC 7578). */
function multipartModels(contentType: string, body: Buffer): RequestModels {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) return unreadable("the multipart Content-Type's boundary cannot be read");
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter opens the body, or follows a line break. Anything before it (a preamble)
  // is refused: a parser that ignores the Content-Type could read a JSON body there.
  const opening = delimiter.subarray(2);
  let at: number;
  if (body.subarray(0, opening.length).equals(opening)) at = opening.length;
  else if (body.subarray(0, delimiter.length).equals(delimiter)) at = delimiter.length;
  else return unreadable('the multipart body does not start with its boundary');
  const models: unknown[] = [];
  for (;;) {
    // After a delimiter: "--" ends the body; else optional spaces and a line break open a part.
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return named(models);
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    if (!body.subarray(at, at + 2).equals(CRLF)) return unreadable('a multipart delimiter is malformed');
    const headStart = at + 2;
    const headEnd = body.indexOf(HEAD_END, headStart);
    if (headEnd === -1) return unreadable('a multipart part has no end of headers');
    const next = body.indexOf(delimiter, headEnd + 4);
    if (next === -1) return unreadable('the multipart body is not closed');
    const head = decode(body.subarray(headStart, headEnd));
    const name = head === undefined ? null : partName(head);
    if (name === null) return unreadable('a multipart part has no readable name');
    if (name === 'model') {
      const value = decode(body.subarray(headEnd + 4, next));
      if (value === undefined) return unreadable('the model field is not UTF-8');
      models.push(value);
    }
    at = next + delimiter.length;
  }
}

/** The models a request body names; `contentType` as the client sent it. */
export function modelsOfBody(contentType: string | undefined, body: Buffer): RequestModels {
  if (body.length === 0) return NONE;
  if (contentType !== undefined && /^\s*multipart\/form-data\s*(;|$)/i.test(contentType)) return multipartModels(contentType, body);
  if (contentType !== undefined && /^\s*application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) {
    return unreadable('a form-encoded body is not accepted: send JSON');
  }
  return jsonModels(body);
}

/** Path segments after which the next one names a model (Azure's deployments, the old engines API). */
const MODEL_SEGMENT = /\/(?:deployments|engines)\/([^/?]*)/gi;

/**
 * The models a request target names: `model` and `deployment` query parameters (in any letter
 * case), and the segments after `/deployments/` and `/engines/` in its path, percent-decoded.
 */
export function modelsOfTarget(target: string): RequestModels {
  const q = target.indexOf('?');
  const path = q === -1 ? target : target.slice(0, q);
  const models: unknown[] = [];
  for (const match of path.matchAll(MODEL_SEGMENT)) {
    try {
      models.push(decodeURIComponent(match[1]));
    } catch {
      return unreadable('a model in the path is not valid percent-encoding');
    }
  }
  if (q !== -1) {
    for (const [name, value] of new URLSearchParams(target.slice(q + 1))) {
      const lower = name.toLowerCase();
      if (lower === 'model' || lower === 'deployment') models.push(value);
    }
  }
  return named(models);
}

/** Both: everything either names, `unreadable` when either is. */
export function bothModels(a: RequestModels, b: RequestModels): RequestModels {
  if (a.kind === 'unreadable') return a;
  if (b.kind === 'unreadable' || a.kind === 'none') return b;
  if (b.kind === 'none') return a;
  return { kind: 'named', models: [...a.models, ...b.models] };
}
