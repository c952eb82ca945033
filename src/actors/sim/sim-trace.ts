// The trace of a simulated run: one line per event (frames sent, delivered, dropped, duplicated,
// held back; connections; crashes, restarts, partitions; notes from the test), each stamped with the
// virtual time. Its digest (sha256 over every line ever recorded) is what "the same seed gives the
// same run" is checked against. Lines are kept up to a bound for reading a failure; the digest and the
// per-kind counts cover the whole run even when old lines have been let go.
import { createHash, type Hash } from 'node:crypto';
import type { Clock } from '../clock.js';

/** Lines kept for reading; older ones are discarded (the digest still covers them). */
export const TRACE_LINES_KEPT_DEFAULT = 100_000;

export type TraceKind =
  | 'send'
  | 'deliver'
  | 'drop'
  | 'duplicate'
  | 'hold'
  | 'connect'
  | 'disconnect'
  | 'peer-up'
  | 'peer-down'
  | 'start'
  | 'crash'
  | 'restart'
  | 'stop'
  | 'cut'
  | 'partition'
  | 'heal'
  | 'faults'
  | 'root-failure'
  | 'note';

export class SimTrace {
  private readonly hash: Hash = createHash('sha256');
  private readonly kept: string[] = [];
  private readonly counts = new Map<TraceKind, number>();
  private readonly countsByDetail = new Map<string, number>();
  private total = 0;
  private discarded = 0;

  constructor(
    private readonly clock: Clock,
    private readonly maxLinesKept = TRACE_LINES_KEPT_DEFAULT,
  ) {}

  /**
   * Records one event. `detail` (e.g. a drop's reason) is counted separately, so that tests can ask
   * how many frames were dropped by the fault mix rather than by a partition.
   */
  record(kind: TraceKind, text: string, detail?: string): void {
    const line = `${this.clock.now()} ${kind} ${text}`;
    this.hash.update(line);
    this.hash.update('\n');
    this.total++;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    if (detail !== undefined) {
      const key = `${kind}:${detail}`;
      this.countsByDetail.set(key, (this.countsByDetail.get(key) ?? 0) + 1);
    }
    this.kept.push(line);
    // Let go of old lines in chunks, so that recording stays O(1) amortised.
    if (this.kept.length >= 2 * this.maxLinesKept) {
      this.kept.splice(0, this.kept.length - this.maxLinesKept);
      this.discarded += this.maxLinesKept;
    }
  }

  /** How many events of `kind` (optionally with that detail) were recorded. */
  count(kind: TraceKind, detail?: string): number {
    return detail === undefined ? (this.counts.get(kind) ?? 0) : (this.countsByDetail.get(`${kind}:${detail}`) ?? 0);
  }

  /** Every line recorded so far, or the last `maxLinesKept` of them. */
  lines(): readonly string[] {
    return this.kept.length <= this.maxLinesKept ? this.kept : this.kept.slice(this.kept.length - this.maxLinesKept);
  }

  get length(): number {
    return this.total;
  }

  get discardedLines(): number {
    return this.discarded + Math.max(0, this.kept.length - this.maxLinesKept);
  }

  /** sha256 (hex) over every line recorded so far; the run goes on recording afterwards. */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}
