// ReadIndex bookkeeping on the leader (safe mode): each read request records the commit index at
// the time it arrived and waits until a quorum has answered a heartbeat carrying its request id
// (or a later one); then it, and every request queued before it, can be served at its index.
// Bounded: at most MAX_PENDING_READS requests wait; beyond that new requests are dropped (the
// caller's read times out and is retried), which keeps a partitioned leader's memory flat.

import type { ReplicaId } from './types.js';

export const MAX_PENDING_READS = 4096;

export interface PendingRead {
  readonly requestId: string;
  readonly index: number;
  /** Who asked: the leader itself or a follower the answer must be sent to. */
  readonly from: ReplicaId;
  readonly acks: Set<ReplicaId>;
}

export class ReadOnlyQueue {
  private readonly byId = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  /** False if the request was dropped (duplicate id or queue full). */
  add(requestId: string, index: number, from: ReplicaId): boolean {
    if (this.byId.has(requestId) || this.queue.length >= MAX_PENDING_READS) return false;
    this.byId.set(requestId, { requestId, index, from, acks: new Set() });
    this.queue.push(requestId);
    return true;
  }

  /** Records that `from` confirmed leadership for `requestId`; returns its acks, if pending. */
  ack(from: ReplicaId, requestId: string): ReadonlySet<ReplicaId> | undefined {
    const read = this.byId.get(requestId);
    if (read === undefined) return undefined;
    read.acks.add(from);
    return read.acks;
  }

  /** Removes and returns every request up to and including `requestId`, in arrival order. */
  release(requestId: string): PendingRead[] {
    const at = this.queue.indexOf(requestId);
    if (at < 0) return [];
    const ids = this.queue.splice(0, at + 1);
    const out: PendingRead[] = [];
    for (const id of ids) {
      const read = this.byId.get(id);
      if (read !== undefined) out.push(read);
      this.byId.delete(id);
    }
    return out;
  }

  lastRequestId(): string {
    return this.queue[this.queue.length - 1] ?? '';
  }

  get size(): number {
    return this.queue.length;
  }

  clear(): void {
    this.byId.clear();
    this.queue.length = 0;
  }
}
