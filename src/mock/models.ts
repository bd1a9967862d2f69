/**
 * `GET /v1/models` and `GET /v1/models/{id}`: a fixed catalogue of well-known models. The list body
 * is serialised once at start-up; an unknown id is a 404 `model_not_found`, as OpenAI answers it.
 */
import { modelNotFoundError } from './errors.js';
import { sendError, sendJson, type MockExchange } from './reply.js';

/** A `model` object. */
export interface MockModel {
  readonly id: string;
  readonly object: 'model';
  readonly created: number;
  readonly owned_by: string;
}

function model(id: string, created: number, owned_by = 'system'): MockModel {
  return { id, object: 'model', created, owned_by };
}

/** The models the mock lists. */
export const MOCK_MODELS: readonly MockModel[] = Object.freeze([
  model('gpt-4o-mini', 1721172741),
  model('gpt-4o', 1715367049),
  model('gpt-4.1', 1744316542),
  model('gpt-4.1-mini', 1744318173),
  model('o3-mini', 1737146383),
  model('o4-mini', 1744225351),
  model('gpt-3.5-turbo-instruct', 1692901427),
  model('text-embedding-3-small', 1705948997),
  model('text-embedding-3-large', 1705953180),
  model('whisper-1', 1677532384, 'openai-internal'),
]);

const MODELS_BY_ID = new Map(MOCK_MODELS.map((m) => [m.id, JSON.stringify(m)]));
const LIST_JSON = JSON.stringify({ object: 'list', data: MOCK_MODELS });

/** Handles `GET /v1/models`. */
export function handleListModels(ex: MockExchange): void {
  sendJson(ex, 200, LIST_JSON);
}

/** Handles `GET /v1/models/{id}`; `rawId` is the percent-encoded path segment(s) after `/v1/models/`. */
export function handleRetrieveModel(ex: MockExchange, rawId: string): void {
  let id = rawId;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    // Keep the raw form: an undecodable id is simply unknown.
  }
  const json = MODELS_BY_ID.get(id);
  if (json === undefined) sendError(ex, modelNotFoundError(id));
  else sendJson(ex, 200, json);
}
