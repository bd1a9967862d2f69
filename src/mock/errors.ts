/**
 * OpenAI-shaped error bodies, `{"error": {"message", "type", "param", "code"}}`, with the messages,
 * types and codes OpenAI actually uses for each status, so clients and the gateway see the real shape.
 */

/** The `error` member of an OpenAI error body. */
export interface OpenAIErrorBody {
  readonly message: string;
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
}

/** An error answer: status, body, and any extra response headers. */
export interface MockError {
  readonly status: number;
  readonly error: OpenAIErrorBody;
  readonly headers?: Readonly<Record<string, string>>;
}

function error(status: number, message: string, type: string, code: string | null, param: string | null = null): MockError {
  return { status, error: { message, type, param, code } };
}

/** The error injected by `x-mock-status: <status>`. */
export function injectedError(status: number, model: string): MockError {
  switch (status) {
    case 400:
      return error(400, 'The mock upstream was asked to reject this request (x-mock-status: 400).', 'invalid_request_error', 'bad_request');
    case 401:
      return error(401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
    case 403:
      return error(403, 'You are not allowed to access this resource.', 'invalid_request_error', 'permission_denied');
    case 404:
      return error(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found', 'model');
    case 429:
      return {
        ...error(429, `Rate limit reached for ${model} on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.`, 'requests', 'rate_limit_exceeded'),
        headers: { 'retry-after': '1', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1s' },
      };
    case 500:
      return error(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', 'server_error');
    case 502:
      return error(502, 'Bad gateway.', 'server_error', 'bad_gateway');
    case 503:
      return {
        ...error(503, 'The engine is currently overloaded, please try again later.', 'server_error', 'service_unavailable'),
        headers: { 'retry-after': '1' },
      };
    default:
      return status >= 500
        ? error(status, `The mock upstream failed with status ${status} (x-mock-status).`, 'server_error', 'server_error')
        : error(status, `The mock upstream rejected the request with status ${status} (x-mock-status).`, 'invalid_request_error', 'mock_error');
  }
}

/** 404 for a route the mock does not serve (OpenAI's "Invalid URL" answer). */
export function notFoundError(method: string, path: string): MockError {
  return error(404, `Invalid URL (${method} ${path})`, 'invalid_request_error', 'not_found');
}

/** 404 for `GET /v1/models/{id}` with an unknown id. */
export function modelNotFoundError(model: string): MockError {
  return error(404, `The model '${model}' does not exist`, 'invalid_request_error', 'model_not_found', 'model');
}

/** 400 for a body that is not a JSON object, worded as OpenAI words it. */
export function invalidJsonError(): MockError {
  return error(400, 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)', 'invalid_request_error', 'invalid_json');
}

/** 400 for a request that is well-formed JSON but misses or mistypes a parameter. */
export function invalidParamError(message: string, param: string | null): MockError {
  return error(400, message, 'invalid_request_error', 'invalid_value', param);
}

/** 400 for a malformed `x-mock-*` steering header. */
export function invalidMockHeaderError(message: string): MockError {
  return error(400, message, 'invalid_request_error', 'invalid_mock_header');
}
