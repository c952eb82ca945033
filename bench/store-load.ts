// The load generator of `npm run bench:store`, shared by both sides of the comparison (kplane's
// replicas and etcd), so that the two figures differ only in the store behind them.
// Closed loop: `concurrency` clients, each with one request in flight, for `warmupMs` then
// `durationMs`. Throughput counts the requests that completed inside the measured window; latency is
// measured from send to answer over those same requests (as ../shared/anchors/etcd/loadgen.js does).
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** One request of client `client`; `sequence` counts that client's requests from 0. */
  readonly operation: (client: number, sequence: number) => Promise<void>;
}

export interface LoadResult {
  readonly opsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly completed: number;
  readonly errors: number;
  readonly firstError?: string;
}

/** Pause after a failed request, so a refused connection does not spin. */
const ERROR_PAUSE_MS = 10;

export async function runClosedLoop(options: LoadOptions): Promise<LoadResult> {
  const start = performance.now();
  const windowStart = start + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const client = async (index: number): Promise<void> => {
    for (let sequence = 0; performance.now() < windowEnd; sequence++) {
      const sent = performance.now();
      try {
        await options.operation(index, sequence);
        const done = performance.now();
        if (sent >= windowStart && done <= windowEnd) latencies.push(done - sent);
      } catch (error) {
        errors++;
        firstError ??= error instanceof Error ? error.message : String(error);
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => client(index)));
  latencies.sort((a, b) => a - b);
  const result: LoadResult = {
    opsPerS: latencies.length / (options.durationMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? 0,
    completed: latencies.length,
    errors,
  };
  return firstError === undefined ? result : { ...result, firstError };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return 0;
  return sorted.length % 2 === 1 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/**
 * Failover: `writers` clients write sequentially; each kill -9s the leader, then measures the time
 * from the kill to the completion of the first write that was sent after it (any writer).
 */
export interface FailoverTarget {
  put(writer: number, sequence: number, timeoutMs: number): Promise<void>;
  leader(): Promise<number>;
  kill9(member: number): void;
  restart(member: number): Promise<void>;
}

export interface FailoverOptions {
  readonly writers: number;
  readonly kills: number;
  readonly settleMs: number;
  readonly observeMs: number;
  readonly requestTimeoutMs: number;
  readonly progress: (line: string) => void;
}

export async function measureFailover(target: FailoverTarget, options: FailoverOptions): Promise<number[]> {
  const successes: Array<Array<readonly [number, number]>> = Array.from({ length: options.writers }, () => []);
  let stop = false;
  const writer = async (index: number): Promise<void> => {
    for (let sequence = 0; !stop; sequence++) {
      const sent = performance.now();
      try {
        await target.put(index, sequence, options.requestTimeoutMs);
        successes[index]?.push([sent, performance.now()]);
      } catch {
        await new Promise((resolve) => setTimeout(resolve, ERROR_PAUSE_MS));
      }
    }
  };
  const writers = Array.from({ length: options.writers }, (_, index) => writer(index));
  const figures: number[] = [];
  try {
    for (let kill = 1; kill <= options.kills; kill++) {
      await sleep(options.settleMs);
      const leader = await target.leader();
      const killedAt = performance.now();
      target.kill9(leader);
      await sleep(options.observeMs);
      let first = Number.POSITIVE_INFINITY;
      for (const list of successes) for (const [sent, done] of list) if (sent >= killedAt && done < first) first = done;
      const figure = first - killedAt;
      figures.push(figure);
      options.progress(`kill ${kill}/${options.kills}: member ${leader} killed, next acknowledged write after ${Number.isFinite(figure) ? figure.toFixed(0) : '∞'} ms`);
      await target.restart(leader);
    }
  } finally {
    stop = true;
    await Promise.all(writers);
  }
  return figures;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
