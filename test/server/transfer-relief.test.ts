/**
 * Large uploads and downloads through a real gateway (in-process, so the relief's collections can
 * be counted) against a fake upstream: every byte arrives both ways, and the relay notes them, so a
 * young-generation collection is asked for every `everyBytes` of large reads (transfer-relief.ts).
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { createGateway, type Gateway } from '../../src/node/gateway.js';
import { startTransferRelief, TransferRelief } from '../../src/node/transfer-relief.js';

const POOL_KEY = 'sk-pool-0123456789abcdef';
const FORWARD_KEY = 'fk-forward-0123456789';
const MIB = 1024 * 1024;
const TOTAL = 24 * MIB;

/** `n` bytes that differ from place to place, so a lost or repeated chunk changes the digest. */
function pattern(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 4) out.writeUInt32LE(i >>> 2, i);
  return out;
}
const BODY = pattern(TOTAL);
const DIGEST = createHash('sha256').update(BODY).digest('hex');

let upstream: Server;
let gateway: Gateway;
let base: string;
/** What the upstream received of the last upload: size and digest. */
let received = { bytes: 0, digest: '' };

beforeAll(async () => {
  upstream = createServer((req, res) => {
    if (req.method === 'POST') {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        received = { bytes, digest: hash.digest('hex') };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ bytes }));
      });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(TOTAL) });
    // 64 KiB writes, as a file download comes.
    let at = 0;
    const pump = (): void => {
      while (at < TOTAL) {
        const ok = res.write(BODY.subarray(at, at + 64 * 1024));
        at += 64 * 1024;
        if (!ok) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const config = loadConfig({
    flags: { base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, host: '127.0.0.1', port: '0', api_key: POOL_KEY, forward_key: FORWARD_KEY },
    env: {},
    cwd: process.cwd(),
  });
  gateway = createGateway(config, { env: {} });
  base = `http://127.0.0.1:${(await gateway.listen()).port}`;
});

afterAll(async () => {
  await gateway?.close(1000);
  await new Promise((resolve) => upstream?.close(resolve));
});

/** Runs `transfer` with a relief of 2 MiB started for the process; the collections it asked for. */
async function collectionsDuring(transfer: () => Promise<void>): Promise<number> {
  let collections = 0;
  const stop = startTransferRelief(new TransferRelief(() => collections++, 2 * MIB));
  try {
    await transfer();
  } finally {
    stop();
  }
  return collections;
}

describe('large transfers and the transfer relief', () => {
  it('an upload arrives whole, and the relay asks for a collection about every `everyBytes` of it', async () => {
    const collections = await collectionsDuring(async () => {
      const res = await fetch(`${base}/v1/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${FORWARD_KEY}`, 'content-type': 'application/octet-stream' },
        body: BODY,
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ bytes: TOTAL });
      expect(received).toEqual({ bytes: TOTAL, digest: DIGEST });
    });
    // 12 budgets of 2 MiB; reads under 16 KiB (the last of a burst, say) are not counted.
    expect(collections).toBeGreaterThanOrEqual(8);
    expect(collections).toBeLessThanOrEqual(12);
  });

  it('a download arrives whole, and the relay asks for collections as it goes', async () => {
    const collections = await collectionsDuring(async () => {
      const res = await fetch(`${base}/v1/files/file-1/content`, { headers: { authorization: `Bearer ${FORWARD_KEY}` } });
      expect(res.status).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(body.length).toBe(TOTAL);
      expect(createHash('sha256').update(body).digest('hex')).toBe(DIGEST);
    });
    expect(collections).toBeGreaterThanOrEqual(8);
    expect(collections).toBeLessThanOrEqual(12);
  });

  it('without a relief started (the gateway starts one only when asked for memory relief), nothing is asked for', async () => {
    let collections = 0;
    startTransferRelief(new TransferRelief(() => collections++, 2 * MIB))();
    const res = await fetch(`${base}/v1/files/file-1/content`, { headers: { authorization: `Bearer ${FORWARD_KEY}` } });
    expect(Buffer.from(await res.arrayBuffer()).length).toBe(TOTAL);
    expect(collections).toBe(0);
  });
});
