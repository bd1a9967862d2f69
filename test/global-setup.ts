// Every temporary directory a test makes (chat logs, configs, gateways' working directories) is
// made under one root for the run, and the root is removed when the run ends, so `npm test` leaves
// nothing in the machine's temporary directory however many suites start gateways.
// The test workers inherit TMPDIR, and os.tmpdir() reads it on each call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'aifwd-test-run-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = root;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch {
      // A process still writing into it: what is left is under one name, aifwd-test-run-*.
    }
  };
}
