// The store's client interface: what the API server (its only client) sees of the store.
// Two implementations: the replica client (src/store/client/, over the actor transport to a Raft
// group of replica processes) and LocalStore (local-store.ts, one in-process state machine, for unit
// tests of the layers above). Both give the same answers for the same calls.
//
// Errors: every method rejects with a StoreError (errors.ts) whose `code` says what happened;
// `UNAVAILABLE` (no leader reachable in time) and `TIMEOUT` (the outcome is unknown: the write may
// or may not have applied) are the client-side codes, and both are retryable.

import type {
  DeleteRangeRequest,
  DeleteRangeResult,
  Header,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnRequest,
  TxnResult,
} from './commands.js';
import type { WatchBatch, WatchRequest } from './watch-hub.js';

export interface ReadOptions {
  /** Read the local replica's state without a ReadIndex round (may be stale). Default false. */
  readonly serializable?: boolean;
}

export interface LeaseGrantResult {
  readonly header: Header;
  readonly id: number;
  readonly ttlSeconds: number;
}

export interface LeaseKeepAliveResult {
  readonly header: Header;
  readonly id: number;
  /** The TTL restarted by this keep-alive. */
  readonly ttlSeconds: number;
}

export interface CompactResult {
  readonly header: Header;
  readonly compactRevision: number;
}

/**
 * A live watch. Batches arrive in revision order; a batch with `canceled` set is the last one
 * (reason 'slow' or 'restored': re-watch from canceled.lastRevision + 1; 'compacted': the revision is
 * gone, relist). The client re-establishes watches across leader changes by itself, resuming from
 * the last delivered revision, so a caller only ever sees a cancel for those reasons or its own.
 */
export interface WatchHandle {
  cancel(): void;
}

export type WatchListener = (batch: WatchBatch) => void;

export interface StoreClient {
  range(request: RangeRequest, options?: ReadOptions): Promise<RangeResult>;
  put(request: PutRequest): Promise<PutResult>;
  deleteRange(request: DeleteRangeRequest): Promise<DeleteRangeResult>;
  txn(request: TxnRequest): Promise<TxnResult>;
  compact(revision: number): Promise<CompactResult>;
  /** id 0 or absent: the store picks one. */
  leaseGrant(ttlSeconds: number, id?: number): Promise<LeaseGrantResult>;
  leaseRevoke(id: number): Promise<{ readonly header: Header }>;
  leaseKeepAlive(id: number): Promise<LeaseKeepAliveResult>;
  /** Rejects (CompactedError) at once if startRevision is compacted. */
  watch(request: WatchRequest, listener: WatchListener): Promise<WatchHandle>;
  close(): Promise<void>;
}
