// `npm run bench:store`: kplane's store (3 replica processes, fsync on) beside real etcd (3 members on
// loopback, its defaults), driven by the same closed-loop load generator (store-load.ts):
//   - 256-byte puts at 1, 16, 64 and 256 concurrent clients: writes/s, p50 and p99 latency;
//   - linearizable reads at 64 clients: reads/s;
//   - failover: kill -9 of the leader to the next acknowledged write (median and max of 5 kills).
// Ratios are kplane / etcd for throughput and etcd-relative for latency. Progress on stderr, a table on
// stdout, ONE JSON line at the end. Options: --quick (shorter windows, 3 kills), --skip-etcd,
// --c64-only (an unreported warm-up at 16 clients, then puts and reads at 64 clients only, no
// failover: for profiling rounds).
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureEtcdInstalled } from './etcd-cluster.js';
import { measureFailover, median, runClosedLoop, type LoadResult } from './store-load.js';
import { EtcdSide, type StoreSide } from './store-sides.js';
import { KplaneSide } from './store-kplane-side.js';

const quick = process.argv.includes('--quick');
const skipEtcd = process.argv.includes('--skip-etcd');
const c64Only = process.argv.includes('--c64-only');
const WRITE_CONCURRENCY: readonly number[] = c64Only ? [64] : [1, 16, 64, 256];
const READ_CONCURRENCY = 64;
const WARMUP_MS = quick ? 500 : 1_000;
const DURATION_MS = quick ? 2_000 : 5_000;
const KILLS = quick ? 3 : 5;
const FAILOVER_WRITERS = 4;
const FAILOVER_REQUEST_TIMEOUT_MS = 250;

const progress = (line: string): void => {
  process.stderr.write(`[bench:store] ${line}\n`);
};

interface SideFigures {
  readonly writes: ReadonlyMap<number, LoadResult>;
  readonly reads: LoadResult;
  readonly failoverMs: readonly number[];
}

async function measure(side: StoreSide): Promise<SideFigures> {
  progress(`${side.name}: starting a 3-replica cluster`);
  await side.start();
  try {
    const writes = new Map<number, LoadResult>();
    if (c64Only) {
      // The full run measures c=64 after the c=1 and c=16 rounds: warm up the same way (unreported).
      await runClosedLoop({ concurrency: 16, warmupMs: 0, durationMs: DURATION_MS, operation: (client, sequence) => side.put(client, 1_000_000 + sequence, 10_000) });
    }
    for (const concurrency of WRITE_CONCURRENCY) {
      progress(`${side.name}: puts at ${concurrency} clients for ${DURATION_MS} ms`);
      const result = await runClosedLoop({
        concurrency,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        operation: (client, sequence) => side.put(client, sequence, 10_000),
      });
      progress(`${side.name}:   ${result.opsPerS.toFixed(0)} writes/s, p99 ${result.p99Ms.toFixed(1)} ms, ${result.errors} errors${result.firstError === undefined ? '' : ` (${result.firstError})`}`);
      writes.set(concurrency, result);
    }
    progress(`${side.name}: preloading keys, then linearizable reads at ${READ_CONCURRENCY} clients`);
    await side.preload();
    const reads = await runClosedLoop({
      concurrency: READ_CONCURRENCY,
      warmupMs: WARMUP_MS,
      durationMs: DURATION_MS,
      operation: (client, sequence) => side.get(client, sequence),
    });
    progress(`${side.name}:   ${reads.opsPerS.toFixed(0)} reads/s, p99 ${reads.p99Ms.toFixed(1)} ms`);
    if (!c64Only) progress(`${side.name}: failover, ${KILLS} kills of the leader under ${FAILOVER_WRITERS} writers`);
    if (c64Only) return { writes, reads, failoverMs: [0] };
    const failoverMs = await measureFailover(side, {
      writers: FAILOVER_WRITERS,
      kills: KILLS,
      settleMs: 2_000,
      observeMs: 4_000,
      requestTimeoutMs: FAILOVER_REQUEST_TIMEOUT_MS,
      progress: (line) => progress(`${side.name}:   ${line}`),
    });
    return { writes, reads, failoverMs };
  } finally {
    await side.stop();
  }
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;
const ratio = (ours: number, theirs: number | undefined): number | null => (theirs === undefined || theirs === 0 ? null : round(ours / theirs, 3));

async function main(): Promise<void> {
  const dir = await mkdtemp(join(process.env['KPLANE_BENCH_DIR'] ?? tmpdir(), 'kplane-bench-store-'));
  const kplane = await measure(new KplaneSide());
  let etcd: SideFigures | undefined;
  if (!skipEtcd && ensureEtcdInstalled(progress)) etcd = await measure(new EtcdSide(join(dir, 'etcd'), 23_791));
  else progress('etcd side skipped: ratios are null');

  const rows: string[][] = [['measure', 'kplane', 'etcd', 'ratio']];
  const json: Record<string, number | null> = {};
  for (const concurrency of WRITE_CONCURRENCY) {
    const ours = kplane.writes.get(concurrency);
    const theirs = etcd?.writes.get(concurrency);
    if (ours === undefined) continue;
    rows.push([`writes/s c=${concurrency}`, ours.opsPerS.toFixed(0), theirs?.opsPerS.toFixed(0) ?? '-', String(ratio(ours.opsPerS, theirs?.opsPerS) ?? '-')]);
    rows.push([`  p50 ms c=${concurrency}`, ours.p50Ms.toFixed(1), theirs?.p50Ms.toFixed(1) ?? '-', String(ratio(ours.p50Ms, theirs?.p50Ms) ?? '-')]);
    rows.push([`  p99 ms c=${concurrency}`, ours.p99Ms.toFixed(1), theirs?.p99Ms.toFixed(1) ?? '-', String(ratio(ours.p99Ms, theirs?.p99Ms) ?? '-')]);
    json[`write_c${concurrency}_per_s`] = round(ours.opsPerS, 0);
    json[`write_c${concurrency}_p50_ms`] = round(ours.p50Ms, 1);
    json[`write_c${concurrency}_p99_ms`] = round(ours.p99Ms, 1);
    json[`etcd_write_c${concurrency}_per_s`] = theirs === undefined ? null : round(theirs.opsPerS, 0);
    json[`etcd_write_c${concurrency}_p99_ms`] = theirs === undefined ? null : round(theirs.p99Ms, 1);
  }
  rows.push([`reads/s c=${READ_CONCURRENCY}`, kplane.reads.opsPerS.toFixed(0), etcd?.reads.opsPerS.toFixed(0) ?? '-', String(ratio(kplane.reads.opsPerS, etcd?.reads.opsPerS) ?? '-')]);
  const ourFailover = median(kplane.failoverMs);
  const theirFailover = etcd === undefined ? undefined : median(etcd.failoverMs);
  rows.push(['failover median ms', ourFailover.toFixed(0), theirFailover?.toFixed(0) ?? '-', String(ratio(ourFailover, theirFailover) ?? '-')]);
  rows.push(['failover max ms', Math.max(...kplane.failoverMs).toFixed(0), etcd === undefined ? '-' : Math.max(...etcd.failoverMs).toFixed(0), '']);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ')}\n`);

  const c64 = kplane.writes.get(64);
  json['read_c64_per_s'] = round(kplane.reads.opsPerS, 0);
  json['etcd_read_c64_per_s'] = etcd === undefined ? null : round(etcd.reads.opsPerS, 0);
  json['failover_median_ms'] = round(ourFailover, 0);
  json['failover_max_ms'] = round(Math.max(...kplane.failoverMs), 0);
  json['etcd_failover_median_ms'] = theirFailover === undefined ? null : round(theirFailover, 0);
  json['ratio_write_c64_vs_etcd'] = c64 === undefined ? null : ratio(c64.opsPerS, etcd?.writes.get(64)?.opsPerS);
  json['ratio_p99_c64_vs_etcd'] = c64 === undefined ? null : ratio(c64.p99Ms, etcd?.writes.get(64)?.p99Ms);
  json['ratio_read_c64_vs_etcd'] = ratio(kplane.reads.opsPerS, etcd?.reads.opsPerS);
  json['ratio_failover_vs_etcd'] = ratio(ourFailover, theirFailover);
  process.stdout.write(`${JSON.stringify(json)}\n`);
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
