// Range reads over the multi-version key space: a key, a prefix or [key, rangeEnd), at the current or
// a past revision, with limit, count-only, keys-only and sorting. Pure; the caller checks the revision
// against the compact revision first. Cost: O(log n + keys in range) (count needs every key in range).

import type { KeyValue, RangeRequest, RangeResult, SortTarget } from './commands.js';
import { toKeyValue, lastAtOrBefore, type KeyRecord, type KeySpace } from './mvcc.js';

const EMPTY = new Uint8Array(0);

/** The live records in a range at `revision` (latest if revision >= current), calling visit for each. */
export function forEachLive(
  keys: KeySpace,
  start: string,
  rangeEnd: string | undefined,
  revision: number,
  current: number,
  visit: (record: KeyRecord) => void,
): void {
  keys.forEachKey(start, rangeEnd, (_key, records) => {
    let record: KeyRecord | undefined;
    if (revision >= current) record = records[records.length - 1];
    else {
      const index = lastAtOrBefore(records, revision);
      record = index < 0 ? undefined : records[index];
    }
    if (record !== undefined && !record.tombstone) visit(record);
    return true;
  });
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function sortKey(target: SortTarget): (a: KeyRecord, b: KeyRecord) => number {
  switch (target) {
    case 'key':
      return (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
    case 'version':
      return (a, b) => a.version - b.version;
    case 'createRevision':
      return (a, b) => a.createRevision - b.createRevision;
    case 'modRevision':
      return (a, b) => a.modRevision - b.modRevision;
    case 'value':
      return (a, b) => compareBytes(a.value, b.value);
  }
}

function output(record: KeyRecord, keysOnly: boolean): KeyValue {
  const kv = toKeyValue(record);
  return keysOnly ? { ...kv, value: EMPTY } : kv;
}

/** Range at `revision` (already validated: compactRevision <= revision <= current). */
export function rangeAt(keys: KeySpace, request: RangeRequest, revision: number, current: number): RangeResult {
  const limit = request.limit ?? 0;
  const countOnly = request.countOnly === true;
  const keysOnly = request.keysOnly === true;
  const order = request.sortOrder ?? 'none';
  const target = request.sortTarget ?? 'key';
  const sorted = order !== 'none' && !(order === 'ascend' && target === 'key');
  let count = 0;
  const records: KeyRecord[] = [];
  forEachLive(keys, request.key, request.rangeEnd, revision, current, (record) => {
    count++;
    if (countOnly) return;
    if (sorted || limit === 0 || records.length < limit) records.push(record);
  });
  if (sorted) {
    const compare = sortKey(target);
    records.sort(order === 'descend' ? (a, b) => compare(b, a) : compare);
    if (limit > 0 && records.length > limit) records.length = limit;
  }
  return {
    header: { revision: current },
    kvs: records.map((record) => output(record, keysOnly)),
    more: limit > 0 && count > limit,
    count,
  };
}
