/**
 * The fake OpenAI-compatible upstream behind `aifwd mock`, end-to-end tests and benchmarks.
 *
 * Serves `POST /v1/chat/completions`, `/v1/completions`, `/v1/responses` (JSON and SSE),
 * `/v1/embeddings`, `/v1/files` (multipart), `GET /v1/models[/{id}]`, and `ANY /mock/echo[/...]`
 * (what the mock received, credentials masked). Behaviour is steered per request by the
 * `x-mock-*` headers documented in steering.ts ({@link MOCK_HEADERS}): chunk count, delays, error
 * status, connection resets, tool calls, reasoning, compression, pings and CRLF line endings.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMockListener } from './router.js';

export { createMockListener, type MockListener } from './router.js';
export { MOCK_HEADERS, type MockHeader, type MockSteering } from './steering.js';

/** Where the mock listens. */
export interface MockOptions {
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Listen address; default `127.0.0.1`. */
  host?: string;
}

/** A running mock upstream. */
export interface MockServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:9000`; clients append `/v1`. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and cuts every open connection, including streams in progress. */
  close(): Promise<void>;
}

/** The host part of a URL that reaches `host`: wildcards become loopback, IPv6 gets brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Starts the mock upstream and resolves once it is listening. */
export async function startMock({ port = 0, host = '127.0.0.1' }: MockOptions = {}): Promise<MockServer> {
  // noDelay: every SSE event must leave at once, not wait for Nagle's algorithm.
  const server = createServer({ noDelay: true, keepAliveTimeout: 65_000 }, createMockListener());
  await listen(server, port, host);
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost(host)}:${bound}`,
    port: bound,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
