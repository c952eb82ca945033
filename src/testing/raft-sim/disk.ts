// SimDisk: the simulator's model of one replica's disk, with the line between "persisted" (fsynced)
// and "written but not synced". The driver writes each Ready's snapshot, entries and hard state
// (write), then fsyncs if the Ready says mustSync (sync). A crash keeps the synced state plus a
// seeded prefix of the unsynced writes (a WAL is sequential: a torn tail loses a suffix, never a
// middle record) and drops the rest; restore() rebuilds the MemoryLogStorage a restarted core reads.
// State-machine snapshots (createSnapshot + compact) are written atomically and fsynced at once,
// as the real snapshot file is (temp file, fsync, rename).

import type { Random } from '../../actors/random.js';
import { MemoryLogStorage } from '../../raft/memory-storage.js';
import type { ConfState, Entry, HardState, Snapshot } from '../../raft/types.js';

/** One record of the write-ahead log not yet covered by an fsync. */
export type DiskWrite =
  | { readonly kind: 'snapshot'; readonly snapshot: Snapshot }
  | { readonly kind: 'entry'; readonly entry: Entry }
  | { readonly kind: 'hard-state'; readonly hardState: HardState };

export class SimDisk {
  /** What survives any crash. */
  private readonly synced: MemoryLogStorage;
  private unsynced: DiskWrite[] = [];
  syncCount = 0;

  constructor(private readonly bootstrap: ConfState) {
    this.synced = new MemoryLogStorage(bootstrap);
  }

  write(record: DiskWrite): void {
    this.unsynced.push(record);
  }

  /** fsync: every write so far becomes durable. */
  sync(): void {
    for (const record of this.unsynced) applyRecord(this.synced, record);
    this.unsynced = [];
    this.syncCount++;
  }

  get unsyncedWrites(): number {
    return this.unsynced.length;
  }

  /** Power loss: a prefix of the unsynced writes (of seeded length, possibly none) reaches the platter. */
  crash(random: Random | undefined): number {
    const kept = random === undefined ? 0 : random.int(this.unsynced.length + 1);
    for (const record of this.unsynced.slice(0, kept)) applyRecord(this.synced, record);
    const lost = this.unsynced.length - kept;
    this.unsynced = [];
    return lost;
  }

  /** An atomic, fsynced state-machine snapshot at `index`, then compaction of the log before it. */
  saveSnapshot(index: number, conf: ConfState, data: Uint8Array): boolean {
    // Only what is durable can be covered by a durable snapshot; applied entries always are.
    if (index <= this.synced.snapshot().meta.index || index > this.synced.lastIndex()) return false;
    this.synced.createSnapshot(index, conf, data);
    this.synced.compact(index);
    return true;
  }

  /** The synced hard state (what a restart will read). */
  hardState(): HardState {
    return this.synced.initialState().hardState;
  }

  snapshot(): Snapshot {
    return this.synced.snapshot();
  }

  lastIndex(): number {
    return this.synced.lastIndex();
  }

  /** The log storage a restarted core reads: synced snapshot, entries and hard state only. */
  restore(): MemoryLogStorage {
    const storage = new MemoryLogStorage(this.bootstrap);
    const snapshot = this.synced.snapshot();
    if (snapshot.meta.index > 0) storage.applySnapshot(snapshot);
    const first = this.synced.firstIndex();
    const last = this.synced.lastIndex();
    if (last >= first) storage.append(this.synced.entries(first, last + 1, Number.POSITIVE_INFINITY));
    storage.setHardState(this.synced.initialState().hardState);
    // The state machine restarts from the snapshot, so the membership must be the snapshot's too:
    // conf changes after it are applied again as their entries are re-applied.
    storage.setConfState(snapshot.meta.conf);
    return storage;
  }
}

function applyRecord(storage: MemoryLogStorage, record: DiskWrite): void {
  switch (record.kind) {
    case 'snapshot':
      if (record.snapshot.meta.index > storage.snapshot().meta.index) storage.applySnapshot(record.snapshot);
      return;
    case 'entry':
      storage.append([record.entry]);
      return;
    case 'hard-state':
      storage.setHardState(record.hardState);
      return;
  }
}
