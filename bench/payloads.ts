/**
 * The bytes every scenario sends and receives, built once so every process of a run agrees on them:
 * a ~300-byte chat request, the 354-byte chat.completion reply of the issue, and SSE chunk events.
 */
import { FORWARD_KEY } from './wrk.js';

/** Size of the fixed non-stream reply body, from the issue (354 bytes). */
export const REPLY_BYTES = 354;

/** A realistic `POST /v1/chat/completions` body of about 300 bytes. */
export function chatRequestBody(stream: boolean): string {
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a helpful assistant. Answer briefly.' },
      { role: 'user', content: 'What is the capital of France, and what river runs through it? One sentence please.' },
    ],
    temperature: 0.2,
    max_tokens: 64,
    stream,
    user: 'bench-user-0001',
  });
}

const ANSWER = 'Paris is the capital of France, and the Seine runs through the middle of the city.';

/** The whole HTTP/1.1 message a bench client writes: the chat request, with the forward key. */
export function chatRequestMessage(port: number, path: string, stream: boolean): Buffer {
  const body = chatRequestBody(stream);
  return Buffer.from(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
      `Authorization: Bearer ${FORWARD_KEY}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The fixed non-stream reply: a chat.completion JSON padded to exactly {@link REPLY_BYTES} bytes. */
export function chatReplyBody(): string {
  const build = (content: string): string =>
    JSON.stringify({
      id: 'chatcmpl-bench000000000000000000000001',
      object: 'chat.completion',
      created: 1735689600,
      model: 'gpt-4o-mini-2024-07-18',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: { prompt_tokens: 38, completion_tokens: 9, total_tokens: 47 },
    });
  const base = build('');
  const missing = REPLY_BYTES - Buffer.byteLength(base);
  if (missing < 0) throw new Error(`reply template is ${Buffer.byteLength(base)} bytes, over ${REPLY_BYTES}`);
  const body = build(ANSWER.padEnd(missing, ' ').slice(0, missing));
  if (Buffer.byteLength(body) !== REPLY_BYTES) throw new Error('reply padding failed');
  return body;
}

/** One `chat.completion.chunk` SSE event (`data: {...}\n\n`) carrying token number `i`. */
export function sseEvent(i: number): string {
  const chunk = {
    id: 'chatcmpl-bench000000000000000000000001',
    object: 'chat.completion.chunk',
    created: 1735689600,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [{ index: 0, delta: { content: ` tok${i}` }, logprobs: null, finish_reason: null }],
  };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** The last event of every stream. */
export const SSE_DONE = 'data: [DONE]\n\n';

/** Events per SSE response in the SSE scenario (the 50, counting the final `[DONE]`). */
export const SSE_EVENTS = 50;
