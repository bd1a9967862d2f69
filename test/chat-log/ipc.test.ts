import { EventEmitter } from 'node:events';
import { deserialize, serialize } from 'node:v8';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createChatLog } from '../../src/chat-log/chat-log.js';
import { type ChatLogMessage, isChatLogMessage, type SendMessage, WorkerSink } from '../../src/chat-log/ipc.js';
import { attachChatLogPrimary, type WorkerMessageSource } from '../../src/chat-log/primary.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aifwd-ipc-'));
  dirs.push(dir);
  return dir;
}

function stderrCapture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

/** A fake IPC channel: messages are delivered to the primary's source on a later tick, like process.send. */
function fakeCluster(): { source: WorkerMessageSource & EventEmitter; sendFrom: (worker: string) => SendMessage; sent: ChatLogMessage[] } {
  const source = new EventEmitter() as WorkerMessageSource & EventEmitter;
  const sent: ChatLogMessage[] = [];
  return {
    source,
    sent,
    sendFrom: (worker) => (message, done) => {
      // Serialised as the real channel does (`advanced`: structured clone), so no shared references.
      const copy = deserialize(serialize(message)) as ChatLogMessage;
      sent.push(copy);
      setImmediate(() => {
        source.emit('message', { id: worker }, copy);
        done(null);
      });
    },
  };
}

describe('isChatLogMessage', () => {
  const bytes = Buffer.from('{"a":1}\n');
  it.each([
    [{ type: 'aifwd:chat-log', bytes, lines: 1 }, true],
    [{ type: 'aifwd:chat-log', bytes: new Uint8Array(bytes), lines: 1 }, true],
    [{ type: 'aifwd:chat-log', bytes: Buffer.from('{"a":1}'), lines: 1 }, false], // not a whole line
    [{ type: 'aifwd:chat-log', bytes: Buffer.alloc(0), lines: 1 }, false],
    [{ type: 'aifwd:chat-log', bytes, lines: 0 }, false],
    [{ type: 'aifwd:chat-log', bytes, lines: 1.5 }, false],
    [{ type: 'aifwd:chat-log', bytes: '{"a":1}\n', lines: 1 }, false],
    [{ type: 'aifwd:chat-log', lines: ['{"a":1}'] }, false],
    [{ type: 'other', bytes, lines: 1 }, false],
    ['aifwd:chat-log', false],
    [null, false],
  ])('%j → %s', (message, expected) => {
    expect(isChatLogMessage(message)).toBe(expected);
  });
});

const textOf = (messages: readonly ChatLogMessage[]): string => Buffer.concat(messages.map((m) => m.bytes)).toString('utf8');

describe('WorkerSink', () => {
  it('sends the lines of a batch as one message of bytes, not one per line', async () => {
    const { sendFrom, sent } = fakeCluster();
    const sink = new WorkerSink({ send: sendFrom('w1'), stderr: stderrCapture().stream });
    for (let i = 0; i < 50; i++) sink.append(`{"i":${i},"t":"é"}`);
    await sink.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0].lines).toBe(50);
    expect(textOf(sent)).toBe(Array.from({ length: 50 }, (_, i) => `{"i":${i},"t":"é"}\n`).join(''));
    expect(sink.written).toBe(50);
  });

  it('a batch larger than a chunk goes as several messages, each of whole lines with its own count', async () => {
    const { sendFrom, sent } = fakeCluster();
    const sink = new WorkerSink({ send: sendFrom('w1'), stderr: stderrCapture().stream, chunkBytes: 200 });
    const lines = Array.from({ length: 30 }, (_, i) => `{"pad":"${'x'.repeat(20)}","i":${i}}`);
    for (const line of lines) sink.append(line);
    await sink.flush();
    expect(sent.length).toBeGreaterThan(5);
    for (const message of sent) expect(message.bytes.toString().split('\n')).toHaveLength(message.lines + 1);
    expect(sent.reduce((n, m) => n + m.lines, 0)).toBe(30);
    expect(textOf(sent)).toBe(`${lines.join('\n')}\n`);
    expect(sink.written).toBe(30);
  });

  it('flush waits for the send callbacks', async () => {
    const pending: (() => void)[] = [];
    const sink = new WorkerSink({ send: (_m, done) => pending.push(() => done(null)), stderr: stderrCapture().stream });
    sink.append('{"a":1}');
    let flushed = false;
    const flushing = sink.flush().then(() => (flushed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(flushed).toBe(false);
    pending.forEach((release) => release());
    await flushing;
    expect(flushed).toBe(true);
  });

  it('a closed channel: lines counted as dropped, reported once', async () => {
    const stderr = stderrCapture();
    const sink = new WorkerSink({
      send: (_m, done) => setImmediate(() => done(Object.assign(new Error('Channel closed'), { code: 'ERR_IPC_CHANNEL_CLOSED' }))),
      stderr: stderr.stream,
    });
    for (let round = 0; round < 3; round++) {
      sink.append('{"a":1}');
      await sink.flush();
    }
    expect(sink.dropped).toBe(3);
    expect(stderr.text().trim().split('\n')).toEqual(['aifwd: chat log: cannot send records to the cluster primary (ERR_IPC_CHANNEL_CLOSED); records are dropped until it works again']);
  });

  it('a send that throws synchronously is counted too', async () => {
    const sink = new WorkerSink({ send: () => { throw new Error('no channel'); }, stderr: stderrCapture().stream });
    sink.append('{"a":1}');
    await sink.close();
    expect(sink.dropped).toBe(1);
  });
});

describe('worker → primary', () => {
  it('two workers, one file: every line whole, each worker in order, flushed on close', async () => {
    const dir = tempDir();
    const cluster = fakeCluster();
    const primary = attachChatLogPrimary({ dir, rotateSize: 0, stderr: stderrCapture().stream, source: cluster.source });
    const workers = ['w1', 'w2'].map((id) => ({ id, log: createChatLog({ dir, rotateSize: 0, mode: 'worker', send: cluster.sendFrom(id), stderr: stderrCapture().stream }) }));

    for (let round = 0; round < 20; round++) {
      for (const { id, log } of workers) {
        const tap = log.hook.open({ method: 'POST', route: '/v1/chat/completions', ip: id, startedAt: Date.now(), keyName: null })!;
        tap.requestBody(Buffer.from(JSON.stringify({ model: 'm', messages: [{ role: 'user', content: `${id}-${round}` }] })));
        tap.responseStart(200, { headers: [], eventStream: false, contentEncoding: undefined, contentType: 'application/json' });
        tap.responseData(Buffer.from(JSON.stringify({ choices: [{ message: { content: `reply ${id}-${round}` } }] })));
        tap.end({ kind: 'complete' });
      }
      if (round % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    // Shutdown order: workers flush (all sends acknowledged), then the primary closes.
    await Promise.all(workers.map(({ log }) => log.close()));
    await primary.close();

    const records = readFileSync(join(dir, 'chat.log'), 'utf8').trimEnd().split('\n').map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(records).toHaveLength(80);
    expect(primary.stats.written).toBe(80);
    for (const { id, log } of workers) {
      expect(log.stats.written).toBe(40);
      const mine = records.filter((r) => r.type === 'request' && r.ip === id).map((r) => (r.messages as { content: string }[])[0].content);
      expect(mine).toEqual(Array.from({ length: 20 }, (_, round) => `${id}-${round}`));
    }
    const byUid = new Map<unknown, string[]>();
    for (const r of records) byUid.set(r.uid, [...(byUid.get(r.uid) ?? []), r.type as string]);
    for (const types of byUid.values()) expect(types).toEqual(['request', 'response']);
  });

  it('the primary ignores foreign messages and bytes that are not whole lines', async () => {
    const dir = tempDir();
    const cluster = fakeCluster();
    const stderr = stderrCapture();
    const primary = attachChatLogPrimary({ dir, rotateSize: 0, stderr: stderr.stream, source: cluster.source });
    cluster.source.emit('message', {}, { cmd: 'something else' });
    cluster.source.emit('message', {}, { type: 'aifwd:chat-log', bytes: Buffer.from('{"torn":'), lines: 1 });
    // What a Buffer becomes on a JSON channel.
    cluster.source.emit('message', {}, JSON.parse(JSON.stringify({ type: 'aifwd:chat-log', bytes: Buffer.from('{"a":1}\n'), lines: 1 })));
    cluster.source.emit('message', {}, { type: 'aifwd:chat-log', bytes: new Uint8Array(Buffer.from('{"ok":1}\n{"ok":2}\n')), lines: 2 });
    await primary.close();
    expect(readFileSync(join(dir, 'chat.log'), 'utf8')).toBe('{"ok":1}\n{"ok":2}\n');
    expect(primary.stats.written).toBe(2);
    expect(cluster.source.listenerCount('message')).toBe(0);
    // Once, naming the likely cause; foreign messages are not ours to report.
    expect(stderr.text().trim().split('\n')).toEqual([`aifwd: chat log: a worker's records arrived malformed and were dropped (the cluster's IPC serialization must be 'advanced')`]);
  });

  it('flushSync: the primary writes what its workers sent at once, synchronously (a crashing primary)', async () => {
    const dir = tempDir();
    const cluster = fakeCluster();
    const primary = attachChatLogPrimary({ dir, rotateSize: 0, stderr: stderrCapture().stream, source: cluster.source });
    cluster.source.emit('message', {}, { type: 'aifwd:chat-log', bytes: Buffer.from('{"w":1}\n{"w":2}\n'), lines: 2 });
    primary.flushSync();
    expect(readFileSync(join(dir, 'chat.log'), 'utf8')).toBe('{"w":1}\n{"w":2}\n');
    expect(primary.stats.written).toBe(2);
    await primary.close();
  });

  it('flushSync in a worker: its lines cannot reach the primary synchronously, so they are counted as dropped', () => {
    const cluster = fakeCluster();
    const log = createChatLog({ dir: tempDir(), rotateSize: 0, mode: 'worker', send: cluster.sendFrom('w1'), stderr: stderrCapture().stream });
    log.hook.open({ method: 'POST', route: '/v1/chat/completions', ip: '127.0.0.1', startedAt: 1_000, keyName: null })?.requestBody(Buffer.from('{"model":"m","messages":[]}'));
    log.flushSync();
    expect(cluster.sent).toHaveLength(0);
    expect(log.stats.dropped).toBe(1);
  });

  it('worker mode without an IPC channel fails at creation', () => {
    // The test runner may itself be an IPC child: hide its channel for this synchronous check.
    const original = process.send;
    process.send = undefined;
    try {
      expect(() => createChatLog({ dir: tempDir(), rotateSize: 0, mode: 'worker' })).toThrow(/IPC channel/);
    } finally {
      process.send = original;
    }
  });
});
