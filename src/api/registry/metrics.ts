// metrics.k8s.io/v1beta1 nodes and pods (NodeMetrics, PodMetrics): the resource metrics API that
// metrics-server serves in Kubernetes and `kubectl top` reads. Never stored: get and list are answered
// from the node agents' current figures (handlers/metrics.ts, docs/decisions/0010-metrics.md).

import { typeAndObjectMeta } from './meta.js';
import type { FieldSchema, ResourceDefinition } from './types.js';

export const METRICS_GROUP = 'metrics.k8s.io';

const usage: FieldSchema = {
  type: 'object',
  description: 'Resource usage: cpu in cores (nanocores, "n"), memory in bytes.',
  additionalProperties: { type: 'string' },
};

const sampled = {
  timestamp: { type: 'string', description: 'When the figures were taken (the end of the window).' },
  window: { type: 'string', description: 'The interval the figures cover, as a duration ("10s").' },
} as const;

export const nodeMetrics: ResourceDefinition = {
  group: METRICS_GROUP,
  version: 'v1beta1',
  kind: 'NodeMetrics',
  listKind: 'NodeMetricsList',
  plural: 'nodes',
  singular: '',
  shortNames: [],
  namespaced: false,
  verbs: ['get', 'list'],
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    description: 'The resource usage of a node, as its node agent measured it.',
    properties: { ...typeAndObjectMeta, ...sampled, usage },
  },
  hasStatusSubresource: false,
  virtual: true,
};

export const podMetrics: ResourceDefinition = {
  group: METRICS_GROUP,
  version: 'v1beta1',
  kind: 'PodMetrics',
  listKind: 'PodMetricsList',
  plural: 'pods',
  singular: '',
  shortNames: [],
  namespaced: true,
  verbs: ['get', 'list'],
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    description: 'The resource usage of the containers of a pod, as its node agent measured it.',
    properties: {
      ...typeAndObjectMeta,
      ...sampled,
      containers: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, usage } } },
    },
  },
  hasStatusSubresource: false,
  virtual: true,
};

export const metricsResources: readonly ResourceDefinition[] = [nodeMetrics, podMetrics];
