import { describe, expect, it } from 'vitest';
import { dropProtocolKeys, protocolKey } from '../../src/core/ws-protocol-key.js';

describe('protocolKey', () => {
  it('finds the key of the first key subprotocol, across header lines and spaces', () => {
    expect(protocolKey(['sec-websocket-protocol', 'realtime, openai-insecure-api-key.fk-fake-1, openai-beta.realtime-v1'])).toBe('fk-fake-1');
    expect(protocolKey(['host', 'x', 'sec-websocket-protocol', 'realtime', 'sec-websocket-protocol', ' openai-insecure-api-key.fk-a ,openai-insecure-api-key.fk-b'])).toBe('fk-a');
  });

  it('answers undefined without one: no header, other protocols, an empty key, another case', () => {
    expect(protocolKey(['host', 'x'])).toBeUndefined();
    expect(protocolKey(['sec-websocket-protocol', 'realtime'])).toBeUndefined();
    expect(protocolKey(['sec-websocket-protocol', 'openai-insecure-api-key.'])).toBeUndefined();
    expect(protocolKey(['sec-websocket-protocol', 'OpenAI-Insecure-API-Key.fk-x'])).toBeUndefined();
  });
});

describe('dropProtocolKeys', () => {
  it('removes key subprotocols and keeps the others in order', () => {
    const headers = ['host', 'x', 'sec-websocket-protocol', 'realtime, openai-insecure-api-key.fk-fake, openai-beta.realtime-v1'];
    dropProtocolKeys(headers);
    expect(headers).toEqual(['host', 'x', 'sec-websocket-protocol', 'realtime, openai-beta.realtime-v1']);
  });

  it('drops a header left empty, and leaves a header without a key as it was written', () => {
    const headers = ['sec-websocket-protocol', 'openai-insecure-api-key.fk-fake', 'x-a', '1', 'sec-websocket-protocol', 'realtime,chat'];
    dropProtocolKeys(headers);
    expect(headers).toEqual(['x-a', '1', 'sec-websocket-protocol', 'realtime,chat']);
  });
});
