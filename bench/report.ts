/**
 * Renders BENCHMARKS.md from a run's results: the machine, the table of measures with the issue's
 * targets and a verdict, one paragraph per measure on what limits it (text templates filled with
 * the measured numbers, choosing sentences by what was observed), and the exact commands.
 */
import type { BenchResults, Outcome } from './results.js';
import type { Summary } from './stats.js';
import { limits } from './report-limits.js';

/** Formats a summary as `median (min–max)`. */
export function fmt(s: Summary, digits = 1, scale = 1): string {
  const f = (v: number): string => (v * scale).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  if (s.runs.length <= 1) return f(s.median);
  return `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
}

/** A whole number with thousands separators. */
export function int(v: number): string {
  return Math.round(v).toLocaleString('en-US');
}

/** `pass`, `**FAIL**`, `n/a`, `skipped`, `error`, or a qualified pass. */
type Verdict = string;

interface Row {
  readonly n: number;
  readonly measure: string;
  readonly result: string;
  readonly target: string;
  readonly verdict: Verdict;
}

const verdict = (ok: boolean): Verdict => (ok ? 'pass' : '**FAIL**');

function errorRows<T>(n: number, measure: string, o: Outcome<T>): Row[] | null {
  if (o.ok) return null;
  return [{ n, measure, result: `did not run: ${o.error.split('\n')[0]}`, target: '', verdict: 'error' }];
}

function rows(r: BenchResults): Row[] {
  const out: Row[] = [];
  const t = r.throughput;
  out.push(
    ...(errorRows(1, 'non-stream, 50 connections', t) ??
      (t.ok
        ? [
            { n: 1, measure: 'non-stream req/s, 50 connections', result: `direct ${fmt(t.value.rps.direct, 0)} · nginx ${fmt(t.value.rps.nginx, 0)} · aifwd ${fmt(t.value.rps.aifwd, 0)}`, target: '—', verdict: 'n/a' },
            { n: 1, measure: 'CPU per request, aifwd ÷ nginx', result: `**${fmt(t.value.ratio, 2)}x** (aifwd ${fmt(t.value.cpuPerRequestUs.aifwd, 1)} µs, nginx ${fmt(t.value.cpuPerRequestUs.nginx, 1)} µs)`, target: '≤ 1.8x', verdict: verdict(t.value.ratio.median <= 1.8) },
          ]
        : [])),
  );
  const l = r.latency;
  out.push(
    ...(errorRows(2, 'added latency', l) ??
      (l.ok
        ? [
            { n: 2, measure: 'added latency p50, 1 connection', result: `aifwd **${fmt(l.value.addedP50Us.aifwd, 3, 0.001)} ms** · nginx ${fmt(l.value.addedP50Us.nginx, 3, 0.001)} ms`, target: '≤ 0.15 ms', verdict: verdict(l.value.addedP50Us.aifwd.median <= 150) },
            { n: 2, measure: 'added latency p99, 1 connection', result: `aifwd **${fmt(l.value.addedP99Us.aifwd, 3, 0.001)} ms** · nginx ${fmt(l.value.addedP99Us.nginx, 3, 0.001)} ms`, target: '≤ 0.4 ms', verdict: verdict(l.value.addedP99Us.aifwd.median <= 400) },
            {
              n: 2,
              measure: 'each request timed, 1 connection (no samples added for stalls)',
              result: (['aifwd', 'nginx', 'direct'] as const)
                .map((t) => `${t} p50 ${fmt(l.value.raw.p50Us[t], 3, 0.001)} · p99 ${t === 'aifwd' ? `**${fmt(l.value.raw.p99Us[t], 3, 0.001)}**` : fmt(l.value.raw.p99Us[t], 3, 0.001)} · p99.9 ${fmt(l.value.raw.p999Us[t], 3, 0.001)} ms, ${fmt(l.value.raw.over1ms[t], 0)} over 1 ms`)
                .join('; '),
              target: '—',
              verdict: 'n/a',
            },
          ]
        : [])),
  );
  const s = r.sse;
  out.push(
    ...(errorRows(3, 'SSE', s) ??
      (s.ok
        ? [
            { n: 3, measure: 'CPU per SSE event, aifwd ÷ nginx', result: `**${fmt(s.value.ratio, 2)}x** (aifwd ${fmt(s.value.cpuPerEventUs.aifwd, 2)} µs, nginx ${fmt(s.value.cpuPerEventUs.nginx, 2)} µs)`, target: '≤ 1.5x', verdict: verdict(s.value.ratio.median <= 1.5) },
            { n: 3, measure: 'first-byte overhead p50', result: `aifwd **${fmt(s.value.firstByteOverheadP50Us.aifwd, 3, 0.001)} ms** · nginx ${fmt(s.value.firstByteOverheadP50Us.nginx, 3, 0.001)} ms`, target: '< 0.3 ms', verdict: verdict(s.value.firstByteOverheadP50Us.aifwd.median < 300) },
          ]
        : [])),
  );
  const c = r.chatLog;
  if (!c.ok) out.push(...(errorRows(4, 'chat log on ÷ off', c) ?? []));
  else if (c.value.status === 'skipped') out.push({ n: 4, measure: 'throughput, chat log on ÷ off', result: `skipped: ${c.value.reason}`, target: '≥ 0.9x', verdict: 'skipped' });
  else {
    const v = c.value;
    const written = v.logBytes > 0;
    out.push({
      n: 4,
      measure: 'throughput, chat log on ÷ off',
      result: `**${fmt(v.ratio, 2)}x** (${fmt(v.rps.on, 0)} vs ${fmt(v.rps.off, 0)} req/s)${written ? `; ${int(v.logBytes / 1024)} KB logged` : '; **nothing was logged** (flag accepted, chat log not active yet)'}; SSE of 50 events: ${fmt(v.sse.ratio, 2)}x${v.devNull === null ? '' : `; its file on /dev/null: ${fmt(v.devNull.ratio, 2)}x${v.paired.nullOverFile === null ? '' : ` (${fmt(v.paired.nullOverFile, 2)}x the log on the file, in pairs)`}`}${v.minimal === null ? '' : `; a minimal logger (the floor, see below): ${fmt(v.minimal.ratio, 2)}x`}; in pairs (loaded at once): log ${fmt(v.paired.ratio, 2)}x${v.paired.minimalRatio === null ? '' : `, minimal logger ${fmt(v.paired.minimalRatio, 2)}x`}`,
      target: '≥ 0.9x (in rounds and in pairs)',
      // Both ways: rounds one after the other drift on this machine (a log has measured 1.35x its
      // gateway without one), and loaded at once the two share CPU 1's caches.
      verdict: written ? verdict(v.ratio.median >= 0.9 && v.paired.ratio.median >= 0.9) : 'n/a',
    });
  }
  const st = r.streams;
  out.push(
    ...(errorRows(5, 'open streams', st) ??
      (st.ok
        ? [
            {
              n: 5,
              measure: 'concurrent open streams, all progress',
              result: `${int(st.value.streams)}${st.value.streams < st.value.requested ? ` (open-files hard limit ${int(st.value.fileLimit)} allows no more)` : ''}; every stream got ≥ ${st.value.minEvents} new events while all were open: ${st.value.allProgressed ? 'yes' : '**no**'}`,
              target: '10,000',
              verdict: !st.value.allProgressed ? '**FAIL**' : st.value.streams >= st.value.requested ? 'pass' : `pass at ${int(st.value.streams)}`,
            },
            { n: 5, measure: 'RSS per open stream', result: `**${fmt(st.value.perStreamKb, 1)} KB**`, target: '< 40 KB', verdict: verdict(st.value.perStreamKb.median < 40) },
            nearIdleRow(st.value.idleRss, st.value.runs.map((x) => x.rssOpen), st.value.afterRssMb, st.value.driftMb),
          ]
        : [])),
  );
  const x = r.transfers;
  if (!x.ok) out.push(...(errorRows(6, '200 MB transfers', x) ?? []));
  else {
    for (const mode of ['upload', 'download'] as const) {
      const m = x.value[mode];
      out.push(
        { n: 6, measure: `200 MB ${mode}, aifwd ÷ nginx MB/s`, result: `**${fmt(m.ratio, 2)}x** (aifwd ${fmt(m.mbPerSecond.aifwd, 0)}, nginx ${fmt(m.mbPerSecond.nginx, 0)}, direct ${fmt(m.mbPerSecond.direct, 0)} MB/s)`, target: '≥ 0.8x', verdict: verdict(m.ratio.median >= 0.8) },
        { n: 6, measure: `200 MB ${mode}, peak RSS growth`, result: `aifwd **${fmt(m.rssGrowthMb.aifwd, 1)} MB** · nginx ${fmt(m.rssGrowthMb.nginx, 1)} MB`, target: '< 32 MB', verdict: verdict(m.rssGrowthMb.aifwd.median < 32) },
      );
    }
  }
  const sp = r.startup;
  out.push(
    ...(errorRows(7, 'start-up', sp) ??
      (sp.ok
        ? [
            { n: 7, measure: 'idle RSS', result: `**${fmt(sp.value.idleRssMb, 1)} MB**`, target: '< 80 MB', verdict: verdict(sp.value.idleRssMb.median < 80) },
            { n: 7, measure: 'start to first /healthz 200', result: `**${fmt(sp.value.startMs, 0)} ms**`, target: '< 300 ms', verdict: verdict(sp.value.startMs.median < 300) },
          ]
        : [])),
  );
  return out;
}

/** "Back near idle": RSS after the end ≤ idle + 25% of what the open streams added. */
function nearIdleRow(idle: number, open: readonly number[], afterMb: Summary, driftMb: number): Row {
  const MB = 1024 * 1024;
  const growth = Math.max(...open) - idle;
  const allowed = (idle + growth * 0.25) / MB;
  return {
    n: 5,
    measure: 'RSS after the streams ended',
    result: `**${fmt(afterMb, 1)} MB** (idle ${(idle / MB).toFixed(1)} MB, all open ${(Math.max(...open) / MB).toFixed(1)} MB; drift over runs ${driftMb >= 0 ? '+' : ''}${driftMb.toFixed(1)} MB)`,
    target: `back near idle (≤ ${allowed.toFixed(0)} MB)`,
    verdict: verdict(afterMb.median <= allowed),
  };
}

function profileSection(r: BenchResults): string {
  if (!r.profile.ok) return '';
  const p = r.profile.value;
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  const rowsText = p.summary.functions
    .slice(0, 15)
    .map((f, i) => `| ${i + 1} | ${pct(f.share)} | \`${f.name}\` | ${f.location || '—'} | ${f.area} |`)
    .join('\n');
  return `## Where aifwd's CPU goes (non-stream load)

From \`${p.file}\`: aifwd under \`node --cpu-prof\`, ${p.seconds} s of wrk -c50 after a warm-up (${int(p.rps)} req/s with the
profiler on); only the samples of those ${p.seconds} s are counted, and shares are of the time the main thread was busy
(it was idle ${pct(p.summary.idleShare)} of the time). Self time by area: ${p.summary.areas.map((a) => `${a.area} ${pct(a.share)}`).join(', ')}.
The top 25 functions, with their hottest lines, are in \`bench/out/profile-json.md\` when made with \`node bench/dist/profile.js\`.

| # | self | function | location | area |
|---|---|---|---|---|
${rowsText}
`;
}

function machineSection(r: BenchResults): string {
  const m = r.machine;
  const g = r.gateway;
  return `## Machine

| | |
|---|---|
| CPU | ${m.cpuModel}, ${m.cpus} CPUs${m.hypervisor === undefined ? '' : ` (virtual machine, ${m.hypervisor})`} |
| Memory | ${m.memoryGb.toFixed(1)} GB |
| Kernel | Linux ${m.kernel} |
| Node.js | ${m.node} |
| nginx | ${m.nginx} |
| wrk | ${m.wrk} |
| aifwd | ${g.version}, built from the working tree at ${g.commit}${g.dirtyFiles > 0 ? ` with ${g.dirtyFiles} changed files` : ''}${g.build.ok ? '' : ` (tsc reported ${g.build.errors} type errors; JavaScript emitted anyway)`} |
| Open-files hard limit | ${int(r.fileLimit)} |

Pinning: aifwd and the nginx proxy (one worker) on CPU 1; wrk, the upstreams, the bench's own clients and the
orchestrator on CPU 0 (\`taskset\`). Everything on 127.0.0.1. aifwd runs with every core feature on: a key pool of two keys,
a forward key (clients send \`Authorization: Bearer fk-fake\`), an IP whitelist (\`127.0.0.0/8\`); the chat log is off
except in measure 4. nginx replaces the Authorization header with a fixed key, the closest equivalent.
`;
}

function commandsSection(r: BenchResults): string {
  const cmds = Object.entries(r.commands)
    .map(([what, cmd]) => `# ${what}\n${cmd}`)
    .join('\n\n');
  const files = Object.entries(r.files)
    .map(([name, text]) => `<details><summary>${name}</summary>\n\n\`\`\`\n${text.trimEnd()}\n\`\`\`\n\n</details>`)
    .join('\n\n');
  return `## Commands

Run \`npm run bench\` (or \`BENCH_QUICK=1 npm run bench\` for a shorter run). Ports are picked per run; these are the
command lines of this run (\`taskset\` pins, \`prlimit\` raises the open-files limit where many sockets are needed):

\`\`\`sh
${cmds}
\`\`\`

${files}
`;
}

/** How disturbed the machine was: repeated wrk runs and runs still above the noise limit. */
function noiseText(r: BenchResults): string {
  const samples = [
    ...(r.throughput.ok ? r.throughput.value.samples : []),
    ...(r.latency.ok ? r.latency.value.samples : []),
    ...(r.sse.ok ? r.sse.value.samples : []),
    ...(r.chatLog.ok && r.chatLog.value.status === 'measured' ? r.chatLog.value.samples : []),
  ];
  const repeated = samples.reduce((n, s) => n + s.attempts - 1, 0);
  const noisy = samples.filter((s) => s.noise > 0.1);
  if (repeated === 0 && noisy.length === 0) return 'No other process disturbed the wrk runs.';
  const still = noisy.length === 0 ? 'none stayed disturbed' : `${noisy.length} stayed disturbed (up to ${Math.round(Math.max(...noisy.map((s) => s.noise)) * 100)}% of a CPU used by others; \`noise\` per sample in the JSON)`;
  return `The machine was shared: before every measurement the bench waits for both CPUs to be idle, and ${repeated} wrk run${repeated === 1 ? ' was' : 's were'} repeated because other processes took more than 10% of a CPU meanwhile; ${still}. Waiting and repeating took ${Math.round(r.noiseSeconds)} s of the ${r.settings.noiseBudgetSeconds} s allowed.`;
}

/** The whole BENCHMARKS.md. */
export function renderReport(r: BenchResults): string {
  const table = rows(r)
    .map((row) => `| ${row.n} | ${row.measure} | ${row.result} | ${row.target} | ${row.verdict} |`)
    .join('\n');
  const failing = rows(r).filter((row) => row.verdict === '**FAIL**').length;
  const s = r.settings;
  return `# Benchmarks

<!-- Generated by \`npm run bench\` (bench/run.ts). Do not edit: the next run rewrites this file. -->

Measured ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, ${s.quick ? 'quick' : 'full'} run of ${Math.round(r.seconds)} s.
Each figure is the median of ${s.runs} runs with the min–max range in parentheses (transfers: ${s.transferRuns} runs; open streams: ${s.streamRuns} run${s.streamRuns > 1 ? 's' : ''} on one process; start-up: ${s.startups} starts);
throughput runs last ${s.seconds} s at 50 connections, latency runs ${s.latencySeconds} s at one connection, and every target
gets a warm-up run first. Ratios are taken per round (targets measured back to back, in reverse order every second round) and then summarised.
${noiseText(r)}
Raw numbers: \`bench/out/latest.json\`. ${failing === 0 ? 'All targets met.' : `${failing} target${failing > 1 ? 's' : ''} not met.`}

${machineSection(r)}
## Results

| # | Measure | Result | Target (issue 4) | |
|---|---|---|---|---|
${table}

## What limits each number

${limits(r)}
${profileSection(r)}
${commandsSection(r)}`;
}
