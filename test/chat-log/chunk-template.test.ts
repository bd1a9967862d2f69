/**
 * Chunk templates (chat-chunk-template.ts): a chunk that differs from a learned one only in its text
 * skips JSON.parse. The assemblers must give exactly what they give with every chunk parsed, for any
 * chunk, valid or not — checked against a reference that parses every chunk (`json(JSON.parse(…))`,
 * the same reading as a stream chunk's) on real shapes and on thousands of mutated chunks.
 */
import { describe, expect, it, vi } from 'vitest';
import { createChatCompletionsAssembler, createCompletionsAssembler } from '../../src/core/chat-assemble-choices.js';
import { ChunkTemplate } from '../../src/core/chat-chunk-template.js';
import { parseJson, type ReplyAssembler } from '../../src/core/chat-reply.js';

const HEAD = '{"id":"chatcmpl-D0q8","object":"chat.completion.chunk","created":1769092764,"model":"gpt-4o-mini","service_tier":"default","system_fingerprint":"fp_2933","choices":';
const chunk = (content: string, tail = ',"obfuscation":"ZGF"}') =>
  `${HEAD}[{"index":0,"delta":{"content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":null}]${tail}`;

const learned = (data: string, kind: 'chat' | 'completions' = 'chat') => ChunkTemplate.learn(kind, data, JSON.parse(data));

describe('ChunkTemplate.learn', () => {
  it('learns from a content chunk', () => {
    const template = learned(chunk('Hello'));
    expect(template).toBeDefined();
    expect(template?.target).toBe('content');
    expect(template?.finishReason).toBeNull();
  });

  it.each([
    ['empty text (the role chunk)', chunk('')],
    ['two choices', `${HEAD}[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"}}]}`],
    ['a usage object', chunk('a', ',"usage":{"total_tokens":3}}')],
    ['an error', chunk('a', ',"error":{"message":"x"}}')],
    ['tool calls', `${HEAD}[{"index":0,"delta":{"content":"a","tool_calls":[{"index":0}]}}]}`],
    ['content and reasoning both', `${HEAD}[{"index":0,"delta":{"content":"a","reasoning_content":"r"}}]}`],
    ['content parts', `${HEAD}[{"index":0,"delta":{"content":[{"type":"text","text":"a"}]}}]}`],
    ['duplicate key on the way', `${HEAD}[{"index":0,"delta":{"content":"a","content":"b"}}]}`],
    ['duplicate top-level key', `{"usage":{"t":1},${HEAD.slice(1)}[{"index":0,"delta":{"content":"a"}}],"usage":null}`],
    ['escaped field name', `${HEAD}[{"index":0,"delta":{"cont\\u0065nt":"a"}}]}`],
    ['no delta', `${HEAD}[{"index":0,"message":{"content":"a"}}]}`],
  ])('not from %s', (_name, data) => {
    expect(learned(data)).toBeUndefined();
  });

  it('learns reasoning deltas, and completions text', () => {
    expect(learned(`${HEAD}[{"index":0,"delta":{"content":null,"reasoning_content":"hm"}}]}`)?.target).toBe('reasoning');
    expect(learned(`${HEAD}[{"index":0,"delta":{"reasoning":"hm"}}]}`)?.target).toBe('reasoning');
    expect(learned('{"id":"c","object":"text_completion","choices":[{"text":"Once","index":0,"logprobs":null,"finish_reason":null}]}', 'completions')?.target).toBe('content');
  });
});

describe('ChunkTemplate.match', () => {
  const template = learned(chunk('Hello'))!;
  it.each([
    ['another text', chunk(' world'), ' world'],
    ['a long plain text (copied, not a view of the chunk)', chunk('The quick brown fox jumps'), 'The quick brown fox jumps'],
    ['12 and 13 characters', chunk('123456789012'), '123456789012'],
    ['13 characters', chunk('1234567890123'), '1234567890123'],
    ['escapes, decoded', chunk('a "q" \\ \n é 😀'), 'a "q" \\ \n é 😀'],
    ['unicode escapes as sent', chunk('x').replace('"x"', '"\\u00e9\\/"'), 'é/'],
    ['no trailing members', chunk('t', '}'), 't'],
    ['other trailing members', chunk('t', ',"obfuscation":"lRK2aBv","usage":null,"error":null}'), 't'],
  ])('reads %s', (_name, data, text) => {
    expect(template.match(data)).toBe(text);
  });

  it.each([
    ['another prefix', chunk('t').replace('gpt-4o-mini', 'gpt-4o')],
    ['a different choice tail', chunk('t').replace('"finish_reason":null', '"finish_reason":"stop"')],
    ['a raw control character in the text', chunk('t').replace('"t"', '"a\u0001b"')],
    ['a raw control character in a long text', chunk('t').replace('"t"', '"abcdefghijklmn\u0001b"')],
    ['an invalid escape', chunk('t').replace('"t"', '"a\\qb"')],
    ['a trailing choices member', chunk('t', ',"choices":[]}')],
    ['a trailing error', chunk('t', ',"error":"boom"}')],
    ['a trailing object', chunk('t', ',"usage":{"total_tokens":1}}')],
    ['a trailing number', chunk('t', ',"n":1}')],
    ['a trailing escaped value', chunk('t', ',"obfuscation":"a\\"b"}')],
    ['spaces in the tail', chunk('t', ' }')],
    ['something after the object', chunk('t', '}x')],
    ['a cut-off chunk', chunk('t').slice(0, -3)],
    ['the text not closed', `${HEAD}[{"index":0,"delta":{"content":"abc`],
  ])('declines %s', (_name, data) => {
    expect(template.match(data)).toBeUndefined();
  });
});

/** Feeds `datas` as stream events, and as the reference (every chunk parsed). */
function both(make: () => ReplyAssembler, datas: string[]) {
  const fast = make();
  const reference = make();
  for (const data of datas) {
    fast.event('message', data);
    if (data !== '[DONE]') reference.json(parseJson(data));
  }
  return { fast: fast.result(), reference: reference.result() };
}

describe('assemblers with templates = every chunk parsed', () => {
  it('a real chat stream: role chunk, content, finish, usage', () => {
    const datas = [
      `${HEAD}[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
      ...['Hel', 'lo', ' "wo"', 'rld\\n', '世界'].map((t) => chunk(t, ',"usage":null}')),
      `${HEAD}[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
      `${HEAD}[],"usage":{"prompt_tokens":1,"completion_tokens":5,"total_tokens":6}}`,
      '[DONE]',
    ];
    const { fast, reference } = both(createChatCompletionsAssembler, datas);
    expect(fast).toEqual(reference);
    expect(fast.assistant).toBe('Hello "wo"rld\\n世界');
  });

  it('a reasoning stream, then content', () => {
    const r = (t: string) => `${HEAD}[{"index":0,"delta":{"content":null,"reasoning_content":${JSON.stringify(t)}},"finish_reason":null}]}`;
    const datas = [r('Let'), r(' me'), r(' think'), chunk('Answer'), chunk('!'), '[DONE]'];
    const { fast, reference } = both(createChatCompletionsAssembler, datas);
    expect(fast).toEqual(reference);
    expect(fast).toMatchObject({ reasoning: 'Let me think', assistant: 'Answer!' });
  });

  it('a completions stream', () => {
    const c = (t: string, finish: string | null = null) => JSON.stringify({ id: 'cmpl-1', object: 'text_completion', created: 1, choices: [{ text: t, index: 0, logprobs: null, finish_reason: finish }], model: 'm' });
    const datas = [c('Once'), c(' upon'), c(' a'), c(' time', 'length'), '[DONE]'];
    const { fast, reference } = both(createCompletionsAssembler, datas);
    expect(fast).toEqual(reference);
    expect(fast.assistant).toBe('Once upon a time');
  });

  it('chunks whose ids change every time: learning stops after a few misses, results unchanged', () => {
    const datas = Array.from({ length: 30 }, (_, i) => chunk(`t${i}`).replace('chatcmpl-D0q8', `chatcmpl-${i}`));
    const { fast, reference } = both(createChatCompletionsAssembler, datas);
    expect(fast).toEqual(reference);
  });

  it('5,000 mutated chunks', () => {
    const match = vi.spyOn(ChunkTemplate.prototype, 'match');
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const TEXTS = ['a', ' b', '"', '\\', 'é', '😀', '\n', '', '\\u0041', '\u2028', 'x"y'];
    const TAILS = ['}', ',"obfuscation":"abc"}', ',"usage":null}', ',"error":null}', ',"error":"e"}', ',"choices":[]}', ',"usage":{"t":1}}', ',"x":1}', ' }', '}}', ''];
    const mutate = (data: string): string => {
      switch (rand(7)) {
        case 0: {
          const at = rand(data.length);
          return data.slice(0, at) + data.slice(at + 1);
        }
        case 1: {
          const at = rand(data.length);
          return `${data.slice(0, at)}${[' ', '"', '\\', ',', '}', ']', 'x', '\u0001'][rand(8)]}${data.slice(at)}`;
        }
        case 2:
          return data.replace('"finish_reason":null', '"finish_reason":"stop"');
        case 3:
          return data.replace('"index":0', '"index":1');
        case 4:
          return data.replace('"content":', '"tool_calls":[{"index":0,"function":{"arguments":"x"}}],"content":');
        default:
          return data;
      }
    };
    for (let stream = 0; stream < 250; stream++) {
      const datas: string[] = [];
      for (let i = 0; i < 20; i++) {
        const raw = `${HEAD}[{"index":0,"delta":{"content":"${TEXTS[rand(TEXTS.length)]}${TEXTS[rand(TEXTS.length)]}"},"logprobs":null,"finish_reason":null}]${TAILS[rand(TAILS.length)]}`;
        datas.push(rand(3) === 0 ? mutate(raw) : raw);
      }
      const { fast, reference } = both(createChatCompletionsAssembler, datas);
      expect(fast).toEqual(reference);
    }
    // Both paths were exercised: many chunks read by templates, many declined.
    const read = match.mock.results.filter((r) => r.value !== undefined).length;
    expect(read).toBeGreaterThan(300);
    expect(match.mock.calls.length - read).toBeGreaterThan(300);
    match.mockRestore();
  });
});
