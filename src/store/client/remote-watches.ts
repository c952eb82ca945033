// The client side of store watches: one watcher actor per client receives the batches of every
// watch, and this module keeps each watch alive across replica failures without gaps or duplicates.
//
// Each caller watch has a client-side id and, per opening on a replica, a fresh wire id
// (`<id>.<opening>`), so batches of an abandoned opening are recognised and ignored. The client tracks
// the last revision delivered to the caller. When the serving replica dies (a death watch of its
// endpoint ends with Terminated), or the replica cancels the watch for any reason but 'compacted'
// ('restored' after a snapshot install, 'slow', 'canceled' when the replica shuts down), the watch is
// opened again on a replica from lastRevision + 1; any event at or below lastRevision is dropped, so
// the caller sees every event exactly once, in order. 'compacted' is delivered to the caller and ends
// the watch; so does the caller's cancel. Only batches with events (or a cancel) reach the caller.
// Batches are numbered per opening: a missing number (a frame lost by the at-most-once transport), or
// a lost connection to the serving replica, also re-opens the watch from lastRevision + 1.

import type { Logger } from 'pino';
import type { ActorRef, ActorSystem, Behavior, Clock, NodeId } from '../../actors/index.js';
import { isSignal } from '../../actors/index.js';
import type { WatchHandle, WatchListener } from '../client.js';
import { CompactedError, StoreError, UnavailableError } from '../errors.js';
import type { WatchBatch, WatchRequest } from '../watch-hub.js';
import type { WatchOpened } from '../replica/endpoint.js';
import { ENDPOINT_PATH, type EndpointMessage, type StoreReply, type WatcherMessage } from '../replica/protocol.js';
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS, replyError, type ReplicaRouter } from './replica-router.js';

interface ClientWatch {
  readonly id: number;
  readonly request: WatchRequest;
  readonly listener: WatchListener;
  /** Every matching event up to here was delivered to the caller (undefined: none yet, start 0). */
  lastRevision: number | undefined;
  openings: number;
  /** The seq of the last batch of the current opening (batches are numbered from 1). */
  seq: number;
  /** The current opening's wire id and replica; undefined while (re)opening. */
  wireId: string | undefined;
  node: NodeId | undefined;
  reopening: boolean;
  ended: boolean;
}

export interface RemoteWatchesOptions {
  readonly system: ActorSystem;
  readonly router: ReplicaRouter;
  readonly clock: Clock;
  readonly log: Logger;
  readonly attemptTimeoutMs: number;
}

export class RemoteWatches {
  private readonly watches = new Map<number, ClientWatch>();
  private readonly byWireId = new Map<string, ClientWatch>();
  private nextId = 1;
  private closed = false;
  readonly watcher: ActorRef<WatcherMessage>;

  constructor(private readonly options: RemoteWatchesOptions) {
    this.watcher = options.system.spawn(this.behavior(), { name: 'store-watches', mailboxCapacity: 100_000 });
    // Death-watch every replica's endpoint: a Terminated both re-opens the watches it served and
    // tells the router to stop waiting for that replica.
    for (const node of options.router.replicas) this.watchReplica(node);
  }

  /** Opens a watch; rejects CompactedError if startRevision is compacted, UnavailableError past the deadline. */
  async open(request: WatchRequest, listener: WatchListener, deadlineMs: number): Promise<WatchHandle> {
    if (this.closed) throw new UnavailableError('the store client is closed');
    const watch: ClientWatch = {
      id: this.nextId++,
      request,
      listener,
      lastRevision: request.startRevision !== undefined && request.startRevision > 0 ? request.startRevision - 1 : undefined,
      openings: 0,
      seq: 0,
      wireId: undefined,
      node: undefined,
      reopening: true,
      ended: false,
    };
    this.watches.set(watch.id, watch);
    try {
      await this.openSomewhere(watch, this.options.router.leaderNode, deadlineMs);
    } catch (error) {
      this.end(watch);
      throw error;
    }
    return { cancel: () => this.cancel(watch) };
  }

  close(): void {
    this.closed = true;
    for (const watch of [...this.watches.values()]) this.cancel(watch);
  }

  get openCount(): number {
    return this.watches.size;
  }

  // ---- opening ---------------------------------------------------------------------------------

  /**
   * Tries replicas from `firstNode` until one registers the watch. With a finite deadline (a caller's
   * open) it rejects past it; a re-open (deadline Infinity) keeps trying until it succeeds, the
   * watch ends, or the client closes.
   */
  private async openSomewhere(watch: ClientWatch, firstNode: NodeId, deadlineMs: number): Promise<void> {
    const { clock, router } = this.options;
    let node = firstNode;
    let backoffMs = BACKOFF_MIN_MS;
    let lastProblem = 'no replica answered';
    watch.reopening = true;
    while (!watch.ended && !this.closed) {
      const remaining = deadlineMs - clock.now();
      if (remaining <= 0) throw new UnavailableError(`could not open the watch: ${lastProblem}`);
      const outcome = await this.openOn(watch, node, Math.min(router.attemptTimeoutFor(node), remaining));
      if (outcome === 'opened') {
        watch.reopening = false;
        return;
      }
      if (outcome instanceof StoreError) throw outcome;
      lastProblem = `${node}: ${outcome}`;
      node = outcome.startsWith('leader:') ? outcome.slice('leader:'.length) : router.nextNode(node);
      await new Promise<void>((resolve) => clock.setTimer(Math.min(backoffMs, Math.max(0, remaining)), resolve));
      backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
    }
    watch.reopening = false;
  }

  /** One opening attempt: 'opened', a terminal StoreError (COMPACTED...), or a reason to try elsewhere. */
  private async openOn(watch: ClientWatch, node: NodeId, timeoutMs: number): Promise<'opened' | StoreError | string> {
    const { system } = this.options;
    watch.openings += 1;
    const wireId = `${watch.id}.${watch.openings}`;
    const startRevision = watch.lastRevision === undefined ? (watch.request.startRevision ?? 0) : watch.lastRevision + 1;
    const request: WatchRequest = { ...watch.request, startRevision };
    // Route batches to this watch before asking: a catching-up watch may send batches before the reply.
    watch.wireId = wireId;
    watch.node = node;
    watch.seq = 0;
    this.byWireId.set(wireId, watch);
    this.watchReplica(node);
    const endpoint = system.refFor<EndpointMessage>(node, ENDPOINT_PATH);
    let reply: StoreReply;
    try {
      reply = await system.ask<EndpointMessage, StoreReply>(endpoint, (replyTo) => ({ type: 'store.watch', watchId: wireId, request, target: this.watcher, replyTo }), timeoutMs);
    } catch (error) {
      this.abandon(watch, wireId, node);
      return error instanceof Error ? error.message : String(error);
    }
    this.options.router.nodeAnswered(node);
    if (watch.wireId !== wireId) {
      // Superseded meanwhile (the replica died, or the watch ended): drop this opening.
      this.abandon(watch, wireId, node);
      return watch.ended ? 'opened' : 'superseded';
    }
    if (reply.ok) {
      const opened = reply.result as WatchOpened;
      if (watch.lastRevision === undefined && typeof opened.revision === 'number') watch.lastRevision = opened.revision;
      return 'opened';
    }
    this.abandon(watch, wireId, node);
    if (reply.code === 'COMPACTED' || reply.code === 'FUTURE_REVISION' || reply.code === 'INVALID_REQUEST' || reply.code === 'BAD_COMMAND') return replyError(reply, startRevision);
    if (reply.code === 'NOT_LEADER' && reply.leaderNode !== undefined && reply.leaderNode !== node) return `leader:${reply.leaderNode}`;
    return reply.message;
  }

  /** Forgets one opening and asks its replica to drop it (in case it was registered after all). */
  private abandon(watch: ClientWatch, wireId: string, node: NodeId): void {
    this.byWireId.delete(wireId);
    if (watch.wireId === wireId) {
      watch.wireId = undefined;
      watch.node = undefined;
    }
    this.tellUnwatch(node, wireId);
  }

  private tellUnwatch(node: NodeId, wireId: string): void {
    try {
      this.options.system.tell(this.options.system.refFor<EndpointMessage>(node, ENDPOINT_PATH), { type: 'store.unwatch', watchId: wireId, target: this.watcher });
    } catch (error) {
      this.options.log.debug({ err: error, node }, 'unwatch not sent');
    }
  }

  /** Re-opens a live watch elsewhere (or on `preferNode`) from lastRevision + 1. */
  private reopen(watch: ClientWatch, preferNode: NodeId): void {
    if (watch.ended || this.closed || watch.reopening) return;
    if (watch.wireId !== undefined) {
      this.byWireId.delete(watch.wireId);
      watch.wireId = undefined;
      watch.node = undefined;
    }
    this.options.log.debug({ watch: watch.id, from: watch.lastRevision, node: preferNode }, 'store watch re-opening');
    this.openSomewhere(watch, preferNode, Number.POSITIVE_INFINITY).catch((error: unknown) => {
      if (error instanceof CompactedError) {
        this.deliver(watch, { watchId: watch.id, revision: error.compactRevision, events: [], canceled: { reason: 'compacted', compactRevision: error.compactRevision, lastRevision: watch.lastRevision ?? 0 } });
      } else {
        this.options.log.warn({ err: error, watch: watch.id }, 'store watch could not be re-opened');
      }
      this.end(watch);
    });
  }

  // ---- delivery --------------------------------------------------------------------------------

  private onBatch(wireId: string, batch: WatchBatch, seq: number | undefined): void {
    const watch = this.byWireId.get(wireId);
    if (watch === undefined || watch.wireId !== wireId || watch.ended) return;
    if (seq !== undefined) {
      if (seq !== watch.seq + 1) {
        // A batch was lost on the way (at-most-once transport): resume from what was delivered.
        this.options.log.debug({ watch: watch.id, expected: watch.seq + 1, got: seq }, 'store watch batch lost, re-opening');
        const node = watch.node ?? this.options.router.leaderNode;
        this.byWireId.delete(wireId);
        watch.wireId = undefined;
        watch.node = undefined;
        this.tellUnwatch(node, wireId);
        this.reopen(watch, node);
        return;
      }
      watch.seq = seq;
    }
    const after = watch.lastRevision ?? Number.NEGATIVE_INFINITY;
    const events = batch.events.filter((event) => event.kv.modRevision > after);
    const last = events[events.length - 1];
    if (last !== undefined) watch.lastRevision = last.kv.modRevision;
    const canceled = batch.canceled;
    if (canceled === undefined) {
      if (events.length > 0) this.deliver(watch, { watchId: watch.id, revision: batch.revision, events });
      return;
    }
    watch.lastRevision = Math.max(watch.lastRevision ?? 0, canceled.lastRevision);
    if (canceled.reason === 'compacted') {
      this.deliver(watch, { watchId: watch.id, revision: batch.revision, events, canceled });
      this.end(watch);
      return;
    }
    if (events.length > 0) this.deliver(watch, { watchId: watch.id, revision: batch.revision, events });
    const node = watch.node;
    this.byWireId.delete(wireId);
    watch.wireId = undefined;
    this.reopen(watch, canceled.reason === 'canceled' && node !== undefined ? this.options.router.nextNode(node) : this.options.router.leaderNode);
  }

  private onWatchError(wireId: string, code: string, message: string, compactRevision: number | undefined): void {
    const watch = this.byWireId.get(wireId);
    if (watch === undefined || watch.wireId !== wireId || watch.ended) return;
    if (code === 'COMPACTED' && compactRevision !== undefined) {
      this.deliver(watch, { watchId: watch.id, revision: compactRevision, events: [], canceled: { reason: 'compacted', compactRevision, lastRevision: watch.lastRevision ?? 0 } });
      this.end(watch);
      return;
    }
    this.options.log.debug({ watch: watch.id, code, message }, 'store watch error, re-opening');
    const node = watch.node;
    this.byWireId.delete(wireId);
    watch.wireId = undefined;
    this.reopen(watch, node === undefined ? this.options.router.leaderNode : this.options.router.nextNode(node));
  }

  /**
   * The connection to a replica was lost (batches may have been lost with it) or the replica is dead:
   * the watches it served re-open elsewhere from their last delivered revision.
   */
  connectionLost(node: NodeId): void {
    this.options.router.nodeDown(node);
    for (const watch of this.watches.values()) {
      if (watch.node === node && !watch.reopening) {
        if (watch.wireId !== undefined) {
          this.byWireId.delete(watch.wireId);
          this.tellUnwatch(node, watch.wireId); // if the replica lives on, it drops the old opening
        }
        watch.wireId = undefined;
        watch.node = undefined;
        this.reopen(watch, this.options.router.nextNode(node));
      }
    }
  }

  private onReplicaGone(node: NodeId): void {
    this.connectionLost(node);
    // Keep watching: the failure detector reports it again while it stays down, and the watch binds
    // to its next incarnation when it comes back.
    if (!this.closed) this.watchReplica(node);
  }

  private deliver(watch: ClientWatch, batch: WatchBatch): void {
    try {
      watch.listener(batch);
    } catch (error) {
      this.options.log.error({ err: error, watch: watch.id }, 'store watch listener threw');
    }
  }

  private cancel(watch: ClientWatch): void {
    if (watch.ended) return;
    const { wireId, node } = watch;
    this.end(watch);
    if (wireId !== undefined && node !== undefined) this.tellUnwatch(node, wireId);
  }

  private end(watch: ClientWatch): void {
    watch.ended = true;
    if (watch.wireId !== undefined) this.byWireId.delete(watch.wireId);
    watch.wireId = undefined;
    this.watches.delete(watch.id);
  }

  /** A replica joined the client's list: death-watch its endpoint like the others'. */
  replicaAdded(node: NodeId): void {
    this.watchReplica(node);
  }

  private watchReplica(node: NodeId): void {
    if (this.closed) return;
    this.options.system.watch(this.watcher, this.options.system.refFor(node, ENDPOINT_PATH));
  }

  private behavior(): Behavior<WatcherMessage, void> {
    return {
      start: () => undefined,
      receive: (_ctx, _state, message) => {
        if (isSignal(message)) {
          if (message.ref.path === ENDPOINT_PATH) this.onReplicaGone(message.ref.node);
          return;
        }
        if (message.type === 'store.watchBatch') this.onBatch(message.watchId, message.batch, message.seq);
        else if (message.type === 'store.watchError') this.onWatchError(message.watchId, message.code, message.message, message.compactRevision);
      },
    };
  }
}
