// The object side of server-side apply: merge an applied configuration into the live object
// (objects field by field, keyed lists item by item, atomic lists and scalars replaced), and remove
// the fields a manager gave up. Pure functions on JSON values; ownership is managed-fields.ts's job.

import { isObject, type JsonObject } from '../registry/types.js';
import { associativeKeys, itemKey } from './list-keys.js';
import { fieldNamesOf, matchesKey, type FieldPath } from './fieldpath.js';

/** `live` with `applied` merged in (neither is modified). Nulls in `applied` set nothing. */
export function mergeApplied(live: unknown, applied: unknown, path: string[] = []): unknown {
  if (applied === null || applied === undefined) return structuredClone(live);
  if (isObject(applied)) {
    const result: JsonObject = isObject(live) ? structuredClone(live) : {};
    for (const [field, value] of Object.entries(applied)) {
      if (value === null || value === undefined) continue;
      result[field] = mergeApplied(result[field], value, [...path, `f:${field}`]);
    }
    return result;
  }
  if (Array.isArray(applied)) {
    const names = fieldNamesOf(path);
    const keys = associativeKeys(applied, names);
    if (keys === undefined || !Array.isArray(live) || associativeKeys(live, names) === undefined) return structuredClone(applied);
    const result = structuredClone(live) as unknown[];
    for (const item of applied) {
      const token = `k:${JSON.stringify(itemKey(item, keys))}`;
      const index = result.findIndex((existing) => matchesKey(existing, token));
      if (index >= 0) result[index] = mergeApplied(result[index], item, [...path, token]);
      else result.push(structuredClone(item));
    }
    return result;
  }
  return applied;
}

/** Remove the field or keyed item at `path` from `object`, in place (absent paths are ignored). */
export function removePath(object: JsonObject, path: FieldPath): void {
  if (path.length === 0) return;
  let parent: unknown = object;
  for (const token of path.slice(0, -1)) {
    if (token.startsWith('f:') && isObject(parent)) parent = parent[token.slice(2)];
    else if (token.startsWith('k:') && Array.isArray(parent)) parent = parent.find((item) => matchesKey(item, token));
    else return;
  }
  const last = path[path.length - 1] ?? '';
  if (last.startsWith('f:') && isObject(parent)) delete parent[last.slice(2)];
  else if (last.startsWith('k:') && Array.isArray(parent)) {
    const index = parent.findIndex((item) => matchesKey(item, last));
    if (index >= 0) parent.splice(index, 1);
  }
}
