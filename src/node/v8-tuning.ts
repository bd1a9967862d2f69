/**
 * V8 settings for a process that serves: `aifwd run` applies them; a program that embeds
 * createGateway decides for its own process (exported as `tuneV8ForServing`).
 *
 * Allocation-site pretenuring is turned off. V8 watches which allocation sites' objects survive
 * young-generation collections and, past a threshold, allocates that site's objects directly in the
 * old generation from then on. A gateway's objects live for one exchange, but a burst of concurrent
 * requests into a young generation the memory reducer had shrunk (a process that was idle, as
 * after start-up) makes them look long-lived: measured (BENCHMARKS.md, measure 2), one site was
 * tenured during a 50-connection burst, and for the rest of the process's life its dead objects
 * in the old generation kept what they pointed to alive through every young collection. At one
 * connection that was 1.1 MB surviving and promoted per collection: pauses of 2.2–2.6 ms instead
 * of ~1 ms, and a full collection every ~1.3 s instead of one in ~5 s.
 */
import { setFlagsFromString } from 'node:v8';

/** Applies the settings above; call before serving (a site tenured earlier would stay tenured). */
export function tuneV8ForServing(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}
