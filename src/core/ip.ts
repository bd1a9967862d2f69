/**
 * IP address and CIDR parsing and matching, IPv4 and IPv6, pure. An address is four 32-bit words
 * (IPv4 uses the last word only, with `v4` set), so one comparison routine serves both families.
 * IPv4-mapped IPv6 (`::ffff:1.2.3.4`, how Node reports IPv4 peers on a dual-stack socket) is
 * normalised to IPv4, so a rule written `10.0.0.0/8` matches it.
 */

export interface IpAddress {
  readonly v4: boolean;
  /** Four big-endian 32-bit words; for IPv4 only `words[3]` is used and the rest are 0. */
  readonly words: readonly [number, number, number, number];
}

export interface IpRange {
  readonly address: IpAddress;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  readonly bits: number;
  /** The rule as written, for messages. */
  readonly text: string;
}

function parseV4Words(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255 || (part.length > 1 && part[0] === '0')) return undefined;
    value = value * 256 + octet;
  }
  return value >>> 0;
}

function parseV6Groups(text: string): number[] | undefined {
  let body = text;
  const zone = body.indexOf('%');
  if (zone !== -1) body = body.slice(0, zone);
  let tail: number[] = [];
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) becomes the last two groups.
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    const v4 = parseV4Words(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    // Keep a `::` that stood right before the IPv4 part; drop a single separating colon.
    body = body[lastColon - 1] === ':' ? body.slice(0, lastColon + 1) : body.slice(0, lastColon);
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = toGroups(halves[0]);
  const rest = halves.length === 2 ? toGroups(halves[1]) : [];
  if (head === undefined || rest === undefined) return undefined;
  const explicit = head.length + rest.length + tail.length;
  if (halves.length === 1) {
    return explicit === 8 ? [...head, ...tail] : undefined;
  }
  if (explicit > 7) return undefined;
  return [...head, ...new Array<number>(8 - explicit).fill(0), ...rest, ...tail];
}

/** Parses an IPv4 or IPv6 address; IPv4-mapped IPv6 becomes IPv4. `undefined` when invalid. */
export function parseIp(text: string): IpAddress | undefined {
  if (!text.includes(':')) {
    const v4 = parseV4Words(text);
    return v4 === undefined ? undefined : { v4: true, words: [0, 0, 0, v4] };
  }
  const g = parseV6Groups(text);
  if (g === undefined) return undefined;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return { v4: true, words: [0, 0, 0, ((g[6] << 16) | g[7]) >>> 0] };
  }
  return {
    v4: false,
    words: [
      ((g[0] << 16) | g[1]) >>> 0,
      ((g[2] << 16) | g[3]) >>> 0,
      ((g[4] << 16) | g[5]) >>> 0,
      ((g[6] << 16) | g[7]) >>> 0,
    ],
  };
}

/** Parses `1.2.3.4`, `10.0.0.0/8`, `::1`, `2001:db8::/32`. `undefined` when invalid. */
export function parseIpRange(text: string): IpRange | undefined {
  const slash = text.indexOf('/');
  const address = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (address === undefined) return undefined;
  const max = address.v4 ? 32 : 128;
  if (slash === -1) return { address, bits: max, text };
  const bitsText = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  let bits = Number(bitsText);
  // `::ffff:10.0.0.0/104` is an IPv4 rule written in IPv6 form.
  if (address.v4 && text.includes(':')) bits -= 96;
  if (bits < 0 || bits > max) return undefined;
  return { address, bits, text };
}

function maskWord(bits: number): number {
  if (bits >= 32) return 0xffffffff;
  if (bits <= 0) return 0;
  return (0xffffffff << (32 - bits)) >>> 0;
}

/** True when `address` lies inside `range` (families must agree). */
export function ipInRange(address: IpAddress, range: IpRange): boolean {
  if (address.v4 !== range.address.v4) return false;
  const first = address.v4 ? 3 : 0;
  let bits = range.bits;
  for (let i = first; i < 4; i++) {
    const m = maskWord(bits);
    if (((address.words[i] & m) >>> 0) !== ((range.address.words[i] & m) >>> 0)) return false;
    bits -= 32;
    if (bits <= 0) break;
  }
  return true;
}
