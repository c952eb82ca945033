// Helpers shared by the resource handlers: the target of a request, query parsing (dryRun,
// integers, selectors), the kind check of bodies, admission plugins.

import type { RequestAttributes } from '../auth-types.js';
import { checkFieldSelector, fieldsOf, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../pure-deps.js';
import { apiVersionOf, isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { metadataOf } from '../storage/object-store.js';
import { errors } from '../status.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';

export interface ResourceTarget {
  readonly definition: ResourceDefinition;
  readonly verb: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: string;
  readonly attributes: RequestAttributes & { readonly kind: 'resource' };
}

export const json = (status: number, body: unknown): ApiResponse => ({ status, body });

export function qualified(definition: ResourceDefinition): { resource: string; group: string } {
  return { resource: definition.plural, group: definition.group };
}

export function dryRunOf(query: URLSearchParams): boolean {
  const values = query.getAll('dryRun');
  for (const value of values) if (value !== 'All') throw errors.badRequest(`Invalid dry run value: ${JSON.stringify(value)}; supported values: "All"`);
  return values.length > 0;
}

export function buildFilter(request: ApiRequest, definition: ResourceDefinition): (object: JsonObject) => boolean {
  const labelText = request.query.get('labelSelector');
  const fieldText = request.query.get('fieldSelector');
  const labels = labelText === null || labelText.trim() === '' ? undefined : parseLabelSelector(labelText);
  const fields = fieldText === null || fieldText.trim() === '' ? undefined : parseFieldSelector(fieldText);
  if (fields !== undefined) checkFieldSelector(definition.plural, fields);
  if (labels === undefined && fields === undefined) return () => true;
  return (object) => {
    const metadata = metadataOf(object);
    const objectLabels = isObject(metadata['labels']) ? (metadata['labels'] as Record<string, string>) : undefined;
    if (labels !== undefined && !matchesLabels(labels, objectLabels)) return false;
    if (fields !== undefined && !matchesFields(fields, fieldsOf(definition.plural, object))) return false;
    return true;
  };
}

export function nonNegativeInteger(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name);
  if (text === null || text === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) throw errors.badRequest(`${name}: invalid value ${JSON.stringify(text)}: must be a non-negative integer`);
  return Number(text);
}

/** Body apiVersion/kind must match the URL's resource; absent ones are filled in (client-node omits them). */
export function checkKind(definition: ResourceDefinition, object: JsonObject, kind = definition.kind, apiVersion = apiVersionOf(definition)): void {
  const bodyVersion = object['apiVersion'];
  const bodyKind = object['kind'];
  if (bodyVersion !== undefined && bodyVersion !== '' && bodyVersion !== apiVersion) {
    throw errors.badRequest(`the API version in the data (${String(bodyVersion)}) does not match the expected API version (${apiVersion})`);
  }
  if (bodyKind !== undefined && bodyKind !== '' && bodyKind !== kind) {
    throw errors.badRequest(`the kind in the data (${String(bodyKind)}) does not match the expected kind (${kind})`);
  }
  object['apiVersion'] = apiVersion;
  object['kind'] = kind;
}
export function runAdmission(context: HandlerContext, target: ResourceTarget, objects: { oldObject?: JsonObject; newObject?: JsonObject }): void {
  for (const check of context.admission) {
    const decision = check(target.attributes, objects);
    if (!decision.allowed) throw errors.forbidden(decision.reason);
  }
}
export function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
