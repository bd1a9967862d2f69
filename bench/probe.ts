/** Readiness probes: a TCP port that accepts, and an HTTP path that answers 200. */
import { request } from 'node:http';
import { connect } from 'node:net';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tryConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Resolves once 127.0.0.1:`port` accepts a connection; rejects after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tryConnect(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** One `GET path` on a fresh connection: its status, or 0 when it could not connect. */
export function getStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(0));
    req.end();
  });
}

/**
 * Polls `GET path` every `intervalMs` until it answers 200; resolves with the time of that answer
 * (`performance.now()`), rejects after `timeoutMs` or once `gaveUp()` returns true.
 */
export async function waitFor200(port: number, path: string, timeoutMs: number, gaveUp: () => boolean = () => false, intervalMs = 1): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await getStatus(port, path)) === 200) return performance.now();
    if (gaveUp()) throw new Error(`stopped waiting for GET 127.0.0.1:${port}${path}`);
    if (Date.now() > deadline) throw new Error(`GET 127.0.0.1:${port}${path} did not answer 200 within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
