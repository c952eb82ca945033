// apps/v1 resources: deployments, replicasets, statefulsets, daemonsets, each with status and scale
// (daemonsets have no scale). Defaulting and validation follow kube-apiserver for the fields used.

import { causes, type StatusCause } from '../status.js';
import { defaultPodSpec, podSpecSchema, validatePodSpec } from './core.js';
import { objectMetaSchema, typeAndObjectMeta } from './meta.js';
import { READ_WRITE_VERBS, STATUS_VERBS, child, isObject, jsonEqual, setDefault, type FieldSchema, type JsonObject, type ResourceDefinition, type SubresourceDefinition } from './types.js';

const any: FieldSchema = { type: 'any' };
const anyObject: FieldSchema = { type: 'object', additionalProperties: any };
const str: FieldSchema = { type: 'string' };

const labelSelectorSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector',
  description: "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.",
  properties: {
    matchLabels: { type: 'object', additionalProperties: str, description: 'matchLabels is a map of {key,value} pairs. A single {key,value} in the matchLabels map is equivalent to an element of matchExpressions.' },
    matchExpressions: {
      type: 'array',
      description: 'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
      items: { type: 'object', required: ['key', 'operator'], properties: { key: str, operator: str, values: { type: 'array', items: str } } },
    },
  },
};

const templateSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.PodTemplateSpec',
  description: 'Template describes the pods that will be created.',
  properties: { metadata: objectMetaSchema, spec: podSpecSchema },
};

function workloadSchema(kind: string, description: string, extra: Record<string, FieldSchema>): FieldSchema {
  return {
    type: 'object',
    description,
    properties: {
      ...typeAndObjectMeta,
      spec: {
        type: 'object',
        description: `Specification of the desired behavior of the ${kind}.`,
        required: ['selector', 'template'],
        properties: {
          selector: labelSelectorSchema,
          template: templateSchema,
          minReadySeconds: { type: 'integer', minimum: 0, description: 'Minimum number of seconds for which a newly created pod should be ready without any of its container crashing, for it to be considered available. Defaults to 0.' },
          revisionHistoryLimit: { type: 'integer', minimum: 0, description: 'The number of old history to retain to allow rollback. Defaults to 10.' },
          ...extra,
        },
      },
      status: { type: 'object', additionalProperties: any, description: `Most recently observed status of the ${kind}.` },
    },
  };
}

const replicas: FieldSchema = { type: 'integer', minimum: 0, description: 'Number of desired pods. This is a pointer to distinguish between explicit zero and not specified. Defaults to 1.' };

const rollingUpdateDeploymentSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.apps.v1.RollingUpdateDeployment',
  description: 'Rolling update config params. Present only if DeploymentStrategyType = RollingUpdate.',
  properties: {
    maxUnavailable: { type: 'any', intOrString: true, description: 'The maximum number of pods that can be unavailable during the update. Value can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). Defaults to 25%.' },
    maxSurge: { type: 'any', intOrString: true, description: 'The maximum number of pods that can be scheduled above the desired number of pods. Value can be an absolute number (ex: 5) or a percentage of desired pods (ex: 10%). Defaults to 25%.' },
  },
};

const deploymentStrategySchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.apps.v1.DeploymentStrategy',
  description: 'The deployment strategy to use to replace existing pods with new ones.',
  properties: {
    type: { type: 'string', enum: ['Recreate', 'RollingUpdate'], description: 'Type of deployment. Can be "Recreate" or "RollingUpdate". Default is RollingUpdate.' },
    rollingUpdate: rollingUpdateDeploymentSchema,
  },
};

const updateStrategySchema = (kind: string): FieldSchema => ({
  type: 'object',
  description: `An update strategy to replace existing ${kind} pods with new pods.`,
  properties: {
    type: { type: 'string', enum: ['RollingUpdate', 'OnDelete'], description: 'Type of update strategy. Default is RollingUpdate.' },
    rollingUpdate: { type: 'object', additionalProperties: any, description: 'Rolling update config params. Present only if type = "RollingUpdate".' },
  },
});

/** matchLabels must select the template's labels (matchExpressions are checked by the controller). */
function validateSelector(object: JsonObject, old: JsonObject | undefined): StatusCause[] {
  const out: StatusCause[] = [];
  const spec = object['spec'];
  if (!isObject(spec)) return [causes.required('spec')];
  const selector = spec['selector'];
  const matchLabels = isObject(selector) && isObject(selector['matchLabels']) ? selector['matchLabels'] : {};
  const expressions = isObject(selector) && Array.isArray(selector['matchExpressions']) ? selector['matchExpressions'] : [];
  if (!isObject(selector) || (Object.keys(matchLabels).length === 0 && expressions.length === 0)) {
    out.push(causes.required('spec.selector'));
  }
  const template = spec['template'];
  const templateMetadata = isObject(template) && isObject(template['metadata']) ? template['metadata'] : {};
  const labels = isObject(templateMetadata['labels']) ? templateMetadata['labels'] : {};
  for (const [key, value] of Object.entries(matchLabels)) {
    if (labels[key] !== value) {
      out.push(causes.invalid('spec.template.metadata.labels', labels, '`selector` does not match template `labels`'));
      break;
    }
  }
  if (isObject(template)) out.push(...validatePodSpec(template['spec'], 'spec.template.spec'));
  else out.push(causes.required('spec.template'));
  if (old !== undefined && isObject(old['spec']) && !jsonEqual(old['spec']['selector'], spec['selector'])) {
    out.push(causes.invalid('spec.selector', selector, 'field is immutable'));
  }
  return out;
}

function defaultTemplate(spec: JsonObject): void {
  const template = child(spec, 'template');
  defaultPodSpec(child(template, 'spec'));
}

const scale: SubresourceDefinition = { name: 'scale', verbs: STATUS_VERBS, kind: { group: 'autoscaling', version: 'v1', kind: 'Scale' } };
const status: SubresourceDefinition = { name: 'status', verbs: STATUS_VERBS };

function workload(
  kind: string,
  plural: string,
  shortNames: string[],
  description: string,
  extra: Record<string, FieldSchema>,
  withScale: boolean,
  defaults: (spec: JsonObject) => void,
): ResourceDefinition {
  return {
    group: 'apps',
    version: 'v1',
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    namespaced: true,
    verbs: READ_WRITE_VERBS,
    subresources: withScale ? [status, scale] : [status],
    categories: ['all'],
    schema: workloadSchema(kind, description, extra),
    hasStatusSubresource: true,
    defaults: (object) => {
      const spec = child(object, 'spec');
      defaults(spec);
      defaultTemplate(spec);
    },
    validate: validateSelector,
  };
}

export const deployments = workload(
  'Deployment',
  'deployments',
  ['deploy'],
  'Deployment enables declarative updates for Pods and ReplicaSets.',
  {
    replicas,
    strategy: deploymentStrategySchema,
    paused: { type: 'boolean', description: 'Indicates that the deployment is paused.' },
    progressDeadlineSeconds: { type: 'integer', minimum: 0, description: 'The maximum time in seconds for a deployment to make progress before it is considered to be failed. Defaults to 600s.' },
  },
  true,
  (spec) => {
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'progressDeadlineSeconds', 600);
    const strategy = child(spec, 'strategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') {
      const rolling = child(strategy, 'rollingUpdate');
      setDefault(rolling, 'maxUnavailable', '25%');
      setDefault(rolling, 'maxSurge', '25%');
    }
  },
);

export const replicasets = workload('ReplicaSet', 'replicasets', ['rs'], 'ReplicaSet ensures that a specified number of pod replicas are running at any given time.', { replicas }, true, (spec) => setDefault(spec, 'replicas', 1));

export const statefulsets = workload(
  'StatefulSet',
  'statefulsets',
  ['sts'],
  'StatefulSet represents a set of pods with consistent identities.',
  {
    replicas,
    serviceName: { type: 'string', description: 'serviceName is the name of the service that governs this StatefulSet.' },
    podManagementPolicy: { type: 'string', enum: ['OrderedReady', 'Parallel'], description: 'podManagementPolicy controls how pods are created during initial scale up, when replacing pods on nodes, or when scaling down.' },
    updateStrategy: updateStrategySchema('StatefulSet'),
    volumeClaimTemplates: { type: 'array', items: anyObject, description: 'volumeClaimTemplates is a list of claims that pods are allowed to reference.' },
    persistentVolumeClaimRetentionPolicy: anyObject,
    ordinals: anyObject,
  },
  true,
  (spec) => {
    setDefault(spec, 'replicas', 1);
    setDefault(spec, 'revisionHistoryLimit', 10);
    setDefault(spec, 'podManagementPolicy', 'OrderedReady');
    const strategy = child(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
  },
);

export const daemonsets = workload(
  'DaemonSet',
  'daemonsets',
  ['ds'],
  'DaemonSet represents the configuration of a daemon set.',
  { updateStrategy: updateStrategySchema('DaemonSet') },
  false,
  (spec) => {
    setDefault(spec, 'revisionHistoryLimit', 10);
    const strategy = child(spec, 'updateStrategy');
    setDefault(strategy, 'type', 'RollingUpdate');
    if (strategy['type'] === 'RollingUpdate') {
      const rolling = child(strategy, 'rollingUpdate');
      setDefault(rolling, 'maxUnavailable', 1);
      setDefault(rolling, 'maxSurge', 0);
    }
  },
);

export const appsResources: readonly ResourceDefinition[] = [deployments, replicasets, statefulsets, daemonsets];
