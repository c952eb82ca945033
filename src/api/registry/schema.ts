// Schema checking for request bodies: walks a FieldSchema and reports type mismatches and missing
// required fields as 422 causes with Kubernetes' field paths (spec.containers[0].image). Unknown
// fields are not errors here: `unknownFields` lists them for the request's fieldValidation directive.

import { causes, type StatusCause } from '../status.js';
import type { FieldSchema } from './types.js';
import { isObject } from './types.js';

/** Stop after this many causes: a huge garbage body must not produce a huge answer. */
export const MAX_SCHEMA_CAUSES = 50;

export function checkSchema(value: unknown, schema: FieldSchema, path: string, out: StatusCause[] = []): StatusCause[] {
  if (out.length >= MAX_SCHEMA_CAUSES || value === undefined || value === null) return out;
  switch (schema.type) {
    case 'any':
      if (schema.intOrString === true && typeof value !== 'string' && !(typeof value === 'number' && Number.isInteger(value)))
        out.push(causes.typeInvalid(path, value, 'must be an integer or a string'));
      return out;
    case 'string':
      if (typeof value !== 'string') out.push(causes.typeInvalid(path, value, 'must be a string'));
      else if (schema.enum !== undefined && !schema.enum.includes(value)) out.push(causes.notSupported(path, value, schema.enum));
      return out;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) out.push(causes.typeInvalid(path, value, 'must be an integer'));
      else if (schema.minimum !== undefined && value < schema.minimum)
        out.push(causes.invalid(path, value, `must be greater than or equal to ${schema.minimum}`));
      return out;
    case 'number':
      if (typeof value !== 'number') out.push(causes.typeInvalid(path, value, 'must be a number'));
      return out;
    case 'boolean':
      if (typeof value !== 'boolean') out.push(causes.typeInvalid(path, value, 'must be a boolean'));
      return out;
    case 'array':
      if (!Array.isArray(value)) {
        out.push(causes.typeInvalid(path, value, 'must be an array'));
        return out;
      }
      value.forEach((item, index) => checkSchema(item, schema.items, `${path}[${index}]`, out));
      return out;
    case 'object': {
      if (!isObject(value)) {
        out.push(causes.typeInvalid(path, value, 'must be an object'));
        return out;
      }
      const prefix = path === '' ? '' : `${path}.`;
      for (const field of schema.required ?? []) {
        const present = value[field];
        if (present === undefined || present === null || present === '') out.push(causes.required(`${prefix}${field}`));
      }
      for (const [field, fieldValue] of Object.entries(value)) {
        const fieldSchema = schema.properties?.[field] ?? schema.additionalProperties;
        if (fieldSchema !== undefined) checkSchema(fieldValue, fieldSchema, `${prefix}${field}`, out);
      }
      return out;
    }
  }
}

/**
 * Paths of fields the schema does not declare (fieldValidation), in Kubernetes' notation
 * (spec.template.spec.containers[0].foo). Only closed objects count: those with properties and no
 * additionalProperties; maps, `any` values and bare objects accept every field.
 */
export function unknownFields(value: unknown, schema: FieldSchema, path = '', out: string[] = []): string[] {
  if (out.length >= MAX_SCHEMA_CAUSES || value === undefined || value === null) return out;
  if (schema.type === 'array') {
    if (Array.isArray(value)) value.forEach((item, index) => unknownFields(item, schema.items, `${path}[${index}]`, out));
    return out;
  }
  if (schema.type !== 'object' || !isObject(value)) return out;
  const prefix = path === '' ? '' : `${path}.`;
  const closed = schema.properties !== undefined && schema.additionalProperties === undefined;
  for (const [field, fieldValue] of Object.entries(value)) {
    const fieldSchema = schema.properties?.[field] ?? schema.additionalProperties;
    if (fieldSchema !== undefined) unknownFields(fieldValue, fieldSchema, `${prefix}${field}`, out);
    else if (closed && out.length < MAX_SCHEMA_CAUSES) out.push(`${prefix}${field}`);
  }
  return out;
}

// ---- name rules ------------------------------------------------------------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Kubernetes' message for a name that is not a DNS-1123 subdomain; undefined when fine. */
export function dns1123SubdomainError(name: string): string | undefined {
  if (name.length > 253) return 'must be no more than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name))
    return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
  return undefined;
}

export function dns1123LabelError(name: string): string | undefined {
  if (name.length > 63) return 'must be no more than 63 characters';
  if (!DNS1123_LABEL.test(name))
    return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
  return undefined;
}

/** Path-segment names (RBAC objects may contain ':'): only forbid what breaks paths. */
export function pathSegmentNameError(name: string): string | undefined {
  if (name === '.' || name === '..') return `may not be '${name}'`;
  if (name.includes('/') || name.includes('%')) return "may not contain '/' or '%'";
  if (name.length > 253) return 'must be no more than 253 characters';
  return undefined;
}

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

export function labelKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(key) || (slash >= 0 && slash > 253))
    return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

export function labelValueError(value: string): string | undefined {
  if (value.length > 63) return 'must be no more than 63 characters';
  if (!LABEL_VALUE.test(value))
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}
