import { describe, expect, it } from 'vitest';
import { createResponsesAssembler } from '../../src/core/chat-assemble-responses.js';
import { assembleJson, assembleStream, everySplit, sse } from './helpers.js';

const USAGE = { input_tokens: 10, output_tokens: 20, total_tokens: 30 };
const ev = (type: string, data: object) => ({ event: type, data: { type, ...data } });

const TEXT_STREAM = sse(
  [
    ev('response.created', { response: { id: 'resp_1', status: 'in_progress', output: [] } }),
    ev('response.output_item.added', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [] } }),
    ev('response.reasoning_summary_text.delta', { item_id: 'rs_1', summary_index: 0, delta: 'Plan' }),
    ev('response.reasoning_summary_text.delta', { item_id: 'rs_1', summary_index: 0, delta: ' A.' }),
    ev('response.reasoning_summary_text.delta', { item_id: 'rs_1', summary_index: 1, delta: 'Plan B.' }),
    ev('response.output_item.done', { output_index: 0, item: { id: 'rs_1', type: 'reasoning', summary: [{ type: 'summary_text', text: 'Plan A.' }] } }),
    ev('response.output_item.added', { output_index: 1, item: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } }),
    ev('response.output_text.delta', { item_id: 'msg_1', output_index: 1, content_index: 0, delta: 'Bonjour' }),
    ev('response.output_text.delta', { item_id: 'msg_1', output_index: 1, content_index: 0, delta: ' à tous' }),
    ev('response.output_text.done', { item_id: 'msg_1', output_index: 1, content_index: 0, text: 'Bonjour à tous' }),
    ev('response.output_item.done', { output_index: 1, item: { id: 'msg_1', type: 'message', content: [{ type: 'output_text', text: 'Bonjour à tous' }] } }),
    ev('response.completed', { response: { id: 'resp_1', model: 'gpt-4.1-mini-2025-04-14', status: 'completed', usage: USAGE, error: null, output: [] } }),
  ],
  false,
);

const CALL_STREAM = sse(
  [
    ev('response.output_item.added', { output_index: 0, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '' } }),
    ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 0, delta: '{"q":' }),
    ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 0, delta: '"x"}' }),
    ev('response.function_call_arguments.done', { item_id: 'fc_1', output_index: 0, arguments: '{"q":"x"}' }),
    ev('response.output_item.done', { output_index: 0, item: { id: 'fc_1', type: 'function_call', call_id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' } }),
    ev('response.output_item.added', { output_index: 1, item: { id: 'fc_2', type: 'function_call', call_id: 'call_2', name: 'other', arguments: '' } }),
    ev('response.function_call_arguments.delta', { item_id: 'fc_2', output_index: 1, delta: '{}' }),
    ev('response.completed', { response: { status: 'completed', usage: USAGE } }),
  ],
  false,
);

describe('responses assembler (stream)', () => {
  it('text, reasoning summary paragraphs, status and usage', () => {
    expect(assembleStream(createResponsesAssembler, [Buffer.from(TEXT_STREAM)])).toEqual({
      assistant: 'Bonjour à tous',
      reasoning: 'Plan A.\n\nPlan B.',
      toolCalls: null,
      finishReason: 'completed',
      usage: USAGE,
      usageModel: 'gpt-4.1-mini-2025-04-14',
      choices: null,
      error: null,
      parsed: true,
    });
  });

  it('split at every byte gives the same reply', () => {
    const whole = assembleStream(createResponsesAssembler, [Buffer.from(CALL_STREAM)]);
    for (const chunks of everySplit(CALL_STREAM)) expect(assembleStream(createResponsesAssembler, chunks)).toEqual(whole);
  });

  it('function calls from added/delta/done, in chat tool-call shape', () => {
    expect(assembleStream(createResponsesAssembler, [Buffer.from(CALL_STREAM)]).toolCalls).toEqual([
      { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } },
      { id: 'call_2', type: 'function', function: { name: 'other', arguments: '{}' } },
    ]);
  });

  const cases: { name: string; stream: string; expected: object }[] = [
    {
      name: 'raw reasoning_text wins over the summary',
      stream: sse([
        ev('response.reasoning_summary_text.delta', { item_id: 'r', summary_index: 0, delta: 'short' }),
        ev('response.reasoning_text.delta', { item_id: 'r', delta: 'long ' }),
        ev('response.reasoning_text.delta', { item_id: 'r', delta: 'thought' }),
      ], false),
      expected: { reasoning: 'long thought' },
    },
    {
      name: 'incomplete with usage',
      stream: sse([ev('response.output_text.delta', { delta: 'cut' }), ev('response.incomplete', { response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: USAGE } })], false),
      expected: { assistant: 'cut', finishReason: 'incomplete', usage: USAGE },
    },
    {
      name: 'failed with the response error',
      stream: sse([ev('response.failed', { response: { status: 'failed', error: { code: 'server_error', message: 'boom' } } })], false),
      expected: { assistant: null, finishReason: 'failed', error: { code: 'server_error', message: 'boom' } },
    },
    {
      name: 'an error event',
      stream: sse([ev('error', { code: 'rate_limit_exceeded', message: 'slow down', param: null })], false),
      expected: { error: { code: 'rate_limit_exceeded', message: 'slow down', param: null } },
    },
    {
      name: 'output of the completed event fills missing deltas',
      stream: sse([ev('response.completed', { response: { status: 'completed', output: [{ type: 'message', content: [{ type: 'output_text', text: 'from output' }] }] } })], false),
      expected: { assistant: 'from output', finishReason: 'completed' },
    },
    {
      name: 'type taken from the SSE event name when data has none',
      stream: 'event: response.output_text.delta\ndata: {"delta":"x"}\n\n',
      expected: { assistant: 'x' },
    },
  ];
  for (const { name, stream, expected } of cases) {
    it(name, () => {
      expect(assembleStream(createResponsesAssembler, [Buffer.from(stream)])).toMatchObject(expected);
    });
  }
});

describe('responses assembler (JSON)', () => {
  it('reads output items, status and usage', () => {
    const body = {
      id: 'resp_1',
      object: 'response',
      model: 'gpt-4.1',
      status: 'completed',
      error: null,
      output: [
        { type: 'reasoning', summary: [{ type: 'summary_text', text: 'S1' }, { type: 'summary_text', text: 'S2' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hello', annotations: [] }] },
        { type: 'function_call', id: 'fc', call_id: 'call_9', name: 'f', arguments: '{"a":1}' },
      ],
      usage: USAGE,
    };
    expect(assembleJson(createResponsesAssembler, body)).toEqual({
      assistant: 'Hello',
      reasoning: 'S1\n\nS2',
      toolCalls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }],
      finishReason: 'completed',
      usage: USAGE,
      usageModel: 'gpt-4.1',
      choices: null,
      error: null,
      parsed: true,
    });
  });

  it('an upstream error body', () => {
    expect(assembleJson(createResponsesAssembler, { error: { message: 'nope', type: 'invalid_request_error' } })).toMatchObject({
      assistant: null,
      error: { message: 'nope', type: 'invalid_request_error' },
    });
  });
});
