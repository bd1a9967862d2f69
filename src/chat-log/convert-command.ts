/**
 * `aifwd convert [--log-path ./Log/chat.log] [--target-path ./Log/chat.jsonl] [--format openai|seed]`:
 * checks the options, runs the conversion, shows progress on a terminal for large logs, and prints
 * one summary line on stderr. Failures the user must fix are {@link ConvertError}s (the CLI prints
 * `aifwd: <message>` and exits 2).
 */
import process from 'node:process';
import { CONVERT_FORMATS, type ConvertFormat } from './convert-format.js';
import { convertChatLog, type ConvertReport } from './convert.js';
import { ConvertError } from './convert-error.js';

export interface RunConvertOptions {
  logPath?: string;
  targetPath?: string;
  /** `openai` (default) or `seed`. */
  format?: string;
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** Logs at least this large get a progress line (on a terminal only). */
const PROGRESS_MIN_BYTES = 32 * 1024 * 1024;

function parseFormat(format: string): ConvertFormat {
  const value = format.trim().toLowerCase();
  const known = CONVERT_FORMATS.find((name) => name === value);
  if (known === undefined) throw new ConvertError(`--format "${format}": expected ${CONVERT_FORMATS.join(' or ')}`);
  return known;
}

/** A `\r`-rewritten percentage, redrawn only when the whole percent changes. */
function progressLine(stderr: NodeJS.WritableStream): { update: (read: number, total: number) => void; clear: () => void } {
  let shown = -1;
  return {
    update(read, total) {
      if (total < PROGRESS_MIN_BYTES) return;
      const percent = Math.floor((read / total) * 100);
      if (percent === shown) return;
      shown = percent;
      stderr.write(`\raifwd convert: ${percent}% of ${(total / 1024 / 1024).toFixed(0)} MB`);
    },
    clear() {
      if (shown >= 0) stderr.write('\r\x1b[K');
    },
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The summary line of a finished conversion. */
export function summaryLine(report: ConvertReport, format: ConvertFormat, targetPath: string): string {
  return (
    `aifwd convert: ${plural(report.written, 'conversation')} written to ${targetPath} (${format}) from ${plural(report.files.length, 'file')}; ` +
    `${report.unpaired} unpaired, ${report.malformed} malformed, ${report.skipped} skipped (error, aborted or no reply)\n`
  );
}

/** Runs `aifwd convert`. Throws {@link ConvertError} for a missing log, a bad format or an unwritable target. */
export async function runConvert({
  logPath = './Log/chat.log',
  targetPath = './Log/chat.jsonl',
  format = 'openai',
  stderr = process.stderr,
}: RunConvertOptions = {}): Promise<ConvertReport> {
  const chosen = parseFormat(format);
  const progress = stderr.isTTY === true ? progressLine(stderr) : undefined;
  let report: ConvertReport;
  try {
    report = await convertChatLog({ logPath, targetPath, format: chosen, onProgress: progress?.update });
  } finally {
    progress?.clear();
  }
  stderr.write(summaryLine(report, chosen, targetPath));
  return report;
}
