// The apiextensions.k8s.io/v1 CustomResourceDefinition kind: its registry entry (cluster-scoped,
// with status), defaulting (listKind, singular, conditions Established and NamesAccepted on
// create), and Kubernetes' validation of a CRD (name `<plural>.<group>`, names, scope, versions with
// exactly one storage version, a schema per version, printer columns).

import type { Clock } from '../../actors/clock.js';
import { typeAndObjectMeta } from '../registry/meta.js';
import { dns1123LabelError, dns1123SubdomainError } from '../registry/schema.js';
import { READ_WRITE_VERBS, STATUS_VERBS, child, isObject, objectsOf, stringField, type FieldSchema, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { formatTimestamp } from '../storage/object-store.js';
import { causes, type StatusCause } from '../status.js';
import { parseJsonPath } from './json-path.js';
import { checkOpenApiSchema } from './structural.js';

export const CRD_GROUP = 'apiextensions.k8s.io';
export const CRD_PLURAL = 'customresourcedefinitions';

const str = (description: string): FieldSchema => ({ type: 'string', description });
const bool = (description: string): FieldSchema => ({ type: 'boolean', description });
const strings = (description: string): FieldSchema => ({ type: 'array', description, items: { type: 'string' } });

const namesSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNames',
  description: 'CustomResourceDefinitionNames indicates the names to serve this CustomResourceDefinition',
  required: ['plural', 'kind'],
  properties: {
    plural: str('plural is the plural name of the resource to serve. It must match the name of the CustomResourceDefinition-registration too: plural.group and it must be all lowercase.'),
    singular: str('singular is the singular name of the resource. It must be all lowercase. Defaults to lowercased `kind`.'),
    kind: str('kind is the serialized kind of the resource. It is normally CamelCase and singular.'),
    listKind: str('listKind is the serialized kind of the list for this resource. Defaults to "`kind`List".'),
    shortNames: strings('shortNames are short names for the resource, exposed in API discovery documents, and used by clients to support invocations like `kubectl get <shortname>`. It must be all lowercase.'),
    categories: strings('categories is a list of grouped resources this custom resource belongs to (e.g. \'all\').'),
  },
};

const printerColumnSchema: FieldSchema = {
  type: 'object',
  description: 'CustomResourceColumnDefinition specifies a column for server side printing.',
  required: ['name', 'type', 'jsonPath'],
  properties: {
    name: str('name is a human readable name for the column.'),
    type: str('type is an OpenAPI type definition for this column: integer, number, string, boolean or date.'),
    format: str('format is an optional OpenAPI type definition for this column.'),
    description: str('description is a human readable description of this column.'),
    priority: { type: 'integer', description: 'priority is an integer defining the relative importance of this column compared to others. 0 is the highest priority.' },
    jsonPath: str('jsonPath is a simple JSON path (i.e. with array notation) which is evaluated against each custom resource to produce the value for this column.'),
  },
};

const versionSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion',
  description: 'CustomResourceDefinitionVersion describes a version for CRD.',
  required: ['name', 'served', 'storage'],
  properties: {
    name: str('name is the version name, e.g. "v1", "v2beta1", etc.'),
    served: bool('served is a flag enabling/disabling this version from being served via REST APIs'),
    storage: bool('storage indicates this version should be used when persisting custom resources to storage. There must be exactly one version with storage=true.'),
    deprecated: bool('deprecated indicates this version of the custom resource API is deprecated.'),
    deprecationWarning: str('deprecationWarning overrides the default warning returned to API clients.'),
    schema: {
      type: 'object',
      description: 'schema describes the schema used for validation, pruning, and defaulting of this version of the custom resource.',
      properties: { openAPIV3Schema: { type: 'any', description: 'openAPIV3Schema is the OpenAPI v3 schema to use for validation and pruning.' } },
    },
    subresources: {
      type: 'object',
      description: 'subresources specify what subresources this version of the defined custom resource have.',
      properties: {
        status: { type: 'any', description: 'status indicates the custom resource should serve a `/status` subresource.' },
        scale: { type: 'any', description: 'scale indicates the custom resource should serve a `/scale` subresource that returns an `autoscaling/v1` Scale object.' },
      },
    },
    additionalPrinterColumns: { type: 'array', description: 'additionalPrinterColumns specifies additional columns returned in Table output.', items: printerColumnSchema },
    selectableFields: { type: 'array', description: 'selectableFields specifies paths to fields that may be used as field selectors.', items: { type: 'any' } },
  },
};

const crdSchema: FieldSchema = {
  type: 'object',
  description: 'CustomResourceDefinition represents a resource that should be exposed on the API server. Its name MUST be in the format <.spec.name>.<.spec.group>.',
  properties: {
    ...typeAndObjectMeta,
    spec: {
      type: 'object',
      typeName: 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpec',
      description: 'spec describes how the user wants the resources to appear',
      required: ['group', 'names', 'scope', 'versions'],
      properties: {
        group: str('group is the API group of the defined custom resource. The custom resources are served under `/apis/<group>/...`. Must match the name of the CustomResourceDefinition (in the form `<names.plural>.<group>`).'),
        names: namesSchema,
        scope: { type: 'string', enum: ['Cluster', 'Namespaced'], description: 'scope indicates whether the defined custom resource is cluster- or namespace-scoped. Allowed values are `Cluster` and `Namespaced`.' },
        versions: { type: 'array', description: 'versions is the list of all API versions of the defined custom resource.', items: versionSchema },
        conversion: { type: 'any', description: 'conversion defines conversion settings for the CRD.' },
        preserveUnknownFields: bool('preserveUnknownFields indicates that object fields which are not specified in the OpenAPI schema should be preserved when persisting to storage.'),
      },
    },
    status: { type: 'any', description: 'status indicates the actual state of the CustomResourceDefinition' },
  },
};

function specOf(object: JsonObject): JsonObject {
  const spec = object['spec'];
  return isObject(spec) ? spec : {};
}

function namesOf(object: JsonObject): JsonObject {
  const names = specOf(object)['names'];
  return isObject(names) ? names : {};
}

/** Fill in listKind and singular (as kube-apiserver's defaulting does). */
function defaultNames(object: JsonObject): void {
  const spec = object['spec'];
  if (!isObject(spec) || !isObject(spec['names'])) return;
  const names = spec['names'];
  const kind = stringField(names, 'kind');
  if (kind !== undefined && names['listKind'] === undefined) names['listKind'] = `${kind}List`;
  if (kind !== undefined && names['singular'] === undefined) names['singular'] = kind.toLowerCase();
}

/** status: acceptedNames and the conditions NamesAccepted and Established, set once. */
function defaultStatus(object: JsonObject, clock: Clock): void {
  const status = child(object, 'status');
  if (Array.isArray(status['conditions']) && status['conditions'].length > 0) return;
  const now = formatTimestamp(new Date(clock.now()));
  const names = namesOf(object);
  status['acceptedNames'] = { ...names };
  status['storedVersions'] = objectsOf(specOf(object)['versions']).filter((version) => version['storage'] === true).map((version) => version['name']);
  status['conditions'] = [
    { type: 'NamesAccepted', status: 'True', lastTransitionTime: now, reason: 'NoConflicts', message: 'no conflicts found' },
    { type: 'Established', status: 'True', lastTransitionTime: now, reason: 'InitialNamesAccepted', message: 'the initial names have been accepted' },
  ];
}

const PRINTER_COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'] as const;

function validateNames(names: JsonObject, out: StatusCause[]): void {
  const base = 'spec.names';
  for (const field of ['plural', 'singular', 'listKind'] as const) {
    const value = names[field];
    if (value === undefined || value === '') {
      if (field === 'plural') out.push(causes.required(`${base}.plural`));
      continue;
    }
    const error = field === 'listKind' ? undefined : typeof value === 'string' ? dns1123LabelError(value) : 'must be a string';
    if (error !== undefined) out.push(causes.invalid(`${base}.${field}`, value, error));
  }
  const kind = names['kind'];
  if (typeof kind !== 'string' || kind === '') out.push(causes.required(`${base}.kind`));
  else if (!/^[A-Za-z][A-Za-z0-9]*$/.test(kind)) out.push(causes.invalid(`${base}.kind`, kind, 'must be a CamelCase name made of letters and digits'));
  if (typeof names['listKind'] === 'string' && names['listKind'] === kind) out.push(causes.invalid(`${base}.listKind`, names['listKind'], 'kind and listKind must be different'));
  for (const field of ['shortNames', 'categories'] as const) {
    const list = names[field];
    if (list === undefined) continue;
    if (!Array.isArray(list)) continue;
    const seen = new Set<string>();
    list.forEach((entry, index) => {
      const error = typeof entry === 'string' ? dns1123LabelError(entry) : 'must be a string';
      if (error !== undefined) out.push(causes.invalid(`${base}.${field}[${index}]`, entry, error));
      else if (seen.has(String(entry))) out.push(causes.duplicate(`${base}.${field}[${index}]`, entry));
      seen.add(String(entry));
    });
  }
}

function validateVersions(versions: unknown, out: StatusCause[]): void {
  const list = objectsOf(versions);
  if (!Array.isArray(versions) || list.length === 0) {
    out.push(causes.required('spec.versions', 'must have exactly one version marked as storage version'));
    return;
  }
  const storage = list.filter((version) => version['storage'] === true).length;
  if (storage !== 1) out.push(causes.invalid('spec.versions', versions.length, `must have exactly one version marked as storage version, found ${storage}`));
  const seen = new Set<string>();
  list.forEach((version, index) => {
    const path = `spec.versions[${index}]`;
    const name = version['name'];
    if (typeof name !== 'string' || name === '') out.push(causes.required(`${path}.name`));
    else {
      const error = dns1123LabelError(name);
      if (error !== undefined) out.push(causes.invalid(`${path}.name`, name, error));
      if (seen.has(name)) out.push(causes.duplicate(`${path}.name`, name));
      seen.add(name);
    }
    const schema = isObject(version['schema']) ? version['schema']['openAPIV3Schema'] : undefined;
    if (schema === undefined) out.push(causes.required(`${path}.schema.openAPIV3Schema`, 'schemas are required'));
    else {
      if (isObject(schema) && schema['type'] !== 'object') out.push(causes.invalid(`${path}.schema.openAPIV3Schema.type`, schema['type'] ?? '', 'must be object at the root'));
      checkOpenApiSchema(schema, `${path}.schema.openAPIV3Schema`, out);
    }
    objectsOf(version['additionalPrinterColumns']).forEach((column, columnIndex) => {
      const columnPath = `${path}.additionalPrinterColumns[${columnIndex}]`;
      if (typeof column['name'] !== 'string' || column['name'] === '') out.push(causes.required(`${columnPath}.name`));
      if (!(PRINTER_COLUMN_TYPES as readonly unknown[]).includes(column['type'])) out.push(causes.notSupported(`${columnPath}.type`, column['type'], PRINTER_COLUMN_TYPES));
      if (typeof column['jsonPath'] !== 'string' || parseJsonPath(column['jsonPath']) === undefined) {
        out.push(causes.invalid(`${columnPath}.jsonPath`, column['jsonPath'] ?? '', 'must be a simple json path starting with .'));
      }
    });
  });
}

/** Kubernetes' CRD validation (the parts this server serves). */
export function validateCustomResourceDefinition(object: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = specOf(object);
  const names = namesOf(object);
  const group = spec['group'];
  const plural = names['plural'];
  if (typeof group !== 'string' || group === '') out.push(causes.required('spec.group'));
  else {
    const error = dns1123SubdomainError(group);
    if (error !== undefined) out.push(causes.invalid('spec.group', group, error));
    else if (!group.includes('.')) out.push(causes.invalid('spec.group', group, "should be a domain with at least one dot"));
  }
  const name = isObject(object['metadata']) ? object['metadata']['name'] : undefined;
  if (typeof group === 'string' && typeof plural === 'string' && name !== `${plural}.${group}`) {
    out.push(causes.invalid('metadata.name', name ?? '', `must be spec.names.plural+"."+spec.group`));
  }
  if (spec['scope'] !== 'Cluster' && spec['scope'] !== 'Namespaced') out.push(causes.notSupported('spec.scope', spec['scope'] ?? '', ['Cluster', 'Namespaced']));
  validateNames(names, out);
  validateVersions(spec['versions'], out);
  if (old !== undefined) {
    const oldSpec = specOf(old);
    if (oldSpec['group'] !== spec['group']) out.push(causes.invalid('spec.group', spec['group'] ?? '', 'field is immutable'));
    if (oldSpec['scope'] !== spec['scope']) out.push(causes.invalid('spec.scope', spec['scope'] ?? '', 'field is immutable'));
  }
  return out;
}

/** The CustomResourceDefinition resource (the clock stamps the conditions' lastTransitionTime). */
export function customResourceDefinitionResource(clock: Clock): ResourceDefinition {
  return {
    group: CRD_GROUP,
    version: 'v1',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    plural: CRD_PLURAL,
    singular: 'customresourcedefinition',
    shortNames: ['crd', 'crds'],
    namespaced: false,
    verbs: READ_WRITE_VERBS,
    subresources: [{ name: 'status', verbs: STATUS_VERBS }],
    categories: ['api-extensions'],
    schema: crdSchema,
    hasStatusSubresource: true,
    defaults: (object) => {
      defaultNames(object);
      defaultStatus(object, clock);
    },
    validate: validateCustomResourceDefinition,
  };
}

export function isCustomResourceDefinition(definition: { readonly group: string; readonly plural: string }): boolean {
  return definition.group === CRD_GROUP && definition.plural === CRD_PLURAL;
}
