// A replica's metrics: WAL fsync and apply latency histograms, leader changes and pending proposals,
// with a warning in the log when the fsync p99 passes FSYNC_P99_WARN_MS (the disk is then what slows
// every write: etcd warns the same way). Exposed as plain numbers and in Prometheus text format.

import type { Logger } from 'pino';

/** Bucket upper bounds in milliseconds (the last bucket is +Inf). */
export const LATENCY_BUCKETS_MS: readonly number[] = [0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000];
export const FSYNC_P99_WARN_MS = 10;
/** The fsync p99 is checked once per this many observations, over those observations. */
const FSYNC_WARN_WINDOW = 1000;

export class LatencyHistogram {
  readonly counts: number[] = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  count = 0;
  sumMs = 0;

  observe(ms: number): void {
    let bucket = LATENCY_BUCKETS_MS.findIndex((bound) => ms <= bound);
    if (bucket < 0) bucket = LATENCY_BUCKETS_MS.length;
    this.counts[bucket] = (this.counts[bucket] ?? 0) + 1;
    this.count++;
    this.sumMs += ms;
  }

  /** The upper bound of the bucket holding quantile q (Infinity past the last bound). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= rank) return LATENCY_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Prometheus histogram lines for `name` (seconds, as Prometheus expects). */
  prometheus(name: string, help: string): string {
    const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
    let cumulative = 0;
    LATENCY_BUCKETS_MS.forEach((bound, i) => {
      cumulative += this.counts[i] ?? 0;
      lines.push(`${name}_bucket{le="${bound / 1000}"} ${cumulative}`);
    });
    lines.push(`${name}_bucket{le="+Inf"} ${this.count}`, `${name}_sum ${this.sumMs / 1000}`, `${name}_count ${this.count}`);
    return lines.join('\n');
  }
}

export class ReplicaMetrics {
  readonly fsync = new LatencyHistogram();
  readonly apply = new LatencyHistogram();
  leaderChanges = 0;
  proposalsPending = 0;
  /** Batching, as counters (ratios tell entries per Ready / per fsync, messages per Ready). */
  readys = 0;
  persists = 0;
  persistedEntries = 0;
  appliedEntries = 0;
  /** Applied by a leader while its own fsync was still running (node.ts applyCommittedEarly). */
  earlyAppliedEntries = 0;
  messagesSent = 0;
  readRounds = 0;
  private window = new LatencyHistogram();

  observeFsync(ms: number, log: Logger): void {
    this.fsync.observe(ms);
    this.window.observe(ms);
    if (this.window.count < FSYNC_WARN_WINDOW) return;
    const p99 = this.window.quantile(0.99);
    if (p99 > FSYNC_P99_WARN_MS) {
      log.warn({ fsyncP99Ms: p99, windowSize: this.window.count }, `WAL fsync p99 is above ${FSYNC_P99_WARN_MS} ms: the disk is slowing every write`);
    }
    this.window = new LatencyHistogram();
  }

  observeApply(ms: number): void {
    this.apply.observe(ms);
  }

  prometheus(): string {
    return [
      this.fsync.prometheus('kplane_store_wal_fsync_duration_seconds', 'WAL persist (write + fdatasync) latency'),
      this.apply.prometheus('kplane_store_apply_duration_seconds', 'Time to apply one Ready of committed entries'),
      '# TYPE kplane_store_leader_changes_total counter',
      `kplane_store_leader_changes_total ${this.leaderChanges}`,
      '# TYPE kplane_store_proposals_pending gauge',
      `kplane_store_proposals_pending ${this.proposalsPending}`,
      ...counters([
        ['kplane_store_readys_total', this.readys],
        ['kplane_store_persists_total', this.persists],
        ['kplane_store_persisted_entries_total', this.persistedEntries],
        ['kplane_store_applied_entries_total', this.appliedEntries],
        ['kplane_store_early_applied_entries_total', this.earlyAppliedEntries],
        ['kplane_store_raft_messages_sent_total', this.messagesSent],
        ['kplane_store_read_index_rounds_total', this.readRounds],
      ]),
    ].join('\n');
  }
}

function counters(pairs: readonly (readonly [string, number])[]): string[] {
  return pairs.flatMap(([name, value]) => [`# TYPE ${name} counter`, `${name} ${value}`]);
}
