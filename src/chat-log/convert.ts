/**
 * `aifwd convert`'s work: reads the chat log and its rotated siblings oldest first, line by line
 * (logs can be large: nothing is loaded whole), pairs records by `uid`, and streams one output line
 * per usable pair (convert-format.ts). Only exchanges still waiting for their other half are held
 * in memory. Bad lines are counted, never fatal; only a missing log or an unwritable target fail.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { JsonObject } from '../core/chat-reply.js';
import { ConvertError } from './convert-error.js';
import { type ConvertFormat, formatPair, readRecord } from './convert-format.js';
import { ACTIVE_LOG_NAME, listRotated } from './log-files.js';

export { ConvertError };

export interface ConvertOptions {
  /** The active log (`./Log/chat.log`) or its directory; rotated siblings are read too. */
  logPath: string;
  targetPath: string;
  format: ConvertFormat;
  /** Called as input is read: bytes so far, bytes in all files. */
  onProgress?: (read: number, total: number) => void;
}

export interface ConvertReport {
  /** Files read, oldest first. */
  readonly files: readonly string[];
  readonly target: string;
  /** Output lines (conversations) written. */
  readonly written: number;
  /** Records whose other half is not in the log. */
  readonly unpaired: number;
  /** Lines that are not a JSON record with `type` and `uid`. */
  readonly malformed: number;
  /** Pairs left out: error, abort, unparsed, no reply or no conversation. */
  readonly skipped: number;
}

const errCode = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? String(err);

/** The log files to read, oldest first; throws {@link ConvertError} when there are none. */
export async function logFiles(logPath: string): Promise<{ files: string[]; total: number }> {
  let active = resolve(logPath);
  const info = await stat(active).catch(() => undefined);
  const directory = info?.isDirectory() === true;
  if (directory) active = join(active, ACTIVE_LOG_NAME);
  const rotated = await listRotated(active).catch((err: unknown) => {
    throw new ConvertError(`cannot read the directory of ${logPath} (${errCode(err)})`);
  });
  const candidates = [...rotated.map((file) => file.path), active];
  const files: string[] = [];
  let total = 0;
  for (const file of candidates) {
    const fileInfo = await stat(file).catch(() => undefined);
    if (fileInfo?.isFile() !== true) continue;
    files.push(file);
    total += fileInfo.size;
  }
  if (files.length === 0) {
    throw new ConvertError(directory ? `chat log not found: the directory ${logPath} holds no ${ACTIVE_LOG_NAME} and no rotated sibling of it` : `chat log not found: ${logPath}`);
  }
  return { files, total };
}

/** Converts the log per `options`; see the file comment. */
export async function convertChatLog({ logPath, targetPath, format, onProgress }: ConvertOptions): Promise<ConvertReport> {
  const { files, total } = await logFiles(logPath);
  const target = resolve(targetPath);
  if (files.includes(target)) throw new ConvertError(`--target-path ${targetPath} is one of the log files it reads`);
  await mkdir(dirname(target), { recursive: true }).catch((err: unknown) => {
    throw new ConvertError(`cannot create the directory of ${targetPath} (${errCode(err)})`);
  });
  const out = createWriteStream(target);
  try {
    await once(out, 'open');
  } catch (err) {
    throw new ConvertError(`cannot write ${targetPath} (${errCode(err)})`);
  }

  const requests = new Map<string, JsonObject>();
  const responses = new Map<string, JsonObject>();
  let written = 0;
  let malformed = 0;
  let skipped = 0;
  let unpaired = 0;
  let read = 0;

  const emit = async (request: JsonObject, response: JsonObject): Promise<void> => {
    const result = formatPair(request, response, format);
    if ('skip' in result) {
      skipped++;
      return;
    }
    written++;
    if (!out.write(`${result.line}\n`)) await once(out, 'drain');
  };

  try {
    for (const file of files) {
      const input = createReadStream(file);
      if (onProgress !== undefined) input.on('data', (chunk) => onProgress((read += chunk.length), total));
      const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of lines) {
        if (line.trim() === '') continue;
        const parsed = readRecord(line);
        if (parsed === undefined) {
          malformed++;
          continue;
        }
        const { kind, uid, record } = parsed;
        const mine = kind === 'request' ? requests : responses;
        const other = kind === 'request' ? responses : requests;
        const partner = other.get(uid);
        if (partner === undefined) {
          // A repeated uid: the earlier record stays unpaired.
          if (mine.has(uid)) unpaired++;
          mine.set(uid, record);
          continue;
        }
        other.delete(uid);
        await (kind === 'request' ? emit(record, partner) : emit(partner, record));
      }
    }
    unpaired += requests.size + responses.size;
    out.end();
    await once(out, 'finish');
  } catch (err) {
    out.destroy();
    if (err instanceof ConvertError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConvertError(code === undefined ? `convert failed: ${String(err)}` : `cannot convert ${logPath} to ${targetPath} (${code})`);
  }
  return { files, target, written, unpaired, malformed, skipped };
}
