import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ConvertError, convertChatLog, runConvert } from '../../src/chat-log/index.js';
import { formatPair } from '../../src/chat-log/convert-format.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aifwd-convert-'));
  dirs.push(dir);
  return dir;
}

const req = (uid: string, fields: object, route = '/v1/chat/completions') => JSON.stringify({ type: 'request', uid, time: '2025-01-01T00:00:00.000Z', ip: '1.2.3.4', route, ...fields });
const res = (uid: string, fields: object) => JSON.stringify({ type: 'response', uid, time: '2025-01-01T00:00:01.000Z', status: 200, assistant: null, tool_calls: null, reasoning: null, finish_reason: 'stop', usage: null, ttft_ms: 1, duration_ms: 2, ...fields });
const user = (content: string) => ({ role: 'user', content });
const CALL = { id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"x"}' } };

/** A log rotated twice (chat.2.log, chat.10.log: numeric order, not name order) and the active file. */
function writeLog(dir: string): string {
  writeFileSync(join(dir, 'chat.2.log'), [
    req('A', { model: 'gpt-4o', messages: [{ role: 'system', content: 'Be brief.' }, user('hi')] }),
    res('A', { assistant: 'Hello!' }),
    req('B', { model: 'gpt-4o', messages: [user('second')], tools: [{ type: 'function', function: { name: 'lookup' } }] }),
    'garbage that is not JSON',
    '',
  ].join('\n'));
  writeFileSync(join(dir, 'chat.10.log'), [
    res('B', { tool_calls: [CALL] }),
    req('C', { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon' }, '/v1/completions'),
    res('C', { assistant: ' a time' }),
    req('D', { model: 'gpt-4o', messages: [user('aborted')] }),
    res('D', { assistant: 'par', aborted: true }),
    req('E', {
      model: 'o4-mini',
      instructions: 'You are terse.',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'weather?' }] },
        { type: 'function_call', call_id: 'call_0', name: 'weather', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_0', output: 'sunny' },
      ],
    }, '/v1/responses'),
    res('E', { assistant: 'Sunny.' }),
    req('H', { model: 'gpt-4o', messages: [user('bad key')] }),
    res('H', { status: 401, error: { message: 'invalid key' } }),
    '',
  ].join('\r\n'));
  writeFileSync(join(dir, 'chat.log'), [
    req('F', { model: 'gpt-4o', messages: [user('no answer yet')] }),
    res('G', { assistant: 'orphan' }),
    '',
    '{"type":"other","uid":"x"}',
    '',
  ].join('\n'));
  return join(dir, 'chat.log');
}

describe('convertChatLog', () => {
  it('openai format: siblings oldest first, pairs by uid across files, counts the rest', async () => {
    const dir = tempDir();
    const logPath = writeLog(dir);
    const targetPath = join(dir, 'out', 'chat.jsonl');
    const report = await convertChatLog({ logPath, targetPath, format: 'openai' });
    expect(report.files).toEqual([join(dir, 'chat.2.log'), join(dir, 'chat.10.log'), logPath]);
    expect(report).toMatchObject({ written: 4, unpaired: 2, malformed: 2, skipped: 2 });
    const lines = readFileSync(targetPath, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual([
      { messages: [{ role: 'system', content: 'Be brief.' }, user('hi'), { role: 'assistant', content: 'Hello!' }] },
      { messages: [user('second'), { role: 'assistant', tool_calls: [CALL] }], tools: [{ type: 'function', function: { name: 'lookup' } }] },
      { messages: [user('Once upon'), { role: 'assistant', content: ' a time' }] },
      {
        messages: [
          { role: 'system', content: 'You are terse.' },
          user('weather?'),
          { role: 'assistant', tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'weather', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_0', content: 'sunny' },
          { role: 'assistant', content: 'Sunny.' },
        ],
      },
    ]);
  });

  it("seed format: openai-forward 0.2.2's pairs", async () => {
    const dir = tempDir();
    const logPath = writeLog(dir);
    const targetPath = join(dir, 'seed.jsonl');
    await convertChatLog({ logPath, targetPath, format: 'seed' });
    const lines = readFileSync(targetPath, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(lines[0]).toEqual([{ messages: [{ system: 'Be brief.' }, { user: 'hi' }], model: 'gpt-4o' }, { assistant: 'Hello!' }]);
    expect(lines[1]).toEqual([{ messages: [{ user: 'second' }], model: 'gpt-4o' }, { assistant: '', tool_calls: [CALL] }]);
    expect(lines[2]).toEqual([{ messages: [{ user: 'Once upon' }], model: 'gpt-3.5-turbo-instruct' }, { assistant: ' a time' }]);
  });

  it('accepts the log directory as --log-path', async () => {
    const dir = tempDir();
    writeLog(dir);
    const report = await convertChatLog({ logPath: dir, targetPath: join(dir, 'x.jsonl'), format: 'openai' });
    expect(report.written).toBe(4);
  });

  it('reads the siblings when the active file does not exist yet', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'chat.1.log'), `${req('A', { messages: [user('q')] })}\n${res('A', { assistant: 'a' })}\n`);
    const report = await convertChatLog({ logPath: join(dir, 'chat.log'), targetPath: join(dir, 'o.jsonl'), format: 'openai' });
    expect(report.written).toBe(1);
  });

  it('a missing log is a ConvertError', async () => {
    const dir = tempDir();
    await expect(convertChatLog({ logPath: join(dir, 'nope', 'chat.log'), targetPath: join(dir, 'o.jsonl'), format: 'openai' })).rejects.toThrow(ConvertError);
    await expect(convertChatLog({ logPath: join(dir, 'chat.log'), targetPath: join(dir, 'o.jsonl'), format: 'openai' })).rejects.toThrow(/chat log not found/);
  });

  it('a directory without a log says so, not only "not found"', async () => {
    const dir = tempDir();
    await expect(convertChatLog({ logPath: dir, targetPath: join(dir, 'o.jsonl'), format: 'openai' })).rejects.toThrow(
      `chat log not found: the directory ${dir} holds no chat.log and no rotated sibling of it`,
    );
  });

  it('refuses to overwrite its own input', async () => {
    const dir = tempDir();
    const logPath = writeLog(dir);
    await expect(convertChatLog({ logPath, targetPath: logPath, format: 'openai' })).rejects.toThrow(ConvertError);
  });
});

describe('runConvert', () => {
  it('prints one summary line on stderr', async () => {
    const dir = tempDir();
    const logPath = writeLog(dir);
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await runConvert({ logPath, targetPath: join(dir, 'o.jsonl'), stderr });
    expect(text).toBe(`aifwd convert: 4 conversations written to ${join(dir, 'o.jsonl')} (openai) from 3 files; 2 unpaired, 2 malformed, 2 skipped (error, aborted or no reply)\n`);
  });

  it('a bad format is a one-line ConvertError', async () => {
    await expect(runConvert({ format: 'csv', stderr: new PassThrough() })).rejects.toThrow(new ConvertError('--format "csv": expected openai or seed'));
  });
});

describe('formatPair', () => {
  const request = { type: 'request', uid: 'u', route: '/v1/chat/completions', messages: [user('q')] };
  it.each([
    ['aborted', { aborted: true, assistant: 'x' }],
    ['error', { error: { message: 'e' }, assistant: null }],
    ['unparsed', { unparsed: true, assistant: null }],
    ['status', { status: 500, assistant: 'x' }],
    ['empty', { assistant: '' }],
  ])('skips a reply that is %s', (reason, response) => {
    expect(formatPair(request, { status: 200, ...response }, 'openai')).toEqual({ skip: reason });
  });

  it('skips a request without a conversation', () => {
    expect(formatPair({ ...request, messages: 'nope' }, { status: 200, assistant: 'a' }, 'openai')).toEqual({ skip: 'no conversation' });
    expect(formatPair({ type: 'request', uid: 'u', unparsed: true }, { status: 200, assistant: 'a' }, 'openai')).toEqual({ skip: 'unparsed request' });
  });

  it('maps responses input images to chat content parts', () => {
    const responsesRequest = { route: '/v1/responses', input: [{ role: 'user', content: [{ type: 'input_text', text: 'what is this?' }, { type: 'input_image', image_url: 'https://x/y.png' }] }] };
    const result = formatPair(responsesRequest, { status: 200, assistant: 'a cat' }, 'openai');
    expect('line' in result && JSON.parse(result.line)).toEqual({
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
        { role: 'assistant', content: 'a cat' },
      ],
    });
  });
});
