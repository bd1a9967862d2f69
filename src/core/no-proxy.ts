/**
 * `NO_PROXY`, pure: whether a host goes direct although an outbound proxy is set. The conventions
 * of curl and undici's EnvHttpProxyAgent (which carries the gateway's HTTP requests through the
 * proxy), so a WebSocket session takes the same way as the requests: entries separated by commas
 * or spaces; `*` matches every host; an entry matches its host and every subdomain (`example.com`,
 * `.example.com` and `*.example.com` alike); an entry with `:port` matches only that port.
 */

/** True when `NO_PROXY` sends `hostname:port` direct. */
export function bypassesProxy(hostname: string, port: number, noProxy: string | undefined): boolean {
  if (noProxy === undefined) return false;
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  for (const raw of noProxy.toLowerCase().split(/[\s,]+/)) {
    if (raw === '') continue;
    if (raw === '*') return true;
    let entry = raw;
    const portMatch = /^(.*?):(\d+)$/.exec(entry);
    if (portMatch !== null && !entry.startsWith('[') && entry.indexOf(':') === entry.lastIndexOf(':')) {
      if (Number(portMatch[2]) !== port) continue;
      entry = portMatch[1];
    } else if (/^\[.*\]:\d+$/.test(entry)) {
      const close = entry.lastIndexOf(']');
      if (Number(entry.slice(close + 2)) !== port) continue;
      entry = entry.slice(0, close + 1);
    }
    entry = entry.replace(/^\[|\]$/g, '').replace(/^\*?\./, '');
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}
