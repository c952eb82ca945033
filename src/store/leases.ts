// Leases: a TTL granted to a client, renewed by keep-alives; keys put with the lease are deleted when
// it is revoked. The state machine NEVER expires a lease by itself: the leader asks
// `expiredLeases(nowMs)` and proposes a leaseRevoke for each; every deadline is computed from the
// `nowMs` carried in committed commands, so all replicas hold identical lease tables.
//
// Leader changes (see docs/store.md): deadlines are in the clock of the leader that proposed the
// command. The leader commits a leaseCheckpoint every LEASE_CHECKPOINT_INTERVAL_MS recording each
// lease's remaining TTL. A new leader first commits leaseRebase { graceMs = one election timeout }:
// each deadline becomes rebaseNow + remaining-at-last-record + graceMs. So a leader change extends a
// lease by at most (checkpoint interval + election timeout), never by the full TTL (etcd without
// checkpoints), and never expires all leases at once (the grace covers the leaderless window in
// which clients could not send keep-alives).

export const LEASE_CHECKPOINT_INTERVAL_MS = 5_000;
export const MAX_LEASE_TTL_SECONDS = 9_000_000_000 / 1000;
/** Bound on leases (each is small; a grant past it answers INVALID_REQUEST). */
export const MAX_LEASES = 1_000_000;

export interface Lease {
  readonly id: number;
  readonly ttlMs: number;
  /** Deadline in the clock of the leader that last touched it. */
  expiresAtMs: number;
  /** Remaining TTL recorded by the last grant, keep-alive, checkpoint or rebase. */
  remainingMs: number;
  /** Attached keys (kept in sync by the state machine on put/delete). */
  readonly keys: Set<string>;
}

export class LeaseTable {
  private readonly leases = new Map<number, Lease>();
  private nextId = 1;

  get(id: number): Lease | undefined {
    return this.leases.get(id);
  }
  size(): number {
    return this.leases.size;
  }

  /** The id a grant asking for `requested` (0: choose) gets, or undefined if taken. */
  chooseId(requested: number): number | undefined {
    if (requested !== 0) return this.leases.has(requested) ? undefined : requested;
    while (this.leases.has(this.nextId)) this.nextId++;
    return this.nextId;
  }

  grant(id: number, ttlSeconds: number, nowMs: number): Lease {
    const ttlMs = ttlSeconds * 1000;
    const lease: Lease = { id, ttlMs, expiresAtMs: nowMs + ttlMs, remainingMs: ttlMs, keys: new Set() };
    this.leases.set(id, lease);
    if (id >= this.nextId) this.nextId = id + 1;
    return lease;
  }

  keepAlive(lease: Lease, nowMs: number): void {
    lease.expiresAtMs = nowMs + lease.ttlMs;
    lease.remainingMs = lease.ttlMs;
  }

  remove(id: number): void {
    this.leases.delete(id);
  }

  checkpoint(nowMs: number): void {
    for (const lease of this.leases.values()) lease.remainingMs = Math.max(0, lease.expiresAtMs - nowMs);
  }

  rebase(nowMs: number, graceMs: number): void {
    for (const lease of this.leases.values()) lease.expiresAtMs = nowMs + lease.remainingMs + graceMs;
  }

  /** Leases whose deadline is at or before nowMs, by id, at most `limit`. O(leases). */
  expired(nowMs: number, limit: number): number[] {
    const out: number[] = [];
    for (const lease of this.leases.values()) if (lease.expiresAtMs <= nowMs) out.push(lease.id);
    out.sort((a, b) => a - b);
    return out.slice(0, limit);
  }

  /** Every lease, by id (snapshot order). */
  all(): Lease[] {
    return [...this.leases.values()].sort((a, b) => a.id - b.id);
  }

  nextIdForSnapshot(): number {
    return this.nextId;
  }

  load(leases: readonly Lease[], nextId: number): void {
    this.leases.clear();
    for (const lease of leases) this.leases.set(lease.id, lease);
    this.nextId = nextId;
  }
}
