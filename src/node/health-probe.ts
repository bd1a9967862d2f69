/**
 * `aifwd health`: asks a running gateway's `/healthz` whether it serves, for container health checks
 * and service managers. It reads the same settings as `aifwd run` (flags, environment, `.env`, config
 * file), so it finds the gateway where `run` put it: the port, HTTPS when a certificate is set, and
 * the listen address (a wildcard address, `::` too, is probed on 127.0.0.1: a dual-stack socket
 * answers there, and containers often have no IPv6 loopback). The certificate is not checked:
 * the question is whether this process answers, and its certificate names a public host.
 */
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config } from '../config/schema.js';

export interface HealthTarget {
  readonly url: URL;
  readonly tls: boolean;
}

/** Where `run` with `config` answers `/healthz`, seen from this machine. */
export function healthTarget(config: Pick<Config, 'host' | 'port' | 'ssl_certfile' | 'ssl_keyfile'>): HealthTarget {
  const tls = config.ssl_certfile !== undefined && config.ssl_keyfile !== undefined;
  const host = config.host === '0.0.0.0' || config.host === '' || config.host === '::' ? '127.0.0.1' : config.host;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { url: new URL(`${tls ? 'https' : 'http'}://${shownHost}:${config.port}/healthz`), tls };
}

export type HealthResult = { readonly healthy: true; readonly status: number } | { readonly healthy: false; readonly reason: string };

/** GETs the target's `/healthz`: healthy on a 200 whose head came within `timeoutMs` (at least 1 ms) in all. */
export function probeHealth({ url, tls }: HealthTarget, timeoutMs: number): Promise<HealthResult> {
  const limitMs = Math.max(1, Math.round(timeoutMs));
  return new Promise((resolve) => {
    let settled = false;
    const settle = (result: HealthResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const options = { method: 'GET', headers: { 'user-agent': 'aifwd-health' } };
    const onResponse = (res: IncomingMessage): void => {
      const status = res.statusCode ?? 0;
      settle(status === 200 ? { healthy: true, status } : { healthy: false, reason: `answered ${status}` });
    };
    const req = tls ? httpsRequest(url, { ...options, rejectUnauthorized: false }, onResponse) : httpRequest(url, options, onResponse);
    // One deadline for all of it (connect, TLS, head): a socket idle timeout would let a trickle through.
    const timer = setTimeout(() => settle({ healthy: false, reason: `no answer within ${limitMs} ms` }), limitMs);
    req.on('error', (err: NodeJS.ErrnoException) => settle({ healthy: false, reason: err.code ?? err.message }));
    req.end();
  });
}
