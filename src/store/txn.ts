// Transaction compares (etcd semantics): each compare tests the current state of a key (or of every
// key in a range) on version, createRevision, modRevision, value or lease with =, !=, <, >. A missing
// key compares as all zeros with an empty value, so `version equal 0` means "does not exist".

import type { Compare } from './commands.js';
import { compareBytes, forEachLive } from './range.js';
import type { KeyRecord, KeySpace } from './mvcc.js';

function holds(compare: Compare, record: KeyRecord | undefined): boolean {
  let order: number;
  if (compare.target === 'value') {
    if (!(compare.value instanceof Uint8Array)) return false;
    order = compareBytes(record?.value ?? new Uint8Array(0), compare.value);
  } else {
    if (typeof compare.value !== 'number') return false;
    const actual = record === undefined ? 0 : record[compare.target];
    order = actual - compare.value;
  }
  switch (compare.result) {
    case 'equal':
      return order === 0;
    case 'notEqual':
      return order !== 0;
    case 'less':
      return order < 0;
    case 'greater':
      return order > 0;
  }
}

export function evaluateCompare(keys: KeySpace, compare: Compare, current: number): boolean {
  if (compare.rangeEnd === undefined) return holds(compare, keys.current(compare.key));
  let any = false;
  let all = true;
  forEachLive(keys, compare.key, compare.rangeEnd, current, current, (record) => {
    any = true;
    if (all && !holds(compare, record)) all = false;
  });
  if (!any) return compare.target === 'value' ? false : holds(compare, undefined);
  return all;
}

export function evaluateCompares(keys: KeySpace, compares: readonly Compare[], current: number): boolean {
  for (const compare of compares) if (!evaluateCompare(keys, compare, current)) return false;
  return true;
}
