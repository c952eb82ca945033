// LocalStore: the StoreClient interface over one in-process state machine, with no Raft and no
// network. It is what unit tests of the layers above the store (the API server, controllers) run
// against; the integration tests use the replica client and real replica processes instead.
// It keeps the store's semantics that callers depend on: revisions, compares, watches from a past
// revision, compaction errors, and leases that expire on the injected clock.

import type { Clock, TimerHandle } from '../actors/clock.js';
import type {
  ApplyResult,
  Command,
  CommandBody,
  DeleteRangeRequest,
  DeleteRangeResult,
  PutRequest,
  PutResult,
  RangeRequest,
  RangeResult,
  TxnRequest,
  TxnResult,
} from './commands.js';
import { encodeForProposal } from './commands.js';
import type { CompactResult, LeaseGrantResult, LeaseKeepAliveResult, StoreClient, WatchHandle, WatchListener } from './client.js';
import { StoreError, UnavailableError, toStoreError } from './errors.js';
import { StateMachine, type StateMachineOptions } from './state-machine.js';
import type { WatchRequest } from './watch-hub.js';

/** How often the stand-in leader looks for expired leases. */
export const LOCAL_LEASE_SWEEP_MS = 250;

export class LocalStore implements StoreClient {
  readonly machine: StateMachine;
  private index = 0;
  private closed = false;
  private readonly listeners = new Map<number, WatchListener>();
  private readonly ready = new Set<number>();
  private drainScheduled = false;
  private sweepTimer: TimerHandle | undefined;

  constructor(
    private readonly clock: Clock,
    options: StateMachineOptions = {},
  ) {
    this.machine = new StateMachine(options);
    this.machine.watches.onReady = (watchId) => {
      this.ready.add(watchId);
      this.scheduleDrain();
    };
    this.scheduleSweep();
  }

  range(request: RangeRequest): Promise<RangeResult> {
    return this.run(() => this.machine.range(request));
  }

  put(request: PutRequest): Promise<PutResult> {
    return this.write({ type: 'put', put: request }).then((result) => (result.type === 'put' ? result.put : unexpected(result)));
  }

  deleteRange(request: DeleteRangeRequest): Promise<DeleteRangeResult> {
    return this.write({ type: 'deleteRange', deleteRange: request }).then((result) =>
      result.type === 'deleteRange' ? result.deleteRange : unexpected(result),
    );
  }

  txn(request: TxnRequest): Promise<TxnResult> {
    return this.write({ type: 'txn', txn: request }).then((result) => (result.type === 'txn' ? result.txn : unexpected(result)));
  }

  compact(revision: number): Promise<CompactResult> {
    return this.write({ type: 'compact', revision }).then((result) =>
      result.type === 'compact' ? { header: result.header, compactRevision: result.compactRevision } : unexpected(result),
    );
  }

  leaseGrant(ttlSeconds: number, id = 0): Promise<LeaseGrantResult> {
    return this.write({ type: 'leaseGrant', id, ttlSeconds }).then((result) =>
      result.type === 'leaseGrant' ? { header: result.header, id: result.id, ttlSeconds: result.ttlSeconds } : unexpected(result),
    );
  }

  leaseRevoke(id: number): Promise<{ readonly header: { readonly revision: number } }> {
    return this.write({ type: 'leaseRevoke', id }).then((result) =>
      result.type === 'leaseRevoke' ? { header: result.header } : unexpected(result),
    );
  }

  leaseKeepAlive(id: number): Promise<LeaseKeepAliveResult> {
    return this.write({ type: 'leaseKeepAlive', id }).then((result) =>
      result.type === 'leaseKeepAlive' ? { header: result.header, id: result.id, ttlSeconds: result.ttlSeconds } : unexpected(result),
    );
  }

  watch(request: WatchRequest, listener: WatchListener): Promise<WatchHandle> {
    return this.run(() => {
      // Register the listener before the hub can call onReady for a catching-up watcher.
      const watchId = this.machine.watches.watch(request);
      this.listeners.set(watchId, listener);
      if (this.ready.has(watchId)) this.scheduleDrain();
      return {
        cancel: () => {
          this.listeners.delete(watchId);
          this.ready.delete(watchId);
          this.machine.watches.cancel(watchId);
        },
      };
    });
  }

  close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer !== undefined) this.clock.cancelTimer(this.sweepTimer);
    this.machine.watches.cancelAll('canceled');
    this.listeners.clear();
    return Promise.resolve();
  }

  // ---- internals -----------------------------------------------------------------------------

  private run<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new UnavailableError('local store is closed'));
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private write(body: CommandBody): Promise<ApplyResult> {
    return this.run(() => {
      const command: Command = { nowMs: this.clock.now(), body };
      const encoded = encodeForProposal(command);
      if (encoded instanceof StoreError) throw encoded;
      this.index += 1;
      const result = this.machine.applyEntry(this.index, encoded);
      if (result.type === 'error') throw toStoreError(result.code, result.message);
      return result;
    });
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    this.clock.defer(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  /** Deliver every ready watcher's batches (the hub re-marks a watcher ready if more remain). */
  private drain(): void {
    const ids = [...this.ready];
    this.ready.clear();
    for (const watchId of ids) {
      const listener = this.listeners.get(watchId);
      if (listener === undefined) continue;
      const batch = this.machine.watches.take(watchId);
      if (batch.canceled !== undefined) this.listeners.delete(watchId);
      if (batch.events.length > 0 || batch.canceled !== undefined) listener(batch);
    }
  }

  private scheduleSweep(): void {
    this.sweepTimer = this.clock.setTimer(LOCAL_LEASE_SWEEP_MS, () => {
      if (this.closed) return;
      for (const id of this.machine.expiredLeases(this.clock.now())) void this.leaseRevoke(id).catch(() => undefined);
      this.scheduleSweep();
    });
  }
}

function unexpected(result: ApplyResult): never {
  throw new Error(`store answered ${result.type} to a different request`);
}
