/**
 * The chat log without its WebAssembly module (not built, or not where core/chat-lines-wasm.ts
 * looks): every record is still written, built in JavaScript, and the log says so once on stderr.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';

vi.mock('../../src/core/chat-lines-wasm.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/core/chat-lines-wasm.js')>()),
  createChatLineBuilder: () => null,
}));

const { createChatLog } = await import('../../src/chat-log/chat-log.js');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('chat log without chat-lines.wasm', () => {
  it('warns once, naming the file and the fix, and still writes both records', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aifwd-nowasm-'));
    dirs.push(dir);
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const log = createChatLog({ dir, rotateSize: 0, mode: 'file', stderr });
    expect(log.hook.builtInWasm).toBe(false);
    const tap = log.hook.open({ method: 'POST', route: '/v1/chat/completions', ip: '10.0.0.7', startedAt: Date.now(), keyName: null });
    tap?.requestBody(Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })));
    tap?.responseStart(200, { headers: [], eventStream: false, contentEncoding: undefined, contentType: 'application/json' });
    tap?.responseData(Buffer.from(JSON.stringify({ model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }] })));
    tap?.end({ kind: 'complete' });
    await log.close();
    const records = readFileSync(join(dir, 'chat.log'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; assistant?: string });
    expect(records.map((r) => r.type)).toEqual(['request', 'response']);
    expect(records[1].assistant).toBe('hello');
    const warnings = text.split('\n').filter((line) => line !== '');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^aifwd: chat log: .*wasm\/build\/chat-lines\.wasm could not be loaded \(build it with `npm run build`\)/);
  });
});
