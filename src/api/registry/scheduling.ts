// scheduling.k8s.io/v1 priorityclasses (short name pc, cluster-scoped): a name for a pod priority.
// The Priority admission (src/api/admission/priority.ts) turns a pod's priorityClassName into
// spec.priority and spec.preemptionPolicy; the scheduler's queue orders pods by spec.priority.
// Names starting with "system-" are reserved for the two built-in classes, which the API server
// creates at start (SYSTEM_PRIORITY_CLASSES).

import { causes, type StatusCause } from '../status.js';
import { typeAndObjectMeta } from './meta.js';
import { READ_WRITE_VERBS, isObject, setDefault, type JsonObject, type ResourceDefinition } from './types.js';

/** Kubernetes' HighestUserDefinablePriority: classes a user creates may not go above it. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASS_PREFIX = 'system-';
export const PREEMPTION_POLICIES = ['PreemptLowerPriority', 'Never'] as const;

/** The built-in classes (Kubernetes' SystemPriorityClasses), created when missing at API-server start. */
export const SYSTEM_PRIORITY_CLASSES: readonly JsonObject[] = [
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-node-critical' },
    value: 2_000_001_000,
    description: 'Used for system critical pods that must not be moved from their current node.',
  },
  {
    apiVersion: 'scheduling.k8s.io/v1',
    kind: 'PriorityClass',
    metadata: { name: 'system-cluster-critical' },
    value: 2_000_000_000,
    description: 'Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.',
  },
];

function isKnownSystemClass(name: string, value: unknown, globalDefault: unknown): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((entry) => isObject(entry['metadata']) && entry['metadata']['name'] === name);
  if (known === undefined) return `${name} is not a known system priority class`;
  if (known['value'] !== value) return `value of ${name} PriorityClass must be ${String(known['value'])}`;
  if (globalDefault === true) return `globalDefault of ${name} PriorityClass must be false`;
  return undefined;
}

function validatePriorityClass(object: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const metadata = isObject(object['metadata']) ? object['metadata'] : {};
  const name = String(metadata['name'] ?? '');
  const value = object['value'];
  if (typeof value !== 'number' || !Number.isInteger(value)) out.push(causes.required('value'));
  else if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    const problem = isKnownSystemClass(name, value, object['globalDefault']);
    if (problem !== undefined) out.push(causes.forbidden('metadata.name', `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. error: ${problem}`));
  } else if (value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    out.push(causes.forbidden('value', `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  const policy = object['preemptionPolicy'];
  if (policy !== undefined && !PREEMPTION_POLICIES.some((allowed) => allowed === policy)) out.push(causes.notSupported('preemptionPolicy', policy, PREEMPTION_POLICIES));
  if (old !== undefined) {
    if (old['value'] !== object['value']) out.push(causes.forbidden('value', 'may not be changed in an update.'));
    if (old['preemptionPolicy'] !== object['preemptionPolicy']) out.push(causes.invalid('preemptionPolicy', object['preemptionPolicy'], 'field is immutable'));
  }
  return out;
}

export const priorityclasses: ResourceDefinition = {
  group: 'scheduling.k8s.io',
  version: 'v1',
  kind: 'PriorityClass',
  listKind: 'PriorityClassList',
  plural: 'priorityclasses',
  singular: 'priorityclass',
  shortNames: ['pc'],
  namespaced: false,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    description: 'PriorityClass defines mapping from a priority class name to the priority integer value. The value can be any valid integer.',
    required: ['value'],
    properties: {
      ...typeAndObjectMeta,
      value: { type: 'integer', description: 'value represents the integer value of this priority class. This is the actual priority that pods receive when they have the name of this class in their pod spec.' },
      globalDefault: {
        type: 'boolean',
        description: 'globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class. Only one PriorityClass can be marked as `globalDefault`.',
      },
      description: { type: 'string', description: 'description is an arbitrary string that usually provides guidelines on when this priority class should be used.' },
      preemptionPolicy: {
        type: 'string',
        enum: PREEMPTION_POLICIES,
        description: 'preemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority. Defaults to PreemptLowerPriority if unset. (kplane does not preempt.)',
      },
    },
  },
  hasStatusSubresource: false,
  defaults: (object) => setDefault(object, 'preemptionPolicy', 'PreemptLowerPriority'),
  validate: validatePriorityClass,
};

export const schedulingResources: readonly ResourceDefinition[] = [priorityclasses];
