/**
 * `forward_key`: plain keys (a flag, the environment, or strings in the config file), or in the
 * config file mappings that give a key a policy (core/key-policy.ts):
 *
 *   forward_key:
 *     - fk-shared-by-the-team
 *     - key: fk-alice-...
 *       name: alice
 *       models: [gpt-4o-mini, "gpt-4.1*"]
 *       routes: [/v1/chat/completions, /v1/responses]
 *       rpm: 60
 *       expires: 2027-04-01
 *
 * Messages name an entry by its position and field, never by its key.
 */
import { maskSecret, shownName } from '../core/mask.js';
import { type ForwardKeySpec, type KeyPolicy, NameList, RouteList } from '../core/key-policy.js';
import { MAX_RPM } from '../core/request-window.js';
import { list, type Parser } from './values.js';

const FIELDS = ['key', 'name', 'models', 'routes', 'rpm', 'expires'] as const;

function patterns(value: unknown, what: string, check: (item: string) => string | undefined): string[] {
  const items = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(items) || items.length === 0) throw new Error(`${what}: expected a list of names, such as [a, "b*"]`);
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string' || item.trim() === '') throw new Error(`${what}: expected names (strings), got ${JSON.stringify(item)}`);
    const name = item.trim();
    if (name.indexOf('*') !== -1 && name.indexOf('*') !== name.length - 1) {
      throw new Error(`${what}: "${name}": "*" may only end a name (a prefix such as "gpt-4o*")`);
    }
    const problem = check(name);
    if (problem !== undefined) throw new Error(`${what}: "${name}": ${problem}`);
    out.push(name);
  }
  return out;
}

/** A route entry: `/path`, `/prefix*`, or either after a method (`GET /v1/models*`). */
function routeProblem(entry: string): string | undefined {
  const match = /^(?:([A-Z]+) +)?(\/\S*)$/.exec(entry);
  if (match === null) return 'a route is a path such as /v1/chat/completions, maybe after a method in capitals (GET /v1/models*)';
  return undefined;
}

/** An instant: a date (`2027-04-01`, its start in UTC) or a date and time with a zone. */
function instant(value: unknown, what: string): number {
  const expected = `${what}: expected a date such as 2027-04-01 or a time with its zone such as 2027-04-01T09:00:00Z`;
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error(expected);
    return Math.max(value.getTime(), 1);
  }
  const text = typeof value === 'string' ? value.trim() : '';
  const date = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2}))?$/i.exec(text);
  if (date === null || (date[4] !== undefined && date[7] === undefined)) throw new Error(expected);
  const [year, month, day, hour = '0', minute = '0', second = '0'] = date.slice(1).map((part) => part ?? undefined);
  // Date.parse rolls 2027-02-30 over into March and accepts hour 24: only a real calendar time passes.
  const check = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  if (check.getUTCFullYear() !== Number(year) || check.getUTCMonth() !== Number(month) - 1 || check.getUTCDate() !== Number(day) || check.getUTCHours() !== Number(hour) || check.getUTCMinutes() !== Number(minute) || check.getUTCSeconds() !== Number(second)) {
    throw new Error(expected);
  }
  const ms = date[4] === undefined ? check.getTime() : Date.parse(text.replace(' ', 'T'));
  if (!Number.isFinite(ms)) throw new Error(expected);
  return Math.max(ms, 1);
}

function policyEntry(entry: Record<string, unknown>, at: string): ForwardKeySpec {
  for (const field of Object.keys(entry)) {
    if (!(FIELDS as readonly string[]).includes(field)) {
      throw new Error(`${at}: unknown field "${shownName(field)}" (known: ${FIELDS.join(', ')})`);
    }
  }
  const key = entry.key;
  if (typeof key !== 'string' || key.trim() === '' || /[\s,]/.test(key.trim())) {
    throw new Error(`${at}: "key" must be the forward key, one word without spaces or commas`);
  }
  let name = maskSecret(key.trim());
  if (entry.name !== undefined) {
    if (typeof entry.name !== 'string' || entry.name.trim() === '' || entry.name.length > 64) throw new Error(`${at}: "name" must be a string of 1 to 64 characters`);
    name = entry.name.trim();
  }
  let rpm = 0;
  if (entry.rpm !== undefined) {
    if (typeof entry.rpm !== 'number' || !Number.isInteger(entry.rpm) || entry.rpm < 1 || entry.rpm > MAX_RPM) {
      throw new Error(`${at}: "rpm" must be a whole number of requests per minute from 1 to ${MAX_RPM}`);
    }
    rpm = entry.rpm;
  }
  const policy: KeyPolicy = {
    name,
    models: entry.models === undefined ? null : new NameList(patterns(entry.models, `${at}: models`, () => undefined)),
    routes: entry.routes === undefined ? null : new RouteList(patterns(entry.routes, `${at}: routes`, routeProblem).map((route) => route.replace(/ +/, ' '))),
    rpm,
    expiresAt: entry.expires === undefined ? 0 : instant(entry.expires, `${at}: expires`),
  };
  return { key: key.trim(), policy };
}

/** The `forward_key` setting's parser. */
export const forwardKeys: Parser<ForwardKeySpec[]> = (value) => {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  const specs: ForwardKeySpec[] = [];
  items.forEach((item, index) => {
    if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
      specs.push(policyEntry(item as Record<string, unknown>, `entry ${index + 1}`));
    } else {
      for (const key of list(item)) specs.push({ key, policy: null });
    }
  });
  // One key, one meaning; and a policy's name is its metrics label, so names are distinct too.
  const byKey = new Map<string, ForwardKeySpec>();
  const names = new Set<string>();
  const unique: ForwardKeySpec[] = [];
  for (const spec of specs) {
    const seen = byKey.get(spec.key);
    if (seen !== undefined) {
      if (seen.policy !== null || spec.policy !== null) throw new Error(`a key with a policy is listed twice (${spec.policy?.name ?? seen.policy?.name})`);
      continue;
    }
    if (spec.policy !== null) {
      if (names.has(spec.policy.name)) throw new Error(`two keys are named "${spec.policy.name}": give each a distinct "name"`);
      names.add(spec.policy.name);
    }
    byKey.set(spec.key, spec);
    unique.push(spec);
  }
  return unique;
};
