// core/v1 resources: namespaces, pods (+status, +binding), nodes (+status), configmaps, secrets,
// services, serviceaccounts, events, endpoints. Schemas cover the fields the control plane uses;
// defaulting and validation follow kube-apiserver for those fields.

import { causes, type StatusCause } from '../status.js';
import { dns1123LabelError } from './schema.js';
import {
  READ_WRITE_VERBS,
  STATUS_VERBS,
  child,
  isObject,
  objectsOf,
  setDefault,
  type FieldSchema,
  type JsonObject,
  type ResourceDefinition,
} from './types.js';

const str: FieldSchema = { type: 'string' };
const int: FieldSchema = { type: 'integer' };
const bool: FieldSchema = { type: 'boolean' };
const any: FieldSchema = { type: 'any' };
const stringMap: FieldSchema = { type: 'object', additionalProperties: str };
const anyObject: FieldSchema = { type: 'object', additionalProperties: any };

const containerSchema: FieldSchema = {
  type: 'object',
  description: 'A single application container.',
  required: ['name', 'image'],
  properties: {
    name: { type: 'string', description: 'Name of the container (DNS-1123 label), unique in the pod.' },
    image: { type: 'string', description: 'Container image name.' },
    command: { type: 'array', items: str },
    args: { type: 'array', items: str },
    workingDir: str,
    env: { type: 'array', items: { type: 'object', required: ['name'], properties: { name: str, value: str, valueFrom: anyObject } } },
    ports: {
      type: 'array',
      items: { type: 'object', required: ['containerPort'], properties: { name: str, containerPort: int, protocol: { type: 'string', enum: ['TCP', 'UDP', 'SCTP'] }, hostPort: int } },
    },
    resources: anyObject,
    volumeMounts: { type: 'array', items: { type: 'object', required: ['name', 'mountPath'], properties: { name: str, mountPath: str, readOnly: bool } } },
    imagePullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'] },
    terminationMessagePath: str,
    terminationMessagePolicy: { type: 'string', enum: ['File', 'FallbackToLogsOnError'] },
    readinessProbe: anyObject,
    livenessProbe: anyObject,
    startupProbe: anyObject,
    securityContext: anyObject,
  },
};

export const podSpecSchema: FieldSchema = {
  type: 'object',
  required: ['containers'],
  properties: {
    containers: { type: 'array', items: containerSchema },
    initContainers: { type: 'array', items: containerSchema },
    restartPolicy: { type: 'string', enum: ['Always', 'OnFailure', 'Never'] },
    dnsPolicy: { type: 'string', enum: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'] },
    nodeName: str,
    nodeSelector: stringMap,
    serviceAccountName: str,
    schedulerName: str,
    priority: int,
    terminationGracePeriodSeconds: { type: 'integer', minimum: 0 },
    tolerations: { type: 'array', items: anyObject },
    affinity: anyObject,
    volumes: { type: 'array', items: { type: 'object', required: ['name'], additionalProperties: any } },
    hostNetwork: bool,
    securityContext: anyObject,
  },
};

const metadataOnly = (extra: Record<string, FieldSchema>): FieldSchema => ({
  type: 'object',
  properties: { apiVersion: str, kind: str, metadata: anyObject, ...extra },
});

export function defaultPodSpec(spec: JsonObject): void {
  setDefault(spec, 'restartPolicy', 'Always');
  setDefault(spec, 'dnsPolicy', 'ClusterFirst');
  setDefault(spec, 'schedulerName', 'default-scheduler');
  setDefault(spec, 'terminationGracePeriodSeconds', 30);
  setDefault(spec, 'securityContext', {});
  for (const list of ['containers', 'initContainers']) {
    for (const container of objectsOf(spec[list])) {
      setDefault(container, 'terminationMessagePath', '/dev/termination-log');
      setDefault(container, 'terminationMessagePolicy', 'File');
      const image = container['image'];
      const latest = typeof image === 'string' && (!/:[^/]+$/.test(image) || image.endsWith(':latest')) && !image.includes('@');
      setDefault(container, 'imagePullPolicy', latest ? 'Always' : 'IfNotPresent');
      setDefault(container, 'resources', {});
      for (const port of objectsOf(container['ports'])) setDefault(port, 'protocol', 'TCP');
    }
  }
}

/** Checks of a pod spec beyond its schema; `path` is where the spec sits (spec, spec.template.spec). */
export function validatePodSpec(spec: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isObject(spec)) return [causes.required(path)];
  const containers = spec['containers'];
  if (!Array.isArray(containers) || containers.length === 0) {
    out.push(causes.required(`${path}.containers`));
    return out;
  }
  const names = new Set<string>();
  for (const list of ['containers', 'initContainers']) {
    objectsOf(spec[list]).forEach((container, index) => {
      const at = `${path}.${list}[${index}]`;
      const name = container['name'];
      if (typeof name !== 'string' || name === '') out.push(causes.required(`${at}.name`));
      else {
        const error = dns1123LabelError(name);
        if (error !== undefined) out.push(causes.invalid(`${at}.name`, name, error));
        if (names.has(name)) out.push(causes.duplicate(`${at}.name`, name));
        names.add(name);
      }
      const image = container['image'];
      if (typeof image !== 'string' || image.trim() === '') out.push(causes.required(`${at}.image`));
    });
  }
  return out;
}

const podSchema = metadataOnly({ spec: podSpecSchema, status: anyObject });

/** Pod spec fields that may change after creation (Kubernetes: image, activeDeadlineSeconds, tolerations additions). */
function validatePodUpdate(object: JsonObject, old: JsonObject): StatusCause[] {
  const strip = (spec: unknown): unknown => {
    if (!isObject(spec)) return spec;
    const copy: JsonObject = { ...spec };
    delete copy['activeDeadlineSeconds'];
    delete copy['tolerations'];
    for (const list of ['containers', 'initContainers']) {
      if (Array.isArray(copy[list])) copy[list] = (copy[list] as unknown[]).map((c) => (isObject(c) ? { ...c, image: '' } : c));
    }
    return copy;
  };
  // A scheduler's binding sets nodeName through the binding subresource, which bypasses this check.
  if (JSON.stringify(strip(object['spec'])) !== JSON.stringify(strip(old['spec']))) {
    return [causes.forbidden('spec', 'pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations) or `spec.terminationGracePeriodSeconds`')];
  }
  return [];
}

export const pods: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Pod',
  listKind: 'PodList',
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [
    { name: 'status', verbs: STATUS_VERBS },
    { name: 'binding', verbs: ['create'], kind: { group: '', version: 'v1', kind: 'Binding' } },
  ],
  categories: ['all'],
  schema: podSchema,
  hasStatusSubresource: true,
  gracefulDelete: true,
  defaults: (pod) => {
    defaultPodSpec(child(pod, 'spec'));
    const status = child(pod, 'status');
    setDefault(status, 'phase', 'Pending');
    setDefault(status, 'qosClass', 'BestEffort');
  },
  validate: (pod, old) => [...validatePodSpec(pod['spec'], 'spec'), ...(old === undefined ? [] : validatePodUpdate(pod, old))],
};

export const namespaces: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  namespaced: false,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [
    { name: 'status', verbs: STATUS_VERBS },
    { name: 'finalize', verbs: ['update'] },
  ],
  categories: [],
  schema: metadataOnly({ spec: { type: 'object', properties: { finalizers: { type: 'array', items: str } } }, status: anyObject }),
  hasStatusSubresource: true,
  defaults: (namespace) => {
    setDefault(child(namespace, 'spec'), 'finalizers', ['kubernetes']);
    setDefault(child(namespace, 'status'), 'phase', 'Active');
    const labels = child(child(namespace, 'metadata'), 'labels');
    const name = (namespace['metadata'] as JsonObject)['name'];
    if (typeof name === 'string') labels['kubernetes.io/metadata.name'] = name;
  },
};

export const nodes: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Node',
  listKind: 'NodeList',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  namespaced: false,
  verbs: READ_WRITE_VERBS,
  subresources: [{ name: 'status', verbs: STATUS_VERBS }],
  categories: [],
  schema: metadataOnly({
    spec: { type: 'object', properties: { unschedulable: bool, podCIDR: str, providerID: str, taints: { type: 'array', items: anyObject } } },
    status: anyObject,
  }),
  hasStatusSubresource: true,
};

export const configmaps: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  listKind: 'ConfigMapList',
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: metadataOnly({ data: stringMap, binaryData: stringMap, immutable: bool }),
  hasStatusSubresource: false,
  validate: (configMap, old) => {
    const out: StatusCause[] = [];
    const data = configMap['data'];
    if (isObject(data)) for (const key of Object.keys(data)) if (!/^[-._a-zA-Z0-9]+$/.test(key)) out.push(causes.invalid(`data[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
    if (old !== undefined && old['immutable'] === true && JSON.stringify(old['data'] ?? null) !== JSON.stringify(configMap['data'] ?? null))
      out.push(causes.forbidden('data', 'field is immutable when `immutable` is set'));
    return out;
  },
};

export const secrets: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  listKind: 'SecretList',
  plural: 'secrets',
  singular: 'secret',
  shortNames: [],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: metadataOnly({ data: stringMap, stringData: stringMap, type: str, immutable: bool }),
  hasStatusSubresource: false,
  defaults: (secret) => {
    setDefault(secret, 'type', 'Opaque');
    // stringData is write-only: merged into data (base64) and dropped, as Kubernetes does.
    const stringData = secret['stringData'];
    if (isObject(stringData)) {
      const data = child(secret, 'data');
      for (const [key, value] of Object.entries(stringData)) if (typeof value === 'string') data[key] = Buffer.from(value, 'utf8').toString('base64');
      delete secret['stringData'];
    }
  },
  validate: (secret) => {
    const out: StatusCause[] = [];
    const data = secret['data'];
    if (isObject(data))
      for (const [key, value] of Object.entries(data))
        if (typeof value === 'string' && !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) out.push(causes.invalid(`data[${key}]`, '<secret contents redacted>', 'must be base64'));
    return out;
  },
};

export const services: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Service',
  listKind: 'ServiceList',
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [{ name: 'status', verbs: STATUS_VERBS }],
  categories: ['all'],
  schema: metadataOnly({
    spec: {
      type: 'object',
      properties: {
        type: { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] },
        selector: stringMap,
        clusterIP: str,
        ports: { type: 'array', items: { type: 'object', required: ['port'], properties: { name: str, port: int, targetPort: any, protocol: str, nodePort: int } } },
      },
    },
    status: anyObject,
  }),
  hasStatusSubresource: true,
  defaults: (service) => {
    const spec = child(service, 'spec');
    setDefault(spec, 'type', 'ClusterIP');
    setDefault(spec, 'sessionAffinity', 'None');
    for (const port of objectsOf(spec['ports'])) {
      setDefault(port, 'protocol', 'TCP');
      setDefault(port, 'targetPort', port['port']);
    }
  },
};

export const serviceaccounts: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  listKind: 'ServiceAccountList',
  plural: 'serviceaccounts',
  singular: 'serviceaccount',
  shortNames: ['sa'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: metadataOnly({ secrets: { type: 'array', items: anyObject }, automountServiceAccountToken: bool }),
  hasStatusSubresource: false,
};

const eventSchema = metadataOnly({
  involvedObject: anyObject,
  reason: str,
  message: str,
  type: str,
  count: int,
  source: anyObject,
  firstTimestamp: any,
  lastTimestamp: any,
  eventTime: any,
  reportingComponent: str,
  reportingInstance: str,
});

export const events: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: eventSchema,
  hasStatusSubresource: false,
  validate: (event) => (isObject(event['involvedObject']) ? [] : [causes.required('involvedObject')]),
};

export const endpoints: ResourceDefinition = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  listKind: 'EndpointsList',
  plural: 'endpoints',
  singular: 'endpoints',
  shortNames: ['ep'],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: metadataOnly({ subsets: { type: 'array', items: anyObject } }),
  hasStatusSubresource: false,
};

export const coreResources: readonly ResourceDefinition[] = [namespaces, pods, nodes, configmaps, secrets, services, serviceaccounts, events, endpoints];
