// Label and field selectors of list and watch requests (`labelSelector`, `fieldSelector`): parsing
// into requirements, matching an object against them, and which fields each resource lets a client
// select on (metadata.name and metadata.namespace everywhere, plus the ones kubectl relies on:
// spec.nodeName and status.phase of pods, involvedObject.* of events, ...).

import { ApiError } from './status.js';
import { isObject, type JsonObject } from './registry/types.js';

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
