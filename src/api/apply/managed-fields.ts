// Field ownership for server-side apply: metadata.managedFields read and written as FieldSets, the
// Apply operation (conflict detection against every other manager, force taking fields over, fields
// the applier dropped removed when nobody else owns them) and the bookkeeping of ordinary writes
// (an Update manager gains what it added or changed; others lose it). Pure: the caller passes the
// time, and this module never touches the store.

import { isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { ApiError, type StatusCause } from '../status.js';
import { FieldSet, fieldSetOf, fromFieldsV1, parseKeyToken, pathString, toFieldsV1, valueAt, type FieldPath } from './fieldpath.js';
import { mergeApplied, removePath } from './merge.js';

export type ManagedOperation = 'Apply' | 'Update';

export interface ManagedEntry {
  readonly manager: string;
  readonly operation: ManagedOperation;
  readonly apiVersion: string;
  readonly time: string;
  readonly subresource?: string;
  readonly fields: FieldSet;
}

/** Longest fieldManager kube-apiserver accepts. */
export const MAX_FIELD_MANAGER_LENGTH = 128;

/** Metadata nobody owns: set by the server or naming the object. */
const UNOWNED_METADATA = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'selfLink', 'generateName']);

/** Which paths a write through `subresource` can own (status writes own status; others the rest). */
export function ignoredPath(definition: ResourceDefinition, subresource: string | undefined): (path: FieldPath) => boolean {
  return (path) => {
    const first = path[0];
    if (first === undefined) return false;
    if (first === 'f:apiVersion' || first === 'f:kind') return true;
    if (first === 'f:metadata' && path.length === 2 && UNOWNED_METADATA.has((path[1] ?? '').slice(2))) return true;
    if (subresource === 'status') return first !== 'f:status' && first !== 'f:metadata';
    return first === 'f:status' && definition.hasStatusSubresource;
  };
}

function sameManager(entry: { manager: string; operation: string; subresource?: string }, manager: string, operation: ManagedOperation, subresource: string | undefined): boolean {
  return entry.manager === manager && entry.operation === operation && (entry.subresource ?? '') === (subresource ?? '');
}

export function readManagedFields(object: JsonObject): ManagedEntry[] | undefined {
  const metadata = object['metadata'];
  const list = isObject(metadata) ? metadata['managedFields'] : undefined;
  if (!Array.isArray(list)) return undefined;
  const entries: ManagedEntry[] = [];
  for (const item of list) {
    if (!isObject(item) || typeof item['manager'] !== 'string') continue;
    const operation: ManagedOperation = item['operation'] === 'Apply' ? 'Apply' : 'Update';
    const subresource = typeof item['subresource'] === 'string' && item['subresource'] !== '' ? item['subresource'] : undefined;
    entries.push({
      manager: item['manager'],
      operation,
      apiVersion: typeof item['apiVersion'] === 'string' ? item['apiVersion'] : '',
      time: typeof item['time'] === 'string' ? item['time'] : '',
      ...(subresource === undefined ? {} : { subresource }),
      fields: fromFieldsV1(item['fieldsV1']),
    });
  }
  return entries;
}

export function writeManagedFields(object: JsonObject, entries: readonly ManagedEntry[]): void {
  const metadata = isObject(object['metadata']) ? object['metadata'] : {};
  object['metadata'] = metadata;
  metadata['managedFields'] = entries
    .filter((entry) => entry.fields.size > 0)
    .map((entry) => ({
      manager: entry.manager,
      operation: entry.operation,
      apiVersion: entry.apiVersion,
      time: entry.time,
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(entry.fields),
      ...(entry.subresource === undefined ? {} : { subresource: entry.subresource }),
    }));
}

/** RFC 3339 with whole seconds, as metav1.Time serializes. */
export function managedTime(nowMs: number): string {
  return `${new Date(nowMs).toISOString().slice(0, 19)}Z`;
}

// ---- conflicts -------------------------------------------------------------------------------

export interface Conflict {
  readonly entry: ManagedEntry;
  readonly path: FieldPath;
}

/** How kube-apiserver names a manager in conflict messages. */
function managerText(entry: ManagedEntry): string {
  let text = JSON.stringify(entry.manager);
  if (entry.subresource !== undefined) text += ` with subresource ${JSON.stringify(entry.subresource)}`;
  if (entry.operation === 'Update') text += entry.time === '' ? ` using ${entry.apiVersion}` : ` using ${entry.apiVersion} at ${entry.time}`;
  return text;
}

/** 409 Conflict with Kubernetes' "Apply failed with N conflicts" message and one cause per field. */
export function conflictError(conflicts: readonly Conflict[]): ApiError {
  const causes: StatusCause[] = conflicts.map((conflict) => ({ reason: 'FieldManagerConflict', message: `conflict with ${managerText(conflict.entry)}`, field: pathString(conflict.path) }));
  let message: string;
  const first = conflicts[0];
  if (conflicts.length === 1 && first !== undefined) message = `Apply failed with 1 conflict: conflict with ${managerText(first.entry)}: ${pathString(first.path)}`;
  else {
    const byManager = new Map<string, { entry: ManagedEntry; paths: FieldPath[] }>();
    for (const conflict of conflicts) {
      const text = managerText(conflict.entry);
      const group = byManager.get(text) ?? { entry: conflict.entry, paths: [] };
      group.paths.push(conflict.path);
      byManager.set(text, group);
    }
    const lines: string[] = [];
    for (const text of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${text}:`);
      for (const path of byManager.get(text)?.paths ?? []) lines.push(`- ${pathString(path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

/** Structural equality of JSON values (object key order does not matter). */
export function deepEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (Array.isArray(left)) return Array.isArray(right) && left.length === right.length && left.every((item, index) => deepEqual(item, right[index]));
  if (isObject(left)) {
    if (!isObject(right)) return false;
    const keys = Object.keys(left);
    return keys.length === Object.keys(right).length && keys.every((key) => Object.hasOwn(right, key) && deepEqual(left[key], right[key]));
  }
  return false;
}

/** `…/k:{"name":"x"}/f:name`: the key of a list item stays as long as the item does. */
function isKeyField(path: FieldPath): boolean {
  const last = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  if (!last.startsWith('f:') || !parent.startsWith('k:')) return false;
  const key = parseKeyToken(parent);
  return key !== undefined && Object.hasOwn(key, last.slice(2));
}

// ---- apply -----------------------------------------------------------------------------------

export interface ApplyInput {
  readonly definition: ResourceDefinition;
  /** The stored object, or undefined when the apply creates it. */
  readonly live: JsonObject | undefined;
  /** The applied configuration (already kind-checked). */
  readonly applied: JsonObject;
  readonly manager: string;
  readonly force: boolean;
  readonly nowMs: number;
}

/**
 * The object after applying: the merge of `applied` into `live`, with the fields `manager` stopped
 * applying removed (unless another manager owns them) and managedFields updated. Throws a 409 when
 * `applied` sets a field another manager owns to a different value, unless `force`.
 */
export function applyConfiguration(input: ApplyInput): JsonObject {
  const { definition, live, manager, force } = input;
  const applied = structuredClone(input.applied);
  if (definition.hasStatusSubresource) delete applied['status'];
  if (isObject(applied['metadata'])) delete applied['metadata']['managedFields'];
  const ignore = ignoredPath(definition, undefined);
  const appliedFields = fieldSetOf(applied, ignore);
  const mine: ManagedEntry = { manager, operation: 'Apply', apiVersion: String(applied['apiVersion'] ?? ''), time: managedTime(input.nowMs), fields: appliedFields };
  if (live === undefined) {
    writeManagedFields(applied, [mine]);
    return applied;
  }

  let entries = readManagedFields(live) ?? [];
  const previous = entries.find((entry) => sameManager(entry, manager, 'Apply', undefined));
  const others = entries.filter((entry) => entry !== previous);
  const conflicts: Conflict[] = [];
  for (const path of appliedFields.paths()) {
    if ((path[path.length - 1] ?? '').startsWith('k:')) continue; // an item is shared; its fields may conflict
    const appliedValue = valueAt(applied, path);
    const liveValue = valueAt(live, path);
    if (deepEqual(appliedValue, liveValue)) continue;
    for (const entry of others) if (entry.fields.has(path)) conflicts.push({ entry, path });
  }
  if (conflicts.length > 0 && !force) throw conflictError(conflicts);

  // Forced: the fields change hands.
  const taken = FieldSet.of(conflicts.map((conflict) => conflict.path));
  const remaining = others.map((entry) => (conflicts.some((conflict) => conflict.entry === entry) ? { ...entry, fields: entry.fields.minus(taken) } : entry));

  const liveCopy = structuredClone(live);
  if (isObject(liveCopy['metadata'])) delete liveCopy['metadata']['managedFields'];
  const merged = mergeApplied(liveCopy, applied) as JsonObject;
  if (previous !== undefined) {
    // Shallowest first: a removed list item takes its fields along (removing its key field first
    // would leave an item nobody can find).
    const dropped = previous.fields.minus(appliedFields).paths();
    dropped.sort((a, b) => a.length - b.length);
    for (const path of dropped) {
      if (isKeyField(path) || remaining.some((entry) => entry.fields.hasAtOrBelow(path))) continue;
      removePath(merged, path);
    }
  }
  entries = previous === undefined ? [...remaining, mine] : entries.map((entry) => (entry === previous ? mine : (remaining[others.indexOf(entry)] ?? entry)));
  writeManagedFields(merged, entries);
  return merged;
}

// ---- ordinary writes -------------------------------------------------------------------------

export interface UpdateInput {
  readonly definition: ResourceDefinition;
  readonly old: JsonObject;
  /** The object about to be stored; its managedFields are rewritten in place. */
  readonly next: JsonObject;
  readonly manager: string;
  readonly subresource: string | undefined;
  readonly apiVersion: string;
  readonly nowMs: number;
}

/**
 * Record a non-apply write (PUT or a JSON/merge/strategic patch) by `manager`: it owns what it added
 * or changed, and other managers lose the fields it changed or removed. Only objects that already
 * carry managedFields are tracked (see docs/api.md: ownership starts with the first apply).
 */
export function recordUpdate(input: UpdateInput): void {
  const { definition, old, next, manager, subresource } = input;
  const entries = readManagedFields(next) ?? readManagedFields(old);
  if (entries === undefined || entries.length === 0) return;
  const ignore = ignoredPath(definition, subresource);
  const before = fieldSetOf(old, ignore);
  const after = fieldSetOf(next, ignore);
  const changed = new FieldSet();
  for (const path of after.paths()) {
    if (!before.has(path)) changed.add(path);
    else if (!(path[path.length - 1] ?? '').startsWith('k:') && !deepEqual(valueAt(old, path), valueAt(next, path))) changed.add(path);
  }
  const removed = before.minus(after);
  const lost = FieldSet.of([...changed.paths(), ...removed.paths()]);
  const updated: ManagedEntry[] = [];
  let found = false;
  for (const entry of entries) {
    if (sameManager(entry, manager, 'Update', subresource)) {
      found = true;
      const fields = FieldSet.of([...entry.fields.minus(removed).paths(), ...changed.paths()]);
      updated.push({ ...entry, apiVersion: input.apiVersion, time: changed.size > 0 ? managedTime(input.nowMs) : entry.time, fields });
    } else updated.push({ ...entry, fields: entry.fields.minus(lost) });
  }
  if (!found && changed.size > 0) {
    updated.push({ manager, operation: 'Update', apiVersion: input.apiVersion, time: managedTime(input.nowMs), ...(subresource === undefined ? {} : { subresource }), fields: changed });
  }
  writeManagedFields(next, updated);
}
