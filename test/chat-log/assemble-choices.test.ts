import { describe, expect, it } from 'vitest';
import { createChatCompletionsAssembler, createCompletionsAssembler } from '../../src/core/chat-assemble-choices.js';
import { assembleJson, assembleStream, everySplit, sse } from './helpers.js';

const chunk = (delta: object, extra: object = {}) => ({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: null, ...extra }] });
const USAGE = { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 };

const TOOL_STREAM = sse([
  chunk({ role: 'assistant', content: null }),
  chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  { choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
  { choices: [], usage: USAGE },
]);

describe('chat completions assembler', () => {
  const cases: { name: string; stream: string; expected: object }[] = [
    {
      name: 'content deltas, finish_reason and the usage chunk',
      stream: sse([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo ' }), chunk({ content: '世界' }), chunk({}, { finish_reason: 'stop' }), { choices: [], usage: USAGE }]),
      expected: { assistant: 'Hello 世界', reasoning: null, toolCalls: null, finishReason: 'stop', usage: USAGE, choices: null, error: null, parsed: true },
    },
    {
      name: 'reasoning_content (DeepSeek) before the answer',
      stream: sse([chunk({ reasoning_content: 'Think' }), chunk({ reasoning_content: 'ing.' }), chunk({ content: 'Answer' }), chunk({}, { finish_reason: 'stop' })]),
      expected: { assistant: 'Answer', reasoning: 'Thinking.', finishReason: 'stop' },
    },
    {
      name: 'reasoning (OpenRouter), and both fields with the same text counted once',
      stream: sse([chunk({ reasoning: 'a' }), chunk({ reasoning: 'b', reasoning_content: 'b' }), chunk({ content: 'c' })]),
      expected: { assistant: 'c', reasoning: 'ab' },
    },
    {
      name: 'tool calls merged per index across deltas',
      stream: TOOL_STREAM,
      expected: {
        assistant: null,
        finishReason: 'tool_calls',
        usage: USAGE,
        toolCalls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
    },
    {
      name: 'tool calls without index (matched by id, then by the last call)',
      stream: sse([
        chunk({ tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{"a"' } }] }),
        chunk({ tool_calls: [{ function: { arguments: ':1}' } }] }),
        chunk({ tool_calls: [{ id: 'y', function: { name: 'g', arguments: '{}' } }] }),
      ]),
      expected: {
        toolCalls: [
          { id: 'x', type: 'function', function: { name: 'f', arguments: '{"a":1}' } },
          { id: 'y', type: 'function', function: { name: 'g', arguments: '{}' } },
        ],
      },
    },
    {
      name: 'n > 1: index 0 is the main reply, all choices listed',
      stream: sse([
        { choices: [{ index: 1, delta: { content: 'B' } }, { index: 0, delta: { content: 'A' } }] },
        { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }, { index: 1, delta: { content: 'b' }, finish_reason: 'length' }] },
      ]),
      expected: {
        assistant: 'A',
        finishReason: 'stop',
        choices: [
          { index: 0, assistant: 'A', reasoning: null, tool_calls: null, finish_reason: 'stop' },
          { index: 1, assistant: 'Bb', reasoning: null, tool_calls: null, finish_reason: 'length' },
        ],
      },
    },
    {
      name: 'an error object in the stream',
      stream: sse([chunk({ content: 'par' }), { error: { message: 'overloaded', type: 'server_error' } }], false),
      expected: { assistant: 'par', error: { message: 'overloaded', type: 'server_error' } },
    },
    {
      name: 'garbage events are ignored',
      stream: 'data: not json\n\ndata: {"choices":[{"delta":{"content":"ok"}}]}\n\n',
      expected: { assistant: 'ok', parsed: true },
    },
    {
      name: 'legacy function_call',
      stream: sse([chunk({ function_call: { name: 'f', arguments: '{"x"' } }), chunk({ function_call: { arguments: ':2}' } })]),
      expected: { toolCalls: [{ id: null, type: 'function', function: { name: 'f', arguments: '{"x":2}' } }] },
    },
  ];

  for (const { name, stream, expected } of cases) {
    it(name, () => {
      expect(assembleStream(createChatCompletionsAssembler, [Buffer.from(stream)])).toMatchObject(expected);
    });
  }

  it('tool-call stream split at every byte gives the same reply', () => {
    const whole = assembleStream(createChatCompletionsAssembler, [Buffer.from(TOOL_STREAM)]);
    for (const chunks of everySplit(TOOL_STREAM)) expect(assembleStream(createChatCompletionsAssembler, chunks)).toEqual(whole);
  });

  it('a long reply in many deltas (more than one text block)', () => {
    const deltas = Array.from({ length: 1000 }, (_, i) => chunk({ content: `${i % 10}` }));
    const reply = assembleStream(createChatCompletionsAssembler, [Buffer.from(sse(deltas))]);
    expect(reply.assistant).toBe('0123456789'.repeat(100));
  });

  it('nothing parseable: parsed is false', () => {
    expect(assembleStream(createChatCompletionsAssembler, [Buffer.from('data: [DONE]\n\n')])).toMatchObject({ parsed: false, assistant: null });
  });

  const jsonCases: { name: string; body: unknown; expected: object }[] = [
    {
      name: 'message with content and usage',
      body: { id: 'x', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi!' }, finish_reason: 'stop' }], usage: USAGE },
      expected: { assistant: 'Hi!', finishReason: 'stop', usage: USAGE, parsed: true },
    },
    {
      name: 'message with tool calls and reasoning',
      body: {
        choices: [{
          index: 0,
          message: { role: 'assistant', content: null, reasoning_content: 'hmm', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          finish_reason: 'tool_calls',
        }],
      },
      expected: { assistant: null, reasoning: 'hmm', toolCalls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }], finishReason: 'tool_calls' },
    },
    { name: 'content as parts', body: { choices: [{ message: { content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] } }] }, expected: { assistant: 'ab' } },
    { name: 'an upstream error body', body: { error: { message: 'bad key', code: 'invalid_api_key' } }, expected: { assistant: null, error: { message: 'bad key', code: 'invalid_api_key' } } },
    { name: 'not an object', body: [1, 2], expected: { parsed: false } },
  ];

  for (const { name, body, expected } of jsonCases) {
    it(`JSON: ${name}`, () => {
      expect(assembleJson(createChatCompletionsAssembler, body)).toMatchObject(expected);
    });
  }
});

describe('completions assembler', () => {
  it('joins streamed text, keeps finish_reason and usage', () => {
    const stream = sse([
      { choices: [{ index: 0, text: 'Once', finish_reason: null }] },
      { choices: [{ index: 0, text: ' upon', finish_reason: null }] },
      { choices: [{ index: 0, text: '', finish_reason: 'length' }] },
      { choices: [], usage: USAGE },
    ]);
    for (const chunks of everySplit(stream).slice(0, 40)) {
      expect(assembleStream(createCompletionsAssembler, chunks)).toMatchObject({ assistant: 'Once upon', finishReason: 'length', usage: USAGE, toolCalls: null, reasoning: null });
    }
  });

  it('reads a JSON body', () => {
    const body = { object: 'text_completion', choices: [{ text: 'Hello', index: 0, finish_reason: 'stop' }], usage: USAGE };
    expect(assembleJson(createCompletionsAssembler, body)).toMatchObject({ assistant: 'Hello', finishReason: 'stop', usage: USAGE });
  });
});
