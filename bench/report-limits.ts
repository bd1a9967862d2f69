/**
 * The "what limits each number" paragraphs of BENCHMARKS.md: one text template per measure, filled
 * with this run's numbers, choosing its sentences by what the run observed (which core was
 * saturated, whether the log was written, whether RSS drifted, …).
 */
import type { ProfileResult } from './scenarios/profile.js';
import type { SseResult } from './scenarios/sse.js';
import type { BenchResults, Outcome } from './results.js';
import type { Summary } from './stats.js';

const MB = 1024 * 1024;
const n0 = (v: number): string => Math.round(v).toLocaleString('en-US');
const n1 = (v: number): string => v.toFixed(1);
/** Ratios: two decimals, as the table shows them. */
const n2 = (v: number): string => v.toFixed(2);
const pct = (v: number): string => `${Math.round(v * 100)}%`;
const ms = (us: number): string => `${(us / 1000).toFixed(3)} ms`;
const med = (s: Summary): number => s.median;

function section<T>(title: string, o: Outcome<T>, body: (v: T) => string): string {
  return `### ${title}\n\n${o.ok ? body(o.value) : `Not measured in this run: ${o.error.split('\n')[0]}`}\n`;
}

function profileText(p: Outcome<ProfileResult>): string {
  if (!p.ok) return '';
  const s = p.value.summary;
  const areas = s.areas
    .filter((a) => a.share >= 0.02)
    .map((a) => `${a.area} ${pct(a.share)}`)
    .join(', ');
  const top = s.functions
    .slice(0, 8)
    .map((f) => `\`${f.name}\` ${f.location === '' ? '' : `(${f.location}) `}${pct(f.share)}`)
    .join('; ');
  return ` A CPU profile of aifwd under this load (\`${p.value.file}\`, ${n0(p.value.rps)} req/s with the profiler on, main thread idle ${pct(s.idleShare)} of the time) splits its busy time into ${areas}. The top functions by self time: ${top}. Regenerate it alone with \`node bench/dist/profile.js ${p.value.kind}\`.`;
}

function throughput(r: BenchResults): string {
  return section('1. Non-stream throughput and CPU per request', r.throughput, (t) => {
    const nginxSaturated = med(t.busy.nginx) >= 0.9;
    const aifwdSaturated = med(t.busy.aifwd) >= 0.9;
    const limitNginx = nginxSaturated
      ? `nginx saturated CPU 1 (${pct(med(t.busy.nginx))}), so its ${n0(med(t.rps.nginx))} req/s is the inverse of its ${n1(med(t.cpuPerRequestUs.nginx))} µs of CPU per request.`
      : `nginx used only ${pct(med(t.busy.nginx))} of CPU 1: at ${n0(med(t.rps.nginx))} req/s wrk and the upstream nginx on CPU 0 are the limit, so nginx's throughput here understates it; its ${n1(med(t.cpuPerRequestUs.nginx))} µs of CPU per request is measured all the same.`;
    const limitAifwd = aifwdSaturated
      ? `aifwd saturated CPU 1 (${pct(med(t.busy.aifwd))}): its ${n0(med(t.rps.aifwd))} req/s is set by its ${n1(med(t.cpuPerRequestUs.aifwd))} µs of CPU per request, ${n1(med(t.ratio))}x nginx's.`
      : `aifwd used ${pct(med(t.busy.aifwd))} of CPU 1 at ${n0(med(t.rps.aifwd))} req/s (${n1(med(t.cpuPerRequestUs.aifwd))} µs per request, ${n1(med(t.ratio))}x nginx's).`;
    const sysN = med(t.systemPerRequestUs.nginx);
    const sysA = med(t.systemPerRequestUs.aifwd);
    const userN = med(t.cpuPerRequestUs.nginx) - sysN;
    const userA = med(t.cpuPerRequestUs.aifwd) - sysA;
    const split = `Split by /proc into kernel and user time: nginx ${n1(sysN)} µs in the kernel + ${n1(userN)} µs in user space, aifwd ${n1(sysA)} + ${n1(userA)} µs. The kernel part is the system calls — on loopback a write also delivers the bytes to the receiving socket — ${Math.abs(sysA - sysN) <= 0.25 * sysN ? 'and is about the same for both, so the gap is user-space work' : sysA > sysN ? `and is ${n1(sysA - sysN)} µs larger for aifwd (more or costlier system calls per request), next to ${n1(userA - userN)} µs more in user space` : `and is smaller for aifwd, so the whole gap is user-space work`}.`;
    return `Direct, wrk and the upstream nginx share CPU 0 and reach ${n0(med(t.rps.direct))} req/s (the upstream spends ${n1(med(t.cpuPerRequestUs.upstream))} µs per request): that is the most any proxy can be fed on this machine. ${limitNginx} ${limitAifwd} ${split} Per request aifwd parses the client's request and writes its response with its own HTTP/1.1 server (node:http's costs about twice the CPU of a plain socket server), writes the upstream request and parses the upstream response with its HTTP/1.1 client, and runs its pipeline (route, IP check, header filtering, key swap) in between — JavaScript on one thread, where nginx does the same work in C without a garbage collector. Under this load it holds the whole messages an event-loop turn writes and sends them one after the other once the turn's reads are handled, so the kernel's TCP work and the wake-ups of the processes on CPU 0 come in bursts rather than between requests (\`src/node/turn-writes.ts\`; by hand, two builds loaded at once: 1.03–1.12x the requests of writing each message at once, median 1.05x over 10 rounds).${profileText(r.profile)}`;
  });
}

function latency(r: BenchResults): string {
  return section('2. Added latency at one connection', r.latency, (l) => {
    const aTail = med(l.p99Us.aifwd) - med(l.p50Us.aifwd);
    const nTail = med(l.p99Us.nginx) - med(l.p50Us.nginx);
    const extra = med(l.addedP50Us.aifwd) - med(l.addedP50Us.nginx);
    const cpuGap = r.throughput.ok ? med(r.throughput.value.cpuPerRequestUs.aifwd) - med(r.throughput.value.cpuPerRequestUs.nginx) : Number.NaN;
    const gapText = Number.isNaN(cpuGap) ? '' : ` (measure 1 puts aifwd's extra CPU time per request at ${n0(cpuGap)} µs)`;
    const hops = med(l.addedP50Us.nginx) > 110
      ? ` nginx's ${ms(med(l.addedP50Us.nginx))} is more than the 0.11 ms the issue measured on a quieter day: most of a proxy's added latency here is the wake-ups of processes on the other core, which are slow in this virtual machine, and the same for both proxies.`
      : '';
    const aifwdRps = l.samples.filter((x) => x.label === 'aifwd').map((x) => x.rps);
    const intervalUs = aifwdRps.length === 0 ? Number.NaN : 1e6 / aifwdRps.reduce((a, b) => a + b, 0) * aifwdRps.length;
    const raw = l.raw;
    const rawText = `aifwd p99 ${ms(med(raw.p99Us.aifwd))} and p99.9 ${ms(med(raw.p999Us.aifwd))}, with ${n0(med(raw.over1ms.aifwd))} of ${n0(r.settings.rawLatencyRequests)} requests over 1 ms (nginx: ${ms(med(raw.p99Us.nginx))}, ${ms(med(raw.p999Us.nginx))}, ${n0(med(raw.over1ms.nginx))}; direct: ${ms(med(raw.p99Us.direct))}, ${ms(med(raw.p999Us.direct))}, ${n0(med(raw.over1ms.direct))})`;
    return `With one connection nothing queues: directly, a request costs ${n0(med(l.p50Us.direct))} µs p50 (wrk and the upstream, both on CPU 0). A proxy adds a trip to the other core and back on each side — client to proxy, proxy to upstream — and its own work in between.${hops} aifwd adds ${ms(med(l.addedP50Us.aifwd))}, ${n0(extra)} µs more than nginx: its longer critical path in JavaScript${gapText}. Every target is warmed up first at 50 connections, then at one (${r.settings.warmupSeconds} s each), because a fresh aifwd keeps optimising code (V8's JIT) for about its first 40,000 requests at one connection.

The p99 is wrk's, and wrk corrects for coordinated omission: after a run, every latency of at least twice the mean time between requests (${Number.isNaN(intervalUs) ? 'about 0.17 ms' : `${n0(intervalUs)} µs`} here) adds samples at that latency minus one, two, … mean intervals, as if the requests the stall held back had been sent on schedule. At one connection a stall of 2 ms so counts as about ten samples, and stalls in a tenth of a percent of the requests set wrk's p99 (checked by hand: a server that answers in 63 µs but stalls 1.3 ms once in 700 requests gets p99 1.49 ms from wrk). That is the right figure for the target — a request that arrives during a stall waits for it — but it is not a request's own time: the bench's own client (\`bench/clients/latency.ts\`), which times every request as it was and adds nothing, measured ${rawText}. (p99 − p50 by wrk: ${n0(aTail)} µs for aifwd, ${n0(nTail)} µs for nginx.)

aifwd's stalls are its garbage collector's: young-generation collections at one connection and, before 2026-11-28, a full one every few seconds; nginx collects no garbage. Traced with \`--trace-gc-nvp\` on 2026-11-27, two things made them long. First, V8's allocation-site pretenuring: a gateway process that sat idle after start-up (as the bench's does while the other targets are measured) had its young generation shrunk by V8's memory reducer, the 50-connection warm-up then made one per-exchange allocation site look long-lived, and V8 allocated that site's objects in the old generation for the rest of the process's life. Their dead old objects kept what they pointed to alive through every young collection: at one connection 1.1 MB survived and was promoted each time, pauses were 2.2–2.6 ms instead of ~1 ms, a full collection came every ~1.3 s, and wrk's p99 read ~2 ms (the "some processes are slow" of earlier runs: whether a site was tenured depended on the burst). \`aifwd run\` now turns pretenuring off (src/node/v8-tuning.ts). It costs no throughput: two builds sharing CPU 1 and loaded at once, with and without it, gave 0.98–1.00x with the new build started second and 1.00–1.03x with it started first. Second, freeing ArrayBuffers: of a ~1.3 ms young collection, 0.84 ms went to freeing ArrayBuffers one by one, one per socket read — Node makes one for every read of a client's socket (node:net offers a server no \`onread\`), and aifwd copied every upstream read into another; small upstream reads now go into Buffer's shared pool (0.57 ms). Since 2026-11-28 the client's sockets read into one shared buffer as well (src/node/socket-reads.ts does for an accepted socket what Node's Socket constructor does with \`onread\`), and each read is copied into the pool: traced at one connection, the mean young-collection pause went from 0.93 to 0.55 ms, of which freeing ArrayBuffers from 0.53 to 0.18 ms, and a collection comes about every 1,500 requests. Skipping the 'data' events' stream machinery also cut user CPU per request under load (two builds loaded at once: 1.07–1.09x the requests, 12.1–13.1 to 10.8–11.6 µs of user time). Third, full collections: at one connection the old generation grew by ~1.4 MB/s although nothing survived there, and a full collection (4–6 ms, after incremental marking steps of up to 3 ms) came every ~3 s. perf uprobes on V8's old-space allocation (2026-11-28) found the source: a JavaScript \`Set\` that lives as long as the process, the upstream pool's busy connections, gained and lost a member per request, and V8 rebuilds a Set's table as deleted entries fill it or as it shrinks — in the old generation, where that Set lives. Such sets are now arrays in which each member keeps its own index (src/core/slot-set.ts): by hand, old space stopped growing at one connection, 6 s of load brought no full collection (7 with the chat log on, before), wrk's p99 at one connection fell from a median of 264 to 114 µs (6 rounds of 5 s, the two builds alternating), and two builds loaded at once at 50 connections gave 1.02–1.08x the requests.`;
  });
}

/** A quartile gap from which the first events count as two groups, in µs. */
const GROUP_GAP_US = 80;

/**
 * Measure 3's first-byte sentences when both proxies' first events fall into two groups (their
 * quartiles ≥ GROUP_GAP_US apart): the p50 then says which group is the larger, and the fast
 * group's quartile what the proxy's own work adds. Null otherwise, or for results without quartiles.
 */
function firstByteGroups(s: SseResult): string | null {
  const p25 = s.ttfbP25Us;
  const p75 = s.ttfbP75Us;
  if (p25 === undefined || p75 === undefined) return null;
  const gap = (target: 'nginx' | 'aifwd'): number => med(p75[target]) - med(p25[target]);
  if (gap('nginx') < GROUP_GAP_US || gap('aifwd') < GROUP_GAP_US) return null;
  const own = med(p25.aifwd) - med(p25.nginx);
  const slow = med(p75.aifwd) - med(p75.nginx);
  const cause = Math.abs(slow) <= 0.2 * med(p75.nginx)
    ? 'The slow group is about as slow through nginx, so it is not a proxy\'s code'
    : `The slow group is ${n0(Math.abs(slow))} µs ${slow > 0 ? 'slower' : 'faster'} through aifwd than through nginx`;
  return `at one connection the first events through either proxy fall into two groups here, some ${n0(Math.min(gap('nginx'), gap('aifwd')))}–${n0(Math.max(gap('nginx'), gap('aifwd')))} µs apart: nginx's quartiles are ${n0(med(p25.nginx))} and ${n0(med(p75.nginx))} µs, aifwd's ${n0(med(p25.aifwd))} and ${n0(med(p75.aifwd))} µs (direct: ${n0(med(p25.direct))} and ${n0(med(p75.direct))} µs). Which group holds the p50 changes from run to run — by hand on 2026-11-28, four runs of 2,000 requests alternating the two proxies gave nginx p50s of 59–68 µs with p75s of 201–218 µs, and aifwd p50s of 66–182 µs with p75s of 139–206 µs — so the two p50 overheads can differ by a group's gap while neither proxy's work changes. ${cause}; the likely cause of the two groups is this VM: on the way to the first event a proxy waits three times for a process on the other virtual CPU (the request to the proxy, the request to the upstream, the upstream's head back). In the fast group aifwd's first event comes ${own >= 0 ? `${n0(own)} µs after nginx's` : `${n0(-own)} µs before nginx's`}: ${own >= 0 ? 'its own work per request on that way — parsing the request, the pipeline, writing the upstream request, relaying the head — against nginx\'s C.' : 'nginx\'s own work on that way costs more than aifwd\'s.'}`;
}

function sse(r: BenchResults): string {
  return section('3. SSE: CPU per event and first-byte overhead', r.sse, (s) => {
    const eventsDirect = med(s.rps.direct) * 50;
    const nginxSat = med(s.busy.nginx) >= 0.9;
    const aifwdSat = med(s.busy.aifwd) >= 0.9;
    const limit = nginxSat && aifwdSat
      ? 'Both proxies saturated CPU 1, so these stream rates are theirs.'
      : `${nginxSat ? 'nginx saturated CPU 1' : `nginx used ${pct(med(s.busy.nginx))} of CPU 1`} and ${aifwdSat ? 'aifwd saturated it' : `aifwd ${pct(med(s.busy.aifwd))}`}, while CPU 0 was ${pct(Math.min(med(s.cpu0Busy.nginx), med(s.cpu0Busy.aifwd)))}–${pct(Math.max(med(s.cpu0Busy.nginx), med(s.cpu0Busy.aifwd)))} busy: wrk reading 50 chunks per response and the upstream making 51 writes per response fill CPU 0, so ${nginxSat || aifwdSat ? 'the proxy that does not saturate its core is held back by CPU 0' : 'the event rate is set by CPU 0 and both proxies are compared at the rate it offers'}. CPU time per event is still comparable, and an offered rate below a proxy's maximum is how streams behave in production (a model emits tokens at its own pace).`;
    const fb = med(s.firstByteOverheadP50Us.aifwd);
    const fbNginx = med(s.firstByteOverheadP50Us.nginx);
    const fbText = firstByteGroups(s) ?? (fb <= fbNginx * 1.15
      ? `aifwd is on par with nginx, so what limits it is what both pay: the hops between the cores (the direct figure has none) — with nginx itself at ${ms(fbNginx)}, the 0.3 ms target is out of reach for any proxy on this machine.`
      : `aifwd adds ${n0(fb - fbNginx)} µs more than nginx: its per-request work before the upstream request leaves and before the first event is written, on top of the cross-core hops both pay.`);
    return `Directly, the SSE upstream serves ${n0(med(s.rps.direct))} streams/s (${n0(eventsDirect)} events/s) using ${pct(med(s.busy.upstream))} of CPU 0 (${n1(med(s.cpuPerEventUs.upstream))} µs per event, each event its own write); wrk takes the rest of the core. Through nginx ${n0(med(s.rps.nginx))} and through aifwd ${n0(med(s.rps.aifwd))} streams/s. ${limit} Per event nginx spends ${n1(med(s.cpuPerEventUs.nginx))} µs (${n1(med(s.systemPerEventUs.nginx))} µs of it in the kernel) and aifwd ${n1(med(s.cpuPerEventUs.aifwd))} µs (${n1(med(s.systemPerEventUs.aifwd))} µs in the kernel), ${n1(med(s.ratio))}x: an event is a small chunk that costs both proxies mostly system calls, and how many events each read and write carries depends on timing, not on the proxy's code alone.${profileText(r.profileSse)} First byte: directly the first event arrives ${n0(med(s.ttfbP50Us.direct))} µs p50 after the request is sent, ${ms(fbNginx)} later through nginx and ${ms(fb)} later through aifwd; ${fbText}`;
  });
}

/** Measure 4: what the log's file costs, from the gateway logging to /dev/null and the kernel's cost per KB of file pages. */
function filePages(drifted: boolean, c: {
  readonly devNull: { readonly ratio: Summary } | null;
  readonly paired: { readonly nullOverFile: Summary | null };
  readonly filePages: { readonly newPagesUsPerKb: number; readonly cachedPagesUsPerKb: number };
}): string {
  const f = c.filePages;
  const d = c.devNull;
  const p = c.paired.nullOverFile;
  const parts = [
    p === null ? '' : `loaded at once with the gateway logging to the file, it served ${n2(med(p))}x (${n2(p.min)}–${n2(p.max)}x) its requests`,
    d === null || drifted ? '' : `in the rounds it had ${n2(med(d.ratio))}x (${n2(d.ratio.min)}–${n2(d.ratio.max)}x) the throughput without a log`,
  ].filter((t) => t !== '');
  const nul = parts.length === 0 ? '' : `The same gateway with its log's file on /dev/null — every line built and handed to the writer, no page of a file written: ${parts.join('; ')}. `;
  const probe = `In this run the kernel spent ${f.newPagesUsPerKb.toFixed(2)} µs per KB appending to a new file in the log's directory and ${f.cachedPagesUsPerKb.toFixed(2)} µs per KB writing the same bytes over it, into pages it already held (\`bench/file-pages.ts\`, 480 KB writes as a busy log makes)`;
  const vm = `this virtual machine's balloon hands the guest's free memory back to the hypervisor, so a page the kernel takes anew from it is backed again on its first write, while memory freed a moment before is still backed: by hand on 2026-11-28, \`dd\` appending 960 MB in 480 KB writes took 1.44 s of kernel time and writing over the same file 0.17 s; appending on tmpfs took 1.12 s (1.01 s with huge pages), and on ext4 right after 1.9 GB of files were deleted 0.22 s. Until 39cb560 the log's ~770 bytes per exchange (a file of the bench's lines: 20,971,110 bytes, 27,090 exchanges) were all new pages: perf on the log's writer threads gave 0.34 µs per exchange in one run and 1.48 µs in another, and a gateway logging to /dev/null reached 1.06–1.18x the requests of one logging to a file (6 pairs of 5 s loaded at once; 1.02–1.20x in 5 rounds one after the other). A machine whose memory is in use, or a container under a memory limit, whose page cache is recycled, does not pay this, and since 39cb560 the log recycles its own: every 4 MiB it appends, the writer syncs the file (\`fdatasync\` on libuv's thread pool) and drops what is on disk from the page cache (\`posix_fadvise\` DONTNEED, which Node's fs lacks, through node:wasi: \`src/chat-log/page-release.ts\`), so the next appends take pages freed a moment before, still backed (fincore once a second over 10 s of 50-connection load, ~19 MB of log a second: 0–5.0 MiB of the log's files cached). By hand on 2026-11-28, perf on two gateways loaded at once, one without a log and one with it, put the kernel's copy into the log's pages at 0.84 µs per exchange before and 0.14–0.20 µs after (two builds, two runs); \`npm run bench:ab\` (12 pairs of 7 s, log on ÷ off, on a slow minute of the machine) gave 0.878x (0.845–0.907x) before and 0.893x (0.845–0.924x) after. The minimal logger below does not release its pages.`;
  const costly = f.newPagesUsPerKb >= 2 * f.cachedPagesUsPerKb;
  return costly
    ? `${nul}${probe}: new pages cost it ${n1(f.newPagesUsPerKb / f.cachedPagesUsPerKb)} times as much. A log line is a copy into the page cache, cheap where the kernel reuses pages, but ${vm}`
    : `${nul}${probe}: new pages cost it about what cached ones do, as they do when the memory the kernel takes is still backed. A log line is a copy into the page cache, and that is cheap then; but ${vm}`;
}

/** Measure 4: the log's own code (measured by hand; the numbers say when). */
const logCode = `The rest is the log's code and what it sets off. Its tap alone, without sockets or file, its lines put in the writer's buffer (\`bench/micro/chat-log-tap.mjs --sink lines\`), spends 1.25–1.31 µs per JSON exchange and 2.04–2.13 µs with a reply as OpenAI writes it, pretty-printed, telling a usage hook the reply's token counts as \`aifwd run\` does (by hand on 2026-11-28; 1.58 and 2.42 µs that morning, 3.4 and 6.3 µs with every line built in JavaScript). In place it costs more: a build whose writer dropped every line it was handed — no copy into its buffer, no file, the rest as it is — served 0.90–0.92x the requests of the gateway without a log, loaded at once (by hand on 2026-11-28, 4 pairs of 8–10 s), and perf on that pair put the log's code at ~2.3 µs per exchange, ~1.15 µs of it in the module and the rest in the JavaScript around it. Since 2026-11-28 \`aifwd run\` reads the clock once per event-loop turn (\`src/node/turn-clock.ts\`) for a request's arrival, the upstream pool's deadlines and the log's first-byte and end times, not once per use: perf on two gateways with the log on, loaded at once, put the clock at 0.31 µs per exchange before and 0.02 µs after. The common lines — a JSON request, a one-choice JSON reply — are built in WebAssembly (\`wasm/\`, AssemblyScript): the module validates each body as strictly as \`JSON.parse\`, 16 bytes at a time inside strings and across whitespace, places the request's members, notes the reply's few values, and writes both lines, envelope and newline included, one after the other into an outbox in its memory, which JavaScript hands to the writer in one copy per event-loop turn. Per exchange JavaScript copies the two bodies in and passes numbers; the module writes the uid's last six hex digits and copies the lines' constant texts, written once when it starts. On 2026-11-28 it stopped calling \`memory.copy\` for copies of up to 32 bytes (V8 makes it a call into C, which cost more than the copy), skips the whitespace check for a byte above 0x20 and ends a string whose quote is within 16 bytes without a call: in a loop the request line went from 495 to 387 ns and the response line from 750 to 565 ns, JavaScript's part included. Later that day it stopped making a pass of its own over each body for its bytes above 0x7f and its line breaks (the string scans and the whitespace skip note them on the way), copies up to 1 KiB and clears its noted values in 16-byte steps rather than through \`memory.copy\` and \`memory.fill\`, finds control bytes with two instructions instead of four, compares keys of up to 8 bytes inline and hashes them by their end words, and JavaScript checks a record's second with one comparison: with both builds loaded in one process, rounds alternating (\`bench/micro/chat-lines-ab.mjs\`), the bench's two lines took 0.91–0.94x the time they did before (the request line 0.87–0.88x, the reply's 0.95–0.98x, a reply as OpenAI writes it 0.96–1.02x, in three runs), but two gateways with the log on, the new build and the one before, loaded at once served 0.975–1.035x, median 1.00x, the requests (16 pairs of 7 s, both orders): the module's part of the log is too small for that to show. The request lines of a turn's exchanges are built together once its I/O is done (one \`setImmediate\`), then the common replies' lines, one after the other while the module's code and tables are in the caches; building them once per millisecond instead, in bigger batches, made no difference (by hand, one pair of 8 s rounds loaded at once: 1.008x), nor did once per 10 ms (3 pairs: 0.99–1.01x). User time added here costs more than itself: a gateway made to spin 3 µs per request (by hand, in pairs, 3 rounds) reached 0.85–0.87x, not the 0.90x its user time alone would give, its kernel time per request rising by 0.8–1.9 µs as the slower gateway finds wrk and the upstream on CPU 0 asleep more often, and waking a process on the other CPU is a VM exit here. Loaded at once, the two gateways also share CPU 1's caches, which costs a log that builds lines more than a gateway without one. Tried and not kept: writing the log's whole 4 KiB blocks with \`O_DIRECT\`, past the page cache (by hand on 2026-11-28, 6 pairs of 5 s rounds loaded at once: 0.94–1.01x, median 0.96x, the requests of the same gateway writing through the page cache; the disk's completion interrupts all land on CPU 1 here, the gateway's core); the module compiled for size (3.1 against 1.9 µs per exchange in the micro-benchmark); in JavaScript, building the lines as bytes with \`Buffer#copy\` (4.5% slower) and writing each request record right after the request went out instead of once per event-loop turn (8% slower). Until 1b741c5 the writer wrote whatever gathered during a write the moment it ended, ~1,600 small writes a second instead of one per 20 ms batch, each waking a thread-pool thread on this core: log on ÷ off measured 0.65–0.69x. Since 2026-11-28 it writes one batch per 100 ms, with one \`writev\` for the batch's chunks (it wrote one per 20 ms, one \`write\` per 1 MiB chunk): two gateways with the log on, loaded at once, served 0.99–1.05x, median 1.02x, the requests of the one before (by hand, 12 pairs of 8 s, both port orders); 250 ms batches gained no more. The log's cost, taken apart by hand on 2026-11-28 (two builds loaded at once, 4 pairs of 8 s each, before that change): the tap's hooks alone — every exchange tapped, its bodies kept, no line built — served 0.97–1.01x (median 0.99x) the requests of the gateway without a log; building the lines and dropping them unwritten served 0.92–0.94x (median 0.93x) the requests of the hooks alone, of which the JavaScript around the module, the module's calls skipped, 0.96–1.00x (median 0.98x); the rest is the writing. Also tried that day and not kept: the writes in a worker thread fed through shared memory (~1.01x the requests of the thread pool's writes, 8 pairs, before the 100 ms batches); the lines built and written in a worker thread from the bodies copied to it (1.00–1.06x, median ~1.02x, 4 pairs: the same work on the same core, and a copy more); libuv's io_uring (\`UV_USE_IO_URING=1\`: 0.53–0.58x).`;

/** How aifwd's log compares with the yardstick, from the difference in CPU per request (µs). */
function versus(above: number): string {
  if (above > 0.5) return `What aifwd's log spends above the yardstick, ${n1(above)} µs, is finding the contract's fields and building its two records.`;
  const than = above < -0.5 ? `${n1(-above)} µs less than the yardstick` : 'about as much as the yardstick';
  return `aifwd's log, which finds the contract's fields and builds both records, spent ${than}: its lines are built in WebAssembly, while the yardstick scans in JavaScript.`;
}

/** Measure 4's yardstick sentences: how far 0.9x is from what logging costs at the least, and the pairs. */
function yardstick(drifted: boolean, c: {
  readonly cpuPerRequestUs: { readonly off: Summary; readonly on: Summary };
  readonly minimal: { readonly cpuPerRequestUs: Summary; readonly ratio: Summary } | null;
  readonly paired: { readonly ratio: Summary; readonly minimalRatio: Summary | null };
}): string {
  const p = c.paired;
  const pairs = `Loaded at once, sharing CPU 1 with the gateway without a log (one wrk each), which cancels the drift between rounds: aifwd's log ${n2(med(p.ratio))}x (${n2(p.ratio.min)}–${n2(p.ratio.max)}x)${p.minimalRatio === null ? '' : `, the minimal logger ${n2(med(p.minimalRatio))}x (${n2(p.minimalRatio.min)}–${n2(p.minimalRatio.max)}x)`}. `;
  const m = c.minimal;
  if (m === null) return pairs;
  const what = `As a yardstick, the same rounds ran the same gateway with a minimal logger in place of the chat log (\`bench/reference/minimal-logger.ts\`): it keeps both bodies, checks they are JSON with a byte scan, and appends them raw around a short envelope in 100 ms batches, as aifwd's writer does, but reads no field and builds no record.`;
  const raw = 'Measured the same way by hand (2026-11-27, 4 rounds each), a tap that keeps both bodies and writes them raw with one `writev` per 20 ms, reading no byte of them, reached 0.94–0.98x. ';
  if (drifted) return `${what} ${pairs}${raw}`;
  const off = med(c.cpuPerRequestUs.off);
  const floor = med(m.cpuPerRequestUs);
  const ratio = med(m.ratio);
  const reach = ratio < 0.9
    ? 'so even a log that reads no field misses 0.9x on this core'
    : `so 0.9x leaves ${n1(off / 9 - (floor - off))} µs per exchange for reading the contract's fields`;
  return `${what} It spent ${n1(floor)} µs per request, ${n1(floor - off)} µs more than without a log, for ${n2(ratio)}x (${n2(m.ratio.min)}–${n2(m.ratio.max)}x) the throughput: ${reach}. ${versus(med(c.cpuPerRequestUs.on) - floor)} ${pairs}${raw}`;
}

function chatLog(r: BenchResults): string {
  return section('4. Chat log on vs off', r.chatLog, (c) => {
    if (c.status === 'skipped') return `Skipped: ${c.reason}.`;
    if (c.logBytes === 0) {
      return `The gateway accepted \`--log-chat\` but wrote nothing into its log directory, so the chat log is not active in this tree yet and the ratio (${n1(med(c.ratio))}x, ${n0(med(c.rps.on))} vs ${n0(med(c.rps.off))} req/s) only shows the run-to-run spread of two identical gateways. The scenario measures the real cost as soon as the log writes.`;
    }
    const saturated = med(c.busy.on) >= 0.9 && med(c.busy.off) >= 0.9;
    const sseSaturated = med(c.sse.busy.on) >= 0.9 && med(c.sse.busy.off) >= 0.9;
    const sse = sseSaturated
      ? `On SSE responses of 50 events the same work is spread over a longer exchange${med(c.sse.cpuPerResponseUs.on) <= med(c.sse.cpuPerResponseUs.off) ? ', and its cost was below the rounds\' drift here' : ''}: ${n1(med(c.sse.cpuPerResponseUs.on))} against ${n1(med(c.sse.cpuPerResponseUs.off))} µs of CPU per response, ${n2(med(c.sse.ratio))}x the throughput.`
      : `On SSE responses of 50 events the gateways do not saturate CPU 1 (${pct(med(c.sse.busy.off))} with the log off, ${pct(med(c.sse.busy.on))} on: wrk and the upstream on CPU 0 set the pace, as in measure 3), and the log costs no throughput there (${n2(med(c.sse.ratio))}x, ${n1(med(c.sse.cpuPerResponseUs.on))} against ${n1(med(c.sse.cpuPerResponseUs.off))} µs of CPU per response): reading each event costs user time, but a busier gateway finds more events waiting per read, and in a run by hand it made 7 reads and 8 writes per response instead of 14 and 14.`;
    const cpuOff = med(c.cpuPerRequestUs.off);
    const cpuOn = med(c.cpuPerRequestUs.on);
    const sysOff = med(c.systemPerRequestUs.off);
    const sysOn = med(c.systemPerRequestUs.on);
    // Rounds one after the other that drifted this much, or that disagree this much with the pairs
    // (which cancel the drift), say nothing about the log's cost.
    const drifted = cpuOn <= cpuOff || c.ratio.max / c.ratio.min > 1.25 || Math.abs(med(c.ratio) - med(c.paired.ratio)) > 0.06;
    const cost = drifted
      ? `In rounds one after the other the gateway with the log on spent ${n1(cpuOn)} µs of CPU per request and the one without ${n1(cpuOff)} µs (${n2(med(c.ratio))}x the throughput), but those rounds drifted too much to read the log's cost from them: on ÷ off ranged ${n2(c.ratio.min)}–${n2(c.ratio.max)}x from round to round, as the machine's speed changed between rounds. Loaded at once, which cancels that drift (and charges a log that builds lines for sharing CPU 1's caches with the other gateway), the log gave ${n2(med(c.paired.ratio))}x (${n2(c.paired.ratio.min)}–${n2(c.paired.ratio.max)}x); the verdict takes both. What logging costs per exchange on CPU 1: holding the request body for the record, reading the reply, building the two lines, and writing them to the file on libuv's thread pool, which runs on CPU 1 with the rest.`
      : `With the log on, aifwd spent ${n1(cpuOn)} µs of CPU per request against ${n1(cpuOff)} µs without (${n2(med(c.ratio))}x the throughput). ${saturated ? 'Both gateways saturated CPU 1, so the throughput ratio is the inverse of the ratio of CPU per request: ' : ''}the ${n1(cpuOn - cpuOff)} µs difference is what logging costs per exchange on CPU 1 — holding the request body for the record, reading the reply, building the two lines, and writing them to the file on libuv's thread pool, which runs on CPU 1 with the rest. 0.9x would allow ${n1(cpuOff / 9)} µs. Split by /proc, user time went from ${n1(cpuOff - sysOff)} to ${n1(cpuOn - sysOn)} µs and kernel time from ${n1(sysOff)} to ${n1(sysOn)} µs per request.`;
    return `The log wrote ${n0(c.logBytes / 1024)} KB in ${c.logFiles} file(s). ${cost} ${filePages(drifted, c)} ${logCode} ${yardstick(drifted, c)}${sse}`;
  });
}

function streams(r: BenchResults): string {
  return section('5. Concurrent open streams', r.streams, (s) => {
    const growth = Math.max(...s.runs.map((x) => x.rssOpen)) - s.idleRss;
    const capped = s.streams < s.requested
      ? `This machine's open-files hard limit is ${n0(s.fileLimit)} (and it cannot be raised without CAP_SYS_RESOURCE); every stream holds two sockets in the gateway, client and upstream, so ${n0(s.streams)} streams is the most one process can hold here. `
      : '';
    const drift = s.runs.length > 1
      ? Math.abs(s.driftMb) < (growth / MB) * 0.1
        ? ` Across ${s.runs.length} runs on the same process RSS after the end moved by ${s.driftMb.toFixed(1)} MB, so that memory is reused by the next wave of streams, not leaked.`
        : ` Across ${s.runs.length} runs on the same process RSS after the end moved by ${s.driftMb.toFixed(1)} MB, more than a tenth of what the streams add: a leak is possible and worth a heap snapshot.`
      : '';
    return `${capped}Opening them took ${n0(Math.max(...s.runs.map((x) => x.openMs)))} ms at most (batches of 250 from four source addresses); then every stream received at least ${s.minEvents} new events while all were open: ${s.allProgressed ? 'yes' : 'no'}. With all open, RSS grows by ${n1(med(s.perStreamKb))} KB per stream: the JavaScript objects of the exchange (the server's connection, parser, request and response on the client side, the upstream connection, its parser and handler), two socket handles, and allocator overhead; socket buffers are kernel memory and not counted. After the upstream ended every stream, RSS was ${n1(med(s.afterRssMb))} MB ${r.settings.streamSettleSeconds} s later, ${n1(med(s.afterRssMb) - s.idleRss / MB)} MB above the idle ${n1(s.idleRss / MB)} MB. A quiet Node process runs no garbage collection, so on its own it would keep the dead streams' objects and the pages under them; once connections fall to a quarter of a peak of 1,000 or more, aifwd runs four full collections over seven seconds (src/node/memory-relief.ts), and what remains above idle is what V8 and malloc keep for reuse. Most of it is malloc's: by hand (2026-11-28), after a wave of 9,968 streams RSS was 84.2 MB, 29.3 MB of it glibc's heap; \`malloc_trim(0)\` called in the process with gdb brought the heap to 5.5 MB and RSS to 60.2 MB. glibc gives back only the free memory at the top of its heap by itself, and Node offers JavaScript no way to ask for the rest, so the gateway cannot; the memory is reused by the next wave. What the heap holds at the peak it keeps, so the gateway keeps its peak small: until 61e5268 every open stream kept its request body, a slice of one of Node's 8 KB buffer-pool blocks (malloc'd), and so kept the whole block; the body is now let go once the response head went to the client (no retry can need it after that), and by hand (/proc/PID/smaps, 2026-11-28) glibc's heap with all streams open went from 29.2–31.5 to 19.1–22.0 MB and RSS after the wave from 85.5–87.8 to 74.8–75.5 MB.${drift}`;
  });
}

function transfers(r: BenchResults): string {
  return section('6. 200 MB upload and download', r.transfers, (x) => {
    const parts = (['upload', 'download'] as const).map((m) => {
      const v = x[m];
      return `${m}: direct ${n0(med(v.mbPerSecond.direct))} MB/s, nginx ${n0(med(v.mbPerSecond.nginx))} MB/s using ${pct(med(v.busy.nginx))} of CPU 1, aifwd ${n0(med(v.mbPerSecond.aifwd))} MB/s using ${pct(med(v.busy.aifwd))}, with peak RSS growth ${n1(med(v.rssGrowthMb.aifwd))} MB (nginx ${n1(med(v.rssGrowthMb.nginx))} MB)`;
    });
    const saturated = med(x.upload.busy.aifwd) >= 0.9 || med(x.download.busy.aifwd) >= 0.9;
    return `${parts.join('; ')}. The client and the upstream are Node processes sharing CPU 0, so the direct figure is also the ceiling for the proxies. ${saturated ? 'aifwd saturates CPU 1 in at least one direction: every chunk passes through JavaScript (a Buffer per read, a write per chunk), where nginx copies through fixed buffers.' : 'aifwd does not saturate CPU 1, so the rate is set by CPU 0 and by how much each hop moves per system call.'} Peak memory stays small when the gateway applies backpressure both ways (it stops reading from one side while the other side's socket is full), so only a few socket buffers' worth is ever in flight, and when the reads it has relayed are freed as it goes: Node gives every large read an ArrayBuffer of its own, which V8 frees only when it collects the young generation, and during a transfer it did that only under external memory pressure, about every 26 MB of reads (2.3–2.9 ms each, by \`--trace-gc\`), so peak RSS grew by up to 37 MB per upload. Since 2026-11-28 the gateway asks for a young-generation collection every 16 MB of large reads relayed (src/node/transfer-relief.ts; about 0.3 ms each): by hand, 4 transfers each way, upload growth went from 12–36 to 0–22 MB and download growth from 0–16 to 0–2 MB, and both ran faster (uploads 511–784 to 780–1,032 MB/s). The first transfer after start also pays for the allocator growing its pools, which the max of the range shows.`;
  });
}

function startup(r: BenchResults): string {
  return section('7. Idle RSS and start-up time', r.startup, (s) => {
    return `aifwd answers its first \`/healthz\` ${n0(med(s.startMs))} ms after the process is spawned (including the \`taskset\` exec and the 1 ms polling of the probe), with ${n1(med(s.idleRssMb))} MB resident when idle. A bare node:http server, pinned and probed the same way, needs ${n0(med(s.bareNode.startMs))} ms and ${n1(med(s.bareNode.idleRssMb))} MB: that is Node's own floor, and the rest (${n0(med(s.startMs) - med(s.bareNode.startMs))} ms, ${n1(med(s.idleRssMb) - med(s.bareNode.idleRssMb))} MB) is loading and compiling aifwd's modules and dependencies and building the gateway before it listens.`;
  });
}

/** All paragraphs, in measure order. */
export function limits(r: BenchResults): string {
  return [throughput(r), latency(r), sse(r), chatLog(r), streams(r), transfers(r), startup(r)].join('\n');
}
