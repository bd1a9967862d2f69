/**
 * Who may use the gateway: an IP whitelist and blacklist of addresses and CIDRs (v4 and v6), and the
 * client address itself, which is the socket peer unless that peer is a trusted proxy, in which case
 * `X-Forwarded-For` is read from the right, skipping trusted hops (so a client cannot forge it).
 */
import { GatewayError } from './errors.js';
import { ipInRange, parseIp, parseIpRange, type IpAddress, type IpRange } from './ip.js';

/** Parses a list of rules; throws with the offending entry named. */
export function parseIpRanges(entries: readonly string[], what: string): IpRange[] {
  return entries.map((entry) => {
    const range = parseIpRange(entry);
    if (range === undefined) throw new Error(`${what}: "${entry}" is not an IP address or CIDR range`);
    return range;
  });
}

function anyMatch(address: IpAddress, ranges: readonly IpRange[]): boolean {
  for (const range of ranges) if (ipInRange(address, range)) return true;
  return false;
}

export interface IpFilterOptions {
  whitelist: readonly IpRange[];
  blacklist: readonly IpRange[];
  trustedProxies: readonly IpRange[];
}

const CACHE_LIMIT = 4096;

/** `::ffff:1.2.3.4` (an IPv4 peer on a dual-stack socket) → `1.2.3.4`; other text unchanged. */
export function normaliseIpText(text: string): string {
  if (text.length > 7 && text.charCodeAt(0) === 58 /* : */ && text.startsWith('::ffff:') && text.includes('.')) {
    return text.slice(7);
  }
  return text;
}

export class IpFilter {
  readonly #whitelist: readonly IpRange[];
  readonly #blacklist: readonly IpRange[];
  readonly #trusted: readonly IpRange[];
  /** Verdicts per peer text: the same few peers send almost every request. */
  readonly #verdicts = new Map<string, GatewayError | null>();

  constructor({ whitelist, blacklist, trustedProxies }: IpFilterOptions) {
    this.#whitelist = whitelist;
    this.#blacklist = blacklist;
    this.#trusted = trustedProxies;
  }

  /** True when no rule can refuse anybody (the request skips this stage). */
  get allowsAll(): boolean {
    return this.#whitelist.length === 0 && this.#blacklist.length === 0;
  }

  get trustsProxies(): boolean {
    return this.#trusted.length > 0;
  }

  /**
   * The client's address: the socket peer, or, when the peer is a trusted proxy, the right-most
   * `X-Forwarded-For` entry that is not itself a trusted proxy. Canonical text form.
   */
  clientIp(peer: string, forwardedFor: string | undefined): string {
    const client = normaliseIpText(peer);
    if (forwardedFor === undefined || this.#trusted.length === 0) return client;
    const peerAddress = parseIp(client);
    if (peerAddress === undefined || !anyMatch(peerAddress, this.#trusted)) return client;
    const hops = forwardedFor.split(',');
    let result = client;
    for (let i = hops.length - 1; i >= 0; i--) {
      const text = normaliseIpText(hops[i].trim());
      const hop = parseIp(text);
      if (hop === undefined) break;
      result = text;
      if (!anyMatch(hop, this.#trusted)) break;
    }
    return result;
  }

  /** `null` when `ip` may pass; otherwise the 403 to answer with. */
  check(ip: string): GatewayError | null {
    const cached = this.#verdicts.get(ip);
    if (cached !== undefined) return cached;
    const verdict = this.#decide(ip);
    if (this.#verdicts.size >= CACHE_LIMIT) this.#verdicts.clear();
    this.#verdicts.set(ip, verdict);
    return verdict;
  }

  #decide(ip: string): GatewayError | null {
    const address = parseIp(ip);
    if (this.#whitelist.length > 0 && (address === undefined || !anyMatch(address, this.#whitelist))) {
      return new GatewayError('ip_forbidden', `Forbidden, ip=${ip} not in whitelist`);
    }
    if (address !== undefined && anyMatch(address, this.#blacklist)) {
      return new GatewayError('ip_forbidden', `Forbidden, ip=${ip} in blacklist`);
    }
    return null;
  }
}
