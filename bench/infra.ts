/**
 * The fixed cast of a run, started once: on CPU 0 the JSON upstream (nginx), the SSE upstream and
 * the transfer sink/source; on CPU 1 nginx as the reference proxy with one server block per
 * upstream. Gateways are started per scenario.
 */
import { startServerHelper, type Helper } from './helpers.js';
import { proxyConfig, startNginx, upstreamConfig, type Nginx } from './nginx.js';
import { chatReplyBody } from './payloads.js';
import { freePort } from './ports.js';

export interface Infra {
  readonly json: Nginx;
  readonly jsonPort: number;
  readonly sse: Helper;
  readonly transfer: Helper;
  readonly proxy: Nginx;
  /** Ports of the proxy's server blocks, one per upstream. */
  readonly proxyPorts: { readonly json: number; readonly sse: number; readonly transfer: number };
}

/** Starts the upstreams and the nginx proxy in `dir`. */
export async function startInfra(dir: string, nofile: number): Promise<Infra> {
  const jsonPort = await freePort();
  const json = await startNginx(dir, 'upstream', upstreamConfig(dir, jsonPort, chatReplyBody(), nofile), 0, jsonPort);
  const sse = await startServerHelper('upstreams/sse.js', [], 0);
  const transfer = await startServerHelper('upstreams/transfer.js', [], 0);
  const proxyPorts = { json: await freePort(), sse: await freePort(), transfer: await freePort() };
  const config = proxyConfig(
    dir,
    [
      { name: 'json_upstream', listen: proxyPorts.json, upstreamPort: jsonPort, mode: 'buffered' },
      { name: 'sse_upstream', listen: proxyPorts.sse, upstreamPort: sse.port, mode: 'streaming' },
      { name: 'transfer_upstream', listen: proxyPorts.transfer, upstreamPort: transfer.port, mode: 'streaming' },
    ],
    nofile,
  );
  const proxy = await startNginx(dir, 'proxy', config, 1, proxyPorts.json);
  return { json, jsonPort, sse, transfer, proxy, proxyPorts };
}
