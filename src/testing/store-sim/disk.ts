// A replica's disk in the store simulator. It implements ReplicaStorage with fsync modelled: a
// persist or snapshot save becomes durable only when its seeded fsync delay has passed, and then
// resolves. A crash throws away the writes not yet durable (the unsynced tail; a seeded prefix of
// it may survive, as unacknowledged data can) and fails the pending promises; `recover` rebuilds
// what a restarted replica finds (hard state, newest snapshot, the entries after it), in the shape
// DurableStorage.open gives a real replica.
import type { Random } from '../../actors/random.js';
import type { DurableState } from '../../raft/durable-storage.js';
import type { Entry, HardState, Snapshot } from '../../raft/index.js';
import type { ReplicaStorage } from '../../store/replica/node.js';
import type { SimClock } from './sim-clock.js';

/** What a pending write's promise fails with when its replica crashes first. */
export class SimCrashError extends Error {
  constructor(replica: number) {
    super(`replica ${replica} crashed before the write was synced`);
    this.name = 'SimCrashError';
  }
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

interface PendingWrite {
  readonly makeDurable: () => void;
  readonly reject: (error: Error) => void;
}

/** Chance that each unsynced write (in order, while they survive) is on disk after a crash anyway. */
const SURVIVES_CRASH_CHANCE = 0.3;
/** How long a lying disk's data stays volatile after it said it was synced. */
const LYING_SYNC_LAG_MS = 300;

export class SimDisk implements ReplicaStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snapshot: Snapshot | undefined;
  /** Durable entries, contiguous, all after the snapshot. */
  private entries: Entry[] = [];
  private readonly pending = new Set<PendingWrite>();
  /** Bumped by a crash: writes of an older generation never become durable. */
  private generation = 0;
  /** Set when the disk saw something impossible (a gap in the log); the simulator reports it. */
  problem: string | undefined;
  private lyingDurableAtMs = 0;
  /** When set, called (once) as the next write is issued: the simulator crashes the replica mid-fsync. */
  onNextWrite: (() => void) | undefined;

  constructor(
    private readonly replica: number,
    private readonly clock: SimClock,
    private readonly random: Random,
    private readonly fsyncMaxMs: number,
    /** Broken on purpose (the self-test): persist resolves at once, the data becomes durable later. */
    private readonly lies = false,
  ) {}

  persist(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    const copy = [...entries];
    return this.afterSync(() => {
      this.appendDurable(copy);
      if (hardState !== undefined) this.hardState = hardState;
    });
  }

  saveSnapshot(snapshot: Snapshot): Promise<void> {
    return this.afterSync(() => {
      if (this.snapshot !== undefined && snapshot.meta.index <= this.snapshot.meta.index) return;
      this.snapshot = snapshot;
      this.entries = retainAfter(this.entries, snapshot);
    });
  }

  /**
   * Power loss. Writes not yet synced are lost and their promises fail, except that a prefix of them
   * may have reached the platter anyway (drawn from the seed): data written but never acknowledged
   * may survive a crash, in order. Returns how many writes were lost.
   */
  crash(): number {
    this.generation++;
    const pending = [...this.pending];
    this.pending.clear();
    let survivors = 0;
    while (survivors < pending.length && this.random.chance(SURVIVES_CRASH_CHANCE)) {
      pending[survivors]?.makeDurable();
      survivors++;
    }
    for (const write of pending) write.reject(new SimCrashError(this.replica));
    return pending.length - survivors;
  }

  /** What a restarted replica reads back (DurableStorage.open's shape). */
  recover(): DurableState {
    const snapshotIndex = this.snapshot?.meta.index ?? 0;
    return {
      hardState: { ...this.hardState, commit: Math.max(this.hardState.commit, snapshotIndex) },
      snapshot: this.snapshot,
      entries: [...this.entries],
      tornTailTruncated: undefined,
    };
  }

  /** Index of the last durable entry (or of the snapshot). */
  lastIndex(): number {
    return this.entries[this.entries.length - 1]?.index ?? this.snapshot?.meta.index ?? 0;
  }

  private afterSync(makeDurable: () => void): Promise<void> {
    const generation = this.generation;
    return new Promise<void>((resolve, reject) => {
      const write: PendingWrite = { makeDurable, reject };
      this.pending.add(write);
      const armed = this.onNextWrite;
      if (armed !== undefined) {
        this.onNextWrite = undefined;
        this.clock.setTimer(0, armed);
      }
      let syncMs = 1 + this.random.int(this.fsyncMaxMs);
      if (this.lies) {
        // Resolves at once; the data reaches the disk later, still in write order.
        this.clock.setTimer(1, resolve);
        const durableAtMs = Math.max(this.lyingDurableAtMs, this.clock.now() + syncMs + LYING_SYNC_LAG_MS);
        this.lyingDurableAtMs = durableAtMs;
        syncMs = durableAtMs - this.clock.now();
      }
      this.clock.setTimer(syncMs, () => {
        if (generation !== this.generation || !this.pending.delete(write)) return;
        makeDurable();
        resolve();
      });
    });
  }

  /** Entries overwrite the durable log from their first index on (a new leader's conflicting suffix). */
  private appendDurable(entries: readonly Entry[]): void {
    const snapshotIndex = this.snapshot?.meta.index ?? 0;
    const fresh = entries.filter((entry) => entry.index > snapshotIndex);
    const first = fresh[0];
    if (first === undefined) return;
    const firstDurable = this.entries[0]?.index ?? snapshotIndex + 1;
    if (first.index > this.lastIndex() + 1) {
      this.problem ??= `replica ${this.replica}: persist of entries from ${first.index} leaves a gap after durable index ${this.lastIndex()}`;
      return;
    }
    this.entries = this.entries.slice(0, Math.max(0, first.index - firstDurable));
    this.entries.push(...fresh);
  }
}

/** The durable entries that follow a snapshot, or none if the log disagrees with it (as the WAL does). */
function retainAfter(entries: readonly Entry[], snapshot: Snapshot): Entry[] {
  const { index, term } = snapshot.meta;
  const first = entries[0]?.index;
  if (first === undefined) return [];
  if (index < first - 1) return [];
  if (index === first - 1) return [...entries];
  const atSnapshot = entries[index - first];
  if (atSnapshot === undefined || atSnapshot.term !== term) return [];
  return entries.slice(index - first + 1);
}
