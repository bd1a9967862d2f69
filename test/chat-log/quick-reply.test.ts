/**
 * quickReply (the one-choice JSON fast path) gives exactly what the general assemblers give, and
 * declines (undefined) whatever it does not cover, so the reader falls back to them.
 */
import { describe, expect, it } from 'vitest';
import { type ChatApi, createAssembler } from '../../src/core/chat-api.js';
import { quickReply } from '../../src/core/chat-quick-reply.js';

const general = (api: ChatApi, body: unknown) => {
  const assembler = createAssembler(api);
  assembler.json(body);
  return assembler.result();
};
const USAGE = { prompt_tokens: 9, completion_tokens: 9, total_tokens: 18 };
const chat = (message: unknown, extra: object = {}) => ({ id: 'c', object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'stop', ...extra }], usage: USAGE });

describe('quickReply: same reply as the general assembler', () => {
  const cases: [string, ChatApi, unknown][] = [
    ['plain chat reply', 'chat', chat({ role: 'assistant', content: 'Hello!' })],
    ['content null', 'chat', chat({ role: 'assistant', content: null })],
    ['content empty', 'chat', chat({ role: 'assistant', content: '' })],
    ['content a number (ignored)', 'chat', chat({ content: 5 })],
    ['reasoning_content (DeepSeek)', 'chat', chat({ content: 'a', reasoning_content: 'think' })],
    ['reasoning (OpenRouter)', 'chat', chat({ content: 'a', reasoning: 'think' })],
    ['reasoning_content wins over reasoning', 'chat', chat({ content: 'a', reasoning_content: 'rc', reasoning: 'r' })],
    ['reasoning_content not a string: reasoning is used', 'chat', chat({ content: 'a', reasoning_content: null, reasoning: 'r' })],
    ['tool_calls null / function_call null', 'chat', chat({ content: 'a', tool_calls: null, function_call: null })],
    ['message missing', 'chat', { choices: [{ index: 0, finish_reason: 'length' }] }],
    ['message not an object', 'chat', { choices: [{ index: 0, message: 'x', finish_reason: 'stop' }] }],
    ['choice not an object', 'chat', { choices: ['x'], usage: USAGE }],
    ['choice index other than 0', 'chat', { choices: [{ index: 3, message: { content: 'x' }, finish_reason: 'stop' }] }],
    ['finish_reason not a string', 'chat', chat({ content: 'x' }, { finish_reason: 7 })],
    ['no choices: an error body', 'chat', { error: { message: 'bad key', type: 'invalid_request_error' } }],
    ['choices empty, usage only', 'chat', { choices: [], usage: USAGE }],
    ['choices not an array', 'chat', { choices: { 0: 'x' } }],
    ['usage not an object', 'chat', { choices: [], usage: 5 }],
    ['error null', 'chat', { ...chat({ content: 'x' }), error: null }],
    ['error a string', 'chat', { ...chat({ content: 'x' }), error: 'boom' }],
    ['completions text', 'completions', { choices: [{ index: 0, text: 'Once', finish_reason: 'stop' }], usage: USAGE }],
    ['completions text missing', 'completions', { choices: [{ index: 0, finish_reason: 'stop' }] }],
    ['completions text empty', 'completions', { choices: [{ index: 0, text: '' }] }],
  ];
  it.each(cases)('%s', (_name, api, body) => {
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
