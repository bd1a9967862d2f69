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

/** GETs the target's `/healthz`: healthy on a 200 within `timeoutMs`. */
export function probeHealth({ url, tls }: HealthTarget, timeoutMs: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const options = { method: 'GET', timeout: timeoutMs, headers: { 'user-agent': 'aifwd-health' } };
    const onResponse = (res: IncomingMessage): void => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status === 200 ? { healthy: true, status } : { healthy: false, reason: `answered ${status}` });
    };
    const req = tls ? httpsRequest(url, { ...options, rejectUnauthorized: false }, onResponse) : httpRequest(url, options, onResponse);
    req.on('timeout', () => {
      req.destroy();
      resolve({ healthy: false, reason: `no answer within ${timeoutMs} ms` });
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ healthy: false, reason: err.code ?? err.message }));
    req.end();
  });
}
