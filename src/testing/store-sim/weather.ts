// The weather of one store-simulator seed: every rate and interval the run uses, drawn from the seed
// so that different seeds explore calm and stormy runs alike, and printed with a failing seed.
import type { Random } from '../../actors/random.js';

export interface Weather {
  /** Per Raft message. */
  readonly dropChance: number;
  readonly duplicateChance: number;
  /** Chance that a message is held back long enough to arrive after later ones. */
  readonly reorderChance: number;
  /** One-way network latency: base plus a uniform jitter (ms). */
  readonly latencyMs: number;
  readonly jitterMs: number;
  /** fsync (persist / snapshot save) takes 1..fsyncMaxMs ms. */
  readonly fsyncMaxMs: number;
  /** A fault (partition, crash, cut, transfer, heal, watcher move) every faultEveryMs on average. */
  readonly faultEveryMs: number;
  /** A crashed replica stays down this long at most. */
  readonly downMaxMs: number;
  /** Replicas snapshot every this many entries (small, so snapshots and catch-up by snapshot happen). */
  readonly snapshotEveryEntries: number;
  readonly snapshotCatchUpEntries: number;
  /** A client waits up to this long between operations. */
  readonly thinkMaxMs: number;
}

export function drawWeather(random: Random): Weather {
  return {
    // Some seeds get a lossy network or a slow disk (slower than a heartbeat) to stress the timeouts.
    dropChance: random.next() * (random.chance(0.2) ? 0.3 : 0.1),
    duplicateChance: random.next() * 0.05,
    reorderChance: random.next() * 0.05,
    latencyMs: random.between(1, 5),
    jitterMs: random.between(0, 15),
    fsyncMaxMs: random.chance(0.2) ? random.between(50, 300) : random.between(1, 30),
    faultEveryMs: random.between(400, 3_000),
    downMaxMs: random.between(300, 4_000),
    snapshotEveryEntries: random.between(20, 200),
    snapshotCatchUpEntries: random.between(2, 30),
    thinkMaxMs: random.between(5, 150),
  };
}
