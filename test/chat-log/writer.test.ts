import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { listRotated } from '../../src/chat-log/log-files.js';
import { countLines, type LineBatch, LineBytes } from '../../src/chat-log/line-batch.js';
import { BatchQueue } from '../../src/chat-log/sink.js';
import { ChatLogWriter } from '../../src/chat-log/writer.js';

/** The simplest container: the queue's behaviour does not depend on what a batch holds. */
class StringLines implements LineBatch<string[]> {
  #lines: string[] = [];
  #chars = 0;

  get lines(): number {
    return this.#lines.length;
  }

  get size(): number {
    return this.#chars;
  }

  push(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length;
  }

  pushLines(lines: Uint8Array): void {
    for (const line of Buffer.from(lines).toString('utf8').split('\n').slice(0, -1)) this.push(line);
  }

  take(): string[] {
    const lines = this.#lines;
    this.#lines = [];
    this.#chars = 0;
    return lines;
  }
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aifwd-writer-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** A record line of varying size (20–300 bytes, some multi-byte). */
const line = (i: number): string => JSON.stringify({ type: 'request', uid: `u${i}`, text: 'é'.repeat((i * 37) % 140) });

/** Every line of the log and its siblings, oldest first. */
async function readAll(path: string): Promise<{ lines: string[]; files: string[] }> {
  const files = [...(await listRotated(path)).map((f) => f.path), path].filter((file) => {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
  const lines: string[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    // An empty file is whole too (a write that failed was truncated back to nothing).
    if (text === '') continue;
    expect(text.endsWith('\n')).toBe(true);
    lines.push(...text.slice(0, -1).split('\n'));
  }
  return { lines, files };
}

describe('BatchQueue', () => {
  it('hands everything appended within the delay to one write, and the rest to the next', async () => {
    vi.useFakeTimers();
    try {
      const batches: string[][] = [];
      let release: () => void = () => {};
      const queue = new BatchQueue({
        batch: new StringLines(),
        write: (lines) => {
          batches.push(lines);
          return batches.length === 1 ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
        },
        delayMs: 5,
        now: () => Date.now(),
      });
      for (let i = 0; i < 50; i++) queue.append(`a${i}`);
      await vi.advanceTimersByTimeAsync(4);
      expect(batches).toHaveLength(0); // still gathering
      for (let i = 50; i < 100; i++) queue.append(`a${i}`);
      await vi.advanceTimersByTimeAsync(1);
      expect(batches).toHaveLength(1);
      for (let i = 0; i < 50; i++) queue.append(`b${i}`);
      const flushed = queue.flush();
      release();
      await flushed;
      expect(batches.map((b) => b.length)).toEqual([100, 50]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('flush writes at once instead of waiting for the batching delay', async () => {
    const batches: string[][] = [];
    const queue = new BatchQueue({ batch: new StringLines(), write: async (lines) => void batches.push(lines), delayMs: 60_000 });
    queue.append('x');
    queue.append('y');
    await queue.flush();
    expect(batches).toEqual([['x', 'y']]);
  });

  it('flush waits for the lines accepted so far, not for later ones', async () => {
    const releases: (() => void)[] = [];
    const written: string[] = [];
    const queue = new BatchQueue({
      batch: new StringLines(),
      write: (lines) =>
        new Promise<void>((resolve) =>
          releases.push(() => {
            written.push(...lines);
            resolve();
          }),
        ),
    });
    queue.append('a');
    const flushed = queue.flush();
    await new Promise((resolve) => setImmediate(resolve));
    queue.append('b');
    releases[0]();
    await flushed;
    expect(written).toEqual(['a']);
    // 'b' waits out its delay (or a flush, which writes it at once).
    expect(releases).toHaveLength(1);
    const second = queue.flush();
    releases[1]();
    await second;
    expect(written).toEqual(['a', 'b']);
  });

  it('takeWaiting: what waits, and from then on lines only wait for the next take — no write starts, not even at eagerSize', async () => {
    const writes: string[][] = [];
    const queue = new BatchQueue({ batch: new StringLines(), write: async (lines) => void writes.push(lines), delayMs: 5, eagerSize: 10 });
    expect(queue.takeWaiting()).toBeNull();
    queue.append('first');
    expect(queue.takeWaiting()).toEqual({ batch: ['first'], lines: 1 });
    queue.append('a line well past the eager size');
    queue.append('and one more');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(writes).toEqual([]);
    expect(queue.takeWaiting()).toEqual({ batch: ['a line well past the eager size', 'and one more'], lines: 2 });
  });

  it('refuses lines beyond maxQueued', () => {
    const queue = new BatchQueue({ batch: new StringLines(), write: async () => {}, maxQueued: 10 });
    expect(queue.append('12345')).toBe(true);
    expect(queue.append('123456')).toBe(false);
  });

  it('counts the queue limit in bytes, not UTF-16 units, for lines of many-byte characters', () => {
    const queue = new BatchQueue({ batch: new LineBytes(), write: async () => {}, maxQueued: 40 });
    expect(queue.append('a'.repeat(10))).toBe(true); // 11 bytes with its newline
    // 9 units but 27 bytes (+1): 39 bytes fit; 10 more units (30 bytes) would not, though 10 units would.
    expect(queue.append('中'.repeat(9))).toBe(true);
    expect(queue.append('中')).toBe(false);
    expect(queue.append('a')).toBe(true);
  });

  describe('cadence (fake clock)', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    /** A queue whose writes end when the test says; `writes` logs each batch and when it started. */
    function slowQueue(options: { delayMs: number; eagerSize?: number }) {
      const writes: { at: number; lines: string[] }[] = [];
      const ends: (() => void)[] = [];
      const queue = new BatchQueue({
        batch: new StringLines(),
        now: () => Date.now(),
        ...options,
        write: (lines) => {
          writes.push({ at: Date.now(), lines });
          return new Promise<void>((resolve) => ends.push(resolve));
        },
      });
      return { queue, writes, endWrite: () => ends.shift()?.() };
    }

    it('lines that arrive during a write wait out their own delay, not written the moment it ends', async () => {
      const { queue, writes, endWrite } = slowQueue({ delayMs: 20 });
      const start = Date.now();
      queue.append('a');
      await vi.advanceTimersByTimeAsync(19);
      expect(writes).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(writes).toHaveLength(1);
      // A steady trickle during a 2 ms write, then the write ends.
      await vi.advanceTimersByTimeAsync(1);
      queue.append('b');
      await vi.advanceTimersByTimeAsync(1);
      queue.append('c');
      endWrite();
      await vi.advanceTimersByTimeAsync(0);
      expect(writes).toHaveLength(1);
      for (let i = 0; i < 17; i++) {
        await vi.advanceTimersByTimeAsync(1);
        queue.append(`d${i}`);
      }
      expect(writes).toHaveLength(1);
      // 'b' arrived at 21 ms: its batch goes at 41 ms with everything that came since.
      await vi.advanceTimersByTimeAsync(41 - (Date.now() - start));
      expect(writes).toHaveLength(2);
      expect(writes[1].at - start).toBe(41);
      expect(writes[1].lines).toEqual(['b', 'c', ...Array.from({ length: 17 }, (_, i) => `d${i}`)]);
      endWrite();
    });

    it('a batch already due when the write ends goes at once; so does one that reached eagerSize', async () => {
      const { queue, writes, endWrite } = slowQueue({ delayMs: 20, eagerSize: 10 });
      queue.append('1234');
      await vi.advanceTimersByTimeAsync(20);
      expect(writes).toHaveLength(1);
      queue.append('late');
      await vi.advanceTimersByTimeAsync(30); // the write outlasts the delay of 'late'
      endWrite();
      await vi.advanceTimersByTimeAsync(0);
      expect(writes.map((w) => w.lines)).toEqual([['1234'], ['late']]);
      endWrite();
      await vi.advanceTimersByTimeAsync(0);
      queue.append('123456');
      queue.append('7890'); // 10 characters waiting: no timer
      await vi.advanceTimersByTimeAsync(0);
      expect(writes.map((w) => w.lines)).toEqual([['1234'], ['late'], ['123456', '7890']]);
      endWrite();
    });

    it('flush during a write has the waiting lines written as soon as it ends', async () => {
      const { queue, writes, endWrite } = slowQueue({ delayMs: 1000 });
      queue.append('a');
      const first = queue.flush();
      expect(writes).toHaveLength(1);
      queue.append('b');
      const second = queue.flush();
      endWrite();
      await first;
      await vi.advanceTimersByTimeAsync(0);
      expect(writes.map((w) => w.lines)).toEqual([['a'], ['b']]);
      endWrite();
      await second;
    });
  });
});

describe('LineBytes', () => {
  const text = (batch: { buffers: Buffer[] }): string => Buffer.concat(batch.buffers).toString('utf8');

  it('encodes each line as UTF-8 plus a newline the moment it is pushed; take() leaves it empty', () => {
    const bytes = new LineBytes(64);
    bytes.push('{"a":"é"}');
    bytes.push('{"b":"😀"}');
    expect(bytes.lines).toBe(2);
    expect(bytes.size).toBe(Buffer.byteLength('{"a":"é"}\n{"b":"😀"}\n'));
    const batch = bytes.take();
    expect(batch.lines).toBe(2);
    expect(text(batch)).toBe('{"a":"é"}\n{"b":"😀"}\n');
    expect(bytes.lines).toBe(0);
    expect(bytes.size).toBe(0);
    expect(bytes.take()).toEqual({ buffers: [], lines: 0, filled: [] });
  });

  it('encodes a lone surrogate as U+FFFD (3 bytes, within the room kept per character)', () => {
    const bytes = new LineBytes(8);
    bytes.push('\ud800x'); // 2 units: 3 + 1 bytes, room kept 7
    bytes.push('\udfff');
    const batch = bytes.take();
    expect(Buffer.concat(batch.buffers)).toEqual(Buffer.from([0xef, 0xbf, 0xbd, 0x78, 0x0a, 0xef, 0xbf, 0xbd, 0x0a]));
  });

  it('lines after a take go on in the same chunk without touching the taken bytes', () => {
    const bytes = new LineBytes(64);
    bytes.push('first');
    const one = bytes.take();
    bytes.push('second');
    bytes.push('third');
    const two = bytes.take();
    expect(text(one)).toBe('first\n');
    expect(text(two)).toBe('second\nthird\n');
    expect(one.buffers[0].buffer).toBe(two.buffers[0].buffer);
  });

  it('starts a new chunk when a line may not fit, and gives a line longer than a chunk a buffer of its own, in order', () => {
    // Room is kept for 3 bytes a character: 'x'.repeat(9) reserves 28 of the chunk's 64 bytes.
    const bytes = new LineBytes(64);
    const lines = ['x'.repeat(9), 'y'.repeat(9), 'z'.repeat(20), 'ü'.repeat(40), 'w'];
    for (const line of lines) bytes.push(line);
    const batch = bytes.take();
    expect(text(batch)).toBe(`${lines.join('\n')}\n`);
    expect(batch.lines).toBe(5);
    expect(batch.buffers.length).toBe(4); // x+y | z (a new chunk) | ü…ü alone | w (after z)
    expect(batch.buffers[3].buffer).toBe(batch.buffers[1].buffer);
    expect(countLines(Buffer.concat(batch.buffers))).toBe(5);
  });

  it('pushLines copies lines given as bytes at once, in order with pushed strings, never split across buffers; more than a chunk go alone', () => {
    const bytes = new LineBytes(32);
    const view = Buffer.from('{"b":"é"}\n{"b":2}\n');
    bytes.push('{"a":1}');
    bytes.pushLines(view, 2);
    view.fill(0x20); // the caller reuses its bytes: what was pushed stays
    bytes.pushLines(Buffer.from(`${'z'.repeat(40)}\n`), 1);
    // Does not fit what is left of the chunk: a new chunk, not half in each.
    bytes.pushLines(Buffer.from('{"y":1}\n{"y":2}\n{"y":3}\n'), 3);
    bytes.push('{"c":3}');
    const all = `{"a":1}\n{"b":"é"}\n{"b":2}\n${'z'.repeat(40)}\n{"y":1}\n{"y":2}\n{"y":3}\n{"c":3}\n`;
    expect(bytes.lines).toBe(8);
    expect(bytes.size).toBe(Buffer.byteLength(all));
    const batch = bytes.take();
    expect(text(batch)).toBe(all);
    expect(batch.buffers.map(countLines)).toEqual([3, 1, 3, 1]);
  });

  it('reuses a filled chunk once the batch holding its last bytes is recycled, never before', () => {
    const bytes = new LineBytes(64);
    bytes.push('a'.repeat(20)); // chunk 1
    bytes.push('b'.repeat(20)); // chunk 2: chunk 1 is filled
    const first = bytes.take();
    expect(first.filled.map((chunk) => chunk.buffer)).toEqual([first.buffers[0].buffer]);
    bytes.push('c'.repeat(20)); // chunk 3: fresh, as chunk 1 may still be being written
    expect(bytes.take().buffers[0].buffer).not.toBe(first.buffers[0].buffer);
    bytes.recycle(first);
    bytes.push('d'.repeat(20)); // chunk 4 is chunk 1 again
    const last = bytes.take();
    expect(last.buffers[0].buffer).toBe(first.buffers[0].buffer);
    expect(Buffer.concat(last.buffers).toString()).toBe(`${'d'.repeat(20)}\n`);
  });
});

describe('ChatLogWriter', () => {
  it('creates the directory and appends whole lines; flush writes everything accepted', async () => {
    const dir = join(tempDir(), 'nested', 'Log');
    const path = join(dir, 'chat.log');
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: capture().stream });
    for (let i = 0; i < 10; i++) writer.append(line(i));
    await writer.flush();
    expect(readFileSync(path, 'utf8')).toBe(`${Array.from({ length: 10 }, (_, i) => line(i)).join('\n')}\n`);
    expect(writer.written).toBe(10);
    await writer.close();
  });

  it('lines given as bytes are written in order with the others', async () => {
    const path = join(tempDir(), 'chat.log');
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: capture().stream });
    for (let i = 0; i < 12; i += 3) {
      writer.append(line(i));
      writer.appendLines(Buffer.from(`${line(i + 1)}\n${line(i + 2)}\n`), 2);
    }
    await writer.flush();
    expect(readFileSync(path, 'utf8')).toBe(`${Array.from({ length: 12 }, (_, i) => line(i)).join('\n')}\n`);
    expect(writer.written).toBe(12);
    await writer.close();
    writer.appendLines(Buffer.from(`${line(12)}\n${line(13)}\n`), 2);
    expect(writer.dropped).toBe(2);
  });

  it('rotates into chat.N.log, highest newest, never splitting or losing a line', async () => {
    const path = join(tempDir(), 'chat.log');
    const rotateSize = 2000;
    const writer = new ChatLogWriter({ path, rotateSize, stderr: capture().stream });
    const expected: string[] = [];
    for (let i = 0; i < 1000; i++) {
      expected.push(line(i));
      writer.append(line(i));
      // Many batches of different sizes.
      if (i % 97 === 0) await writer.flush();
    }
    await writer.close();
    const { lines, files } = await readAll(path);
    expect(lines).toEqual(expected);
    expect(files.length).toBeGreaterThan(20);
    expect(files[0]).toBe(join(path, '..', 'chat.1.log'));
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(rotateSize);
    for (const text of lines) expect(() => JSON.parse(text)).not.toThrow();
    expect(writer.written).toBe(1000);
    expect(writer.dropped).toBe(0);
  });

  it('continues numbering after existing siblings and keeps a line larger than the limit whole', async () => {
    const dir = tempDir();
    const path = join(dir, 'chat.log');
    writeFileSync(join(dir, 'chat.7.log'), '{"old":1}\n');
    writeFileSync(path, '{"current":1}\n');
    const writer = new ChatLogWriter({ path, rotateSize: 100, stderr: capture().stream });
    const big = JSON.stringify({ big: 'x'.repeat(500) });
    writer.append(big);
    writer.append('{"after":1}');
    await writer.close();
    expect(readdirSync(dir).sort()).toEqual(['chat.7.log', 'chat.8.log', 'chat.9.log', 'chat.log']);
    expect(readFileSync(join(dir, 'chat.8.log'), 'utf8')).toBe('{"current":1}\n');
    expect(readFileSync(join(dir, 'chat.9.log'), 'utf8')).toBe(`${big}\n`);
    expect(readFileSync(path, 'utf8')).toBe('{"after":1}\n');
  });

  it('one big batch of multi-byte lines rotates at whole lines, nothing split or lost', async () => {
    const path = join(tempDir(), 'chat.log');
    const rotateSize = 50_000;
    const writer = new ChatLogWriter({ path, rotateSize, stderr: capture().stream });
    // ~1 MB in one batch (no flush in between); lines hold 2-, 3- and 4-byte characters.
    const wide = (i: number): string => JSON.stringify({ uid: `w${i}`, text: `${'é'.repeat(i % 50)}${'中'.repeat(i % 30)}${'😀'.repeat(i % 7)}` });
    const expected: string[] = [];
    for (let i = 0; i < 6000; i++) {
      expected.push(wide(i));
      writer.append(wide(i));
    }
    await writer.close();
    const { lines, files } = await readAll(path);
    expect(lines).toEqual(expected);
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(rotateSize);
    expect(writer.written).toBe(6000);
  });

  it('lines too long for the encoding buffer (over 1 MiB of UTF-8 at worst) go whole, in order, rotated like any other', async () => {
    const path = join(tempDir(), 'chat.log');
    const rotateSize = 2_000_000;
    const writer = new ChatLogWriter({ path, rotateSize, stderr: capture().stream });
    // 400,000 characters may need 1.2 MB: each goes alone; the small lines around them batch up.
    const huge = (i: number): string => JSON.stringify({ uid: `h${i}`, text: `${'中'.repeat(200_000)}${'a'.repeat(200_000)}` });
    const expected: string[] = [];
    for (let i = 0; i < 12; i++) {
      const text = i % 3 === 1 ? huge(i) : line(i);
      expected.push(text);
      writer.append(text);
    }
    await writer.close();
    const { lines, files } = await readAll(path);
    expect(lines).toEqual(expected);
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(rotateSize);
  });

  it('keeps each write under maxWriteBytes at whole lines', async () => {
    const path = join(tempDir(), 'chat.log');
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: capture().stream, maxWriteBytes: 1000 });
    const expected = Array.from({ length: 200 }, (_, i) => line(i));
    for (const text of expected) writer.append(text);
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe(`${expected.join('\n')}\n`);
    expect(writer.written).toBe(200);
  });

  it('ends a torn last line left by a crashed process before appending', async () => {
    const path = join(tempDir(), 'chat.log');
    writeFileSync(path, '{"ok":1}\n{"torn":');
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: capture().stream });
    writer.append('{"next":1}');
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe('{"ok":1}\n{"torn":\n{"next":1}\n');
  });

  it('a write error is reported once, counted, and later batches retry', async () => {
    const root = tempDir();
    const dir = join(root, 'Log');
    writeFileSync(dir, 'a file where the directory should be');
    const stderr = capture();
    const writer = new ChatLogWriter({ path: join(dir, 'chat.log'), rotateSize: 0, stderr: stderr.stream });
    for (let round = 0; round < 3; round++) {
      writer.append(line(round));
      writer.append(line(round + 10));
      await writer.flush();
    }
    expect(writer.dropped).toBe(6);
    expect(writer.written).toBe(0);
    const reported = stderr.text().trim().split('\n');
    expect(reported).toHaveLength(1);
    expect(reported[0]).toContain(join(dir, 'chat.log'));
    expect(reported[0]).toMatch(/\((ENOTDIR|EEXIST)\)/);

    rmSync(dir);
    writer.append('{"back":1}');
    await writer.close();
    expect(readFileSync(join(dir, 'chat.log'), 'utf8')).toBe('{"back":1}\n');
    expect(writer.written).toBe(1);
  });

  it('a write that fails half-way is truncated back: no torn line, and written + dropped account for every line', async () => {
    const dir = tempDir();
    const path = join(dir, 'chat.log');
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { write: (data: unknown, offset: number, length: number, ...rest: unknown[]) => Promise<unknown> };
    await probe.close();
    const original = proto.write;
    let calls = 0;
    let failNext = false;
    // Every 7th write of bytes writes half of them, and the write after it fails (a disk that fills up).
    proto.write = function (this: unknown, data: unknown, offset: number, length: number, ...rest: unknown[]) {
      calls++;
      if (failNext) {
        failNext = false;
        return Promise.reject(Object.assign(new Error('no space left (fake)'), { code: 'ENOSPC' }));
      }
      if (Buffer.isBuffer(data) && calls % 7 === 0 && length > 10) {
        failNext = true;
        return original.call(this, data, offset, Math.floor(length / 2), ...rest);
      }
      return original.call(this, data, offset, length, ...rest);
    };
    const stderr = capture();
    const expected: string[] = [];
    try {
      const writer = new ChatLogWriter({ path, rotateSize: 5000, maxWriteBytes: 700, stderr: stderr.stream });
      for (let i = 0; i < 600; i++) {
        expected.push(line(i));
        writer.append(line(i));
        if (i % 50 === 0) await writer.flush();
      }
      await writer.close();
      const { lines } = await readAll(path);
      expect(writer.dropped).toBeGreaterThan(0);
      expect(writer.written + writer.dropped).toBe(600);
      expect(lines).toHaveLength(writer.written);
      // What was written is whole lines, in order, each once.
      let at = 0;
      for (const text of lines) {
        const found = expected.indexOf(text, at);
        expect(found).toBeGreaterThanOrEqual(at);
        at = found + 1;
      }
      expect(stderr.text()).toContain('ENOSPC');
    } finally {
      proto.write = original;
    }
  });

  /** FileHandle's prototype, whose `writev` (and `write`) a test may replace for a while. */
  async function fileHandleProto(dir: string): Promise<{ writev: (...args: unknown[]) => Promise<{ bytesWritten: number }>; write: (...args: unknown[]) => Promise<unknown> }> {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { writev: (...args: unknown[]) => Promise<{ bytesWritten: number }>; write: (...args: unknown[]) => Promise<unknown> };
    await probe.close();
    return proto;
  }

  /** A line of ~1 KB: 1,100 of them fill more than one of the writer's 1 MiB chunks. */
  const kilo = (i: number): string => JSON.stringify({ uid: `k${i}`, text: 'x'.repeat(1000) });

  it('a batch that spans several chunks goes in one writev when it fits before rotation', async () => {
    const dir = tempDir();
    const path = join(dir, 'chat.log');
    const proto = await fileHandleProto(dir);
    const { writev, write } = proto;
    let writevs = 0;
    let writes = 0;
    proto.writev = function (this: unknown, ...args: unknown[]) {
      writevs++;
      return writev.apply(this, args);
    };
    proto.write = function (this: unknown, ...args: unknown[]) {
      writes++;
      return write.apply(this, args);
    };
    try {
      const writer = new ChatLogWriter({ path, rotateSize: 20_000_000, stderr: capture().stream });
      const expected = Array.from({ length: 2500 }, (_, i) => kilo(i));
      for (const text of expected) writer.append(text);
      await writer.close();
      // ~2.5 MB: three chunks, one call.
      expect(writevs).toBe(1);
      expect(writes).toBe(0);
      expect(readFileSync(path, 'utf8')).toBe(`${expected.join('\n')}\n`);
      expect(writer.written).toBe(2500);
    } finally {
      proto.writev = writev;
      proto.write = write;
    }
  });

  it('a writev that writes part goes on from where it stopped, inside a chunk or at its edge', async () => {
    const dir = tempDir();
    const path = join(dir, 'chat.log');
    const proto = await fileHandleProto(dir);
    const { writev } = proto;
    const short = [1_048_576, 5];
    const calls: number[] = [];
    // The first call writes only its first buffer (a chunk's edge), the second 5 bytes of what is left.
    proto.writev = async function (this: { write: (b: Buffer) => Promise<{ bytesWritten: number }> }, ...args: unknown[]) {
      const buffers = args[0] as Buffer[];
      calls.push(buffers.length);
      const limit = short.shift();
      if (limit === undefined) return writev.apply(this, args);
      const joined = Buffer.concat(buffers);
      return this.write(joined.subarray(0, Math.min(limit, buffers[0].length, joined.length)));
    };
    try {
      const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: capture().stream });
      const expected = Array.from({ length: 2500 }, (_, i) => kilo(i));
      for (const text of expected) writer.append(text);
      await writer.close();
      expect(calls.length).toBeGreaterThanOrEqual(3);
      expect(readFileSync(path, 'utf8')).toBe(`${expected.join('\n')}\n`);
      expect(writer.written).toBe(2500);
      expect(writer.dropped).toBe(0);
    } finally {
      proto.writev = writev;
    }
  });

  it('a writev that fails after writing part is truncated back: its batch is dropped and counted, the next one written', async () => {
    const dir = tempDir();
    const path = join(dir, 'chat.log');
    const proto = await fileHandleProto(dir);
    const { writev } = proto;
    let calls = 0;
    // The first call writes half of its first buffer, the second fails (a disk that fills up).
    proto.writev = async function (this: { write: (b: Buffer) => Promise<{ bytesWritten: number }> }, ...args: unknown[]) {
      calls++;
      const buffers = args[0] as Buffer[];
      if (calls === 1) return this.write(buffers[0].subarray(0, Math.floor(buffers[0].length / 2)));
      if (calls === 2) throw Object.assign(new Error('no space left (fake)'), { code: 'ENOSPC' });
      return writev.apply(this, args);
    };
    const stderr = capture();
    try {
      const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: stderr.stream });
      writeFileSync(path, '{"before":1}\n');
      for (let i = 0; i < 2500; i++) writer.append(kilo(i));
      await writer.flush();
      expect(readFileSync(path, 'utf8')).toBe('{"before":1}\n');
      expect(writer.dropped).toBe(2500);
      expect(stderr.text()).toContain('ENOSPC');
      const later = Array.from({ length: 2500 }, (_, i) => kilo(i + 5000));
      for (const text of later) writer.append(text);
      await writer.close();
      expect(readFileSync(path, 'utf8')).toBe(`{"before":1}\n${later.join('\n')}\n`);
      expect(writer.written).toBe(2500);
    } finally {
      proto.writev = writev;
    }
  });

  it('writeWaitingSync writes what waits for its batch at once, synchronously, ending a torn last line first', async () => {
    const path = join(tempDir(), 'chat.log');
    writeFileSync(path, '{"ok":1}\n{"torn":');
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: capture().stream });
    writer.append('{"a":1}');
    writer.appendLines(Buffer.from('{"b":2}\n{"c":3}\n'), 2);
    // No await: a process exiting runs no timer and no callback again.
    writer.writeWaitingSync();
    expect(readFileSync(path, 'utf8')).toBe('{"ok":1}\n{"torn":\n{"a":1}\n{"b":2}\n{"c":3}\n');
    expect(writer.written).toBe(3);
    writer.writeWaitingSync();
    writer.append('{"d":4}');
    await writer.close();
    expect(readFileSync(path, 'utf8')).toBe('{"ok":1}\n{"torn":\n{"a":1}\n{"b":2}\n{"c":3}\n{"d":4}\n');
    expect(writer.written).toBe(4);
  });

  it('writeWaitingSync after a write: on the open file, after what was written; a failure is counted and reported', async () => {
    const dir = tempDir();
    const path = join(dir, 'chat.log');
    const stderr = capture();
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: stderr.stream });
    writer.append('{"first":1}');
    await writer.flush();
    writer.append('{"second":2}');
    writer.writeWaitingSync();
    expect(readFileSync(path, 'utf8')).toBe('{"first":1}\n{"second":2}\n');
    await writer.close();

    const blocked = join(dir, 'Log');
    writeFileSync(blocked, 'a file where the directory should be');
    const failing = new ChatLogWriter({ path: join(blocked, 'chat.log'), rotateSize: 0, stderr: stderr.stream });
    failing.append('{"lost":1}');
    failing.writeWaitingSync();
    expect(failing.dropped).toBe(1);
    expect(failing.written).toBe(0);
    expect(stderr.text()).toMatch(/cannot write .*chat\.log \((ENOTDIR|EEXIST)\)/);
  });

  it('close flushes; lines after close are dropped and counted', async () => {
    const path = join(tempDir(), 'chat.log');
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: capture().stream });
    writer.append('{"a":1}');
    await writer.close();
    writer.append('{"b":1}');
    await writer.flush();
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n');
    expect(writer.dropped).toBe(1);
  });
});
