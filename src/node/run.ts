/**
 * Runs the gateway as a long-lived process: one process, or with `--workers N` a node:cluster primary
 * that forks N workers on one port and replaces any that crash. SIGTERM/SIGINT stop accepting, let
 * in-flight requests finish (bounded by SHUTDOWN_TIMEOUT), flush logs and exit 0.
 */
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import process from 'node:process';
import { attachChatLogPrimary, type ChatLog, createChatLog } from '../chat-log/index.js';
import { type ConfigSources, ConfigError } from '../config/load.js';
import { answerConfigSources } from './config-sharing.js';
import type { Config } from '../config/schema.js';
import type { AuthMode } from '../core/auth.js';
import { GatewayCounters } from '../core/counters.js';
import type { MetricsSnapshot } from '../core/metrics-text.js';
import { VERSION } from '../version.js';
import { renderBanner, useColour } from './banner.js';
import { createGateway, type Gateway } from './gateway.js';
import { relayKeyRests, shareKeyRests } from './key-rest-sharing.js';
import { answerRateQuestions, localRateGate, primaryRateGate } from './rate-gate.js';
import { gatewaySnapshot, type MetricsSources, processSamples, startMetricsServer } from './metrics.js';
import { collectWorkerMetrics, reportMetricsToPrimary } from './metrics-sharing.js';
import { tuneV8ForServing } from './v8-tuning.js';
import { TurnClock } from './turn-clock.js';
import { turnWrites } from './turn-writes.js';

/** The variable by which the primary of `--workers N` marks the workers it forks. */
const WORKER_MARK = 'AIFWD_CLUSTER_WORKER';

/**
 * This process is a worker of aifwd's own primary (`--workers N`). A process another cluster
 * primary forked (PM2's cluster mode) runs as a single gateway: that primary neither answers
 * aifwd's questions (rpm, configuration) nor writes its workers' chat-log lines.
 */
export const AIFWD_WORKER = cluster.isWorker && process.env[WORKER_MARK] === '1';

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  /** The texts the configuration was read from: under `--workers`, handed to every worker. */
  sources?: ConfigSources;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

function listenUrl(tls: boolean, host: string, port: number): string {
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${shownHost}:${port}`;
}

function authModeOf(config: Config): AuthMode {
  if (config.api_key.length === 0) return 'passthrough';
  return config.forward_key.length === 0 ? 'open' : 'forward-key';
}

function rpmLimits(config: Config): number[] {
  return config.forward_key.map((spec) => spec.policy?.rpm ?? 0);
}

function hasRpm(config: Config): boolean {
  return rpmLimits(config).some((rpm) => rpm > 0);
}

interface Listening {
  port: number;
  tls: boolean;
  proxy: string | undefined;
  chatLogPath: string | undefined;
  metrics: AddressInfo | undefined;
}

function printBanner(config: Config, { port, tls, proxy, chatLogPath, metrics }: Listening, opts: RunOptions): void {
  const banner = renderBanner(
    {
      config,
      version: VERSION,
      prefix: config.route_prefix ?? '',
      authMode: authModeOf(config),
      listenUrl: listenUrl(tls, config.host, port),
      proxy,
      chatLogPath,
      metricsUrl: metrics === undefined ? undefined : `${listenUrl(false, metrics.address, metrics.port)}/metrics`,
    },
    useColour(opts.stdout, opts.env),
  );
  opts.stdout.write(banner);
}

/** Why `listen` failed, in one line (`aifwd run` and `aifwd mock`). */
export function listenFailure(err: unknown, host: string, port: number, what = ''): ConfigError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'EADDRINUSE' ? 'address already in use'
    : code === 'EACCES' ? 'permission denied'
    : code === 'EADDRNOTAVAIL' ? 'no such address on this machine'
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'no such host'
    : (code ?? String(err));
  return new ConfigError(`cannot listen on ${host}:${port}${what}: ${why}`);
}

/** A metrics message the channel could not take: the worker is going away. */
function ignoreSendError(): void {}

/**
 * The metrics port, when `metrics_port` asks for one (`collector` makes what a scrape reads, only
 * then); a port that cannot be had stops the start.
 */
async function serveMetrics(config: Config, collector: () => () => MetricsSnapshot): Promise<AddressInfo | undefined> {
  if (config.metrics_port === 0) return undefined;
  try {
    return (await startMetricsServer({ host: config.metrics_host, port: config.metrics_port, collect: collector() })).address;
  } catch (err) {
    throw listenFailure(err, config.metrics_host, config.metrics_port, ' for metrics');
  }
}

/**
 * A serving process's metrics: served on the metrics port by a single process (its address is
 * returned), sent to the primary every second by a cluster worker.
 */
async function processMetrics(config: Config, gateway: Gateway, chatLog: ChatLog | undefined): Promise<AddressInfo | undefined> {
  const pool = gateway.auth.pool;
  const sources: MetricsSources = {
    counters: gateway.counters,
    pool,
    // In a cluster the primary counts rests (key-rest-sharing.ts), once each.
    poolRests: AIFWD_WORKER ? undefined : () => pool.restsStarted,
    connections: () => gateway.server.connections,
    // A worker's lines are written by the primary, which counts them; a worker counts only what it lost.
    chatLog: chatLog === undefined ? undefined : AIFWD_WORKER ? { get dropped() { return chatLog.stats.dropped; } } : chatLog.stats,
  };
  if (!AIFWD_WORKER) return serveMetrics(config, () => () => gatewaySnapshot(sources));
  if (config.metrics_port > 0) {
    reportMetricsToPrimary(
      () => gatewaySnapshot(sources),
      (message) => {
        if (process.connected) process.send?.(message, undefined, undefined, ignoreSendError);
      },
    );
  }
  return undefined;
}

/** One serving process (the only one, or a cluster worker). Resolves once listening. */
async function serve(config: Config, opts: RunOptions, announce: boolean): Promise<void> {
  tuneV8ForServing();
  // The chat log reads each reply's usage: it counts the tokens into the gateway's metrics.
  const counters = new GatewayCounters();
  // Requests' arrival and the log's times: one clock read per event-loop turn.
  const clock = new TurnClock((task) => turnWrites.afterWrites(task));
  // In a cluster worker the primary owns the log file; this process hands it its lines.
  const chatLog = config.log_chat
    ? createChatLog({
        dir: config.log_dir,
        rotateSize: config.log_rotate_size,
        mode: AIFWD_WORKER ? 'worker' : 'file',
        stderr: opts.stderr,
        onUsage: (model, usage, keyName) => counters.countUsage(model, usage, keyName),
        // The log's work of a turn waits until the turn's answers went out.
        endOfTurn: (task) => turnWrites.afterWrites(task),
        now: clock.now,
        secrets: [...config.api_key, ...config.forward_key.map((spec) => spec.key)],
      })
    : undefined;
  // A process that dies of an uncaught exception still writes the records it holds (batches wait
  // up to 100 ms); after a shutdown there are none left.
  if (chatLog !== undefined && !AIFWD_WORKER) process.once('exit', () => chatLog.flushSync());
  // Under --workers, the primary counts forward keys' requests per minute for all workers.
  const rateGate = AIFWD_WORKER && hasRpm(config) ? primaryRateGate(process) : undefined;
  const gateway = createGateway(config, { env: opts.env, hook: chatLog?.hook, memoryRelief: true, counters, rateGate, now: clock.now });
  // A worker tells the others, through the primary, when a pool key rests.
  if (AIFWD_WORKER) shareKeyRests(gateway.auth.pool, process);
  const metrics = await processMetrics(config, gateway, chatLog);
  let address: AddressInfo;
  try {
    address = await gateway.listen();
  } catch (err) {
    throw listenFailure(err, config.host, config.port);
  }
  if (announce) {
    printBanner(config, { port: address.port, tls: gateway.tls, proxy: gateway.upstream.proxy, chatLogPath: chatLog?.path, metrics }, opts);
  }

  // Order matters: in-flight exchanges still write their response records while the server drains.
  const stop = (): void => {
    gateway
      .close(config.shutdown_timeout)
      .then(() => chatLog?.close())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** The cluster primary: forks, supervises, relays shutdown. */
async function supervise(config: Config, opts: RunOptions): Promise<void> {
  // Validate everything a worker would (TLS files, IP rules) here, so a bad value fails once, clearly.
  const probe = createGateway(config, { env: opts.env });
  void probe.upstream.close();
  if (opts.sources !== undefined) answerConfigSources(cluster, opts.sources);
  const rests = relayKeyRests(cluster);
  if (hasRpm(config)) answerRateQuestions(cluster, localRateGate(rpmLimits(config)));
  const chatLog = config.log_chat
    ? attachChatLogPrimary({ dir: config.log_dir, rotateSize: config.log_rotate_size, stderr: opts.stderr })
    : undefined;
  // As in serve(): the workers' records this process holds survive its crash.
  if (chatLog !== undefined) process.once('exit', () => chatLog.flushSync());
  const exit = (): void => {
    void (chatLog?.close() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  // The workers' metrics, added up here (metrics.ts), with the primary's own process, log file and
  // count of key rests.
  const metrics = await serveMetrics(config, () =>
    collectWorkerMetrics(cluster, () => [
      ...processSamples(),
      { name: 'aifwd_pool_key_rests_total', labels: '', value: rests.restsStarted },
      ...(chatLog === undefined
        ? []
        : [
            { name: 'aifwd_chat_log_lines_written_total', labels: '', value: chatLog.stats.written },
            { name: 'aifwd_chat_log_lines_dropped_total', labels: '', value: chatLog.stats.dropped },
          ]),
    ]),
  );
  return new Promise((resolve, reject) => {
    let stopping = false;
    let announced = false;
    let restartDelay = 0;
    const startedAt = new Map<Worker, number>();

    // Structured clone on the IPC channel, so the chat log's encoded lines cross as bytes (ipc.ts).
    // Only with the log: it costs cluster's own messages ~1.3 µs more per accepted connection.
    if (chatLog !== undefined) cluster.setupPrimary({ serialization: 'advanced' });
    const fork = (): void => {
      // A replacement scheduled before a shutdown began is not started.
      if (stopping) return;
      const worker = cluster.fork({ [WORKER_MARK]: '1' });
      startedAt.set(worker, Date.now());
      // A worker re-emits its process's 'error' — a message to a worker whose channel just closed
      // (node:cluster's own, as the worker dies mid-start), a signal that could not be sent — and an
      // 'error' nobody listens to would end the primary, and every other worker with it.
      worker.on('error', (err: Error) => {
        if (!stopping) opts.stderr.write(`aifwd: worker ${worker.process.pid ?? '?'}: ${err.message}\n`);
      });
    };

    cluster.on('listening', (_worker, address) => {
      restartDelay = 0;
      if (announced) return;
      announced = true;
      printBanner(config, { port: address.port, tls: probe.tls, proxy: probe.upstream.proxy, chatLogPath: chatLog?.path, metrics }, opts);
      resolve();
    });

    // A worker leaves `cluster.workers` only after both 'exit' and 'disconnect', in either order; all
    // its chat-log lines have arrived by its 'disconnect'. So the last one out ends the primary.
    const exitWhenAllGone = (): void => {
      if (stopping && Object.keys(cluster.workers ?? {}).length === 0) exit();
    };
    cluster.on('disconnect', () => setImmediate(exitWhenAllGone));

    cluster.on('exit', (worker, code, signal) => {
      const lived = Date.now() - (startedAt.get(worker) ?? 0);
      startedAt.delete(worker);
      if (stopping) {
        setImmediate(exitWhenAllGone);
        return;
      }
      if (!announced) {
        // A worker that dies before any worker listened has a start-up problem; it already said which.
        reject(new ConfigError(`worker exited during start-up (${signal ?? `code ${code}`})`));
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
        return;
      }
      // Crash loops back off (1 s doubling to 30 s) instead of spinning.
      restartDelay = lived < 2000 ? Math.min(Math.max(restartDelay * 2, 1000), 30_000) : 0;
      opts.stderr.write(
        `aifwd: worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting a replacement${restartDelay ? ` in ${restartDelay / 1000} s` : ''}\n`,
      );
      // Not unref'd: when every worker died at once, this timer is all that keeps the primary alive.
      setTimeout(fork, restartDelay);
    });

    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      const workers = Object.values(cluster.workers ?? {});
      if (workers.length === 0) return exit();
      for (const worker of workers) worker?.process.kill(signal);
      // Workers bound their own drain; this only guards against one that hangs.
      setTimeout(exit, config.shutdown_timeout + 5000).unref();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGTERM'));

    for (let i = 0; i < config.workers; i++) fork();
  });
}

/** Starts serving per `config`; resolves once listening (the process then lives until a signal). */
export async function runGateway(config: Config, opts: RunOptions): Promise<void> {
  if (config.workers > 1 && cluster.isPrimary) return supervise(config, opts);
  return serve(config, opts, !AIFWD_WORKER);
}
