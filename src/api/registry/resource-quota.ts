// core/v1 resourcequotas (short name quota): per-namespace limits on object counts and compute
// resources. The quota admission (src/api/admission/resource-quota.ts) refuses creates that would
// exceed spec.hard and charges status.used; the quota controller (src/controllers/resource-quota.ts)
// recounts status.used from what exists.

import { parseQuantity, QuantityError } from '../../scheduler/quantity.js';
import { causes, type StatusCause } from '../status.js';
import { typeAndObjectMeta } from './meta.js';
import { READ_WRITE_VERBS, STATUS_VERBS, isObject, type FieldSchema, type JsonObject, type ResourceDefinition } from './types.js';

export const QUOTA_SCOPES = ['Terminating', 'NotTerminating', 'BestEffort', 'NotBestEffort', 'PriorityClass', 'CrossNamespacePodAffinity'] as const;
const SCOPE_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

const quantityMap = (description: string): FieldSchema => ({ type: 'object', description, additionalProperties: { type: 'any', intOrString: true } });

const resourceQuotaSchema: FieldSchema = {
  type: 'object',
  description: 'ResourceQuota sets aggregate quota restrictions enforced per namespace',
  properties: {
    ...typeAndObjectMeta,
    spec: {
      type: 'object',
      typeName: 'io.k8s.api.core.v1.ResourceQuotaSpec',
      description: 'Spec defines the desired quota.',
      properties: {
        hard: quantityMap('hard is the set of desired hard limits for each named resource (pods, services, configmaps, secrets, count/<resource>.<group>, requests.cpu, requests.memory, limits.cpu, limits.memory, cpu, memory).'),
        scopes: {
          type: 'array',
          items: { type: 'string', enum: QUOTA_SCOPES },
          description: 'A collection of filters that must match each object tracked by a quota. If not specified, the quota matches all objects.',
        },
        scopeSelector: {
          type: 'object',
          description: 'scopeSelector is also a collection of filters like scopes that must match each object tracked by a quota but expressed using ScopeSelectorOperator in combination with possible values.',
          properties: {
            matchExpressions: {
              type: 'array',
              description: 'A list of scope selector requirements by scope of the resources.',
              items: {
                type: 'object',
                required: ['scopeName', 'operator'],
                properties: {
                  scopeName: { type: 'string', enum: QUOTA_SCOPES, description: 'The name of the scope that the selector applies to.' },
                  operator: { type: 'string', enum: SCOPE_OPERATORS, description: "Represents a scope's relationship to a set of values." },
                  values: { type: 'array', items: { type: 'string' }, description: 'An array of string values.' },
                },
              },
            },
          },
        },
      },
    },
    status: {
      type: 'object',
      typeName: 'io.k8s.api.core.v1.ResourceQuotaStatus',
      description: 'Status defines the actual enforced quota and its current usage.',
      properties: {
        hard: quantityMap('Hard is the set of enforced hard limits for each named resource.'),
        used: quantityMap('Used is the current observed total usage of the resource in the namespace.'),
      },
    },
  },
};

function quantityCauses(map: unknown, path: string): StatusCause[] {
  if (map === undefined || map === null) return [];
  if (!isObject(map)) return [causes.typeInvalid(path, map, 'must be a map of quantities')];
  const out: StatusCause[] = [];
  for (const [resource, value] of Object.entries(map)) {
    const text = typeof value === 'number' ? String(value) : value;
    if (typeof text !== 'string') {
      out.push(causes.typeInvalid(`${path}[${resource}]`, value, 'must be a quantity'));
      continue;
    }
    try {
      if (parseQuantity(text).numerator < 0n) out.push(causes.invalid(`${path}[${resource}]`, text, 'must be greater than or equal to 0'));
    } catch (error) {
      if (!(error instanceof QuantityError)) throw error;
      out.push(causes.invalid(`${path}[${resource}]`, text, error.message));
    }
  }
  return out;
}

function validateResourceQuota(object: JsonObject): StatusCause[] {
  const spec = isObject(object['spec']) ? object['spec'] : {};
  const out = quantityCauses(spec['hard'], 'spec.hard');
  const status = isObject(object['status']) ? object['status'] : {};
  out.push(...quantityCauses(status['hard'], 'status.hard'), ...quantityCauses(status['used'], 'status.used'));
  return out;
}

export const resourcequotas: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'ResourceQuota',
  listKind: 'ResourceQuotaList',
  plural: 'resourcequotas',
  singular: 'resourcequota',
  shortNames: ['quota'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [{ name: 'status', verbs: STATUS_VERBS }],
  categories: [],
  schema: resourceQuotaSchema,
  hasStatusSubresource: true,
  validate: validateResourceQuota,
};

export const resourceQuotaResources: readonly ResourceDefinition[] = [resourcequotas];
