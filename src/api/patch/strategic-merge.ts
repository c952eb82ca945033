// Strategic merge patch (`application/strategic-merge-patch+json`), what `kubectl apply`, `edit`,
// `set`, `label`, `scale` and plain `kubectl patch` send for built-in kinds. Like a JSON merge patch
// (objects merge key by key, null removes a key), except that lists follow patch-strategy.ts: merged
// item by item by a key, merged as sets of scalars, or replaced. And the patch may carry directives:
//  - `$patch: replace` in an object replaces the object; as a list item, replaces the whole list;
//  - `$patch: delete` in an object deletes it; as a list item, deletes the item with its key;
//  - `$patch: merge` is the default;
//  - `$retainKeys: [a, b]` in an object keeps only those keys of the original (union types such as
//    a Deployment's strategy or a volume's source, where switching kind must drop the old fields);
//  - `$setElementOrder/<list>: [...]` gives the order of a merged list's items (kubectl apply
//    sends it with every list it patches); items only the server has keep their places relative to
//    the others;
//  - `$deleteFromPrimitiveList/<list>: [...]` removes those values from a set of scalars.
// Any other `$` key or `$patch` value is a 400, as kube-apiserver answers.

import { ApiError } from '../status.js';
import { isObject, type JsonObject } from '../registry/types.js';
import { listStrategyAt } from './patch-strategy.js';

const PATCH = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';

function badPatch(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** Applies `patch` to `document` (neither is modified). */
export function applyStrategicMergePatch(document: unknown, patch: unknown): unknown {
  if (!isObject(patch)) throw badPatch('a strategic merge patch must be a JSON object');
  const merged = mergeObject(isObject(document) ? document : {}, patch, []);
  return merged ?? {};
}

/** The merged object, or undefined when the patch deletes it (`$patch: delete`). */
function mergeObject(original: JsonObject, patch: JsonObject, path: readonly string[]): JsonObject | undefined {
  const directive = patch[PATCH];
  if (directive !== undefined) {
    if (directive === 'delete') return undefined;
    if (directive === 'replace') return mergeObject({}, withoutKey(patch, PATCH), path);
    if (directive !== 'merge') throw badPatch(`unknown patch type: ${JSON.stringify(directive)} in map: ${pathText(path)}`);
  }
  const result: JsonObject = { ...original };
  const retained = patch[RETAIN_KEYS];
  if (retained !== undefined) {
    if (!Array.isArray(retained) || !retained.every((key) => typeof key === 'string')) throw badPatch(`$retainKeys must be a list of strings at ${pathText(path)}`);
    for (const key of Object.keys(result)) if (!retained.includes(key)) delete result[key];
  }
  for (const [key, value] of Object.entries(patch)) {
    if (!key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
    const field = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
    if (!Array.isArray(value)) throw badPatch(`${key} must be a list at ${pathText(path)}`);
    const current = result[field];
    const removed = new Set(value.map(identityKey));
    if (Array.isArray(current)) result[field] = current.filter((item) => !removed.has(identityKey(item)));
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key === '__proto__') throw badPatch(`invalid field name "__proto__" at ${pathText(path)}`);
    if (key.startsWith('$')) {
      if (key === PATCH || key === RETAIN_KEYS || key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) continue;
      if (key.startsWith(SET_ELEMENT_ORDER)) {
        const field = key.slice(SET_ELEMENT_ORDER.length);
        if (!Array.isArray(value)) throw badPatch(`${key} must be a list at ${pathText(path)}`);
        // An order without a patch of the list itself still reorders it (kubectl sends that when
        // only the order of items changed).
        if (!(field in patch) && Array.isArray(result[field]) && listStrategyAt([...path, field]).kind !== 'replace') result[field] = mergeList(result[field], [], value, [...path, field]);
        continue;
      }
      throw badPatch(`unknown directive ${JSON.stringify(key)} at ${pathText(path)}`);
    }
    const fieldPath = [...path, key];
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = result[key];
    if (isObject(value)) {
      const merged = mergeObject(isObject(current) ? current : {}, value, fieldPath);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      const order = patch[`${SET_ELEMENT_ORDER}${key}`];
      if (order !== undefined && !Array.isArray(order)) throw badPatch(`${SET_ELEMENT_ORDER}${key} must be a list at ${pathText(path)}`);
      result[key] = mergeList(Array.isArray(current) ? current : [], value, order, fieldPath);
    } else {
      result[key] = value;
    }
  }
  return result;
}

/** A list item's identity as a string key: its merge key's value, or the scalar itself. */
function identityKey(value: unknown): string {
  return typeof value === 'string' ? `s:${value}` : `j:${JSON.stringify(value) ?? 'undefined'}`;
}

function mergeList(original: readonly unknown[], patch: readonly unknown[], order: readonly unknown[] | undefined, path: readonly string[]): unknown[] {
  const strategy = listStrategyAt(path);
  if (patch.some((item) => isObject(item) && item[PATCH] === 'replace')) {
    return patch.filter((item) => !(isObject(item) && item[PATCH] === 'replace')).map((item) => stripDirectives(item, path));
  }
  if (strategy.kind === 'replace') return patch.map((item) => stripDirectives(item, path));
  const identity = (item: unknown): string => identityKey(strategy.kind === 'merge-by-key' && isObject(item) ? item[strategy.key] : item);
  const merge = (base: readonly unknown[]): unknown[] => (strategy.kind === 'merge-by-key' ? mergeKeyedItems(base, patch, strategy.key, path) : mergeScalars(base, patch));
  if (order === undefined) return merge(original);
  // $setElementOrder (Kubernetes' normalizeElementOrder): the items it names are merged with the
  // patch and put in its order; the items only the server has keep their places relative to them.
  const orderRank = new Map<string, number>();
  order.forEach((item, index) => {
    if (!orderRank.has(identity(item))) orderRank.set(identity(item), index);
  });
  checkPatchAgainstOrder(patch, orderRank, identity, path);
  // Items the patch deletes go wherever they are (kubectl's order no longer names them).
  const deleted = new Set(patch.filter((item) => isObject(item) && item[PATCH] === 'delete').map(identity));
  const kept = original.filter((item) => !deleted.has(identity(item)));
  const serverIndex = new Map<string, number>();
  kept.forEach((item, index) => {
    if (!serverIndex.has(identity(item))) serverIndex.set(identity(item), index);
  });
  const named = kept.filter((item) => orderRank.has(identity(item)));
  const serverOnly = kept.filter((item) => !orderRank.has(identity(item)));
  const rank = (item: unknown): number => orderRank.get(identity(item)) ?? Number.MAX_SAFE_INTEGER;
  const ordered = merge(named)
    .map((item) => ({ item, rank: rank(item) }))
    .sort((a, b) => a.rank - b.rank)
    .map((entry) => entry.item);
  const result: unknown[] = [];
  let i = 0;
  let j = 0;
  while (i < ordered.length || j < serverOnly.length) {
    const leftIndex = i < ordered.length ? (serverIndex.get(identity(ordered[i])) ?? -1) : -1;
    const rightIndex = j < serverOnly.length ? (serverIndex.get(identity(serverOnly[j])) ?? -1) : -1;
    const takeLeft = j >= serverOnly.length || (i < ordered.length && leftIndex >= 0 && leftIndex < rightIndex);
    if (takeLeft) result.push(ordered[i++]);
    else result.push(serverOnly[j++]);
  }
  return result;
}

/**
 * A patch list must agree with its `$setElementOrder`: every item it sets (not deletes) is named in
 * the order, in the same relative order (Kubernetes' validatePatchWithSetOrderList); else a 400.
 */
function checkPatchAgainstOrder(patch: readonly unknown[], orderRank: ReadonlyMap<string, number>, identity: (item: unknown) => string, path: readonly string[]): void {
  let previous = -1;
  for (const item of patch) {
    if (isObject(item) && item[PATCH] === 'delete') continue;
    const rank = orderRank.get(identity(item));
    if (rank === undefined || rank < previous) {
      throw badPatch(`error: the order in the patch list of ${pathText(path)} does not match its $setElementOrder list`);
    }
    previous = rank;
  }
}

function mergeScalars(original: readonly unknown[], patch: readonly unknown[]): unknown[] {
  const merged = [...original];
  const present = new Set(original.map(identityKey));
  for (const item of patch) {
    const key = identityKey(item);
    if (present.has(key)) continue;
    present.add(key);
    merged.push(item);
  }
  return merged;
}

/** Items merged by their key in the original's order; new items appended in the patch's order. */
function mergeKeyedItems(original: readonly unknown[], patch: readonly unknown[], key: string, path: readonly string[]): unknown[] {
  // Slots hold the merged items; a deleted slot is undefined and dropped at the end.
  const slots: (unknown | typeof DELETED)[] = [...original];
  const slotsOf = new Map<string, number[]>();
  original.forEach((existing, index) => {
    if (!isObject(existing)) return;
    const id = identityKey(existing[key]);
    const found = slotsOf.get(id);
    if (found === undefined) slotsOf.set(id, [index]);
    else found.push(index);
  });
  for (const item of patch) {
    if (!isObject(item)) throw badPatch(`${pathText(path)}: list items must be objects with the merge key ${JSON.stringify(key)}`);
    const value = item[key];
    if (value === undefined) throw badPatch(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    const id = identityKey(value);
    const found = slotsOf.get(id);
    if (item[PATCH] === 'delete') {
      // Every item with that key goes, as Kubernetes deletes all matches.
      for (const index of found ?? []) slots[index] = DELETED;
      slotsOf.delete(id);
      continue;
    }
    const index = found?.[0];
    const existing = index === undefined ? undefined : slots[index];
    const next = mergeObject(isObject(existing) ? existing : {}, item, path);
    if (next === undefined) continue;
    if (index !== undefined) slots[index] = next;
    else {
      slotsOf.set(id, [slots.length]);
      slots.push(next);
    }
  }
  return slots.filter((slot) => slot !== DELETED);
}

const DELETED = Symbol('deleted');

/** A patch value with its directives removed (what lands when there is nothing to merge with). */
function stripDirectives(value: unknown, path: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => stripDirectives(item, path));
  if (!isObject(value)) return value;
  return mergeObject({}, value, path) ?? {};
}

function withoutKey(object: JsonObject, key: string): JsonObject {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

function pathText(path: readonly string[]): string {
  return path.length === 0 ? '<root>' : path.join('.');
}
