// The seam between a store replica's consensus half and its network half.
//
// ReplicaNode (node.ts) implements ReplicaEngine: it owns the Raft core, the log storage and the
// state machine, and turns writes into proposals and linearizable reads into ReadIndex rounds. It
// does no network I/O of its own: Raft messages leave through `RaftOutbox` and arrive through
// `receive`, so the same node runs in a replica process (peer transport over the actor runtime) and
// in the deterministic simulator (a seeded in-memory network).
//
// The client endpoint (the actor a StoreClient talks to) sees only ReplicaEngine.

import type { Message, ReplicaId, Role } from '../../raft/index.js';
import type { ApplyResult, ClientSession, CommandBody, RangeRequest, RangeResult } from '../commands.js';
import type { WatchBatch, WatchRequest } from '../watch-hub.js';
import type { TimeToLive } from '../state-machine.js';

export interface ReplicaStatus {
  readonly id: ReplicaId;
  readonly term: number;
  readonly role: Role;
  /** NO_REPLICA (0) while no leader is known. */
  readonly leader: ReplicaId;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  /** The state machine's current revision. */
  readonly revision: number;
}

/** Where Raft messages leave a node; the peer transport (or the simulator) delivers them to `receive`. */
export type RaftOutbox = (to: ReplicaId, message: Message) => void;

export interface EngineWatch {
  cancel(): void;
}

export interface ReplicaEngine {
  status(): ReplicaStatus;
  /**
   * Proposes a write and resolves with its result once it is committed and applied here.
   * Rejects with NotLeaderError (with the known leader, maybe 0) when this replica is not the leader
   * or stops being it before the write commits (the write may still commit: retry under the same
   * session, which the state machine deduplicates). Error results of apply are resolved, not thrown.
   */
  write(body: CommandBody, session?: ClientSession): Promise<ApplyResult>;
  /** A linearizable read (ReadIndex through the leader) unless `serializable`, which reads local state. */
  range(request: RangeRequest, options?: { readonly serializable?: boolean }): Promise<RangeResult>;
  /** A lease's remaining time, read linearizably like range. */
  timeToLive(id: number, withKeys: boolean): Promise<TimeToLive>;
  /**
   * A watch served from this replica's state machine. Throws CompactedError at once if the start
   * revision is compacted. `onBatch` gets batches in revision order; a batch with `canceled` is last.
   */
  watch(request: WatchRequest, onBatch: (batch: WatchBatch) => void): EngineWatch;
  /** Called whenever status() changes (leader, role, term). */
  onStatusChange(listener: (status: ReplicaStatus) => void): void;
}
