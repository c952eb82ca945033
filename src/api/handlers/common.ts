// Helpers shared by the resource handlers: the target of a request, query parsing (dryRun,
// integers, selectors, fieldValidation), the kind check of bodies, admission plugins, Warning headers.

import type { RequestAttributes } from '../auth-types.js';
import { checkFieldSelector, fieldsOf, matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../selectors.js';
import { apiVersionOf, isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { unknownFields } from '../registry/schema.js';
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

// ---- fieldValidation -------------------------------------------------------------------------

/** How the request wants unknown fields treated (kube-apiserver's default is Warn). */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function fieldValidationOf(query: URLSearchParams): FieldValidation {
  const value = query.get('fieldValidation') ?? '';
  if (value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw errors.badRequest(`fieldValidation: Unsupported value: ${JSON.stringify(value)}: supported values: "Ignore", "Strict", "Warn"`);
}

/**
 * Apply the fieldValidation directive to `object`: Strict throws 400 BadRequest with Kubernetes'
 * `strict decoding error: unknown field "spec.foo"`, Warn returns the warnings to send, Ignore
 * returns none. Fields already unknown in `previous` (the stored object, on updates) are not the
 * request's doing and are not reported. `decoding` prefixes create/update messages the way
 * kube-apiserver's decoder does (`Deployment in version "v1" cannot be handled as a Deployment: …`).
 */
export function checkUnknownFields(definition: ResourceDefinition, object: JsonObject, directive: FieldValidation, options: { previous?: JsonObject; decoding?: boolean } = {}): string[] {
  if (directive === 'Ignore') return [];
  let found = unknownFields(object, definition.schema);
  if (options.previous !== undefined && found.length > 0) {
    const before = new Set(unknownFields(options.previous, definition.schema));
    found = found.filter((path) => !before.has(path));
  }
  if (found.length === 0) return [];
  const messages = found.map((path) => `unknown field ${JSON.stringify(path)}`);
  if (directive === 'Warn') return messages;
  const strict = `strict decoding error: ${messages.join(', ')}`;
  throw errors.badRequest(options.decoding === true ? `${definition.kind} in version ${JSON.stringify(definition.version)} cannot be handled as a ${definition.kind}: ${strict}` : strict);
}

/** The `Warning` header (RFC 7234 form, code 299, as kube-apiserver sends) for these messages. */
export function warningHeaders(warnings: readonly string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { warning: warnings.map((message) => `299 - ${JSON.stringify(message)}`).join(', ') };
}

export const jsonWithWarnings = (status: number, body: unknown, warnings: readonly string[]): ApiResponse =>
  warnings.length === 0 ? { status, body } : { status, headers: warningHeaders(warnings), body };

// ---- field managers --------------------------------------------------------------------------

/** Longest fieldManager accepted (kube-apiserver's limit). */
export const MAX_FIELD_MANAGER_CHARS = 128;

/**
 * The manager of a write: the fieldManager parameter, else the User-Agent up to its first "/"
 * (kube-apiserver's default). Apply requests must name one.
 */
export function fieldManagerOf(request: ApiRequest, required: boolean): string {
  const given = request.query.get('fieldManager') ?? '';
  if (given === '' && required) throw errors.badRequest('PATCH requests with an apply content type must set the fieldManager query parameter');
  if (given.length > MAX_FIELD_MANAGER_CHARS) throw errors.badRequest(`fieldManager: Too long: may not be more than ${MAX_FIELD_MANAGER_CHARS} bytes`);
  if (given !== '') return given;
  const agent = request.headers['user-agent'] ?? '';
  const prefix = agent.split('/')[0]?.trim() ?? '';
  return prefix === '' ? 'unknown' : prefix.slice(0, MAX_FIELD_MANAGER_CHARS);
}

/** The force parameter: only apply requests may set it. */
export function forceOf(query: URLSearchParams, isApply: boolean): boolean {
  const value = query.get('force');
  if (value === null || value === '' || value === 'false') return false;
  if (value !== 'true') throw errors.badRequest(`force: Invalid value: ${JSON.stringify(value)}: must be true or false`);
  if (!isApply) throw errors.badRequest('force: Forbidden: may not be specified for non-apply patch');
  return true;
}
