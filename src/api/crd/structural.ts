// A CRD version's openAPIV3Schema put to work: validation of custom resources against it (422
// causes per field, as kube-apiserver's schema validator names them), pruning of the fields it does
// not declare (Kubernetes prunes structural schemas unless x-kubernetes-preserve-unknown-fields),
// the registry FieldSchema it corresponds to (OpenAPI documents, `kubectl explain`, fieldValidation),
// and the checks a schema itself must pass when a CRD is created.

import { MAX_SCHEMA_CAUSES } from '../registry/schema.js';
import { typeAndObjectMeta } from '../registry/meta.js';
import { isObject, type FieldSchema, type JsonObject } from '../registry/types.js';
import { causes, type StatusCause } from '../status.js';

/** The schema keywords this server understands (the rest of a schema is kept but ignored). */
const KNOWN_TYPES = ['object', 'array', 'string', 'integer', 'number', 'boolean'] as const;

function typeOf(schema: JsonObject): string | undefined {
  return typeof schema['type'] === 'string' ? schema['type'] : undefined;
}
function flag(schema: JsonObject, field: string): boolean {
  return schema[field] === true;
}
function numberField(schema: JsonObject, field: string): number | undefined {
  const value = schema[field];
  return typeof value === 'number' ? value : undefined;
}
function propertiesOf(schema: JsonObject): JsonObject | undefined {
  const value = schema['properties'];
  return isObject(value) ? value : undefined;
}
function fieldPath(prefix: string, field: string): string {
  return prefix === '' ? field : `${prefix}.${field}`;
}

const patterns = new Map<string, RegExp | undefined>();

function compiledPattern(pattern: string): RegExp | undefined {
  if (!patterns.has(pattern)) {
    let compiled: RegExp | undefined;
    try {
      compiled = new RegExp(pattern, 'u');
    } catch {
      compiled = undefined;
    }
    if (patterns.size > 1000) patterns.clear();
    patterns.set(pattern, compiled);
  }
  return patterns.get(pattern);
}

// ---- validation of custom resources ----------------------------------------------------------

/** Causes for `value` against `schema` at `path` (appended to `out`, at most MAX_SCHEMA_CAUSES). */
export function validateAgainst(value: unknown, schema: JsonObject, path: string, out: StatusCause[] = []): StatusCause[] {
  if (out.length >= MAX_SCHEMA_CAUSES || value === undefined) return out;
  if (value === null) {
    if (!flag(schema, 'nullable') && typeOf(schema) !== undefined) out.push(causes.typeInvalid(path, value, `must be ${typeOf(schema) ?? 'a value'}, not null`));
    return out;
  }
  if (flag(schema, 'x-kubernetes-int-or-string')) {
    if (typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value))) out.push(causes.typeInvalid(path, value, 'must be an integer or a string'));
    return out;
  }
  const enumValues = schema['enum'];
  if (Array.isArray(enumValues) && !enumValues.some((allowed) => JSON.stringify(allowed) === JSON.stringify(value))) {
    out.push(causes.notSupported(path, value, enumValues.map((allowed) => (typeof allowed === 'string' ? allowed : JSON.stringify(allowed)))));
  }
  switch (typeOf(schema)) {
    case 'string':
      if (typeof value !== 'string') out.push(causes.typeInvalid(path, value, 'must be a string'));
      else checkString(value, schema, path, out);
      return out;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) out.push(causes.typeInvalid(path, value, 'must be an integer'));
      else checkNumber(value, schema, path, out);
      return out;
    case 'number':
      if (typeof value !== 'number') out.push(causes.typeInvalid(path, value, 'must be a number'));
      else checkNumber(value, schema, path, out);
      return out;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(causes.typeInvalid(path, value, 'must be a boolean'));
      return out;
    case 'array':
      if (!Array.isArray(value)) out.push(causes.typeInvalid(path, value, 'must be an array'));
      else checkArray(value, schema, path, out);
      return out;
    case 'object':
      if (!isObject(value)) out.push(causes.typeInvalid(path, value, 'must be an object'));
      else checkObject(value, schema, path, out);
      return out;
    default:
      if (isObject(value)) checkObject(value, schema, path, out);
      return out;
  }
}

function checkString(value: string, schema: JsonObject, path: string, out: StatusCause[]): void {
  const length = [...value].length;
  const minLength = numberField(schema, 'minLength');
  const maxLength = numberField(schema, 'maxLength');
  if (minLength !== undefined && length < minLength) out.push(causes.invalid(path, value, `should be at least ${minLength} chars long`));
  if (maxLength !== undefined && length > maxLength) out.push({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${maxLength} bytes`, field: path });
  const pattern = schema['pattern'];
  if (typeof pattern === 'string') {
    const compiled = compiledPattern(pattern);
    if (compiled !== undefined && !compiled.test(value)) out.push(causes.invalid(path, value, `should match '${pattern}'`));
  }
}

function checkNumber(value: number, schema: JsonObject, path: string, out: StatusCause[]): void {
  const minimum = numberField(schema, 'minimum');
  const maximum = numberField(schema, 'maximum');
  if (minimum !== undefined && (flag(schema, 'exclusiveMinimum') ? value <= minimum : value < minimum)) {
    out.push(causes.invalid(path, value, `should be greater than ${flag(schema, 'exclusiveMinimum') ? '' : 'or equal to '}${minimum}`));
  }
  if (maximum !== undefined && (flag(schema, 'exclusiveMaximum') ? value >= maximum : value > maximum)) {
    out.push(causes.invalid(path, value, `should be less than ${flag(schema, 'exclusiveMaximum') ? '' : 'or equal to '}${maximum}`));
  }
}

function checkArray(value: unknown[], schema: JsonObject, path: string, out: StatusCause[]): void {
  const minItems = numberField(schema, 'minItems');
  const maxItems = numberField(schema, 'maxItems');
  if (minItems !== undefined && value.length < minItems) out.push(causes.invalid(path, value.length, `should have at least ${minItems} items`));
  if (maxItems !== undefined && value.length > maxItems) out.push({ reason: 'FieldValueTooMany', message: `Too many: ${value.length}: must have at most ${maxItems} items`, field: path });
  const items = schema['items'];
  if (isObject(items)) value.forEach((item, index) => validateAgainst(item, items, `${path}[${index}]`, out));
}

function checkObject(value: JsonObject, schema: JsonObject, path: string, out: StatusCause[]): void {
  const required = schema['required'];
  if (Array.isArray(required)) {
    for (const field of required) if (typeof field === 'string' && value[field] === undefined) out.push(causes.required(fieldPath(path, field)));
  }
  const properties = propertiesOf(schema);
  const additional = schema['additionalProperties'];
  for (const [field, fieldValue] of Object.entries(value)) {
    const declared = properties?.[field];
    if (isObject(declared)) validateAgainst(fieldValue, declared, fieldPath(path, field), out);
    else if (isObject(additional)) validateAgainst(fieldValue, additional, fieldPath(path, field), out);
  }
}

/** Causes for a whole custom resource: its fields other than apiVersion, kind and metadata. */
export function validateCustomResource(object: JsonObject, schema: JsonObject): StatusCause[] {
  const out: StatusCause[] = [];
  const properties = propertiesOf(schema) ?? {};
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  for (const field of required) if (typeof field === 'string' && !['apiVersion', 'kind', 'metadata'].includes(field) && object[field] === undefined) out.push(causes.required(field));
  for (const [field, value] of Object.entries(object)) {
    if (field === 'apiVersion' || field === 'kind' || field === 'metadata') continue;
    const declared = properties[field];
    if (isObject(declared)) validateAgainst(value, declared, field, out);
  }
  return out;
}

// ---- pruning ---------------------------------------------------------------------------------

/** Remove, in place, the fields `schema` does not declare (unless it preserves unknown fields). */
export function prune(value: unknown, schema: JsonObject): void {
  if (Array.isArray(value)) {
    const items = schema['items'];
    if (isObject(items)) for (const item of value) prune(item, items);
    return;
  }
  if (!isObject(value) || flag(schema, 'x-kubernetes-int-or-string')) return;
  const properties = propertiesOf(schema);
  const additional = schema['additionalProperties'];
  const preserve = flag(schema, 'x-kubernetes-preserve-unknown-fields') || additional === true;
  for (const [field, fieldValue] of Object.entries(value)) {
    const declared = properties?.[field];
    if (isObject(declared)) prune(fieldValue, declared);
    else if (isObject(additional)) prune(fieldValue, additional);
    else if (!preserve) delete value[field];
  }
}

/** Prune a custom resource: apiVersion, kind and metadata stay; the rest follows the schema. */
export function pruneCustomResource(object: JsonObject, schema: JsonObject): void {
  const properties = propertiesOf(schema) ?? {};
  const preserve = flag(schema, 'x-kubernetes-preserve-unknown-fields');
  for (const [field, value] of Object.entries(object)) {
    if (field === 'apiVersion' || field === 'kind' || field === 'metadata') continue;
    const declared = properties[field];
    if (isObject(declared)) prune(value, declared);
    else if (!preserve) delete object[field];
  }
}

// ---- the registry schema ---------------------------------------------------------------------

/** The registry FieldSchema of an openAPIV3Schema node (descriptions kept for kubectl explain). */
export function toFieldSchema(schema: JsonObject): FieldSchema {
  const description = typeof schema['description'] === 'string' ? { description: schema['description'] } : {};
  if (flag(schema, 'x-kubernetes-int-or-string')) return { type: 'any', intOrString: true, ...description };
  const enumValues = Array.isArray(schema['enum']) && schema['enum'].every((value) => typeof value === 'string') ? { enum: schema['enum'] as string[] } : {};
  switch (typeOf(schema)) {
    case 'string':
      return { type: 'string', ...description, ...enumValues };
    case 'integer': {
      const minimum = numberField(schema, 'minimum');
      return { type: 'integer', ...description, ...(minimum === undefined || flag(schema, 'exclusiveMinimum') ? {} : { minimum }) };
    }
    case 'number':
      return { type: 'number', ...description };
    case 'boolean':
      return { type: 'boolean', ...description };
    case 'array': {
      const items = schema['items'];
      return { type: 'array', ...description, items: isObject(items) ? toFieldSchema(items) : { type: 'any' } };
    }
    case 'object': {
      const properties = propertiesOf(schema);
      const additional = schema['additionalProperties'];
      const open = flag(schema, 'x-kubernetes-preserve-unknown-fields') || additional === true;
      const required = Array.isArray(schema['required']) ? schema['required'].filter((field): field is string => typeof field === 'string') : [];
      const converted: { [field: string]: FieldSchema } = {};
      for (const [field, value] of Object.entries(properties ?? {})) if (isObject(value)) converted[field] = toFieldSchema(value);
      return {
        type: 'object',
        ...description,
        ...(properties === undefined && (open || isObject(additional)) ? {} : { properties: converted }),
        ...(isObject(additional) ? { additionalProperties: toFieldSchema(additional) } : open ? { additionalProperties: { type: 'any' } } : {}),
        ...(required.length === 0 ? {} : { required }),
      };
    }
    default:
      return { type: 'any', ...description };
  }
}

/** The whole object's FieldSchema: the version's schema with apiVersion, kind and ObjectMeta. */
export function customResourceSchema(schema: JsonObject, kind: string): FieldSchema {
  const converted = toFieldSchema({ ...schema, type: 'object' });
  if (converted.type !== 'object') return converted;
  return {
    ...converted,
    ...(converted.description === undefined ? { description: `${kind} is a custom resource.` } : {}),
    properties: { ...(converted.properties ?? {}), ...typeAndObjectMeta },
    // `required` on the root names spec and the like; metadata is checked separately.
    ...(converted.required === undefined ? {} : { required: converted.required.filter((field) => !['apiVersion', 'kind', 'metadata'].includes(field)) }),
  };
}

// ---- checks of a schema itself (CRD validation) -----------------------------------------------

/** Causes for an openAPIV3Schema that this server cannot use (unknown types, bad patterns…). */
export function checkOpenApiSchema(schema: unknown, path: string, out: StatusCause[] = [], depth = 0): StatusCause[] {
  if (out.length >= MAX_SCHEMA_CAUSES) return out;
  if (!isObject(schema)) {
    out.push(causes.typeInvalid(path, schema, 'must be an object'));
    return out;
  }
  if (depth > 64) {
    out.push(causes.invalid(path, '', 'is nested too deeply'));
    return out;
  }
  const type = schema['type'];
  if (type !== undefined && (typeof type !== 'string' || !(KNOWN_TYPES as readonly string[]).includes(type))) {
    out.push(causes.notSupported(`${path}.type`, type, KNOWN_TYPES));
  }
  const pattern = schema['pattern'];
  if (pattern !== undefined && (typeof pattern !== 'string' || compiledPattern(pattern) === undefined)) out.push(causes.invalid(`${path}.pattern`, pattern, 'must be a valid regular expression'));
  if (type === 'array' && !isObject(schema['items'])) out.push(causes.required(`${path}.items`, 'must be specified for arrays'));
  if (schema['items'] !== undefined) checkOpenApiSchema(schema['items'], `${path}.items`, out, depth + 1);
  const properties = schema['properties'];
  if (properties !== undefined) {
    if (!isObject(properties)) out.push(causes.typeInvalid(`${path}.properties`, properties, 'must be an object'));
    else for (const [field, value] of Object.entries(properties)) checkOpenApiSchema(value, `${path}.properties[${field}]`, out, depth + 1);
  }
  const additional = schema['additionalProperties'];
  if (isObject(additional)) {
    if (properties !== undefined) out.push(causes.forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
    checkOpenApiSchema(additional, `${path}.additionalProperties`, out, depth + 1);
  }
  if (type === undefined && !flag(schema, 'x-kubernetes-int-or-string') && !flag(schema, 'x-kubernetes-preserve-unknown-fields') && depth > 0) {
    out.push(causes.required(`${path}.type`, 'must not be empty for specified object fields'));
  }
  return out;
}
