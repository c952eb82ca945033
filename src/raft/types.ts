// The data types of kplane's Raft: entries, hard state, snapshots, messages and the Ready batch.
// This is the contract between the pure core (src/raft/core.ts and friends), the durable storage
// beside it (src/raft/wal.ts, src/raft/snapshot-file.ts), the simulator (src/testing/raft-sim/)
// and the driver that does the I/O (src/raft/driver.ts). Nothing here does I/O.

/** A replica's id in the group. 0 means "none". */
export type ReplicaId = number;
export const NO_REPLICA: ReplicaId = 0;

export const enum EntryType {
  /** Application data (an encoded store command); empty data is the leader's no-op. */
  Normal = 0,
  /** A membership change (data is an encoded ConfChange). */
  ConfChange = 1,
}

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What must be on disk before the replica sends any message that depends on it. */
export interface HardState {
  readonly term: number;
  readonly vote: ReplicaId;
  readonly commit: number;
}

export interface ConfState {
  readonly voters: readonly ReplicaId[];
  readonly learners: readonly ReplicaId[];
  /** Voters of the outgoing configuration while in a joint configuration; empty otherwise. */
  readonly votersOutgoing: readonly ReplicaId[];
  /** Learners that become voters when the joint configuration is left. */
  readonly learnersNext: readonly ReplicaId[];
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's encoded state at meta.index. */
  readonly data: Uint8Array;
}

export const enum ConfChangeType {
  AddVoter = 0,
  AddLearner = 1,
  RemoveReplica = 2,
}

export interface ConfChangeSingle {
  readonly type: ConfChangeType;
  readonly replica: ReplicaId;
}

/** A membership change: one or more single changes applied together (several mean joint consensus). */
export interface ConfChange {
  readonly changes: readonly ConfChangeSingle[];
  /**
   * Opaque to the core: carried in the entry and handed back to the driver when it is applied (the
   * store puts the added replica's address here, docs/decisions/0009-store-membership.md).
   */
  readonly context?: string;
}

/**
 * The read side of the log that the core consults. Entries up to `lastIndex()` are in stable
 * storage or in the core's unstable tail; the core calls these only for the stable part.
 * MemoryLogStorage (src/raft/memory-storage.ts) is the in-memory implementation the driver and the
 * simulator keep in step with the WAL.
 */
export interface LogStorage {
  initialState(): { hardState: HardState; conf: ConfState };
  /** Entries in [lo, hi), at most `maxBytes` in total but always at least one if any. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The term of the entry at `index`; `firstIndex() - 1` answers with the snapshot's term. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}
