/**
 * The contract between the orchestrator and the helper processes it starts (upstreams, clients):
 * a helper prints `LISTENING <port>` once ready, writes one JSON line per result (`RESULT {...}`),
 * and exits on SIGTERM/SIGINT.
 */
import type { Server } from 'node:net';

/** Prefix of the line a server helper prints once it accepts connections. */
export const LISTENING = 'LISTENING ';
/** Prefix of a JSON result line printed by a client helper. */
export const RESULT = 'RESULT ';

/** Prints the server's port in the form the orchestrator waits for. */
export function announceListening(server: Server): void {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP');
  process.stdout.write(`${LISTENING}${address.port}\n`);
}

/** Prints one result object as a `RESULT` JSON line. */
export function printResult(result: object): void {
  process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
}

/** Exits at once on SIGTERM/SIGINT (helpers hold no state worth saving). */
export function exitOnSignals(): void {
  process.once('SIGTERM', () => process.exit(0));
  process.once('SIGINT', () => process.exit(0));
}

/** Value of `--name value` in argv, or the default. */
export function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at !== -1 && at + 1 < process.argv.length ? process.argv[at + 1] : fallback;
}

/** Numeric `--name value` (throws when not a finite number). */
export function numArg(name: string, fallback: number): number {
  const value = Number(arg(name, String(fallback)));
  if (!Number.isFinite(value)) throw new Error(`--${name}: not a number`);
  return value;
}
