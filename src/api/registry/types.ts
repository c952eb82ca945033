// The registry's data model: what the API server knows about each resource it serves. One
// ResourceDefinition drives routing, storage keys, discovery documents, validation and (later,
// issue 7) OpenAPI, so that all of them agree by construction.

import type { StatusCause } from '../status.js';

/** A JSON object as the API server handles it (decoded request bodies and stored objects). */
export type JsonObject = { [field: string]: unknown };

/** A small declarative schema: enough to check types and required fields, and to emit OpenAPI later. */
export type FieldSchema =
  | { readonly type: 'string'; readonly description?: string; readonly enum?: readonly string[] }
  | { readonly type: 'integer'; readonly description?: string; readonly minimum?: number }
  | { readonly type: 'number'; readonly description?: string }
  | { readonly type: 'boolean'; readonly description?: string }
  | { readonly type: 'array'; readonly description?: string; readonly items: FieldSchema }
  | {
      readonly type: 'object';
      readonly description?: string;
      readonly properties?: { readonly [field: string]: FieldSchema };
      /** Values of a map (labels, data). */
      readonly additionalProperties?: FieldSchema;
      readonly required?: readonly string[];
      /**
       * Kubernetes' definition name of this struct (io.k8s.api.core.v1.PodSpec): OpenAPI then
       * shares it as a component, and kubectl explain prints its short name (<PodSpec>).
       */
      readonly typeName?: string;
    }
  /** Anything (raw extension…); `intOrString`: an integer or a string (maxSurge, targetPort). */
  | { readonly type: 'any'; readonly description?: string; readonly intOrString?: boolean };

export interface SubresourceDefinition {
  /** status, scale, binding, log… */
  readonly name: string;
  readonly verbs: readonly string[];
  /** The kind exchanged on this subresource when it is not the parent's (Scale, Binding). */
  readonly kind?: { readonly group: string; readonly version: string; readonly kind: string };
  /** For a custom resource's scale: where its replicas and selector live (JSON paths such as `.spec.size`). */
  readonly scalePaths?: ScalePaths;
}

/** A CRD's subresources.scale: absent, the built-in layout (spec.replicas, status.replicas, spec.selector). */
export interface ScalePaths {
  readonly specReplicasPath: string;
  readonly statusReplicasPath: string;
  /** A path to the selector in its serialized string form; absent, the Scale has no selector. */
  readonly labelSelectorPath?: string;
}

export interface ResourceDefinition {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly listKind: string;
  /** The plural resource name, used in paths and store keys. */
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly namespaced: boolean;
  readonly verbs: readonly string[];
  readonly subresources: readonly SubresourceDefinition[];
  readonly categories: readonly string[];
  /** The schema of the whole object (metadata is checked separately). */
  readonly schema: FieldSchema;
  /** Has a status the main resource does not write (status goes through /status). */
  readonly hasStatusSubresource: boolean;
  /** Fill in defaults, in place, on create and update. */
  readonly defaults?: (object: JsonObject) => void;
  /** Resource-specific checks; `old` is the stored object on update. */
  readonly validate?: (object: JsonObject, old: JsonObject | undefined) => StatusCause[];
  /** Pods: graceful deletion. */
  readonly gracefulDelete?: boolean;
  /** Verbs-only resources (selfsubjectaccessreviews): never stored. */
  readonly virtual?: boolean;
  /** A custom resource (from a CRD): merge and JSON patches only, no strategic merge. */
  readonly custom?: boolean;
  /** Extra table columns (a CRD's additionalPrinterColumns), between NAME and AGE. */
  readonly printerColumns?: readonly PrinterColumn[];
}

/** A CRD's additionalPrinterColumns entry; jsonPath is JSONPath-lite (.spec.replicas, .status.conditions[0].type). */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
  readonly format?: string;
}

export function apiVersionOf(definition: { readonly group: string; readonly version: string }): string {
  return definition.group === '' ? definition.version : `${definition.group}/${definition.version}`;
}

export const READ_WRITE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] as const;
export const STATUS_VERBS = ['get', 'patch', 'update'] as const;

// ---- small JSON helpers used by defaulting/validation -----------------------------------------

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `field`, created if absent (for defaulting). */
export function child(object: JsonObject, field: string): JsonObject {
  const value = object[field];
  if (isObject(value)) return value;
  const created: JsonObject = {};
  object[field] = created;
  return created;
}

export function setDefault(object: JsonObject, field: string, value: unknown): void {
  if (object[field] === undefined || object[field] === null) object[field] = value;
}

export function objectsOf(value: unknown): JsonObject[] {
  return Array.isArray(value) ? value.filter(isObject) : [];
}

export function stringField(object: JsonObject | undefined, field: string): string | undefined {
  const value = object?.[field];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Structural equality of JSON values: object key order does not matter (clients serialize fields in
 * their own order, e.g. client-node's models), and a null field equals an absent one.
 */
export function jsonEqual(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (Array.isArray(left)) return Array.isArray(right) && left.length === right.length && left.every((item, index) => jsonEqual(item, right[index]));
  if (isObject(left) && isObject(right)) {
    const present = (object: JsonObject): string[] => Object.keys(object).filter((key) => object[key] !== null && object[key] !== undefined);
    const keys = present(left);
    return keys.length === present(right).length && keys.every((key) => jsonEqual(left[key], right[key]));
  }
  return false;
}
