/**
 * The one error class of aifwd. Every failure the gateway itself produces carries a stable `code`
 * (callers and tests branch on it, never on message text) and the HTTP status it is answered with.
 * Rendering into OpenAI's error shape happens in one place: {@link toOpenAIErrorBody}.
 */

/** Stable error codes, their HTTP status and OpenAI error `type`. */
export const ERROR_CODES = {
  malformed_request: { status: 400, type: 'invalid_request_error' },
  request_timeout: { status: 408, type: 'invalid_request_error' },
  header_too_large: { status: 431, type: 'invalid_request_error' },
  transfer_coding_not_supported: { status: 501, type: 'invalid_request_error' },
  bad_request_target: { status: 400, type: 'invalid_request_error' },
  not_found: { status: 404, type: 'invalid_request_error' },
  ip_forbidden: { status: 403, type: 'permission_error' },
  origin_forbidden: { status: 403, type: 'permission_error' },
  forward_key_expired: { status: 401, type: 'invalid_request_error' },
  route_not_allowed: { status: 403, type: 'permission_error' },
  model_not_allowed: { status: 403, type: 'permission_error' },
  model_unreadable: { status: 400, type: 'invalid_request_error' },
  // OpenAI's own rate-limit errors carry type "requests" and this code: SDKs retry on them.
  rate_limit_exceeded: { status: 429, type: 'requests' },
  body_too_large: { status: 413, type: 'invalid_request_error' },
  upgrade_not_supported: { status: 501, type: 'invalid_request_error' },
  internal_error: { status: 500, type: 'server_error' },
  upstream_connect_timeout: { status: 504, type: 'gateway_error' },
  upstream_response_timeout: { status: 504, type: 'gateway_error' },
  upstream_total_timeout: { status: 504, type: 'gateway_error' },
  upstream_unreachable: { status: 502, type: 'gateway_error' },
  upstream_error: { status: 502, type: 'gateway_error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly type: string;
  readonly param: string | null;
  /** Sent as `Retry-After` (a 429), or `null`. */
  readonly retryAfterSeconds: number | null;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; param?: string; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.type = ERROR_CODES[code].type;
    this.param = options.param ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds ?? null;
  }
}

/** OpenAI's error body: `{"error": {"message", "type", "code", "param"}}`. */
export function toOpenAIErrorBody(err: GatewayError): string {
  return JSON.stringify({
    error: { message: err.message, type: err.type, code: err.code, param: err.param },
  });
}
