/**
 * The API key a browser sends as a WebSocket subprotocol. A browser's `WebSocket` cannot set an
 * Authorization header, so OpenAI's Realtime API also takes the key as one of the offered
 * subprotocols: `new WebSocket(url, ['realtime', 'openai-insecure-api-key.' + key])`. For the gateway
 * that key is a credential like `Authorization: Bearer <key>`: a forward key there must be swapped
 * for a pool key, and must not reach the upstream.
 *
 * Pure functions over the flat header list (`[name, value, …]`, names lower-case) of the request
 * the pipeline sends upstream.
 */

/** The subprotocol prefix that carries a key (OpenAI's; subprotocols compare case-sensitively). */
export const KEY_PROTOCOL_PREFIX = 'openai-insecure-api-key.';

const PROTOCOL_HEADER = 'sec-websocket-protocol';

/** The offered subprotocols of one header value (a comma-separated list of tokens). */
function protocolsOf(value: string): string[] {
  return value
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token !== '');
}

/** The key of the first key subprotocol offered, or `undefined` (an empty key counts as none). */
export function protocolKey(headers: readonly string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== PROTOCOL_HEADER) continue;
    for (const token of protocolsOf(headers[i + 1])) {
      if (token.startsWith(KEY_PROTOCOL_PREFIX) && token.length > KEY_PROTOCOL_PREFIX.length) return token.slice(KEY_PROTOCOL_PREFIX.length);
    }
  }
  return undefined;
}

/**
 * Removes every key subprotocol from the list in place, and a `Sec-WebSocket-Protocol` header left
 * with none; the other subprotocols keep their order, so the upstream can still choose among them.
 */
export function dropProtocolKeys(headers: string[]): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (headers[i] !== PROTOCOL_HEADER) continue;
    const offered = protocolsOf(headers[i + 1]);
    const kept = offered.filter((token) => !token.startsWith(KEY_PROTOCOL_PREFIX));
    if (kept.length === offered.length) continue;
    if (kept.length === 0) headers.splice(i, 2);
    else headers[i + 1] = kept.join(', ');
  }
}
