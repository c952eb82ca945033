// Field paths and field sets for server-side apply, in Kubernetes' managedFields vocabulary. A path
// is a list of tokens: `f:<field>` (a struct field or a map key), `k:<json>` (an item of a keyed
// list, e.g. k:{"name":"nginx"}). A FieldSet holds the paths a manager owns: leaves (scalars,
// atomic lists, empty objects) and keyed list items. It converts to and from `fieldsV1`, the nested
// form stored in metadata.managedFields (`{"f:spec":{"f:replicas":{}}}`, `".": {}` marking an owned
// item that also has owned children), and prints paths as Kubernetes does in conflict messages
// (`.spec.template.spec.containers[name="nginx"].image`).

import { isObject, type JsonObject } from '../registry/types.js';
import { associativeKeys, itemKey } from './list-keys.js';

export type FieldPath = readonly string[];

/** Separates tokens in a set member (JSON text never holds a raw NUL). */
const SEPARATOR = '\u0000';

/** Paths kept as joined strings so that set operations are plain Set operations. */
export class FieldSet {
  private readonly members = new Set<string>();

  static of(paths: Iterable<FieldPath>): FieldSet {
    const set = new FieldSet();
    for (const path of paths) set.add(path);
    return set;
  }

  add(path: FieldPath): void {
    this.members.add(path.join(SEPARATOR));
  }

  has(path: FieldPath): boolean {
    return this.members.has(path.join(SEPARATOR));
  }

  get size(): number {
    return this.members.size;
  }

  paths(): FieldPath[] {
    return [...this.members].sort().map((member) => member.split(SEPARATOR));
  }

  minus(other: FieldSet): FieldSet {
    return FieldSet.of(this.paths().filter((path) => !other.has(path)));
  }

  /** True when this set holds `path` or any path below it. */
  hasAtOrBelow(path: FieldPath): boolean {
    const prefix = path.join(SEPARATOR);
    for (const member of this.members) if (member === prefix || member.startsWith(`${prefix}${SEPARATOR}`)) return true;
    return false;
  }
}

export function fieldToken(name: string): string {
  return `f:${name}`;
}

export function keyToken(key: Record<string, unknown>): string {
  return `k:${JSON.stringify(key)}`;
}

/** Field names from the root to a path's end, without list keys (for listKeysFor). */
export function fieldNamesOf(path: FieldPath): string[] {
  return path.filter((token) => token.startsWith('f:')).map((token) => token.slice(2));
}

/**
 * The fields `object` sets: every leaf, and every item of a keyed list. `ignore` says which
 * top-level paths nobody owns (apiVersion, kind, metadata.name…); nulls set nothing.
 */
export function fieldSetOf(object: JsonObject, ignore: (path: FieldPath) => boolean = () => false): FieldSet {
  const set = new FieldSet();
  const visit = (value: unknown, path: string[]): void => {
    if (value === null || value === undefined || ignore(path)) return;
    if (isObject(value)) {
      const entries = Object.entries(value);
      if (entries.length === 0 && path.length > 0) set.add(path);
      for (const [field, child] of entries) visit(child, [...path, fieldToken(field)]);
      return;
    }
    if (Array.isArray(value)) {
      const keys = associativeKeys(value, fieldNamesOf(path));
      if (keys === undefined) {
        set.add(path);
        return;
      }
      for (const item of value) {
        const itemPath = [...path, keyToken(itemKey(item, keys) ?? {})];
        set.add(itemPath);
        if (isObject(item)) for (const [field, child] of Object.entries(item)) visit(child, [...itemPath, fieldToken(field)]);
      }
      return;
    }
    set.add(path);
  };
  visit(object, []);
  return set;
}

/** The value at `path`, or undefined when absent. */
export function valueAt(object: unknown, path: FieldPath): unknown {
  let current: unknown = object;
  for (const token of path) {
    if (token.startsWith('f:')) {
      if (!isObject(current)) return undefined;
      current = current[token.slice(2)];
    } else if (token.startsWith('k:')) {
      if (!Array.isArray(current)) return undefined;
      current = current.find((item) => matchesKey(item, token));
    } else return undefined;
  }
  return current;
}

/** The key object of a `k:` token, or undefined when the token is not one (or not valid JSON). */
export function parseKeyToken(token: string): JsonObject | undefined {
  if (!token.startsWith('k:')) return undefined;
  try {
    const key: unknown = JSON.parse(token.slice(2));
    return isObject(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

export function matchesKey(item: unknown, token: string): boolean {
  const key = parseKeyToken(token);
  if (!isObject(item) || key === undefined) return false;
  return Object.entries(key).every(([field, value]) => item[field] === value);
}

// ---- fieldsV1 --------------------------------------------------------------------------------

/** The nested fieldsV1 form of a set. */
export function toFieldsV1(set: FieldSet): JsonObject {
  const root: JsonObject = {};
  const paths = set.paths();
  for (const path of paths) {
    let node = root;
    for (const token of path) {
      const next = node[token];
      if (isObject(next)) node = next;
      else {
        const created: JsonObject = {};
        node[token] = created;
        node = created;
      }
    }
  }
  // A member that also has members below it is marked with ".".
  for (const path of paths) {
    const node = path.reduce<JsonObject | undefined>((at, token) => (at !== undefined && isObject(at[token]) ? at[token] : undefined), root);
    if (node !== undefined && Object.keys(node).some((key) => key !== '.')) node['.'] = {};
  }
  return root;
}

/**
 * The set a fieldsV1 object describes. managedFields may come from clients, so tokens other than
 * `f:` and well-formed `k:` (sets `v:`, indices `i:`, garbage) are dropped with what is below them.
 */
export function fromFieldsV1(fields: unknown): FieldSet {
  const set = new FieldSet();
  const visit = (node: JsonObject, path: string[]): void => {
    for (const [token, child] of Object.entries(node)) {
      if (token === '.') {
        if (path.length > 0) set.add(path);
        continue;
      }
      if (!token.startsWith('f:') && parseKeyToken(token) === undefined) continue;
      const childPath = [...path, token];
      if (!isObject(child) || Object.keys(child).length === 0) set.add(childPath);
      else visit(child, childPath);
    }
  };
  if (isObject(fields)) visit(fields, []);
  return set;
}

// ---- printing --------------------------------------------------------------------------------

/** Kubernetes' text for a path: `.spec.replicas`, `.spec.containers[name="nginx"].image`. */
export function pathString(path: FieldPath): string {
  let out = '';
  for (const token of path) {
    if (token.startsWith('f:')) out += `.${token.slice(2)}`;
    else if (token.startsWith('k:')) {
      const key = parseKeyToken(token) ?? {};
      out += `[${Object.entries(key)
        .map(([field, value]) => `${field}=${JSON.stringify(value)}`)
        .join(',')}]`;
    } else out += `[${token}]`;
  }
  return out;
}
