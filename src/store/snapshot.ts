// Encoding of the whole state machine for Raft snapshots. What is in it: the revision counters, the
// applied index, every key with its RETAINED history (records above the compact revision plus the
// latest record at or below it; so reads at past revisions and watch replays keep working on a
// replica restored from a snapshot), leases (with their recorded remaining TTLs), the client
// session table (in LRU order, with cached results) and the revision-time samples.
// The encoding is CBOR (cbor-x) of flat arrays: per key [key, modRev, sub, createRev, version, lease,
// value-or-null, ...]. It is the LOGICAL state (as if compaction had finished), so replicas whose
// incremental compaction has progressed differently still produce byte-identical snapshots.

import { Encoder } from 'cbor-x';
import type { ApplyResult } from './commands.js';
import type { Lease } from './leases.js';
import type { KeyRecord } from './mvcc.js';
import type { Session } from './sessions.js';

const SNAPSHOT_FORMAT = 1;
const RECORD_FIELDS = 6;
const EMPTY = new Uint8Array(0);
const encoder = new Encoder({ useRecords: false, mapsAsObjects: true });

export interface SnapshotState {
  readonly appliedIndex: number;
  readonly revision: number;
  readonly compactRevision: number;
  readonly keys: ReadonlyArray<readonly [string, KeyRecord[]]>;
  readonly leases: readonly Lease[];
  readonly nextLeaseId: number;
  readonly sessions: readonly Session[];
  readonly revisionTimes: readonly number[];
}

export class SnapshotFormatError extends Error {
  readonly code = 'BAD_SNAPSHOT';
  readonly retryable = false;
}

export function encodeSnapshot(state: SnapshotState): Uint8Array {
  const keys: unknown[] = [];
  for (const [key, records] of state.keys) {
    const flat: unknown[] = [key];
    for (const r of records) flat.push(r.modRevision, r.sub, r.createRevision, r.version, r.lease, r.tombstone ? null : r.value);
    keys.push(flat);
  }
  const leases: number[] = [];
  for (const lease of state.leases) leases.push(lease.id, lease.ttlMs, lease.expiresAtMs, lease.remainingMs);
  const sessions: unknown[] = [];
  for (const s of state.sessions) sessions.push(s.clientId, s.lastSequence, s.lastSeenMs, s.lastResult);
  return encoder.encode([
    SNAPSHOT_FORMAT,
    state.appliedIndex,
    state.revision,
    state.compactRevision,
    keys,
    leases,
    state.nextLeaseId,
    sessions,
    state.revisionTimes,
  ]);
}

function num(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new SnapshotFormatError('snapshot: expected an integer');
  return value;
}
function list(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw new SnapshotFormatError('snapshot: expected an array');
  return value;
}

/** Decode a snapshot. Throws SnapshotFormatError on anything malformed (snapshots are checksummed by the WAL layer). */
export function decodeSnapshot(bytes: Uint8Array): SnapshotState {
  let raw: unknown;
  try {
    raw = encoder.decode(bytes);
  } catch (error) {
    throw new SnapshotFormatError(`snapshot: undecodable (${error instanceof Error ? error.message : String(error)})`);
  }
  const top = list(raw);
  if (top[0] !== SNAPSHOT_FORMAT) throw new SnapshotFormatError(`snapshot: unknown format ${String(top[0])}`);
  const keys: Array<[string, KeyRecord[]]> = [];
  for (const entry of list(top[4])) {
    const flat = list(entry);
    const key = flat[0];
    if (typeof key !== 'string' || (flat.length - 1) % RECORD_FIELDS !== 0) throw new SnapshotFormatError('snapshot: bad key entry');
    const records: KeyRecord[] = [];
    for (let i = 1; i < flat.length; i += RECORD_FIELDS) {
      const value = flat[i + 5];
      const tombstone = value === null;
      if (!tombstone && !(value instanceof Uint8Array)) throw new SnapshotFormatError('snapshot: bad value');
      records.push({
        key,
        modRevision: num(flat[i]),
        sub: num(flat[i + 1]),
        createRevision: num(flat[i + 2]),
        version: num(flat[i + 3]),
        lease: num(flat[i + 4]),
        value: tombstone ? EMPTY : (value as Uint8Array),
        tombstone,
      });
    }
    keys.push([key, records]);
  }
  const leaseFlat = list(top[5]);
  const leases: Lease[] = [];
  for (let i = 0; i + 3 < leaseFlat.length; i += 4) {
    leases.push({ id: num(leaseFlat[i]), ttlMs: num(leaseFlat[i + 1]), expiresAtMs: num(leaseFlat[i + 2]), remainingMs: num(leaseFlat[i + 3]), keys: new Set() });
  }
  const sessionFlat = list(top[7]);
  const sessions: Session[] = [];
  for (let i = 0; i + 3 < sessionFlat.length; i += 4) {
    const clientId = sessionFlat[i];
    if (typeof clientId !== 'string') throw new SnapshotFormatError('snapshot: bad session');
    sessions.push({ clientId, lastSequence: num(sessionFlat[i + 1]), lastSeenMs: num(sessionFlat[i + 2]), lastResult: sessionFlat[i + 3] as ApplyResult });
  }
  return {
    appliedIndex: num(top[1]),
    revision: num(top[2]),
    compactRevision: num(top[3]),
    keys,
    leases,
    nextLeaseId: num(top[6]),
    sessions,
    revisionTimes: list(top[8]).map(num),
  };
}
