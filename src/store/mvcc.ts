// The multi-version key space: every write is kept as a record (key, value, createRevision,
// modRevision + sub-revision, version, lease, or a tombstone) in the key's history, so reads at a
// past revision and watch replays are served until compaction removes what is below the compact
// revision. A key's history is a list of generations in one array: a tombstone ends a generation.
//
// Structures and costs (n = keys, h = a key's retained records, e = retained events):
// - `histories`: Map key -> records (ascending by revision): point read O(1), at a past revision O(log h).
// - `sortedKeys`: sorted array of keys for ranges, maintained lazily: new keys go to `addedKeys` and are
//   merged (sort the new ones, then a linear merge) at the next range: writes stay O(1), a range after
//   k new keys costs O(n + k log k) once (k <= 32: k binary-search inserts, a memmove each), then
//   O(log n + keys returned).
// - `events`: every write in revision order (the history in revision order) for watch replay; an
//   absolute position = `eventsBase` + array index, so watch cursors survive trimming.
// Physical compaction is incremental (compactStep) and does not change any read or watch answer,
// only memory: everything below the compact revision is already invisible (see docs/store.md).

import type { KeyValue } from './commands.js';

export interface KeyRecord {
  readonly key: string;
  /** Empty for a tombstone. */
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  /** Position of this write inside its revision's transaction (0, 1, ...). */
  readonly sub: number;
  /** 0 for a tombstone. */
  readonly version: number;
  readonly lease: number;
  readonly tombstone: boolean;
}

export interface StoredEvent {
  readonly record: KeyRecord;
  /** The key's previous record if it was a live value (for prevKv). */
  readonly prev: KeyRecord | undefined;
}

const EMPTY = new Uint8Array(0);
/** Up to this many new keys are inserted into the sorted key array one by one instead of merged. */
const SMALL_MERGE_KEYS = 32;

export function toKeyValue(record: KeyRecord): KeyValue {
  return {
    key: record.key,
    value: record.value,
    createRevision: record.createRevision,
    modRevision: record.modRevision,
    version: record.version,
    lease: record.lease,
  };
}

/** Index of the last record with modRevision <= revision, or -1. */
export function lastAtOrBefore(records: readonly KeyRecord[], revision: number): number {
  let lo = 0;
  let hi = records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (records[mid]!.modRevision <= revision) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Index of the first key >= key in a sorted array. */
function lowerBound(keys: readonly string[], key: string): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Does `key` fall in the etcd-style range (rangeEnd undefined: exactly key; '\0': key and above)? */
export function inRange(key: string, start: string, rangeEnd: string | undefined): boolean {
  if (rangeEnd === undefined) return key === start;
  if (key < start) return false;
  return rangeEnd === '\0' || key < rangeEnd;
}

export class KeySpace {
  private readonly histories = new Map<string, KeyRecord[]>();
  private sortedKeys: string[] = [];
  private addedKeys: string[] = [];
  /** Keys removed from `histories` (by compaction) still present in `sortedKeys`. */
  private removedKeyCount = 0;
  private events: StoredEvent[] = [];
  private eventsBase = 0;
  /** Sum of key and value bytes of the live (latest, non-tombstone) records: the quota measure. */
  liveBytes = 0;
  liveKeyCount = 0;

  /** The key's current record if it is live. */
  current(key: string): KeyRecord | undefined {
    const records = this.histories.get(key);
    const last = records?.[records.length - 1];
    return last === undefined || last.tombstone ? undefined : last;
  }

  /** The key's record visible at `revision` if live then. */
  at(key: string, revision: number): KeyRecord | undefined {
    const records = this.histories.get(key);
    if (records === undefined) return undefined;
    const index = lastAtOrBefore(records, revision);
    const record = index < 0 ? undefined : records[index];
    return record === undefined || record.tombstone ? undefined : record;
  }

  /** Keys with any retained record in the range, in order, calling `visit` until it returns false. */
  forEachKey(start: string, rangeEnd: string | undefined, visit: (key: string, records: KeyRecord[]) => boolean): void {
    if (rangeEnd === undefined) {
      const records = this.histories.get(start);
      if (records !== undefined) visit(start, records);
      return;
    }
    this.mergeAddedKeys();
    const keys = this.sortedKeys;
    for (let i = lowerBound(keys, start); i < keys.length; i++) {
      const key = keys[i]!;
      if (rangeEnd !== '\0' && key >= rangeEnd) return;
      const records = this.histories.get(key);
      if (records !== undefined && !visit(key, records)) return;
    }
  }

  private mergeAddedKeys(): void {
    if (this.addedKeys.length === 0 && this.removedKeyCount === 0) return;
    if (this.removedKeyCount === 0 && this.addedKeys.length <= SMALL_MERGE_KEYS) {
      // A few new keys: insert each in place (a native memmove), cheaper than a full merge.
      for (const key of this.addedKeys) {
        const at = lowerBound(this.sortedKeys, key);
        if (this.sortedKeys[at] !== key) this.sortedKeys.splice(at, 0, key);
      }
      this.addedKeys = [];
      return;
    }
    const added = this.addedKeys.sort();
    const old = this.sortedKeys;
    const merged: string[] = [];
    let i = 0;
    let j = 0;
    const push = (key: string): void => {
      // Skip keys compacted away, and a key added twice (removed by compaction, then written again).
      if (this.histories.has(key) && merged[merged.length - 1] !== key) merged.push(key);
    };
    while (i < old.length || j < added.length) {
      if (j >= added.length || (i < old.length && old[i]! <= added[j]!)) push(old[i++]!);
      else push(added[j++]!);
    }
    this.sortedKeys = merged;
    this.addedKeys = [];
    this.removedKeyCount = 0;
  }

  /** Append a put or a tombstone. Returns the key's previous record. Callers validated everything. */
  write(key: string, value: Uint8Array | undefined, lease: number, revision: number, sub: number): StoredEvent {
    let records = this.histories.get(key);
    if (records === undefined) {
      records = [];
      this.histories.set(key, records);
      this.addedKeys.push(key);
    }
    const prevRecord = records[records.length - 1];
    const prev = prevRecord === undefined || prevRecord.tombstone ? undefined : prevRecord;
    if (prevRecord !== undefined && prevRecord.modRevision > revision) throw new Error(`invariant: revision ${revision} after ${prevRecord.modRevision} for ${key}`);
    let record: KeyRecord;
    if (value === undefined) {
      if (prev === undefined) throw new Error(`invariant: delete of absent key ${key}`);
      record = { key, value: EMPTY, createRevision: 0, modRevision: revision, sub, version: 0, lease: 0, tombstone: true };
      this.liveBytes -= key.length + prev.value.length;
      this.liveKeyCount--;
    } else {
      record = {
        key,
        value,
        createRevision: prev === undefined ? revision : prev.createRevision,
        modRevision: revision,
        sub,
        version: prev === undefined ? 1 : prev.version + 1,
        lease,
        tombstone: false,
      };
      this.liveBytes += key.length + value.length - (prev === undefined ? 0 : key.length + prev.value.length);
      if (prev === undefined) this.liveKeyCount++;
    }
    records.push(record);
    const event: StoredEvent = { record, prev };
    this.events.push(event);
    return event;
  }

  // ---- events (history in revision order) ----------------------------------------------------

  /** Absolute position just past the last event. */
  eventsEnd(): number {
    return this.eventsBase + this.events.length;
  }
  eventsStart(): number {
    return this.eventsBase;
  }
  eventAt(position: number): StoredEvent | undefined {
    return this.events[position - this.eventsBase];
  }
  /** Absolute position of the first event with modRevision >= revision. */
  eventPositionOf(revision: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.record.modRevision < revision) lo = mid + 1;
      else hi = mid;
    }
    return this.eventsBase + lo;
  }

  // ---- compaction ----------------------------------------------------------------------------

  private compactRevision = 0;
  private compactCursor: IterableIterator<string> | undefined;

  /** Start (or restart) physical compaction at `revision`. Logical effects are the caller's. */
  beginCompaction(revision: number): void {
    this.compactRevision = revision;
    this.compactCursor = this.histories.keys();
  }

  compactionPending(): boolean {
    return this.compactCursor !== undefined;
  }

  /**
   * Do at most `maxKeys` keys (and a proportional number of events) of physical compaction.
   * Returns true when compaction is complete.
   */
  compactStep(maxKeys: number): boolean {
    const cursor = this.compactCursor;
    if (cursor === undefined) return true;
    const revision = this.compactRevision;
    // Events at or below the compact revision can no longer be replayed (watch starts must be above it).
    let trim = 0;
    const maxEvents = maxKeys * 4;
    while (trim < this.events.length && trim < maxEvents && this.events[trim]!.record.modRevision <= revision) trim++;
    if (trim > 0) {
      this.events.splice(0, trim);
      this.eventsBase += trim;
    }
    for (let done = 0; done < maxKeys; done++) {
      const next = cursor.next();
      if (next.done === true) {
        if (this.events.length > 0 && this.events[0]!.record.modRevision <= revision) return false;
        this.compactCursor = undefined;
        return true;
      }
      const key = next.value;
      const records = this.histories.get(key);
      if (records === undefined) continue;
      const keep = retainedFrom(records, revision);
      if (keep === records.length) {
        this.histories.delete(key);
        this.removedKeyCount++;
      } else if (keep > 0) records.splice(0, keep);
    }
    return false;
  }

  // ---- snapshot support ----------------------------------------------------------------------

  /** Every key with its logically retained records (as if compaction at `compactRevision` were done), sorted. */
  retained(compactRevision: number): Array<[string, KeyRecord[]]> {
    this.mergeAddedKeys();
    const out: Array<[string, KeyRecord[]]> = [];
    for (const key of this.sortedKeys) {
      const records = this.histories.get(key)!;
      const keep = retainedFrom(records, compactRevision);
      if (keep < records.length) out.push([key, keep === 0 ? records : records.slice(keep)]);
    }
    return out;
  }

  /** Rebuild from retained records (snapshot restore). Events are rebuilt in revision order. */
  load(entries: ReadonlyArray<readonly [string, KeyRecord[]]>, compactRevision: number): void {
    this.histories.clear();
    this.sortedKeys = [];
    this.addedKeys = [];
    this.removedKeyCount = 0;
    this.liveBytes = 0;
    this.liveKeyCount = 0;
    const events: StoredEvent[] = [];
    for (const [key, records] of entries) {
      this.histories.set(key, records);
      this.sortedKeys.push(key);
      let prev: KeyRecord | undefined;
      for (const record of records) {
        if (record.modRevision > compactRevision) events.push({ record, prev: prev === undefined || prev.tombstone ? undefined : prev });
        prev = record;
      }
      const last = records[records.length - 1];
      if (last !== undefined && !last.tombstone) {
        this.liveBytes += key.length + last.value.length;
        this.liveKeyCount++;
      }
    }
    events.sort((a, b) => a.record.modRevision - b.record.modRevision || a.record.sub - b.record.sub);
    this.events = events;
    this.eventsBase = 0;
    this.compactCursor = undefined;
    this.compactRevision = compactRevision;
  }

  /** For tests and metrics: records held physically. */
  physicalRecordCount(): number {
    let count = 0;
    for (const records of this.histories.values()) count += records.length;
    return count;
  }
}

/**
 * How many leading records compaction at `revision` removes: all but the last at or below it, and
 * that one too if it is a tombstone.
 */
function retainedFrom(records: readonly KeyRecord[], revision: number): number {
  const index = lastAtOrBefore(records, revision);
  if (index < 0) return 0;
  return records[index]!.tombstone ? index + 1 : index;
}
