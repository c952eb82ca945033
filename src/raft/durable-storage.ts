// The durable storage of one replica: a WAL directory and a snapshot directory under one data dir.
// `open` rebuilds what the replica had made durable (hard state, newest snapshot, entries after it) so
// the driver can seed the in-memory log; `persist` and `saveSnapshot` are the driver's write path.
// Order for a snapshot: snapshot file (atomic) -> WAL marker -> release old segments, so a crash at any
// point leaves either the old state or the new one readable.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CrashPoints } from './crash-points.js';
import { MemoryLogStorage } from './memory-storage.js';
import { loadNewestSnapshot, writeSnapshotFile } from './snapshot-file.js';
import { SnapshotBehindWalError } from './storage-errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { Wal, retainAfterSnapshot } from './wal.js';
import type { TornTail, WalStats } from './wal.js';

export interface DurableStorageOptions {
  readonly log: Logger;
  readonly crashPoints?: CrashPoints;
  readonly maxSegmentBytes?: number;
}

export interface DurableState {
  readonly hardState: HardState;
  readonly snapshot: Snapshot | undefined;
  /** Entries after the snapshot (or from index 1 without one), contiguous. */
  readonly entries: Entry[];
  readonly tornTailTruncated: TornTail | undefined;
}

const EMPTY_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };

export class DurableStorage {
  private readonly wal: Wal;
  private readonly snapshotDir: string;
  private readonly options: DurableStorageOptions;

  private constructor(wal: Wal, snapshotDir: string, options: DurableStorageOptions) {
    this.wal = wal;
    this.snapshotDir = snapshotDir;
    this.options = options;
  }

  static async open(dataDir: string, options: DurableStorageOptions): Promise<{ storage: DurableStorage; state: DurableState }> {
    const snapshotDir = join(dataDir, 'snap');
    const loaded = await loadNewestSnapshot(snapshotDir, options);
    const { wal, recovered } = await Wal.open(join(dataDir, 'wal'), options);
    const snapshot = loaded?.snapshot;
    const marker = recovered.snapshotMarker;
    if (marker !== undefined && (snapshot === undefined || marker.index > snapshot.meta.index)) {
      await wal.close();
      throw new SnapshotBehindWalError(marker.index, snapshot?.meta.index ?? 0);
    }
    let entries = recovered.entries;
    if (snapshot !== undefined) {
      // A crash between the snapshot file and its WAL marker leaves the file newer than the marker.
      entries = retainAfterSnapshot(entries, snapshot.meta).filter((entry) => entry.index > snapshot.meta.index);
      const first = entries[0];
      if (first !== undefined && first.index !== snapshot.meta.index + 1) entries = [];
    }
    const hardState = recovered.hardState ?? EMPTY_HARD_STATE;
    const commit = Math.max(hardState.commit, snapshot?.meta.index ?? 0);
    return {
      storage: new DurableStorage(wal, snapshotDir, options),
      state: { hardState: { ...hardState, commit }, snapshot, entries, tornTailTruncated: recovered.tornTailTruncated },
    };
  }

  /**
   * Resolves once `entries` and `hardState` are fdatasync'd (group commit with concurrent calls); with
   * `sync` false (Ready.mustSync false: only the commit index changed), once they are written.
   */
  persist(entries: readonly Entry[], hardState?: HardState, sync = true): Promise<void> {
    return this.wal.append(entries, hardState, { sync });
  }

  /** Writes the snapshot file, records its marker in the WAL, then drops segments it covers. */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    await writeSnapshotFile(this.snapshotDir, snapshot, this.options);
    await this.wal.saveSnapshotMarker(snapshot.meta);
    await this.wal.releaseTo(snapshot.meta.index);
  }

  stats(): WalStats {
    return this.wal.stats();
  }

  close(): Promise<void> {
    return this.wal.close();
  }
}

/**
 * The in-memory log the core reads, rebuilt from what `open` recovered. `bootstrapConf` is the initial
 * membership used when there is no snapshot (a fresh group); with a snapshot, its configuration wins.
 */
export function restoreMemoryLogStorage(state: DurableState, bootstrapConf: ConfState): MemoryLogStorage {
  const storage = new MemoryLogStorage(bootstrapConf);
  if (state.snapshot !== undefined) storage.applySnapshot(state.snapshot);
  storage.append(state.entries);
  storage.setHardState(state.hardState);
  return storage;
}
