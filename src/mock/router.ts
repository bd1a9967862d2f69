/**
 * The mock's request listener: decode steering, take the body in (digested for `/mock/echo`,
 * buffered otherwise), apply `x-mock-status`, then dispatch on method and path. Everything it does
 * not serve is a 404 in OpenAI's error shape.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { digestBody, parseJsonObject, readBody, type JsonObject } from './body.js';
import { handleChat } from './chat.js';
import { handleCompletions } from './completions.js';
import { handleEcho } from './echo.js';
import { handleEmbeddings } from './embeddings.js';
import { injectedError, invalidJsonError, invalidMockHeaderError, notFoundError } from './errors.js';
import { handleUpload } from './files.js';
import { handleListModels, handleRetrieveModel } from './models.js';
import { sendError, type MockExchange } from './reply.js';
import { handleResponses } from './responses.js';
import { DEFAULT_MODEL, modelOf } from './script.js';
import { DEFAULT_STEERING, MockHeaderError, readSteering, type MockSteering } from './steering.js';

/** A node:http request listener. */
export type MockListener = (req: IncomingMessage, res: ServerResponse) => void;

const ECHO_PATH = '/mock/echo';
const MODELS_PREFIX = '/v1/models/';
const EMPTY = Buffer.alloc(0);

function isEcho(path: string): boolean {
  return path === ECHO_PATH || path.startsWith(`${ECHO_PATH}/`);
}

function withJson(ex: MockExchange, handler: (ex: MockExchange, body: JsonObject) => void): void {
  const body = parseJsonObject(ex.body);
  if (body === undefined) sendError(ex, invalidJsonError());
  else handler(ex, body);
}

function injected(ex: MockExchange, status: number): void {
  const body = parseJsonObject(ex.body);
  sendError(ex, injectedError(status, body === undefined ? DEFAULT_MODEL : modelOf(body)));
}

function route(ex: MockExchange): void {
  if (ex.steering.status !== undefined) {
    injected(ex, ex.steering.status);
    return;
  }
  const method = ex.req.method ?? 'GET';
  const { path } = ex;
  if (method === 'POST') {
    switch (path) {
      case '/v1/chat/completions': return withJson(ex, handleChat);
      case '/v1/completions': return withJson(ex, handleCompletions);
      case '/v1/responses': return withJson(ex, handleResponses);
      case '/v1/embeddings': return withJson(ex, handleEmbeddings);
      case '/v1/files': return handleUpload(ex);
    }
  } else if (method === 'GET') {
    if (path === '/v1/models') return handleListModels(ex);
    if (path.length > MODELS_PREFIX.length && path.startsWith(MODELS_PREFIX)) {
      return handleRetrieveModel(ex, path.slice(MODELS_PREFIX.length));
    }
  }
  sendError(ex, notFoundError(method, path));
}

/** Runs a handler; a bug in the mock becomes a 500 (or a cut stream), never a crashed process. */
function guarded(ex: MockExchange, handler: (ex: MockExchange) => void): void {
  try {
    handler(ex);
  } catch (err) {
    if (ex.res.headersSent) {
      ex.res.destroy();
      return;
    }
    const message = err instanceof Error ? err.message : String(err);
    sendError({ ...ex, steering: DEFAULT_STEERING }, {
      status: 500,
      error: { message: `mock upstream bug: ${message}`, type: 'server_error', param: null, code: 'server_error' },
    });
  }
}

/**
 * Creates the mock upstream's request listener, to mount on any node:http server
 * (`http.createServer(createMockListener())`); {@link startMock} does exactly that.
 */
export function createMockListener(): MockListener {
  return function mockListener(req, res) {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    let steering: MockSteering;
    try {
      steering = readSteering(req.headers);
    } catch (err) {
      if (!(err instanceof MockHeaderError)) throw err;
      req.resume();
      sendError({ req, res, steering: DEFAULT_STEERING, path, body: EMPTY }, invalidMockHeaderError(err.message));
      return;
    }
    if (isEcho(path)) {
      digestBody(req, (digest) => {
        if (digest === undefined) return;
        const ex: MockExchange = { req, res, steering, path, body: EMPTY };
        if (steering.status !== undefined) injected(ex, steering.status);
        else guarded(ex, (e) => handleEcho(e, digest));
      });
      return;
    }
    readBody(req, (body) => {
      if (body !== undefined) guarded({ req, res, steering, path, body }, route);
    });
  };
}
