/**
 * quickReply (the one-choice JSON fast path) gives exactly what the general assemblers give, and
 * declines (undefined) whatever it does not cover, so the reader falls back to them.
 */
import { describe, expect, it } from 'vitest';
import { type ChatApi, createAssembler } from '../../src/core/chat-api.js';
import { quickReply } from '../../src/core/chat-quick-reply.js';
import { chatReply as chat, ONE_CHOICE_REPLIES } from './helpers.js';

const general = (api: ChatApi, body: unknown) => {
  const assembler = createAssembler(api);
  assembler.json(body);
  return assembler.result();
};

describe('quickReply: same reply as the general assembler', () => {
  it.each(ONE_CHOICE_REPLIES)('%s', (_name, api, body) => {
    const quick = quickReply(api, body);
    expect(quick).toBeDefined();
    expect(quick).toEqual(general(api, body));
  });
});

describe('quickReply: declines what the general path must handle', () => {
  const cases: [string, ChatApi, unknown][] = [
    ['n > 1', 'chat', { choices: [{ index: 0, message: { content: 'a' } }, { index: 1, message: { content: 'b' } }] }],
    ['content as parts', 'chat', chat({ content: [{ type: 'text', text: 'a' }] })],
    ['tool calls', 'chat', chat({ content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] })],
    ['empty tool_calls list', 'chat', chat({ content: 'x', tool_calls: [] })],
    ['function_call', 'chat', chat({ content: null, function_call: { name: 'f', arguments: '{}' } })],
    ['a delta in a JSON body', 'chat', { choices: [{ index: 0, delta: { content: 'x' } }] }],
    ['responses API', 'responses', { output: [], status: 'completed' }],
    ['not an object', 'chat', [1, 2]],
    ['nothing parsed', 'chat', undefined],
  ];
  it.each(cases)('%s', (_name, api, body) => {
    expect(quickReply(api, body)).toBeUndefined();
  });
});
