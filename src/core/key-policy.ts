/**
 * Forward-key policies (DESIGN §8), pure: what one forward key may do — until when, on which
 * routes, with which models, how many requests a minute. A forward key given as a plain string
 * (flag, environment, or a string in the config file) has no policy and may do anything, as before.
 *
 * Allow-lists fail closed: a route or model not on the list, spelt differently, or that cannot be
 * read is refused, never passed. Messages name the key by its policy's name (the operator's, or
 * the key's masked form), never by the key.
 */
import { GatewayError } from './errors.js';

/** Names allowed by a list of exact names and `prefix*` patterns (`*` only at the end). */
export class NameList {
  readonly #exact: ReadonlySet<string>;
  readonly #prefixes: readonly string[];
  /** The patterns as configured, for messages. */
  readonly patterns: readonly string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.#exact = new Set(patterns.filter((p) => !p.endsWith('*')));
    this.#prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  }

  matches(name: string): boolean {
    if (this.#exact.has(name)) return true;
    for (const prefix of this.#prefixes) if (name.startsWith(prefix)) return true;
    return false;
  }

  /** The patterns for a message: the first few, then how many more. */
  describe(): string {
    const shown = this.patterns.slice(0, 8).join(', ');
    return this.patterns.length > 8 ? `${shown} and ${this.patterns.length - 8} more` : shown;
  }
}

/**
 * Routes allowed by entries such as `/v1/chat/completions`, `/v1/files*` (any method) or
 * `GET /v1/models*` (that method only).
 */
export class RouteList {
  readonly #anyMethod: NameList;
  /** Entries with a method, matched against `METHOD /path`. */
  readonly #withMethod: NameList;
  readonly patterns: readonly string[];

  constructor(patterns: readonly string[]) {
    this.patterns = patterns;
    this.#anyMethod = new NameList(patterns.filter((p) => p.startsWith('/')));
    this.#withMethod = new NameList(patterns.filter((p) => !p.startsWith('/')));
  }

  matches(method: string, route: string): boolean {
    return this.#anyMethod.matches(route) || (this.#withMethod.patterns.length > 0 && this.#withMethod.matches(`${method} ${route}`));
  }

  describe(): string {
    return new NameList(this.patterns).describe();
  }
}

/**
 * Routes whose model is not a top-level `model` of the request: a Realtime session or client
 * secret (nested in `session`), assistants and threads (the assistant's model), evals, batches (in
 * an uploaded file). A key limited to models but not to routes is refused these, since its model
 * list could not be checked there; listing them in `routes` allows them.
 */
export const INDIRECT_MODEL_ROUTES = new NameList([
  '/v1/realtime/client_secrets*',
  '/v1/realtime/sessions*',
  '/v1/realtime/transcription_sessions*',
  '/v1/assistants*',
  '/v1/threads*',
  '/v1/evals*',
  '/v1/batches*',
]);

export interface KeyPolicy {
  /** How messages and metrics name the key: the operator's `name`, else the key's masked form. */
  readonly name: string;
  /** Models the key may use; `null`: any. */
  readonly models: NameList | null;
  /** Routes (paths after the prefix, such as `/v1/chat/completions`, each maybe with a method) the key may use; `null`: any. */
  readonly routes: RouteList | null;
  /** Requests admitted in any 60 s; 0: no limit. */
  readonly rpm: number;
  /** Epoch ms from which the key is refused; 0: never. */
  readonly expiresAt: number;
}

/** A forward key and what it may do (`null`: anything). */
export interface ForwardKeySpec {
  readonly key: string;
  readonly policy: KeyPolicy | null;
}

/** Longest name or model quoted back in a message. */
const QUOTED = 100;

function quoted(text: string): string {
  return JSON.stringify(text.length > QUOTED ? `${text.slice(0, QUOTED)}…` : text);
}

/** An encoded `/` or `\\`: a server that decodes it would see another path than the one allowed. */
const ENCODED_SEPARATOR = /%(?:2f|5c)/i;

/** Expiry and routes: what is known from the request head. `null` when allowed. */
export function accessRefusal(policy: KeyPolicy, method: string, route: string, now: number): GatewayError | null {
  if (policy.expiresAt !== 0 && now >= policy.expiresAt) {
    return new GatewayError(
      'forward_key_expired',
      `Forward key ${policy.name} expired at ${new Date(policy.expiresAt).toISOString()}; ask the gateway's operator for a new one`,
    );
  }
  const routes = policy.routes;
  if (routes !== null && (!routes.matches(method, route) || ENCODED_SEPARATOR.test(route))) {
    return new GatewayError('route_not_allowed', `Forward key ${policy.name} may not use ${method} ${quoted(route)} (allowed: ${routes.describe()})`);
  }
  if (routes === null && policy.models !== null && INDIRECT_MODEL_ROUTES.matches(route)) {
    return new GatewayError(
      'route_not_allowed',
      `Forward key ${policy.name} is limited to some models, and ${quoted(route)} picks its model elsewhere than a top-level "model"; the gateway's operator may list it in the key's routes`,
    );
  }
  return null;
}

/** What the request names as its model(s): request-model.ts reads them from the body or query. */
export type RequestModels =
  /** The models named (usually one; a body naming it twice gives both, and each must be allowed). */
  | { readonly kind: 'named'; readonly models: readonly unknown[] }
  /** The request names no model (no body, a file upload): the model list does not apply. */
  | { readonly kind: 'none' }
  /** The body could not be read as its type says: the model cannot be checked. */
  | { readonly kind: 'unreadable'; readonly why: string };

/** Models: `null` when every model the request names is allowed (or it names none). */
export function modelRefusal(policy: KeyPolicy, found: RequestModels): GatewayError | null {
  const models = policy.models;
  if (models === null || found.kind === 'none') return null;
  if (found.kind === 'unreadable') {
    return new GatewayError(
      'model_unreadable',
      `Forward key ${policy.name} is limited to some models, and the model of this request cannot be checked: ${found.why}`,
    );
  }
  for (const model of found.models) {
    if (typeof model !== 'string') {
      return new GatewayError('model_not_allowed', `Forward key ${policy.name}: "model" must be a string naming one of: ${models.describe()}`, { param: 'model' });
    }
    if (!models.matches(model)) {
      return new GatewayError('model_not_allowed', `Forward key ${policy.name} may not use model ${quoted(model)} (allowed: ${models.describe()})`, { param: 'model' });
    }
  }
  return null;
}

/** The 429 of a key over its `rpm`; `waitMs` until a request would be admitted. */
export function rateRefusal(policy: KeyPolicy, waitMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return new GatewayError(
    'rate_limit_exceeded',
    `Forward key ${policy.name} is limited to ${policy.rpm} requests per minute; retry in ${seconds} s`,
    { retryAfterSeconds: seconds },
  );
}
