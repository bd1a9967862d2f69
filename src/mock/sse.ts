/**
 * Server-sent events writer. An endpoint builds the whole list of frames up front (a few short
 * strings) and hands it here; this file owns timing and transport: one `write` per event (and per
 * `: ping` comment), the steered delay before each delta (no timers at all when it is 0), a flushing
 * compressor per event, backpressure, `x-mock-reset-after` cuts, and stopping at once when the
 * client goes away.
 */
import type { Transform, Writable } from 'node:stream';
import { constants as zlibConstants, createBrotliCompress, createDeflate, createGzip, type Zlib } from 'node:zlib';
import { afterFirstByte, baseHeaders, BROTLI_QUALITY, type MockExchange } from './reply.js';
import type { MockEncoding } from './steering.js';

/**
 * Role of a frame in the stream: `delta` frames carry generated content (they are delayed and
 * counted by `x-mock-reset-after`); `tail` frames end the stream (final chunk, usage, `[DONE]`,
 * `response.completed`) and are never sent after a cut; `meta` frames are everything else.
 */
export type FrameKind = 'meta' | 'delta' | 'tail';

/** One SSE event: optional `event:` name and a one-line `data:` payload. */
export interface SseFrame {
  readonly kind: FrameKind;
  readonly data: string;
  readonly event?: string;
}

/** The index of the first frame not to send for `x-mock-reset-after: resetAfter`. */
export function cutIndex(frames: readonly SseFrame[], resetAfter: number | undefined): number {
  if (resetAfter === undefined) return frames.length;
  let deltas = 0;
  for (let i = 0; i < frames.length; i++) {
    const kind = frames[i].kind;
    if (kind === 'tail') return i;
    if (kind === 'delta' && deltas++ === resetAfter) return i;
  }
  return frames.length;
}

type Compressor = Transform & Zlib;

function compressor(encoding: MockEncoding): Compressor {
  // A sync flush on every write makes each event decodable as soon as it arrives.
  switch (encoding) {
    case 'gzip': return createGzip({ flush: zlibConstants.Z_SYNC_FLUSH });
    case 'deflate': return createDeflate({ flush: zlibConstants.Z_SYNC_FLUSH });
    case 'br': return createBrotliCompress({
      flush: zlibConstants.BROTLI_OPERATION_FLUSH,
      params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY },
    });
  }
}

/** Streams `frames` as `text/event-stream`, honouring the exchange's steering. */
export function sendSse(ex: MockExchange, frames: readonly SseFrame[]): void {
  afterFirstByte(ex, () => new SseRun(ex, frames).start());
}

class SseRun {
  private index = 0;
  private waited = false;
  private gone = false;
  private timer: NodeJS.Timeout | undefined;
  private out: Writable;
  private zip: Compressor | undefined;
  private readonly cutAt: number;
  private readonly eol: string;
  private readonly ping: string | undefined;

  constructor(private readonly ex: MockExchange, private readonly frames: readonly SseFrame[]) {
    const { steering } = ex;
    this.cutAt = cutIndex(frames, steering.resetAfter);
    this.eol = steering.crlf ? '\r\n' : '\n';
    this.ping = steering.ping ? `: ping${this.eol}${this.eol}` : undefined;
    this.out = ex.res;
  }

  start(): void {
    const { res, steering } = this.ex;
    const headers = baseHeaders('text/event-stream; charset=utf-8');
    headers['cache-control'] = 'no-cache';
    if (steering.encoding !== undefined) {
      headers['content-encoding'] = steering.encoding;
      headers['vary'] = 'Accept-Encoding';
      this.zip = compressor(steering.encoding);
      this.zip.pipe(res);
      this.out = this.zip;
    }
    res.writeHead(200, headers);
    res.once('close', this.onClose);
    this.pump();
  }

  private readonly onClose = (): void => {
    this.gone = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.zip?.destroy();
  };

  private format(frame: SseFrame): string {
    const eol = this.eol;
    return frame.event === undefined
      ? `data: ${frame.data}${eol}${eol}`
      : `event: ${frame.event}${eol}data: ${frame.data}${eol}${eol}`;
  }

  private readonly pump = (): void => {
    this.timer = undefined;
    const { frames, out } = this;
    const delay = this.ex.steering.delayMs;
    while (this.index < this.cutAt) {
      if (this.gone) return;
      const frame = frames[this.index];
      if (delay > 0 && frame.kind === 'delta' && !this.waited) {
        this.waited = true;
        this.timer = setTimeout(this.pump, delay);
        return;
      }
      this.waited = false;
      if (this.ping !== undefined && this.index > 0) out.write(this.ping);
      const ok = out.write(this.format(frame));
      this.index++;
      if (!ok) {
        out.once('drain', this.pump);
        return;
      }
    }
    if (this.gone) return;
    if (this.cutAt < frames.length) this.cut();
    else out.end();
  };

  /** Ends the connection after what was written reaches the socket, without ending the body. */
  private cut(): void {
    const socket = this.ex.res.socket;
    if (socket === null) return;
    if (this.zip === undefined) {
      socket.destroySoon();
      return;
    }
    this.zip.flush(() => setImmediate(() => {
      if (!socket.destroyed) socket.destroySoon();
    }));
  }
}
