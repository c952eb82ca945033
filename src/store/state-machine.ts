// The store's state machine: apply(index, command) is the single entry point, called by the replica
// with committed entries in log order. Pure, synchronous and deterministic: no I/O, no clock (time
// comes in the commands), so every replica given the same log reaches byte-identical state
// (snapshot()). Reads (range, timeToLive) are local queries; the replica decides their consistency
// (ReadIndex for linearizable reads). The watch hub is fed from here after each write revision.
//
// Revisions: every command that changes at least one key advances the global revision by one;
// each write inside it gets a sub-revision (0, 1, ...) as in etcd. Lease grants, keep-alives,
// checkpoints and compactions do not advance it (as in etcd).

import {
  DEFAULT_QUOTA_BYTES,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  decodeCommand,
  utf8Length,
  type ApplyResult,
  type Command,
  type DeleteRangeRequest,
  type DeleteRangeResult,
  type ErrorResult,
  type Header,
  type KeyValue,
  type PutRequest,
  type PutResult,
  type RangeRequest,
  type RangeResult,
  type RequestOp,
  type ResponseOp,
  type TxnRequest,
  type TxnResult,
} from './commands.js';
import { COMPACTION_KEYS_PER_APPLY, RevisionClock, compactionTarget, type RetentionPolicy } from './compaction.js';
import { CompactedError, FutureRevisionError, type ApplyErrorCode } from './errors.js';
import { LeaseTable, MAX_LEASES, MAX_LEASE_TTL_SECONDS } from './leases.js';
import { KeySpace, toKeyValue, type StoredEvent } from './mvcc.js';
import { forEachLive, rangeAt } from './range.js';
import { MAX_CLIENT_SESSIONS, SESSION_IDLE_EXPIRY_MS, SessionTable } from './sessions.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { evaluateCompares } from './txn.js';
import { WatchHub } from './watch-hub.js';

export interface StateMachineOptions {
  /** Database size quota (live key + value bytes). Must be the same on every replica. */
  readonly quotaBytes?: number;
  readonly maxClientSessions?: number;
  readonly sessionIdleExpiryMs?: number;
  /** Keys of physical compaction done per apply (default COMPACTION_KEYS_PER_APPLY; 0: only compactStep). */
  readonly compactionKeysPerApply?: number;
}

/** Thrown inside one apply to abandon a request before it changes anything; becomes an ErrorResult. */
class Rejection {
  constructor(
    readonly code: ApplyErrorCode,
    readonly message: string,
  ) {}
}

/** The write in progress: one revision, sub-revisions counted up. */
interface WriteBatch {
  readonly revision: number;
  sub: number;
  readonly events: StoredEvent[];
  /** Shared by every response of the command; set when the batch ends. */
  readonly header: { revision: number };
}

export interface TimeToLive {
  readonly id: number;
  /** -1 if the lease does not exist (etcd's convention). */
  readonly ttlSeconds: number;
  readonly grantedTtlSeconds: number;
  readonly keys: readonly string[];
}

export class StateMachine {
  readonly keys = new KeySpace();
  readonly leases = new LeaseTable();
  readonly sessions: SessionTable;
  readonly watches: WatchHub;
  private readonly revisionClock = new RevisionClock();
  private readonly quotaBytes: number;
  private readonly compactionKeysPerApply: number;
  private revisionValue = 0;
  private compactRevisionValue = 0;
  private appliedIndexValue = 0;

  constructor(options: StateMachineOptions = {}) {
    this.quotaBytes = options.quotaBytes ?? DEFAULT_QUOTA_BYTES;
    this.compactionKeysPerApply = options.compactionKeysPerApply ?? COMPACTION_KEYS_PER_APPLY;
    this.sessions = new SessionTable(options.maxClientSessions ?? MAX_CLIENT_SESSIONS, options.sessionIdleExpiryMs ?? SESSION_IDLE_EXPIRY_MS);
    this.watches = new WatchHub({
      keys: this.keys,
      currentRevision: () => this.revisionValue,
      compactedRevision: () => this.compactRevisionValue,
    });
  }

  get revision(): number {
    return this.revisionValue;
  }
  get compactRevision(): number {
    return this.compactRevisionValue;
  }
  get appliedIndex(): number {
    return this.appliedIndexValue;
  }
  /** The quota measure: live key + value bytes. */
  get sizeBytes(): number {
    return this.keys.liveBytes;
  }

  // ---- apply ---------------------------------------------------------------------------------

  /** Apply a committed entry's data. Bad data gives a BAD_COMMAND result on every replica alike. */
  applyEntry(index: number, data: Uint8Array): ApplyResult {
    if (data.length === 0) {
      this.advanceIndex(index);
      return { type: 'noop', header: this.header() };
    }
    const command = decodeCommand(data);
    if (!(command instanceof Error)) return this.apply(index, command);
    this.advanceIndex(index);
    return this.error('BAD_COMMAND', command.message);
  }

  /** Apply one committed command. Entries must come in log order, each index once. */
  apply(index: number, command: Command): ApplyResult {
    this.advanceIndex(index);
    const nowMs = command.nowMs;
    this.sessions.expire(nowMs);
    const session = command.session;
    let result: ApplyResult;
    if (session !== undefined) {
      const seen = this.sessions.lookup(session.clientId, session.sequence);
      if (seen !== undefined) {
        return seen.result ?? this.error('STALE_SEQUENCE', `client ${session.clientId} sequence ${session.sequence} was already applied`);
      }
      result = this.execute(command);
      // An error result changed nothing, so a retry with the same sequence may simply run again
      // (e.g. after NO_SPACE is cleared); only effective results are remembered.
      if (result.type !== 'error') this.sessions.record(session.clientId, session.sequence, result, nowMs);
    } else result = this.execute(command);
    if (this.compactionKeysPerApply > 0 && this.keys.compactionPending()) this.keys.compactStep(this.compactionKeysPerApply);
    return result;
  }

  private advanceIndex(index: number): void {
    if (index <= this.appliedIndexValue) throw new Error(`invariant: apply index ${index} after ${this.appliedIndexValue}`);
    this.appliedIndexValue = index;
  }

  private header(): Header {
    return { revision: this.revisionValue };
  }

  private error(code: ApplyErrorCode, message: string): ErrorResult {
    return { type: 'error', header: this.header(), code, message };
  }

  private execute(command: Command): ApplyResult {
    const body = command.body;
    try {
      switch (body.type) {
        case 'put': {
          this.validatePut(body.put);
          this.checkQuota(body.put.key.length + body.put.value.length);
          const batch = this.beginBatch();
          const put = this.put(body.put, batch);
          this.endBatch(batch, command.nowMs);
          return { type: 'put', put };
        }
        case 'deleteRange': {
          this.validateDelete(body.deleteRange);
          const batch = this.beginBatch();
          const deleteRange = this.deleteRange(body.deleteRange, batch);
          this.endBatch(batch, command.nowMs);
          return { type: 'deleteRange', deleteRange };
        }
        case 'txn': {
          const batch = this.beginBatch();
          const txn = this.txn(body.txn, batch, true);
          this.endBatch(batch, command.nowMs);
          return { type: 'txn', txn };
        }
        case 'compact':
          return this.compact(body.revision);
        case 'leaseGrant': {
          if (body.ttlSeconds < 1 || body.ttlSeconds > MAX_LEASE_TTL_SECONDS) throw new Rejection('INVALID_TTL', `ttl ${body.ttlSeconds}s is outside 1..${MAX_LEASE_TTL_SECONDS}`);
          if (this.leases.size() >= MAX_LEASES) throw new Rejection('INVALID_REQUEST', `lease limit ${MAX_LEASES} reached`);
          const id = this.leases.chooseId(body.id);
          if (id === undefined) throw new Rejection('LEASE_EXISTS', `lease ${body.id} exists`);
          this.leases.grant(id, body.ttlSeconds, command.nowMs);
          return { type: 'leaseGrant', header: this.header(), id, ttlSeconds: body.ttlSeconds };
        }
        case 'leaseKeepAlive': {
          const lease = this.leases.get(body.id);
          if (lease === undefined) throw new Rejection('LEASE_NOT_FOUND', `no lease ${body.id}`);
          this.leases.keepAlive(lease, command.nowMs);
          return { type: 'leaseKeepAlive', header: this.header(), id: body.id, ttlSeconds: lease.ttlMs / 1000 };
        }
        case 'leaseRevoke': {
          const lease = this.leases.get(body.id);
          if (lease === undefined) throw new Rejection('LEASE_NOT_FOUND', `no lease ${body.id}`);
          const batch = this.beginBatch();
          for (const key of [...lease.keys].sort()) this.deleteRange({ key }, batch);
          this.leases.remove(body.id);
          this.endBatch(batch, command.nowMs);
          return { type: 'leaseRevoke', header: batch.header };
        }
        case 'leaseCheckpoint':
          this.leases.checkpoint(command.nowMs);
          return { type: 'leaseCheckpoint', header: this.header() };
        case 'leaseRebase':
          this.leases.rebase(command.nowMs, body.graceMs);
          return { type: 'leaseRebase', header: this.header() };
      }
    } catch (error) {
      if (error instanceof Rejection) return this.error(error.code, error.message);
      throw error;
    }
  }

  private beginBatch(): WriteBatch {
    return { revision: this.revisionValue + 1, sub: 0, events: [], header: { revision: this.revisionValue } };
  }

  private endBatch(batch: WriteBatch, nowMs: number): void {
    if (batch.sub > 0) {
      this.revisionValue = batch.revision;
      this.revisionClock.note(batch.revision, nowMs);
      this.watches.publish(batch.events);
    }
    batch.header.revision = this.revisionValue;
  }

  // ---- validation (before anything changes, so a rejected request has no effect) --------------

  private validateKey(key: string): void {
    if (key.length === 0) throw new Rejection('INVALID_REQUEST', 'empty key');
    if (key.length > MAX_KEY_BYTES / 3 && utf8Length(key) > MAX_KEY_BYTES) throw new Rejection('KEY_TOO_LARGE', `key is over ${MAX_KEY_BYTES} bytes`);
  }

  private validatePut(put: PutRequest): void {
    this.validateKey(put.key);
    if (put.value.length > MAX_VALUE_BYTES) throw new Rejection('VALUE_TOO_LARGE', `value of ${put.value.length} bytes is over ${MAX_VALUE_BYTES}`);
    const lease = put.lease ?? 0;
    if (put.ignoreValue === true && put.value.length > 0) throw new Rejection('INVALID_REQUEST', 'ignoreValue with a value');
    if (put.ignoreLease === true && lease !== 0) throw new Rejection('INVALID_REQUEST', 'ignoreLease with a lease');
    if ((put.ignoreValue === true || put.ignoreLease === true) && this.keys.current(put.key) === undefined) {
      throw new Rejection('KEY_NOT_FOUND', `key ${put.key.slice(0, 100)} does not exist`);
    }
    if (lease !== 0 && this.leases.get(lease) === undefined) throw new Rejection('LEASE_NOT_FOUND', `no lease ${lease}`);
  }

  private validateDelete(request: DeleteRangeRequest): void {
    if (request.key.length === 0) throw new Rejection('INVALID_REQUEST', 'empty key');
  }

  private checkQuota(addedBytes: number): void {
    if (addedBytes > 0 && this.keys.liveBytes + addedBytes > this.quotaBytes) {
      throw new Rejection('NO_SPACE', `database size ${this.keys.liveBytes} + ${addedBytes} bytes would exceed the quota of ${this.quotaBytes}`);
    }
  }

  /** Validate every op of a branch (nested txns: both branches, conservatively); returns put bytes. */
  private validateOps(ops: readonly RequestOp[]): number {
    let putBytes = 0;
    for (const op of ops) {
      if ('put' in op) {
        this.validatePut(op.put);
        putBytes += op.put.key.length + op.put.value.length;
      } else if ('deleteRange' in op) this.validateDelete(op.deleteRange);
      else if ('txn' in op) putBytes += this.validateOps(op.txn.success) + this.validateOps(op.txn.failure);
    }
    return putBytes;
  }

  // ---- writes --------------------------------------------------------------------------------

  private put(request: PutRequest, batch: WriteBatch): PutResult {
    const prev = this.keys.current(request.key);
    const value = request.ignoreValue === true ? prev!.value : request.value.slice();
    const lease = request.ignoreLease === true ? prev!.lease : request.lease ?? 0;
    if (prev !== undefined && prev.lease !== 0 && prev.lease !== lease) this.leases.get(prev.lease)?.keys.delete(request.key);
    if (lease !== 0) this.leases.get(lease)!.keys.add(request.key);
    batch.events.push(this.keys.write(request.key, value, lease, batch.revision, batch.sub++));
    return request.prevKv === true && prev !== undefined ? { header: batch.header, prevKv: toKeyValue(prev) } : { header: batch.header };
  }

  private deleteRange(request: DeleteRangeRequest, batch: WriteBatch): DeleteRangeResult {
    const doomed: KeyValue[] = [];
    forEachLive(this.keys, request.key, request.rangeEnd, this.revisionValue, this.revisionValue, (record) => {
      doomed.push(toKeyValue(record));
    });
    for (const kv of doomed) {
      if (kv.lease !== 0) this.leases.get(kv.lease)?.keys.delete(kv.key);
      batch.events.push(this.keys.write(kv.key, undefined, 0, batch.revision, batch.sub++));
    }
    return request.prevKv === true ? { header: batch.header, deleted: doomed.length, prevKvs: doomed } : { header: batch.header, deleted: doomed.length };
  }

  private txn(request: TxnRequest, batch: WriteBatch, topLevel: boolean): TxnResult {
    const succeeded = evaluateCompares(this.keys, request.compare, this.revisionValue);
    const ops = succeeded ? request.success : request.failure;
    if (topLevel) this.checkQuota(this.validateOps(ops));
    const responses: ResponseOp[] = [];
    for (const op of ops) {
      if ('put' in op) responses.push({ put: this.put(op.put, batch) });
      else if ('deleteRange' in op) responses.push({ deleteRange: this.deleteRange(op.deleteRange, batch) });
      else if ('range' in op) {
        // Reads inside a txn see the txn's earlier writes (they are already in the key space).
        const read = rangeAt(this.keys, op.range, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
        responses.push({ range: { ...read, header: batch.header } });
      } else responses.push({ txn: this.txn(op.txn, batch, false) });
    }
    return { header: batch.header, succeeded, responses };
  }

  private compact(revision: number): ApplyResult {
    if (revision <= this.compactRevisionValue) throw new Rejection('COMPACTED', `revision ${revision} is compacted (compact revision ${this.compactRevisionValue})`);
    if (revision > this.revisionValue) throw new Rejection('FUTURE_REVISION', `revision ${revision} is in the future (current ${this.revisionValue})`);
    this.compactRevisionValue = revision;
    this.revisionClock.trim(revision);
    this.keys.beginCompaction(revision);
    return { type: 'compact', header: this.header(), compactRevision: revision };
  }

  // ---- reads ---------------------------------------------------------------------------------

  /** A local read. Throws CompactedError / FutureRevisionError for a revision out of the window. */
  range(request: RangeRequest): RangeResult {
    const current = this.revisionValue;
    const revision = request.revision === undefined || request.revision === 0 ? current : request.revision;
    if (revision > current) throw new FutureRevisionError(revision, current);
    if (revision < this.compactRevisionValue) throw new CompactedError(revision, this.compactRevisionValue);
    return rangeAt(this.keys, request, revision, current);
  }

  /** Remaining TTL as of `nowMs` (the caller's clock: approximate on a follower). */
  timeToLive(id: number, nowMs: number, withKeys = false): TimeToLive {
    const lease = this.leases.get(id);
    if (lease === undefined) return { id, ttlSeconds: -1, grantedTtlSeconds: 0, keys: [] };
    return {
      id,
      ttlSeconds: Math.max(0, Math.ceil((lease.expiresAtMs - nowMs) / 1000)),
      grantedTtlSeconds: lease.ttlMs / 1000,
      keys: withKeys ? [...lease.keys].sort() : [],
    };
  }

  // ---- leader-side helpers (they only build commands; the leader proposes them) ---------------

  /** Leases the leader should revoke now (ids ascending, at most `limit`). */
  expiredLeases(nowMs: number, limit = 1000): number[] {
    return this.leases.expired(nowMs, limit);
  }

  /** The command a new leader proposes first (before any expiry check): see leases.ts. */
  onBecomeLeader(nowMs: number, electionTimeoutMs: number): Command {
    return { nowMs, body: { type: 'leaseRebase', graceMs: electionTimeoutMs } };
  }

  /** What the leader proposes every LEASE_CHECKPOINT_INTERVAL_MS. */
  leaseCheckpointCommand(nowMs: number): Command {
    return { nowMs, body: { type: 'leaseCheckpoint' } };
  }

  /** The compaction the leader should propose now under `policy`, if any. */
  compactionCommand(policy: RetentionPolicy, nowMs: number): Command | undefined {
    const target = compactionTarget(
      policy,
      { revision: this.revisionValue, compactRevision: this.compactRevisionValue, revisionAtTime: (t) => this.revisionClock.revisionAtTime(t) },
      nowMs,
    );
    return target === undefined ? undefined : { nowMs, body: { type: 'compact', revision: target } };
  }

  /** Physical compaction work, for the replica to call when idle. True when none is left. */
  compactStep(maxKeys: number): boolean {
    return this.keys.compactStep(maxKeys);
  }

  // ---- snapshots -----------------------------------------------------------------------------

  /** The whole state, compactly and deterministically encoded (see snapshot.ts). */
  snapshot(): Uint8Array {
    return encodeSnapshot({
      appliedIndex: this.appliedIndexValue,
      revision: this.revisionValue,
      compactRevision: this.compactRevisionValue,
      keys: this.keys.retained(this.compactRevisionValue),
      leases: this.leases.all(),
      nextLeaseId: this.leases.nextIdForSnapshot(),
      sessions: this.sessions.all(),
      revisionTimes: this.revisionClock.flat(),
    });
  }

  /** Replace the whole state with a snapshot's. Watchers are cancelled ('restored'): they re-watch. */
  restore(bytes: Uint8Array): void {
    const state = decodeSnapshot(bytes);
    this.keys.load(state.keys, state.compactRevision);
    this.leases.load(state.leases, state.nextLeaseId);
    for (const [key, records] of state.keys) {
      const last = records[records.length - 1];
      if (last !== undefined && !last.tombstone && last.lease !== 0) this.leases.get(last.lease)?.keys.add(key);
    }
    this.sessions.load(state.sessions);
    this.revisionClock.load(state.revisionTimes);
    this.appliedIndexValue = state.appliedIndex;
    this.revisionValue = state.revision;
    this.compactRevisionValue = state.compactRevision;
    this.watches.cancelAll('restored');
  }
}
