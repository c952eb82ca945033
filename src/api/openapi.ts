// OpenAPI v3 documents generated from the registry, so that the schemas clients see are the ones
// the server validates with. `GET /openapi/v3` lists every served group-version with a
// `serverRelativeURL` carrying a content hash; `GET /openapi/v3/api/v1` or `/openapi/v3/apis/<g>/<v>`
// holds components.schemas (one per kind, tagged with x-kubernetes-group-version-kind) and the
// REST paths of each kind.
//
// What kubectl needs from them: its field-validation verifier looks for a PATCH operation tagged with
// the object's GVK that has a `fieldValidation` query parameter (then it validates on the server
// and sends fieldValidation=Strict), and `kubectl explain` renders components.schemas. The PATCH
// request bodies deliberately do not list application/strategic-merge-patch+json: kubectl would
// then compute client-side-apply patches from these schemas, which carry no patch merge keys, and
// would replace merge-keyed lists (containers) instead of merging them. Without it kubectl uses its
// compiled-in types, as it does against kube-apiserver's richer documents.

import { createHash } from 'node:crypto';
import type { ApiResponse } from './handlers/types.js';
import type { GroupVersion, Registry } from './registry/index.js';
import { type FieldSchema, type ResourceDefinition } from './registry/types.js';

export const OPENAPI_V3_PREFIX = '/openapi/v3';
const OPENAPI_VERSION = '3.0.0';
const INFO = { title: 'Kubernetes', version: 'v1.32.0-kplane' } as const;

type OpenApiValue = { [field: string]: unknown };

/** The shared schema int-or-string fields refer to (kubectl explain prints its last name part). */
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const INT_OR_STRING_SCHEMA = {
  description: 'IntOrString is a type that can hold an int32 or a string.',
  type: 'string',
  format: 'int-or-string',
  'x-kubernetes-int-or-string': true,
} as const;

interface GroupVersionDocument {
  /** `api/v1`, `apis/apps/v1`. */
  readonly key: string;
  readonly text: string;
  readonly hash: string;
}

/** `api/v1` for the core group, `apis/<group>/<version>` for the others. */
export function groupVersionKey(entry: { readonly group: string; readonly version: string }): string {
  return entry.group === '' ? `api/${entry.version}` : `apis/${entry.group}/${entry.version}`;
}

/** Kubernetes' definition names: io.k8s.api.core.v1.Pod, io.k8s.api.apps.v1.Deployment. */
export function schemaName(definition: { readonly group: string; readonly version: string; readonly kind: string }): string {
  const group = definition.group === '' ? 'core' : (definition.group.split('.')[0] ?? definition.group);
  return `io.k8s.api.${group}.${definition.version}.${definition.kind}`;
}

/**
 * A registry FieldSchema as an OpenAPI v3 schema object. Named structs (`typeName`) become a
 * reference, and their schema (without the field's description, which stays at the reference) goes
 * into `components`.
 */
export function toOpenApiSchema(schema: FieldSchema, components?: Map<string, OpenApiValue>): OpenApiValue {
  const description = schema.description === undefined ? {} : { description: schema.description };
  if (schema.type === 'object' && schema.typeName !== undefined && components !== undefined) {
    if (!components.has(schema.typeName)) {
      components.set(schema.typeName, {});
      const { description: _fieldDescription, typeName: _name, ...body } = schema;
      components.set(schema.typeName, toOpenApiSchema(body, components));
    }
    return { ...description, allOf: [{ $ref: `#/components/schemas/${schema.typeName}` }] };
  }
  switch (schema.type) {
    case 'string':
      return { type: 'string', ...description, ...(schema.enum === undefined ? {} : { enum: [...schema.enum] }) };
    case 'integer':
      return { type: 'integer', format: 'int64', ...description, ...(schema.minimum === undefined ? {} : { minimum: schema.minimum }) };
    case 'number':
      return { type: 'number', format: 'double', ...description };
    case 'boolean':
      return { type: 'boolean', ...description };
    case 'array':
      return { type: 'array', ...description, items: toOpenApiSchema(schema.items, components) };
    case 'object': {
      const properties = schema.properties === undefined ? undefined : Object.fromEntries(Object.entries(schema.properties).map(([field, value]) => [field, toOpenApiSchema(value, components)]));
      return {
        type: 'object',
        ...description,
        ...(properties === undefined ? {} : { properties }),
        ...(schema.additionalProperties === undefined ? {} : { additionalProperties: toOpenApiSchema(schema.additionalProperties, components) }),
        ...(schema.required === undefined || schema.required.length === 0 ? {} : { required: [...schema.required] }),
      };
    }
    case 'any':
      if (schema.intOrString === true) return { ...description, allOf: [{ $ref: `#/components/schemas/${INT_OR_STRING}` }] };
      return { ...description, 'x-kubernetes-preserve-unknown-fields': true };
  }
}

function queryParameter(name: string, description: string): OpenApiValue {
  return { name, in: 'query', description, schema: { type: 'string', uniqueItems: true } };
}

const DRY_RUN = queryParameter('dryRun', 'When present, indicates that modifications should not be persisted. The only valid value is "All".');
const FIELD_MANAGER = queryParameter('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.');
const FIELD_VALIDATION = queryParameter(
  'fieldValidation',
  'fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (the default) and Strict.',
);
const FORCE = { name: 'force', in: 'query', description: 'Force is going to "force" Apply requests: it re-acquires conflicting fields owned by other people.', schema: { type: 'boolean', uniqueItems: true } };
const PATH_NAME = { name: 'name', in: 'path', required: true, description: 'name of the object', schema: { type: 'string', uniqueItems: true } };
const PATH_NAMESPACE = { name: 'namespace', in: 'path', required: true, description: 'object name and auth scope, such as for teams and projects', schema: { type: 'string', uniqueItems: true } };

/** See the header: strategic merge patch is left out on purpose. */
const PATCH_CONTENT_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'] as const;

function operation(definition: ResourceDefinition, action: string, verbWord: string, parameters: readonly OpenApiValue[], requestTypes: readonly string[]): OpenApiValue {
  const reference = { $ref: `#/components/schemas/${schemaName(definition)}` };
  const listReference = { $ref: `#/components/schemas/${schemaName({ ...definition, kind: definition.listKind })}` };
  const body = action === 'list' ? listReference : reference;
  return {
    description: `${verbWord} ${action === 'list' ? 'objects of kind' : 'the specified'} ${definition.kind}`,
    operationId: `${action}${definition.namespaced ? 'Namespaced' : ''}${definition.kind}`,
    ...(parameters.length === 0 ? {} : { parameters: [...parameters] }),
    ...(requestTypes.length === 0 ? {} : { requestBody: { required: true, content: Object.fromEntries(requestTypes.map((type) => [type, { schema: reference }])) } }),
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: body } } } },
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: definition.group, version: definition.version, kind: definition.kind },
  };
}

function pathsFor(definition: ResourceDefinition): Record<string, OpenApiValue> {
  const root = `/${groupVersionKey(definition)}`;
  const collection = definition.namespaced ? `${root}/namespaces/{namespace}/${definition.plural}` : `${root}/${definition.plural}`;
  const scope = definition.namespaced ? [PATH_NAMESPACE] : [];
  const writes = [DRY_RUN, FIELD_MANAGER, FIELD_VALIDATION];
  const paths: Record<string, OpenApiValue> = {};
  const collectionOperations: OpenApiValue = {};
  if (definition.verbs.includes('list')) collectionOperations['get'] = operation(definition, 'list', 'list or watch', [], []);
  if (definition.verbs.includes('create')) collectionOperations['post'] = operation(definition, 'post', 'create', writes, ['application/json', 'application/yaml']);
  if (Object.keys(collectionOperations).length > 0) paths[collection] = { ...collectionOperations, ...(scope.length === 0 ? {} : { parameters: scope }) };
  const item: OpenApiValue = {};
  if (definition.verbs.includes('get')) item['get'] = operation(definition, 'get', 'read', [], []);
  if (definition.verbs.includes('update')) item['put'] = operation(definition, 'put', 'replace', writes, ['application/json', 'application/yaml']);
  if (definition.verbs.includes('patch')) item['patch'] = operation(definition, 'patch', 'partially update', [...writes, FORCE], PATCH_CONTENT_TYPES);
  if (definition.verbs.includes('delete')) item['delete'] = operation(definition, 'delete', 'delete', [DRY_RUN], []);
  if (Object.keys(item).length > 0) paths[`${collection}/{name}`] = { ...item, parameters: [PATH_NAME, ...scope] };
  return paths;
}

function schemasFor(definition: ResourceDefinition, components: Map<string, OpenApiValue>): Record<string, OpenApiValue> {
  const gvk = { group: definition.group, version: definition.version };
  const kindSchema = { ...toOpenApiSchema(definition.schema, components), 'x-kubernetes-group-version-kind': [{ ...gvk, kind: definition.kind }] };
  const listSchema = {
    type: 'object',
    description: `${definition.listKind} is a list of ${definition.kind} objects.`,
    required: ['items'],
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { type: 'object', description: 'Standard list metadata.', 'x-kubernetes-preserve-unknown-fields': true },
      items: { type: 'array', description: `List of ${definition.plural}.`, items: { $ref: `#/components/schemas/${schemaName(definition)}` } },
    },
    'x-kubernetes-group-version-kind': [{ ...gvk, kind: definition.listKind }],
  };
  return {
    [schemaName(definition)]: kindSchema,
    ...(definition.verbs.includes('list') ? { [schemaName({ ...definition, kind: definition.listKind })]: listSchema } : {}),
  };
}

/** The OpenAPI v3 document of one group-version. */
export function groupVersionDocument(entry: GroupVersion): OpenApiValue {
  let paths: Record<string, OpenApiValue> = {};
  let schemas: Record<string, OpenApiValue> = { [INT_OR_STRING]: INT_OR_STRING_SCHEMA };
  const named = new Map<string, OpenApiValue>();
  for (const definition of entry.resources) {
    paths = { ...paths, ...pathsFor(definition) };
    schemas = { ...schemas, ...schemasFor(definition, named) };
  }
  return { openapi: OPENAPI_VERSION, info: INFO, paths, components: { schemas: { ...schemas, ...Object.fromEntries(named) } } };
}

/** Per registry, the documents of its current revision (CRDs change the registry). */
const documentsByRegistry = new WeakMap<Registry, { readonly revision: number; readonly documents: readonly GroupVersionDocument[] }>();

function documentsOf(registry: Registry): readonly GroupVersionDocument[] {
  const cached = documentsByRegistry.get(registry);
  if (cached !== undefined && cached.revision === registry.revision) return cached.documents;
  const documents = registry.groupVersions.map((entry) => {
    const text = JSON.stringify(groupVersionDocument(entry));
    return { key: groupVersionKey(entry), text, hash: createHash('sha512').update(text).digest('hex').toUpperCase() };
  });
  documentsByRegistry.set(registry, { revision: registry.revision, documents });
  return documents;
}

/** The discovery document of `/openapi/v3`. */
export function openApiIndex(registry: Registry): OpenApiValue {
  const paths: Record<string, OpenApiValue> = {};
  for (const document of documentsOf(registry)) paths[document.key] = { serverRelativeURL: `${OPENAPI_V3_PREFIX}/${document.key}?hash=${document.hash}` };
  return { paths };
}

/**
 * The answer to a GET under /openapi/v3, or undefined when the path is not an OpenAPI one (the
 * caller answers 404). A `hash` that matches lets clients cache the document for good.
 */
export function openApiResponse(registry: Registry, path: string, query: URLSearchParams): ApiResponse | undefined {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === OPENAPI_V3_PREFIX) return { status: 200, headers: { 'content-type': 'application/json', 'cache-control': 'no-cache, private' }, body: openApiIndex(registry) };
  if (!trimmed.startsWith(`${OPENAPI_V3_PREFIX}/`)) return undefined;
  const key = trimmed.slice(OPENAPI_V3_PREFIX.length + 1);
  const document = documentsOf(registry).find((candidate) => candidate.key === key);
  if (document === undefined) return undefined;
  const immutable = query.get('hash') === document.hash;
  return {
    status: 200,
    headers: { 'content-type': 'application/json', etag: `"${document.hash}"`, 'cache-control': immutable ? 'public, immutable' : 'no-cache, private' },
    text: document.text,
  };
}

