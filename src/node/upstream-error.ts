/**
 * Turns a failure of the upstream call into the gateway's error, pure. The HTTP/1.1 pool's errors
 * (`UPSTREAM_*`, h1/types.ts), undici's (`UND_ERR_*`, proxy path) and system errors (`ECONNREFUSED`)
 * carry stable codes, on the error or on its `cause`; we branch on those, never on message text.
 */
import { GatewayError } from '../core/errors.js';

/** The most specific code: a wrapped system error's (`ECONNRESET` under `UND_ERR_SOCKET`) wins. */
function codeOf(err: unknown): string | undefined {
  const codes: string[] = [];
  for (let e: unknown = err, depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes.find((code) => code.startsWith('E')) ?? codes[0];
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export interface UpstreamErrorContext {
  origin: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** `total_timeout` (0 = none). */
  totalTimeoutMs: number;
  /** Told of every upstream failure (for the operator's log); never given secrets. */
  report(error: GatewayError, mid: boolean): void;
}

/** The error the client gets for an upstream failure before any response byte was sent. */
export function toGatewayError(err: unknown, ctx: UpstreamErrorContext): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = codeOf(err);
  switch (code) {
    case 'UPSTREAM_CONNECT_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return new GatewayError(
        'upstream_connect_timeout',
        `Upstream ${ctx.origin} did not accept a connection within ${seconds(ctx.connectTimeoutMs)} (CONNECT_TIMEOUT)`,
        { cause: err },
      );
    case 'UPSTREAM_HEADERS_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new GatewayError(
        'upstream_response_timeout',
        `Upstream ${ctx.origin} sent no response headers within ${seconds(ctx.responseTimeoutMs)} (RESPONSE_TIMEOUT)`,
        { cause: err },
      );
    case 'UPSTREAM_TOTAL_TIMEOUT':
      return new GatewayError(
        'upstream_total_timeout',
        `Upstream ${ctx.origin} did not finish its answer within ${seconds(ctx.totalTimeoutMs)} (TOTAL_TIMEOUT)`,
        { cause: err },
      );
    case 'ECONNREFUSED':
      return new GatewayError('upstream_unreachable', `Upstream ${ctx.origin} refused the connection`, { cause: err });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new GatewayError('upstream_unreachable', `Upstream host of ${ctx.origin} could not be resolved`, { cause: err });
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UPSTREAM_CLOSED':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new GatewayError('upstream_unreachable', `Upstream ${ctx.origin} closed the connection`, { cause: err });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new GatewayError('upstream_unreachable', `Upstream ${ctx.origin} is unreachable`, { cause: err });
    case 'UPSTREAM_PROTOCOL_ERROR':
      return new GatewayError('upstream_error', `Upstream ${ctx.origin} sent an invalid HTTP response (${(err as Error).message})`, { cause: err });
    default: {
      const detail = err instanceof Error ? `${code ?? err.name}: ${err.message}` : String(err);
      return new GatewayError('upstream_error', `Upstream ${ctx.origin} request failed (${detail})`, { cause: err });
    }
  }
}
