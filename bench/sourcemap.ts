/**
 * Just enough source-map reading to turn a position in the gateway's dist/*.js into its
 * src/*.ts line: decode the `mappings` VLQ of a `.js.map` and find the segment covering a
 * generated line/column.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

interface Segment {
  readonly col: number;
  readonly source: number;
  readonly line: number;
}

interface LoadedMap {
  readonly sources: readonly string[];
  /** Segments per generated line, sorted by column. */
  readonly lines: readonly (readonly Segment[])[];
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeVlq(text: string, at: number, out: number[]): number {
  let value = 0;
  let shift = 0;
  for (;;) {
    const digit = B64.indexOf(text[at++]);
    value += (digit & 31) << shift;
    shift += 5;
    if ((digit & 32) === 0) break;
  }
  out.push(value & 1 ? -(value >>> 1) : value >>> 1);
  return at;
}

function parseMappings(mappings: string): Segment[][] {
  const lines: Segment[][] = [];
  let source = 0;
  let line = 0;
  for (const lineText of mappings.split(';')) {
    const segments: Segment[] = [];
    let col = 0;
    for (const seg of lineText.split(',')) {
      if (seg === '') continue;
      const fields: number[] = [];
      for (let at = 0; at < seg.length; ) at = decodeVlq(seg, at, fields);
      col += fields[0];
      if (fields.length >= 4) {
        source += fields[1];
        line += fields[2];
        segments.push({ col, source, line });
      }
    }
    lines.push(segments);
  }
  return lines;
}

const cache = new Map<string, LoadedMap | null>();

function load(jsFile: string): LoadedMap | null {
  if (cache.has(jsFile)) return cache.get(jsFile) ?? null;
  let map: LoadedMap | null = null;
  const mapFile = `${jsFile}.map`;
  if (existsSync(mapFile)) {
    const raw = JSON.parse(readFileSync(mapFile, 'utf8')) as { sources: string[]; sourceRoot?: string; mappings: string };
    const base = join(dirname(mapFile), raw.sourceRoot ?? '');
    map = { sources: raw.sources.map((s) => join(base, s)), lines: parseMappings(raw.mappings) };
  }
  cache.set(jsFile, map);
  return map;
}

/**
 * `src/x.ts:line` (1-based, relative to `root`) for a 0-based generated position in `jsFile`,
 * or undefined when the file has no source map or the position no mapping.
 */
export function originalPosition(jsFile: string, line0: number, col0: number, root: string): string | undefined {
  const map = load(jsFile);
  const segments = map?.lines[line0];
  if (map === null || segments === undefined || segments.length === 0) return undefined;
  let best = segments[0];
  for (const s of segments) {
    if (s.col > col0) break;
    best = s;
  }
  return `${relative(root, map.sources[best.source])}:${best.line + 1}`;
}
