/**
 * What the kernel holds of a file in its page cache, by util-linux's `fincore` (Debian's
 * util-linux-extra, which .ci/run installs): for the chat log's page release (src/chat-log/page-release.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';

/** Whether `fincore` is on this machine: the assertions that need it are skipped where it is not. */
export const hasFincore = spawnSync('fincore', ['--version']).status === 0;

/** Pages of `path` in the page cache. */
export function cachedPages(path: string): number {
  return Number(execFileSync('fincore', ['--noheadings', '--raw', '--output', 'PAGES', path], { encoding: 'utf8' }).trim());
}
