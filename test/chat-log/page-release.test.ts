import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pageDropper } from '../../src/chat-log/file-advice.js';
import { PageRelease, type PageReleaseFile, RELEASE_BYTES } from '../../src/chat-log/page-release.js';
import { ChatLogWriter } from '../../src/chat-log/writer.js';
import { cachedPages, hasFincore } from '../helpers/page-cache.js';

/** A file whose syncs wait for the test to settle them, recording what was dropped. */
class FakeFile implements PageReleaseFile {
  readonly drops: [number, number][] = [];
  readonly syncs: { resolve: () => void; reject: (err: Error) => void }[] = [];
  readonly failures: unknown[] = [];

  sync(): Promise<void> {
    return new Promise((resolve, reject) => this.syncs.push({ resolve, reject }));
  }

  drop(offset: number, length: number): void {
    this.drops.push([offset, length]);
  }

  syncFailed(err: unknown): void {
    this.failures.push(err);
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('PageRelease', () => {
  it('syncs and drops nothing until threshold bytes wait, then everything appended so far', async () => {
    const file = new FakeFile();
    const release = new PageRelease(file, 100, 1);
    release.appended(60);
    release.appended(99);
    expect(file.syncs).toHaveLength(0);
    release.appended(130);
    expect(file.syncs).toHaveLength(1);
    // Nothing is dropped before the sync is done: dirty pages are not the kernel's to take.
    expect(file.drops).toEqual([]);
    file.syncs[0].resolve();
    await tick();
    expect(file.drops).toEqual([[0, 130]]);
    expect(release.released).toBe(130);
  });

  it('runs one release at a time; the next takes the range from where the last ended', async () => {
    const file = new FakeFile();
    const release = new PageRelease(file, 100, 1);
    release.appended(100);
    release.appended(250);
    release.appended(400);
    expect(file.syncs).toHaveLength(1);
    file.syncs[0].resolve();
    await tick();
    expect(file.drops).toEqual([[0, 100]]);
    release.appended(199);
    expect(file.syncs).toHaveLength(1);
    release.appended(420);
    expect(file.syncs).toHaveLength(2);
    file.syncs[1].resolve();
    await tick();
    expect(file.drops).toEqual([
      [0, 100],
      [100, 320],
    ]);
  });

  it('finish waits for the release under way, then releases the rest of the file', async () => {
    const file = new FakeFile();
    const release = new PageRelease(file, 100, 1);
    release.appended(150);
    let finished = false;
    const done = release.finish(180).then(() => {
      finished = true;
    });
    await tick();
    expect(file.syncs).toHaveLength(1);
    file.syncs[0].resolve();
    await tick();
    expect(file.syncs).toHaveLength(2);
    expect(finished).toBe(false);
    file.syncs[1].resolve();
    await done;
    expect(file.drops).toEqual([
      [0, 150],
      [150, 30],
    ]);
  });

  it('stops short of the page the next append writes into; finish takes the file to its end', async () => {
    const file = new FakeFile();
    const release = new PageRelease(file, 8192, 4096);
    release.appended(12_000);
    file.syncs[0].resolve();
    await tick();
    expect(file.drops).toEqual([[0, 8192]]);
    expect(release.released).toBe(8192);
    const done = release.finish(12_000);
    file.syncs[1].resolve();
    await done;
    expect(file.drops).toEqual([
      [0, 8192],
      [8192, 3808],
    ]);
  });

  it('finish with nothing left to release syncs nothing', async () => {
    const file = new FakeFile();
    const release = new PageRelease(file, 100, 1);
    await release.finish(0);
    expect(file.syncs).toHaveLength(0);
  });

  it('drops nothing after a failed sync, tells of it, never rejects, and moves on to later bytes', async () => {
    const file = new FakeFile();
    const release = new PageRelease(file, 100, 1);
    release.appended(120);
    const eio = new Error('EIO');
    file.syncs[0].reject(eio);
    await tick();
    expect(file.drops).toEqual([]);
    expect(file.failures).toEqual([eio]);
    expect(release.released).toBe(120);
    const done = release.finish(150);
    await tick();
    file.syncs[1].resolve();
    await expect(done).resolves.toBeUndefined();
    expect(file.drops).toEqual([[120, 30]]);
  });
});

describe('pageDropper', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aifwd-advice-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!hasFincore)('drops a synced file’s pages from the page cache and keeps its bytes', () => {
    const path = join(dir, 'chat.log');
    const fd = openSync(path, 'a+');
    const bytes = Buffer.alloc(4 * 1024 * 1024, 'x');
    writeSync(fd, bytes);
    const drop = pageDropper(fd);
    expect(drop).not.toBeNull();
    // Dirty pages stay: only written-back pages can be dropped.
    execFileSync('sync', [path]);
    expect(cachedPages(path)).toBeGreaterThan(1000);
    expect(drop?.(0, 0)).toBe(true);
    expect(cachedPages(path)).toBeLessThan(10);
    closeSync(fd);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it('gives no dropper for a descriptor that is not open', () => {
    expect(pageDropper(1_000_000)).toBeNull();
  });

  it('keeps Node’s warning about WASI off stderr, and lets every other warning through', () => {
    const module = new URL('../../dist/chat-log/file-advice.js', import.meta.url).href;
    const script = `
      import { openSync } from 'node:fs';
      const { pageDropper } = await import(${JSON.stringify(module)});
      const drop = pageDropper(openSync(${JSON.stringify(join(dir, 'x.log'))}, 'a+'));
      console.log(typeof drop, drop(0, 0));
      process.emitWarning('a warning of the test', 'TestWarning');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stdout.trim()).toBe('function true');
    expect(child.stderr).not.toMatch(/WASI|ExperimentalWarning/);
    expect(child.stderr).toMatch(/TestWarning: a warning of the test/);
  });
});

describe('ChatLogWriter and the page cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'aifwd-release-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Appends `count` lines of about 1 KB, flushing every `batch` of them (each flush a write); the lines. */
  async function appendLines(writer: ChatLogWriter, count: number, batch = 1000): Promise<string[]> {
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const line = JSON.stringify({ uid: `u-${i}`, content: 'x'.repeat(1000) });
      lines.push(line);
      writer.append(line);
      if (i % batch === batch - 1) await writer.flush();
    }
    return lines;
  }

  /** FileHandle's `datasync`, which the writer's syncs call: FileHandle is not exported, so from a handle. */
  async function fileHandlePrototype(): Promise<{ datasync(): Promise<void> }> {
    const probe = await open(join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
    await probe.close();
    return proto;
  }

  it.skipIf(!hasFincore)('leaves none of a closed log’s pages cached, every line intact', async () => {
    const path = join(dir, 'chat.log');
    const writer = new ChatLogWriter({ path, rotateSize: 0, stderr: new PassThrough() });
    const lines = await appendLines(writer, 10_000);
    await writer.close();
    expect(statSync(path).size).toBeGreaterThan(2 * RELEASE_BYTES);
    expect(cachedPages(path)).toBeLessThan(10);
    expect(readFileSync(path, 'utf8')).toBe(lines.map((line) => `${line}\n`).join(''));
  });

  it('a slow sync holds up neither the next file’s writes nor, until close, anything else', async () => {
    const proto = await fileHandlePrototype();
    let syncs = 0;
    let synced = 0;
    const slow = vi.spyOn(proto, 'datasync').mockImplementation(async () => {
      syncs++;
      await new Promise((resolve) => setTimeout(resolve, 400));
      synced++;
    });
    try {
      const path = join(dir, 'chat.log');
      const writer = new ChatLogWriter({ path, rotateSize: 1024 * 1024, stderr: new PassThrough() });
      const started = Date.now();
      await appendLines(writer, 5_000, 500);
      // ~5 MB over 1 MiB files: four rotations, each with a sync of 400 ms, none waited for.
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(writer.written).toBe(5_000);
      expect(syncs).toBeGreaterThanOrEqual(4);
      expect(synced).toBeLessThan(syncs);
      await writer.close();
      expect(synced).toBe(syncs);
      expect(readdirSync(dir).filter((name) => name.startsWith('chat')).length).toBeGreaterThanOrEqual(5);
    } finally {
      slow.mockRestore();
    }
  });

  it('reports a sync the disk refused on stderr, a line per sync at most, and keeps writing', async () => {
    const full = vi.spyOn(await fileHandlePrototype(), 'datasync').mockRejectedValue(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    try {
      const stderr = new PassThrough();
      let said = '';
      stderr.on('data', (chunk: Buffer) => (said += chunk.toString()));
      const path = join(dir, 'chat.log');
      const writer = new ChatLogWriter({ path, rotateSize: 0, stderr });
      await appendLines(writer, 10_000);
      await writer.close();
      expect(full.mock.calls.length).toBeGreaterThanOrEqual(2);
      const lines = said.trim().split('\n');
      expect(lines[0]).toBe(`aifwd: chat log: cannot write ${path} (ENOSPC); records written before may be lost (the disk refused them when they were synced)`);
      expect(lines.length).toBeLessThanOrEqual(full.mock.calls.length);
      // The writes themselves went on: every line is in the file.
      expect(writer.written).toBe(10_000);
      expect(readFileSync(path, 'utf8').split('\n').filter(Boolean)).toHaveLength(10_000);
    } finally {
      full.mockRestore();
    }
  });

  it.skipIf(!hasFincore)('releases the open file as it grows, and each rotated file whole', async () => {
    const path = join(dir, 'chat.log');
    const writer = new ChatLogWriter({ path, rotateSize: 3 * 1024 * 1024, stderr: new PassThrough() });
    const lines = await appendLines(writer, 12_000);
    // Rotated files are released as the writer moves on from them (in the background), before it closes.
    const rotated = readdirSync(dir).filter((name) => name !== 'chat.log');
    expect(rotated.length).toBeGreaterThanOrEqual(3);
    const cachedRotated = (): number => Math.max(...rotated.map((name) => cachedPages(join(dir, name))));
    for (let i = 0; i < 100 && cachedRotated() >= 10; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cachedRotated()).toBeLessThan(10);
    await writer.close();
    const all = ['chat.log', ...rotated].map((name) => readFileSync(join(dir, name), 'utf8')).join('');
    expect(all.split('\n').filter(Boolean).sort()).toEqual([...lines].sort());
  });
});
