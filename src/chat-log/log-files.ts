/**
 * Names of the chat log and its rotated siblings. Rotation scheme: the active file is always
 * `chat.log`; a full one is renamed to `chat.N.log` with N one above the highest existing number.
 * So numbers only grow — the highest is the newest, `chat.log` newer still — and a rotation is
 * a single rename: nothing is shifted, nothing can be overwritten by a half-done shift.
 * Chronological order is therefore `chat.1.log, chat.2.log, …, chat.log`.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

/** The active log's name in its directory. */
export const ACTIVE_LOG_NAME = 'chat.log';

function parts(active: string): { dir: string; stem: string; ext: string } {
  const base = basename(active);
  const ext = extname(base);
  return { dir: dirname(active), stem: base.slice(0, base.length - ext.length), ext };
}

/** `Log/chat.log`, 3 → `Log/chat.3.log`. */
export function rotatedPath(active: string, index: number): string {
  const { dir, stem, ext } = parts(active);
  return join(dir, `${stem}.${index}${ext}`);
}

export interface RotatedFile {
  readonly path: string;
  readonly index: number;
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The rotated siblings of `active`, oldest first; none when the directory does not exist. */
export async function listRotated(active: string): Promise<RotatedFile[]> {
  const { dir, stem, ext } = parts(active);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const pattern = new RegExp(`^${escapeRegExp(stem)}\\.(\\d+)${escapeRegExp(ext)}$`);
  const files: RotatedFile[] = [];
  for (const name of names) {
    const match = pattern.exec(name);
    if (match !== null) files.push({ path: join(dir, name), index: Number(match[1]) });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** The number the next rotation gets: one above the highest in the directory. */
export async function nextRotationIndex(active: string): Promise<number> {
  const files = await listRotated(active);
  return files.length === 0 ? 1 : files[files.length - 1].index + 1;
}
