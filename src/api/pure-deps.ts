// The single seam between the REST layer and H8's pure building blocks (src/api/patch/*,
// src/api/selectors/*). Until those modules land this file carries small stand-ins with the same
// signatures (RFC 7386 merge patch, RFC 6902 JSON patch, a strategic merge that merges lists of
// named objects by name, equality-and-set label selectors, equality field selectors). When they
// land, replace the bodies below with re-exports; nothing else in src/api/ imports them directly.

import { ApiError } from './status.js';
import { isObject, type JsonObject } from './registry/types.js';

function badPatch(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

// ---- patches ---------------------------------------------------------------------------------

export function applyMergePatch(document: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(document) ? { ...document } : {};
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) delete result[field];
    else result[field] = applyMergePatch(result[field], value);
  }
  return result;
}

export function applyStrategicMergePatch(document: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const result: JsonObject = isObject(document) ? { ...document } : {};
  for (const [field, value] of Object.entries(patch)) {
    if (field.startsWith('$')) continue; // directives: ignored by the stand-in
    if (value === null) delete result[field];
    else if (Array.isArray(value) && Array.isArray(result[field]) && value.every((item) => isObject(item) && typeof item['name'] === 'string')) {
      const merged = (result[field] as unknown[]).map((item) => item);
      for (const item of value as JsonObject[]) {
        const index = merged.findIndex((existing) => isObject(existing) && existing['name'] === item['name']);
        if (item['$patch'] === 'delete') {
          if (index >= 0) merged.splice(index, 1);
        } else if (index >= 0) merged[index] = applyStrategicMergePatch(merged[index], item);
        else merged.push(applyStrategicMergePatch({}, item));
      }
      result[field] = merged;
    } else result[field] = applyStrategicMergePatch(result[field], value);
  }
  return result;
}

function pointer(path: unknown): string[] {
  if (typeof path !== 'string' || (path !== '' && !path.startsWith('/'))) throw badPatch(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path === '' ? [] : path.slice(1).split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(root: unknown, parts: readonly string[]): { parent: unknown; last: string } {
  let node = root;
  for (const part of parts.slice(0, -1)) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else throw badPatch(`path not found: /${parts.join('/')}`);
  }
  const last = parts[parts.length - 1];
  if (last === undefined || (!Array.isArray(node) && !isObject(node))) throw badPatch(`path not found: /${parts.join('/')}`);
  return { parent: node, last };
}

function readAt(root: unknown, parts: readonly string[]): unknown {
  let node = root;
  for (const part of parts) {
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObject(node)) node = node[part];
    else return undefined;
  }
  return node;
}

function index(list: unknown[], last: string, forAdd: boolean): number {
  if (forAdd && last === '-') return list.length;
  if (!/^(0|[1-9][0-9]*)$/.test(last)) throw badPatch(`invalid array index ${last}`);
  const at = Number(last);
  if (at > list.length || (!forAdd && at === list.length)) throw badPatch(`array index ${last} out of range`);
  return at;
}

function addAt(root: unknown, parts: string[], value: unknown): unknown {
  if (parts.length === 0) return value;
  const { parent, last } = parentOf(root, parts);
  if (Array.isArray(parent)) parent.splice(index(parent, last, true), 0, value);
  else (parent as JsonObject)[last] = value;
  return root;
}

function removeAt(root: unknown, parts: string[]): unknown {
  const { parent, last } = parentOf(root, parts);
  if (Array.isArray(parent)) parent.splice(index(parent, last, false), 1);
  else {
    if (!(last in (parent as JsonObject))) throw badPatch(`unable to remove nonexistent key: ${last}`);
    delete (parent as JsonObject)[last];
  }
  return root;
}

export function applyJsonPatch(document: unknown, patch: unknown): unknown {
  if (!Array.isArray(patch)) throw badPatch('a JSON patch must be an array of operations');
  let root = structuredClone(document);
  for (const operation of patch) {
    if (!isObject(operation)) throw badPatch('a JSON patch operation must be an object');
    const op = operation['op'];
    const path = pointer(operation['path']);
    switch (op) {
      case 'add':
        root = addAt(root, path, structuredClone(operation['value']));
        break;
      case 'remove':
        root = removeAt(root, path);
        break;
      case 'replace':
        if (readAt(root, path) === undefined) throw badPatch(`replace operation does not apply: doc is missing key: ${String(operation['path'])}`);
        root = addAt(removeAt(root, path), path, structuredClone(operation['value']));
        break;
      case 'move':
      case 'copy': {
        const from = pointer(operation['from']);
        const value = readAt(root, from);
        if (value === undefined) throw badPatch(`${op} operation does not apply: doc is missing from path: ${String(operation['from'])}`);
        if (op === 'move') root = removeAt(root, from);
        root = addAt(root, path, structuredClone(value));
        break;
      }
      case 'test':
        if (JSON.stringify(readAt(root, path)) !== JSON.stringify(operation['value']))
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${String(operation['path'])} failed`);
        break;
      default:
        throw badPatch(`unexpected JSON patch op ${JSON.stringify(op)}`);
    }
  }
  return root;
}

// ---- selectors -------------------------------------------------------------------------------

export type LabelRequirement =
  | { readonly key: string; readonly operator: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly operator: 'exists' | 'doesnotexist' };
export interface LabelSelector {
  readonly requirements: readonly LabelRequirement[];
}

function badSelector(message: string): ApiError {
  return new ApiError(400, 'BadRequest', `unable to parse requirement: ${message}`);
}

/** Split on commas that are not inside parentheses. */
function splitTop(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')') depth--;
    else if (text[i] === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((part) => part.trim()).filter((part) => part !== '');
}

const LABEL_KEY = /^([a-z0-9A-Z]([-a-z0-9A-Z_./]*[a-z0-9A-Z])?)$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): string {
  if (!LABEL_KEY.test(key) || key.length > 316) throw badSelector(`invalid label key ${JSON.stringify(key)}`);
  return key;
}
function checkValue(value: string): string {
  if (!LABEL_VALUE.test(value) || value.length > 63) throw badSelector(`invalid label value: ${JSON.stringify(value)}`);
  return value;
}

export function parseLabelSelector(text: string): LabelSelector {
  const requirements: LabelRequirement[] = [];
  for (const part of splitTop(text)) {
    const set = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(part);
    if (set !== null) {
      const values = (set[3] ?? '').split(',').map((value) => checkValue(value.trim()));
      requirements.push({ key: checkKey(set[1] ?? ''), operator: set[2] === 'in' ? 'in' : 'notin', values });
      continue;
    }
    const equality = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(part);
    if (equality !== null) {
      const value = checkValue(equality[3] ?? '');
      requirements.push({ key: checkKey(equality[1] ?? ''), operator: equality[2] === '!=' ? 'notin' : 'in', values: [value] });
      continue;
    }
    if (part.startsWith('!')) requirements.push({ key: checkKey(part.slice(1).trim()), operator: 'doesnotexist' });
    else requirements.push({ key: checkKey(part), operator: 'exists' });
  }
  return { requirements };
}

export function matchesLabels(selector: LabelSelector, labels: Record<string, string> | undefined): boolean {
  return selector.requirements.every((requirement) => {
    const value = labels?.[requirement.key];
    switch (requirement.operator) {
      case 'exists':
        return value !== undefined;
      case 'doesnotexist':
        return value === undefined;
      case 'in':
        return value !== undefined && requirement.values.includes(value);
      case 'notin':
        return value === undefined || !requirement.values.includes(value);
    }
  });
}

export interface FieldRequirement {
  readonly field: string;
  readonly operator: '=' | '!=';
  readonly value: string;
}
export interface FieldSelector {
  readonly requirements: readonly FieldRequirement[];
}

export function parseFieldSelector(text: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const match = /^([^=!]+)(==|=|!=)(.*)$/.exec(part);
    if (match === null) throw new ApiError(400, 'BadRequest', `invalid selector: '${part}'; can't understand '${part}'`);
    requirements.push({ field: (match[1] ?? '').trim(), operator: match[2] === '!=' ? '!=' : '=', value: match[3] ?? '' });
  }
  return { requirements };
}

export function matchesFields(selector: FieldSelector, fields: Record<string, string>): boolean {
  return selector.requirements.every((requirement) => {
    const value = fields[requirement.field] ?? '';
    return requirement.operator === '=' ? value === requirement.value : value !== requirement.value;
  });
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  return '';
}

function pathValue(object: JsonObject, path: string): string {
  let node: unknown = object;
  for (const part of path.split('.')) node = isObject(node) ? node[part] : undefined;
  return text(node);
}

const FIELDS: Record<string, readonly string[]> = {
  pods: ['spec.nodeName', 'spec.schedulerName', 'status.phase', 'status.podIP', 'spec.restartPolicy', 'spec.serviceAccountName'],
  nodes: ['spec.unschedulable'],
  events: ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'type', 'source'],
  secrets: ['type'],
  namespaces: ['status.phase'],
};

/** The selectable fields of an object of `resource`. Throws 400 for a field the resource does not support. */
export function fieldsOf(resource: string, object: JsonObject): Record<string, string> {
  const metadata = isObject(object['metadata']) ? object['metadata'] : {};
  const fields: Record<string, string> = { 'metadata.name': text(metadata['name']), 'metadata.namespace': text(metadata['namespace']) };
  for (const path of FIELDS[resource] ?? []) fields[path] = pathValue(object, path);
  return fields;
}

export function checkFieldSelector(resource: string, selector: FieldSelector): void {
  const supported = ['metadata.name', 'metadata.namespace', ...(FIELDS[resource] ?? [])];
  for (const requirement of selector.requirements) {
    if (!supported.includes(requirement.field))
      throw new ApiError(400, 'BadRequest', `"${requirement.field}" is not a known field selector: only ${supported.map((s) => `"${s}"`).join(', ')}`);
  }
}
