// policy/v1 poddisruptionbudgets (short name pdb): how many of the pods a selector picks may be down
// at once through voluntary disruptions (pods/eviction). The spec names exactly one of minAvailable
// and maxUnavailable, each an integer or a percentage; the disruption controller
// (src/controllers/disruption.ts) keeps the status, and the eviction handler spends it.

import { causes, type StatusCause } from '../status.js';
import { typeAndObjectMeta } from './meta.js';
import { READ_WRITE_VERBS, STATUS_VERBS, isObject, type FieldSchema, type JsonObject, type ResourceDefinition } from './types.js';

const str: FieldSchema = { type: 'string' };

export const policyLabelSelectorSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  description: 'Label query over pods whose evictions are managed by the disruption budget. A null selector will match no pods, while an empty ({}) selector will select all pods within the namespace.',
  properties: {
    matchLabels: { type: 'object', additionalProperties: str, description: 'matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels map is equivalent to an element of matchExpressions.' },
    matchExpressions: {
      type: 'array',
      description: 'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
      items: { type: 'object', required: ['key', 'operator'], properties: { key: str, operator: str, values: { type: 'array', items: str } } },
    },
  },
};

const conditionSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.apimachinery.pkg.apis.meta.v1.Condition',
  description: 'Condition contains details for one aspect of the current state of this API Resource.',
  properties: {
    type: { type: 'string', description: 'type of condition in CamelCase or in foo.example.com/CamelCase.' },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'], description: 'status of the condition, one of True, False, Unknown.' },
    observedGeneration: { type: 'integer', description: 'observedGeneration represents the .metadata.generation that the condition was set based upon.' },
    lastTransitionTime: { type: 'string', description: 'lastTransitionTime is the last time the condition transitioned from one status to another.' },
    reason: { type: 'string', description: "reason contains a programmatic identifier indicating the reason for the condition's last transition." },
    message: { type: 'string', description: 'message is a human readable message indicating details about the transition.' },
  },
};

export const UNHEALTHY_POD_EVICTION_POLICIES = ['IfHealthyBudget', 'AlwaysAllow'] as const;

const podDisruptionBudgetSchema: FieldSchema = {
  type: 'object',
  description: 'PodDisruptionBudget is an object to define the max disruption that can be caused to a collection of pods',
  properties: {
    ...typeAndObjectMeta,
    spec: {
      type: 'object',
      typeName: 'io.k8s.api.policy.v1.PodDisruptionBudgetSpec',
      description: 'Specification of the desired behavior of the PodDisruptionBudget.',
      properties: {
        minAvailable: {
          type: 'any',
          intOrString: true,
          description: 'An eviction is allowed if at least "minAvailable" pods selected by "selector" will still be available after the eviction, i.e. even in the absence of the evicted pod. So for example you can prevent all voluntary evictions by specifying "100%".',
        },
        maxUnavailable: {
          type: 'any',
          intOrString: true,
          description: 'An eviction is allowed if at most "maxUnavailable" pods selected by "selector" are unavailable after the eviction, i.e. even in absence of the evicted pod. For example, one can prevent all voluntary evictions by specifying 0. This is a mutually exclusive setting with "minAvailable".',
        },
        selector: policyLabelSelectorSchema,
        unhealthyPodEvictionPolicy: {
          type: 'string',
          enum: UNHEALTHY_POD_EVICTION_POLICIES,
          description: 'UnhealthyPodEvictionPolicy defines the criteria for when unhealthy pods should be considered for eviction. IfHealthyBudget (the default): running but not yet healthy pods may be evicted only if the guarded application is not disrupted. AlwaysAllow: they may always be evicted.',
        },
      },
    },
    status: {
      type: 'object',
      typeName: 'io.k8s.api.policy.v1.PodDisruptionBudgetStatus',
      description: 'Most recently observed status of the PodDisruptionBudget.',
      properties: {
        observedGeneration: { type: 'integer', description: "Most recent generation observed when updating this PDB status. DisruptionsAllowed and other status information is valid only if observedGeneration equals to PDB's object generation." },
        disruptedPods: {
          type: 'object',
          additionalProperties: str,
          description: 'DisruptedPods contains information about pods whose eviction was processed by the API server eviction subresource handler but has not yet been observed by the PodDisruptionBudget controller. The key is the pod name, the value the time the API server processed the eviction.',
        },
        disruptionsAllowed: { type: 'integer', description: 'Number of pod disruptions that are currently allowed.' },
        currentHealthy: { type: 'integer', description: 'current number of healthy pods' },
        desiredHealthy: { type: 'integer', description: 'minimum desired number of healthy pods' },
        expectedPods: { type: 'integer', description: 'total number of pods counted by this disruption budget' },
        conditions: { type: 'array', items: conditionSchema, description: 'Conditions contain conditions for PDB. The disruption controller sets the DisruptionAllowed condition.' },
      },
    },
  },
};

const PERCENT = /^[0-9]+%$/;

/** An int-or-percent field (minAvailable, maxUnavailable): a non-negative integer or "N%" with N ≤ 100. */
export function intOrPercentCauses(value: unknown, field: string): StatusCause[] {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return [causes.invalid(field, value, 'must be an integer')];
    return value < 0 ? [causes.invalid(field, value, 'must be greater than or equal to 0')] : [];
  }
  if (typeof value === 'string') {
    if (!PERCENT.test(value)) return [causes.invalid(field, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
    return Number(value.slice(0, -1)) > 100 ? [causes.invalid(field, value, 'must not be greater than 100%')] : [];
  }
  return [causes.typeInvalid(field, value, 'must be an integer or a percentage string')];
}

const present = (value: unknown): boolean => value !== undefined && value !== null;

function validatePodDisruptionBudget(object: JsonObject): StatusCause[] {
  const spec = object['spec'];
  if (!isObject(spec)) return [causes.required('spec')];
  const out: StatusCause[] = [];
  const minAvailable = spec['minAvailable'];
  const maxUnavailable = spec['maxUnavailable'];
  if (present(minAvailable) && present(maxUnavailable)) out.push(causes.invalid('spec', spec, 'minAvailable and maxUnavailable cannot be both set'));
  if (!present(minAvailable) && !present(maxUnavailable)) out.push(causes.required('spec.minAvailable', 'one of minAvailable or maxUnavailable must be set'));
  if (present(minAvailable)) out.push(...intOrPercentCauses(minAvailable, 'spec.minAvailable'));
  if (present(maxUnavailable)) out.push(...intOrPercentCauses(maxUnavailable, 'spec.maxUnavailable'));
  const selector = spec['selector'];
  if (isObject(selector)) {
    for (const [index, expression] of (Array.isArray(selector['matchExpressions']) ? selector['matchExpressions'] : []).entries()) {
      const operator = isObject(expression) ? expression['operator'] : undefined;
      if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(String(operator))) {
        out.push(causes.notSupported(`spec.selector.matchExpressions[${index}].operator`, operator, ['In', 'NotIn', 'Exists', 'DoesNotExist']));
      }
    }
  }
  return out;
}

export const poddisruptionbudgets: ResourceDefinition = {
  group: 'policy',
  version: 'v1',
  kind: 'PodDisruptionBudget',
  listKind: 'PodDisruptionBudgetList',
  plural: 'poddisruptionbudgets',
  singular: 'poddisruptionbudget',
  shortNames: ['pdb'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [{ name: 'status', verbs: STATUS_VERBS }],
  categories: [],
  schema: podDisruptionBudgetSchema,
  hasStatusSubresource: true,
  validate: validatePodDisruptionBudget,
};

export const policyResources: readonly ResourceDefinition[] = [poddisruptionbudgets];
