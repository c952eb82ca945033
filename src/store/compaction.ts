// The retention policy for automatic compaction. The LEADER decides: it periodically calls
// compactionTarget(policy, machine, nowMs) and, when it answers, proposes { type: 'compact' } with that
// revision; every replica then applies the same compaction at the same log position. The age window
// uses the revision-time samples the state machine records from command-carried time (never a clock
// read). Physical removal is incremental (KeySpace.compactStep), so no step blocks for long.

/** How often (in command time) the state machine samples (revision, time) for the age window. */
export const REVISION_TIME_SAMPLE_MS = 1_000;
/** Most samples kept (older ones are thinned out by compaction anyway). */
export const MAX_REVISION_TIME_SAMPLES = 1_000_000;
/** Keys physically compacted per apply() while a compaction is in progress. */
export const COMPACTION_KEYS_PER_APPLY = 64;
/** Do not propose a compaction that would advance the compact revision by less than this. */
export const MIN_COMPACTION_REVISIONS = 100;

export interface RetentionPolicy {
  /** Keep at least this many revisions of history. */
  readonly retainRevisions?: number;
  /** Keep at least this much history by command time (ms). */
  readonly retainMs?: number;
  readonly minCompactionRevisions?: number;
}

/** The default: 5 minutes, as the Kubernetes API server compacts etcd. */
export const DEFAULT_RETENTION: RetentionPolicy = { retainMs: 5 * 60 * 1000 };

export interface CompactionView {
  readonly revision: number;
  readonly compactRevision: number;
  /** The newest revision committed at or before `timeMs`, from the samples (0 if none). */
  revisionAtTime(timeMs: number): number;
}

/**
 * The revision the leader should compact to now, or undefined. With both windows set, the one that
 * keeps more history wins.
 */
export function compactionTarget(policy: RetentionPolicy, view: CompactionView, nowMs: number): number | undefined {
  const candidates: number[] = [];
  if (policy.retainRevisions !== undefined) candidates.push(view.revision - policy.retainRevisions);
  if (policy.retainMs !== undefined) candidates.push(view.revisionAtTime(nowMs - policy.retainMs));
  if (candidates.length === 0) return undefined;
  const target = Math.min(...candidates);
  const minStep = policy.minCompactionRevisions ?? MIN_COMPACTION_REVISIONS;
  return target - view.compactRevision >= minStep && target > 0 ? target : undefined;
}

/** Samples of (revision, timeMs), both ascending, as one flat array [r0, t0, r1, t1, ...]. */
export class RevisionClock {
  private samples: number[] = [];

  /** Record that `revision` was committed at `timeMs` if a sample is due. */
  note(revision: number, timeMs: number): void {
    const n = this.samples.length;
    if (n >= 2 && timeMs < this.samples[n - 1]! + REVISION_TIME_SAMPLE_MS) return;
    if (n >= 2 * MAX_REVISION_TIME_SAMPLES) this.samples.splice(0, 2);
    this.samples.push(revision, timeMs);
  }

  revisionAtTime(timeMs: number): number {
    let lo = 0;
    let hi = this.samples.length / 2;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.samples[mid * 2 + 1]! <= timeMs) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : this.samples[(lo - 1) * 2]!;
  }

  /** Drop samples below the compact revision (keeping the last one at or below it). */
  trim(compactRevision: number): void {
    let drop = 0;
    while (drop + 2 < this.samples.length && this.samples[drop + 2]! <= compactRevision) drop += 2;
    if (drop > 0) this.samples.splice(0, drop);
  }

  flat(): readonly number[] {
    return this.samples;
  }
  load(samples: readonly number[]): void {
    this.samples = [...samples];
  }
}
