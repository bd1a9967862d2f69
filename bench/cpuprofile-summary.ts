/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time per function (file:line, mapped
 * to src/*.ts through the gateway's source maps), the hottest lines inside each, and self time per
 * area (aifwd, undici, Node internals, V8/GC).
 *
 *   node bench/dist/cpuprofile-summary.js FILE.cpuprofile [--top 25] [--root /work/main]
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { originalPosition } from './sourcemap.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly positionTicks?: readonly { readonly line: number; readonly ticks: number }[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** One function's share of the profile. */
export interface FunctionCost {
  readonly name: string;
  /** `file:line` (src/*.ts when mapped), or the V8 pseudo-frame name. */
  readonly location: string;
  readonly area: string;
  readonly selfMs: number;
  readonly share: number;
  /** Up to three hottest lines of the function: `line (ticks)`. */
  readonly hotLines: string;
}

/** A time window in the profile's clock: CLOCK_MONOTONIC µs, as `process.hrtime.bigint() / 1000n`. */
export interface ProfileWindow {
  readonly fromUs: number;
  readonly toUs: number;
}

export interface ProfileSummary {
  /** Sampled time counted (inside the window, when one was given). */
  readonly totalMs: number;
  /** Share of that time the main thread was idle (waiting in the event loop); all other shares are of the busy rest. */
  readonly idleShare: number;
  readonly functions: readonly FunctionCost[];
  readonly areas: readonly { readonly area: string; readonly selfMs: number; readonly share: number }[];
}

function areaOf(url: string, name: string): string {
  if (url === '') return name.startsWith('(') ? `V8 ${name}` : 'V8 builtins / native';
  if (url.startsWith('node:')) return 'Node.js internals';
  if (url.includes('/node_modules/undici/')) return 'undici';
  if (url.includes('/node_modules/')) return 'other dependencies';
  if (url.includes('/dist/')) return 'aifwd';
  return 'other';
}

function locate(frame: CallFrame, root: string, line0 = frame.lineNumber): string {
  const { url, columnNumber } = frame;
  if (url === '') return '';
  if (url.startsWith('file://')) {
    const file = fileURLToPath(url);
    return originalPosition(file, line0, columnNumber, root) ?? `${relative(root, file)}:${line0 + 1}`;
  }
  return `${url}:${line0 + 1}`;
}

/**
 * Aggregates self time by function (name + location) and by area, counting only samples inside
 * `window` when given (V8 stamps samples with the same monotonic clock as `process.hrtime`).
 */
export function summariseProfile(profile: CpuProfile, root: string, top: number, window?: ProfileWindow): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const n = profile.samples.length;
  const fallback = n > 0 ? (profile.endTime - profile.startTime) / n : 0;
  let t = profile.startTime;
  for (let i = 0; i < n; i++) {
    t += profile.timeDeltas[i];
    if (window !== undefined && (t < window.fromUs || t > window.toUs)) continue;
    // A sample stands for the time until the next one.
    const dt = i + 1 < n ? profile.timeDeltas[i + 1] : fallback;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + Math.max(0, dt));
  }
  let total = 0;
  let idle = 0;
  for (const [id, v] of selfUs) {
    total += v;
    if (byId.get(id)?.callFrame.functionName === '(idle)') idle += v;
  }
  const busy = total - idle;

  interface Acc { name: string; frame: CallFrame; us: number; lines: Map<number, number> }
  const fns = new Map<string, Acc>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node === undefined || node.callFrame.functionName === '(idle)') continue;
    const f = node.callFrame;
    const key = `${f.functionName}|${f.url}|${f.lineNumber}|${f.columnNumber}`;
    const acc = fns.get(key) ?? { name: f.functionName || '(anonymous)', frame: f, us: 0, lines: new Map<number, number>() };
    acc.us += us;
    for (const t of node.positionTicks ?? []) acc.lines.set(t.line, (acc.lines.get(t.line) ?? 0) + t.ticks);
    fns.set(key, acc);
  }
  const all = [...fns.values()].sort((a, b) => b.us - a.us);
  const areas = new Map<string, number>();
  for (const a of all) {
    const area = areaOf(a.frame.url, a.name);
    areas.set(area, (areas.get(area) ?? 0) + a.us);
  }
  return {
    totalMs: total / 1000,
    idleShare: total > 0 ? idle / total : 0,
    functions: all.slice(0, top).map((a) => ({
      name: a.name,
      location: locate(a.frame, root),
      area: areaOf(a.frame.url, a.name),
      selfMs: a.us / 1000,
      share: a.us / busy,
      hotLines: a.frame.url === '' ? '' : [...a.lines.entries()]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        // positionTicks lines are 1-based.
        .map(([line, ticks]) => `${locate(a.frame, root, line - 1).replace(/^.*\//, '')} (${ticks})`)
        .join(', '),
    })),
    areas: [...areas.entries()].sort((x, y) => y[1] - x[1]).map(([area, us]) => ({ area, selfMs: us / 1000, share: us / busy })),
  };
}

/** Renders a summary as Markdown tables. */
export function renderSummary(s: ProfileSummary, title: string): string {
  const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;
  const fnRows = s.functions.map(
    (f, i) => `| ${i + 1} | ${f.selfMs.toFixed(0)} | ${pct(f.share)} | \`${f.name}\` | ${f.location || '—'} | ${f.area} | ${f.hotLines || ''} |`,
  );
  const areaRows = s.areas.map((a) => `| ${a.area} | ${a.selfMs.toFixed(0)} | ${pct(a.share)} |`);
  return `## ${title}

Sampled ${s.totalMs.toFixed(0)} ms, of which the main thread was idle ${pct(s.idleShare)}; shares below are of the busy rest.

| area | self ms | share |
|---|---|---|
${areaRows.join('\n')}

| # | self ms | share | function | location | area | hottest lines (ticks) |
|---|---|---|---|---|---|---|
${fnRows.join('\n')}
`;
}

/** Reads and summarises a .cpuprofile file. */
export function summariseFile(file: string, root: string, top: number, window?: ProfileWindow): ProfileSummary {
  return summariseProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, root, top, window);
}

if (process.argv[1] !== undefined && import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: node bench/dist/cpuprofile-summary.js FILE.cpuprofile [--top 25] [--root DIR]\n');
    process.exit(2);
  }
  const opt = (name: string, fallback: string): string => {
    const at = process.argv.indexOf(`--${name}`);
    return at === -1 ? fallback : (process.argv[at + 1] ?? fallback);
  };
  process.stdout.write(renderSummary(summariseFile(file, opt('root', process.cwd()), Number(opt('top', '25'))), file));
}
