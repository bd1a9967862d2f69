import { describe, expect, it } from 'vitest';
import { ipInRange, parseIp, parseIpRange } from '../../src/core/ip.js';
import { IpFilter, normaliseIpText, parseIpRanges } from '../../src/core/ip-filter.js';

describe('parseIp', () => {
  it.each([
    ['127.0.0.1', true],
    ['255.255.255.255', true],
    ['::1', true],
    ['::', true],
    ['2001:db8::8a2e:370:7334', true],
    ['2001:0db8:0000:0000:0000:ff00:0042:8329', true],
    ['::ffff:10.1.2.3', true],
    ['64:ff9b::192.0.2.33', true],
    ['fe80::1%eth0', true],
    ['256.0.0.1', false],
    ['1.2.3', false],
    ['01.2.3.4', false],
    ['1:2:3:4:5:6:7:8:9', false],
    ['1::2::3', false],
    ['gggg::1', false],
    ['', false],
    ['localhost', false],
  ])('%s → valid %s', (text, valid) => {
    expect(parseIp(text) !== undefined).toBe(valid);
  });

  it('normalises IPv4-mapped IPv6 to IPv4', () => {
    expect(parseIp('::ffff:10.1.2.3')).toEqual(parseIp('10.1.2.3'));
    expect(parseIp('::ffff:0a01:0203')).toEqual(parseIp('10.1.2.3'));
  });
});

describe('ipInRange', () => {
  it.each([
    ['10.1.2.3', '10.0.0.0/8', true],
    ['11.1.2.3', '10.0.0.0/8', false],
    ['192.168.1.77', '192.168.1.0/24', true],
    ['192.168.2.1', '192.168.1.0/24', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['1.2.3.4', '1.2.3.4', true],
    ['1.2.3.5', '1.2.3.4', false],
    ['::ffff:10.9.9.9', '10.0.0.0/8', true],
    ['10.9.9.9', '::ffff:10.0.0.0/104', true],
    ['2001:db8:1::5', '2001:db8::/32', true],
    ['2001:db9::5', '2001:db8::/32', false],
    ['2001:db8::1', '2001:db8::/127', true],
    ['2001:db8::2', '2001:db8::/127', false],
    ['::1', '::1', true],
    ['::1', '127.0.0.1', false],
    ['fe80::abcd', 'fe80::/10', true],
    ['febf::1', 'fe80::/10', true],
    ['fec0::1', 'fe80::/10', false],
  ])('%s in %s → %s', (ip, range, expected) => {
    const r = parseIpRange(range);
    const a = parseIp(ip);
    expect(r).toBeDefined();
    expect(a).toBeDefined();
    expect(ipInRange(a!, r!)).toBe(expected);
  });

  it.each(['10.0.0.0/33', '::/129', '1.2.3.4/x', '1.2.3.4/', 'nope/8'])('rejects %s', (text) => {
    expect(parseIpRange(text)).toBeUndefined();
  });
});

describe('IpFilter', () => {
  const filter = (white: string[], black: string[], trusted: string[] = []) =>
    new IpFilter({
      whitelist: parseIpRanges(white, 'IP_WHITELIST'),
      blacklist: parseIpRanges(black, 'IP_BLACKLIST'),
      trustedProxies: parseIpRanges(trusted, 'TRUSTED_PROXIES'),
    });

  it('allows all without rules', () => {
    expect(filter([], []).allowsAll).toBe(true);
    expect(filter([], []).check('1.2.3.4')).toBeNull();
  });

  it('whitelist and blacklist, with the seed messages', () => {
    const f = filter(['10.0.0.0/8', '::1'], ['10.6.6.6']);
    expect(f.check('10.1.1.1')).toBeNull();
    expect(f.check('::1')).toBeNull();
    expect(f.check('11.1.1.1')?.message).toBe('Forbidden, ip=11.1.1.1 not in whitelist');
    expect(f.check('10.6.6.6')?.message).toBe('Forbidden, ip=10.6.6.6 in blacklist');
    expect(f.check('10.6.6.6')?.status).toBe(403);
  });

  it('believes X-Forwarded-For only from trusted proxies', () => {
    const f = filter([], [], ['127.0.0.1', '10.0.0.0/8']);
    expect(f.clientIp('::ffff:127.0.0.1', '203.0.113.9')).toBe('203.0.113.9');
    expect(f.clientIp('127.0.0.1', '198.51.100.1, 203.0.113.9, 10.0.0.2')).toBe('203.0.113.9');
    expect(f.clientIp('192.0.2.1', '203.0.113.9')).toBe('192.0.2.1');
    expect(f.clientIp('127.0.0.1', undefined)).toBe('127.0.0.1');
    expect(filter([], []).clientIp('127.0.0.1', '203.0.113.9')).toBe('127.0.0.1');
  });

  it('names the bad entry', () => {
    expect(() => parseIpRanges(['10.0.0.0/8', 'bogus'], 'IP_WHITELIST')).toThrow(
      'IP_WHITELIST: "bogus" is not an IP address or CIDR range',
    );
  });

  it('normalises mapped peers', () => {
    expect(normaliseIpText('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(normaliseIpText('::1')).toBe('::1');
  });
});
