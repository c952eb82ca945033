// Which lists server-side apply merges item by item, and by which key fields (Kubernetes'
// `listType=map` + `listMapKeys`, the same lists strategic merge patch merges by patchMergeKey).
// Every other list is atomic: owned and replaced as a whole. A list whose items do not all carry
// unique scalar keys is treated as atomic too, so a malformed list never breaks an apply.

import { isObject } from '../registry/types.js';

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** Key fields of the list at the end of `fieldNames` (the field names from the root, no indices). */
export function listKeysFor(fieldNames: readonly string[]): readonly string[] | undefined {
  const last = fieldNames[fieldNames.length - 1];
  const parent = fieldNames[fieldNames.length - 2];
  switch (last) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'volumes':
    case 'imagePullSecrets':
      return ['name'];
    case 'env':
      return parent !== undefined && CONTAINER_LISTS.has(parent) ? ['name'] : undefined;
    case 'volumeMounts':
      return ['mountPath'];
    case 'ports':
      if (parent !== undefined && CONTAINER_LISTS.has(parent)) return ['containerPort'];
      return parent === 'spec' ? ['port'] : undefined;
    case 'ownerReferences':
      return parent === 'metadata' ? ['uid'] : undefined;
    case 'conditions':
      return ['type'];
    default:
      return undefined;
  }
}

/** The key of one item as a plain object with the key fields in sorted order, or undefined. */
export function itemKey(item: unknown, keys: readonly string[]): Record<string, string | number | boolean> | undefined {
  if (!isObject(item)) return undefined;
  const key: Record<string, string | number | boolean> = {};
  for (const field of [...keys].sort()) {
    const value = item[field];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
    key[field] = value;
  }
  return key;
}

/** The keys of a list when it can be merged by them (every item keyed, no duplicates). */
export function associativeKeys(list: readonly unknown[], fieldNames: readonly string[]): readonly string[] | undefined {
  const keys = listKeysFor(fieldNames);
  if (keys === undefined) return undefined;
  const seen = new Set<string>();
  for (const item of list) {
    const key = itemKey(item, keys);
    if (key === undefined) return undefined;
    const text = JSON.stringify(key);
    if (seen.has(text)) return undefined;
    seen.add(text);
  }
  return keys;
}
