// autoscaling/v1 horizontalpodautoscalers (short name hpa): keep a scalable target's replicas between
// minReplicas and maxReplicas (src/controllers/hpa.ts; kplane has no metrics API, so no CPU-driven
// scaling). Defaulting and validation follow kube-apiserver's for v1: minReplicas defaults to 1,
// minReplicas ≥ 1, maxReplicas ≥ minReplicas, scaleTargetRef with kind and name.

import { causes, type StatusCause } from '../status.js';
import { typeAndObjectMeta } from './meta.js';
import { READ_WRITE_VERBS, STATUS_VERBS, child, isObject, setDefault, type FieldSchema, type JsonObject, type ResourceDefinition } from './types.js';

const crossVersionObjectReferenceSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.autoscaling.v1.CrossVersionObjectReference',
  description: 'reference to scaled resource; horizontal pod autoscaler will learn the current resource consumption and will set the desired number of pods by using its Scale subresource.',
  required: ['kind', 'name'],
  properties: {
    kind: { type: 'string', description: 'kind is the kind of the referent; More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds' },
    name: { type: 'string', description: 'name is the name of the referent; More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#names' },
    apiVersion: { type: 'string', description: 'apiVersion is the API version of the referent' },
  },
};

const specSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerSpec',
  description: 'spec defines the behaviour of autoscaler. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#spec-and-status.',
  required: ['scaleTargetRef', 'maxReplicas'],
  properties: {
    scaleTargetRef: crossVersionObjectReferenceSchema,
    minReplicas: { type: 'integer', description: 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down. It defaults to 1 pod.' },
    maxReplicas: { type: 'integer', description: 'maxReplicas is the upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.' },
    targetCPUUtilizationPercentage: {
      type: 'integer',
      description: 'targetCPUUtilizationPercentage is the target average CPU utilization (represented as a percentage of requested CPU) over all the pods; if not specified the default autoscaling policy will be used.',
    },
  },
};

const statusSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.autoscaling.v1.HorizontalPodAutoscalerStatus',
  description: 'status is the current information about the autoscaler.',
  properties: {
    observedGeneration: { type: 'integer', description: 'observedGeneration is the most recent generation observed by this autoscaler.' },
    lastScaleTime: { type: 'string', description: 'lastScaleTime is the last time the HorizontalPodAutoscaler scaled the number of pods; used by the autoscaler to control how often the number of pods is changed.' },
    currentReplicas: { type: 'integer', description: 'currentReplicas is the current number of replicas of pods managed by this autoscaler.' },
    desiredReplicas: { type: 'integer', description: 'desiredReplicas is the desired number of replicas of pods managed by this autoscaler.' },
    currentCPUUtilizationPercentage: {
      type: 'integer',
      description: 'currentCPUUtilizationPercentage is the current average CPU utilization over all pods, represented as a percentage of requested CPU, e.g. 70 means that an average pod is using now 70% of its requested CPU.',
    },
  },
};

function validateHorizontalPodAutoscaler(object: JsonObject): StatusCause[] {
  const spec = object['spec'];
  if (!isObject(spec)) return [causes.required('spec')];
  const out: StatusCause[] = [];
  const target = spec['scaleTargetRef'];
  if (!isObject(target)) out.push(causes.required('spec.scaleTargetRef'));
  else {
    if (typeof target['kind'] !== 'string' || target['kind'] === '') out.push(causes.required('spec.scaleTargetRef.kind'));
    if (typeof target['name'] !== 'string' || target['name'] === '') out.push(causes.required('spec.scaleTargetRef.name'));
    else if (target['name'].includes('/') || target['name'].includes('%')) out.push(causes.invalid('spec.scaleTargetRef.name', target['name'], 'may not contain "/" or "%"'));
  }
  const minReplicas = typeof spec['minReplicas'] === 'number' ? spec['minReplicas'] : 1;
  const maxReplicas = spec['maxReplicas'];
  if (minReplicas < 1) out.push(causes.invalid('spec.minReplicas', minReplicas, 'must be greater than or equal to 1'));
  if (typeof maxReplicas !== 'number') out.push(causes.required('spec.maxReplicas'));
  else if (maxReplicas < minReplicas) out.push(causes.invalid('spec.maxReplicas', maxReplicas, 'must be greater than or equal to `minReplicas`'));
  const cpu = spec['targetCPUUtilizationPercentage'];
  if (typeof cpu === 'number' && cpu < 1) out.push(causes.invalid('spec.targetCPUUtilizationPercentage', cpu, 'must be greater than or equal to 1'));
  return out;
}

export const horizontalpodautoscalers: ResourceDefinition = {
  group: 'autoscaling',
  version: 'v1',
  kind: 'HorizontalPodAutoscaler',
  listKind: 'HorizontalPodAutoscalerList',
  plural: 'horizontalpodautoscalers',
  singular: 'horizontalpodautoscaler',
  shortNames: ['hpa'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [{ name: 'status', verbs: STATUS_VERBS }],
  categories: ['all'],
  schema: {
    type: 'object',
    description: 'configuration of a horizontal pod autoscaler.',
    properties: { ...typeAndObjectMeta, spec: specSchema, status: statusSchema },
  },
  hasStatusSubresource: true,
  defaults: (object) => setDefault(child(object, 'spec'), 'minReplicas', 1),
  validate: validateHorizontalPodAutoscaler,
};

export const autoscalingResources: readonly ResourceDefinition[] = [horizontalpodautoscalers];
