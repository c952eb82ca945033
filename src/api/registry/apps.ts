// apps/v1 resources: deployments, replicasets, statefulsets, daemonsets, each with status and scale
// (daemonsets have no scale). Defaulting and validation follow kube-apiserver for the fields used.

import { causes, type StatusCause } from '../status.js';
import { defaultPodSpec, podSpecSchema, validatePodSpec } from './core.js';
import { READ_WRITE_VERBS, STATUS_VERBS, child, isObject, setDefault, type FieldSchema, type JsonObject, type ResourceDefinition, type SubresourceDefinition } from './types.js';

const any: FieldSchema = { type: 'any' };
const anyObject: FieldSchema = { type: 'object', additionalProperties: any };
const str: FieldSchema = { type: 'string' };

const labelSelectorSchema: FieldSchema = {
  type: 'object',
  properties: {
    matchLabels: { type: 'object', additionalProperties: str },
    matchExpressions: { type: 'array', items: { type: 'object', required: ['key', 'operator'], properties: { key: str, operator: str, values: { type: 'array', items: str } } } },
  },
};

const templateSchema: FieldSchema = { type: 'object', properties: { metadata: anyObject, spec: podSpecSchema } };

function workloadSchema(extra: Record<string, FieldSchema>, required: readonly string[]): FieldSchema {
  return {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: anyObject,
      spec: {
        type: 'object',
        required: ['selector', 'template', ...required],
        properties: {
          selector: labelSelectorSchema,
          template: templateSchema,
          minReadySeconds: { type: 'integer', minimum: 0 },
          revisionHistoryLimit: { type: 'integer', minimum: 0 },
          ...extra,
        },
      },
      status: anyObject,
    },
  };
}

const replicas: FieldSchema = { type: 'integer', minimum: 0, description: 'Number of desired pods.' };

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
  if (old !== undefined && isObject(old['spec']) && JSON.stringify(old['spec']['selector']) !== JSON.stringify(spec['selector'])) {
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

function workload(kind: string, plural: string, shortNames: string[], extra: Record<string, FieldSchema>, withScale: boolean, defaults: (spec: JsonObject) => void): ResourceDefinition {
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
    schema: workloadSchema(extra, []),
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
  { replicas, strategy: anyObject, paused: { type: 'boolean' }, progressDeadlineSeconds: { type: 'integer', minimum: 0 } },
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

export const replicasets = workload('ReplicaSet', 'replicasets', ['rs'], { replicas }, true, (spec) => setDefault(spec, 'replicas', 1));

export const statefulsets = workload(
  'StatefulSet',
  'statefulsets',
  ['sts'],
  { replicas, serviceName: str, podManagementPolicy: { type: 'string', enum: ['OrderedReady', 'Parallel'] }, updateStrategy: anyObject, volumeClaimTemplates: { type: 'array', items: anyObject } },
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
  { updateStrategy: anyObject },
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
