// core/v1 resources: namespaces, pods (+status, +binding), nodes (+status), configmaps, secrets,
// services, serviceaccounts, events, endpoints. Schemas cover the fields the control plane uses;
// defaulting and validation follow kube-apiserver for those fields.

import { parseQuantity } from '../../scheduler/quantity.js';
import { causes, type StatusCause } from '../status.js';
import { dns1123LabelError } from './schema.js';
import { typeAndObjectMeta } from './meta.js';
import {
  READ_WRITE_VERBS,
  STATUS_VERBS,
  child,
  isObject,
  jsonEqual,
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
const anyObject: FieldSchema = { type: 'object', additionalProperties: any };

const envVarSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.EnvVar',
  description: 'EnvVar represents an environment variable present in a Container.',
  required: ['name'],
  properties: {
    name: { type: 'string', description: 'Name of the environment variable. Must be a C_IDENTIFIER.' },
    value: { type: 'string', description: 'Variable references $(VAR_NAME) are expanded using the previously defined environment variables in the container and any service environment variables.' },
    valueFrom: { type: 'object', description: "Source for the environment variable's value. Cannot be used if value is not empty.", additionalProperties: any },
  },
};

const containerPortSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.ContainerPort',
  description: 'ContainerPort represents a network port in a single container.',
  required: ['containerPort'],
  properties: {
    name: { type: 'string', description: 'If specified, this must be an IANA_SVC_NAME and unique within the pod.' },
    containerPort: { type: 'integer', description: "Number of port to expose on the pod's IP address. This must be a valid port number, 0 < x < 65536." },
    protocol: { type: 'string', enum: ['TCP', 'UDP', 'SCTP'], description: 'Protocol for port. Must be UDP, TCP, or SCTP. Defaults to "TCP".' },
    hostPort: { type: 'integer', description: 'Number of port to expose on the host.' },
    hostIP: { type: 'string', description: 'What host IP to bind the external port to.' },
  },
};

const containerSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.Container',
  description: 'A single application container that you want to run within a pod.',
  required: ['name', 'image'],
  properties: {
    name: { type: 'string', description: 'Name of the container specified as a DNS_LABEL. Each container in a pod must have a unique name (DNS_LABEL). Cannot be updated.' },
    image: { type: 'string', description: 'Container image name. More info: https://kubernetes.io/docs/concepts/containers/images' },
    command: { type: 'array', items: str, description: "Entrypoint array. Not executed within a shell. The container image's ENTRYPOINT is used if this is not provided." },
    args: { type: 'array', items: str, description: "Arguments to the entrypoint. The container image's CMD is used if this is not provided." },
    workingDir: { type: 'string', description: "Container's working directory." },
    env: { type: 'array', items: envVarSchema, description: 'List of environment variables to set in the container. Cannot be updated.' },
    envFrom: { type: 'array', items: anyObject, description: 'List of sources to populate environment variables in the container.' },
    ports: { type: 'array', items: containerPortSchema, description: 'List of ports to expose from the container.' },
    resources: { type: 'object', additionalProperties: any, description: 'Compute Resources required by this container.' },
    resizePolicy: { type: 'array', items: anyObject, description: "Resources resize policy for the container." },
    restartPolicy: { type: 'string', description: 'RestartPolicy defines the restart behavior of individual containers in a pod (init containers only: "Always").' },
    volumeMounts: {
      type: 'array',
      description: "Pod volumes to mount into the container's filesystem. Cannot be updated.",
      items: {
        type: 'object',
        required: ['name', 'mountPath'],
        properties: { name: str, mountPath: str, readOnly: bool, subPath: str, subPathExpr: str, mountPropagation: str, recursiveReadOnly: str },
      },
    },
    volumeDevices: { type: 'array', items: anyObject, description: 'volumeDevices is the list of block devices to be used by the container.' },
    imagePullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'], description: 'Image pull policy. One of Always, Never, IfNotPresent. Defaults to Always if :latest tag is specified, or IfNotPresent otherwise.' },
    terminationMessagePath: { type: 'string', description: "Optional: Path at which the file to which the container's termination message will be written is mounted." },
    terminationMessagePolicy: { type: 'string', enum: ['File', 'FallbackToLogsOnError'], description: 'Indicate how the termination message should be populated.' },
    readinessProbe: { type: 'object', additionalProperties: any, description: 'Periodic probe of container service readiness.' },
    livenessProbe: { type: 'object', additionalProperties: any, description: 'Periodic probe of container liveness.' },
    startupProbe: { type: 'object', additionalProperties: any, description: 'StartupProbe indicates that the Pod has successfully initialized.' },
    lifecycle: { type: 'object', additionalProperties: any, description: 'Actions that the management system should take in response to container lifecycle events.' },
    securityContext: { type: 'object', additionalProperties: any, description: 'SecurityContext defines the security options the container should be run with.' },
    stdin: { type: 'boolean', description: 'Whether this container should allocate a buffer for stdin in the container runtime.' },
    stdinOnce: { type: 'boolean', description: 'Whether the container runtime should close the stdin channel after it has been opened by a single attach.' },
    tty: { type: 'boolean', description: 'Whether this container should allocate a TTY for itself.' },
  },
};

export const podSpecSchema: FieldSchema = {
  type: 'object',
  typeName: 'io.k8s.api.core.v1.PodSpec',
  description: 'Specification of the desired behavior of the pod.',
  required: ['containers'],
  properties: {
    containers: { type: 'array', items: containerSchema, description: 'List of containers belonging to the pod. Containers cannot currently be added or removed. There must be at least one container in a Pod. Cannot be updated.' },
    initContainers: { type: 'array', items: containerSchema, description: 'List of initialization containers belonging to the pod. Init containers are executed in order prior to containers being started.' },
    ephemeralContainers: { type: 'array', items: anyObject, description: 'List of ephemeral containers run in this pod.' },
    restartPolicy: { type: 'string', enum: ['Always', 'OnFailure', 'Never'], description: 'Restart policy for all containers within the pod. One of Always, OnFailure, Never. Default to Always.' },
    dnsPolicy: { type: 'string', enum: ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'], description: 'Set DNS policy for the pod. Defaults to "ClusterFirst".' },
    dnsConfig: { type: 'object', additionalProperties: any, description: 'Specifies the DNS parameters of a pod.' },
    nodeName: { type: 'string', description: 'NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName.' },
    nodeSelector: { type: 'object', additionalProperties: str, description: "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node." },
    serviceAccountName: { type: 'string', description: 'ServiceAccountName is the name of the ServiceAccount to use to run this pod.' },
    serviceAccount: { type: 'string', description: 'DeprecatedServiceAccount is a deprecated alias for ServiceAccountName.' },
    automountServiceAccountToken: { type: 'boolean', description: 'AutomountServiceAccountToken indicates whether a service account token should be automatically mounted.' },
    schedulerName: { type: 'string', description: 'If specified, the pod will be dispatched by specified scheduler. If not specified, the pod will be dispatched by default scheduler.' },
    priority: { type: 'integer', description: 'The priority value. Various system components use this field to find the priority of the pod.' },
    priorityClassName: { type: 'string', description: "If specified, indicates the pod's priority." },
    preemptionPolicy: { type: 'string', description: 'PreemptionPolicy is the Policy for preempting pods with lower priority. One of Never, PreemptLowerPriority.' },
    terminationGracePeriodSeconds: { type: 'integer', minimum: 0, description: 'Optional duration in seconds the pod needs to terminate gracefully. Defaults to 30 seconds.' },
    activeDeadlineSeconds: { type: 'integer', description: 'Optional duration in seconds the pod may be active on the node relative to StartTime before the system will actively try to mark it failed and kill associated containers.' },
    tolerations: { type: 'array', items: anyObject, description: "If specified, the pod's tolerations." },
    affinity: { type: 'object', additionalProperties: any, description: "If specified, the pod's scheduling constraints." },
    topologySpreadConstraints: { type: 'array', items: anyObject, description: 'TopologySpreadConstraints describes how a group of pods ought to spread across topology domains.' },
    volumes: { type: 'array', items: { type: 'object', required: ['name'], additionalProperties: any }, description: 'List of volumes that can be mounted by containers belonging to the pod.' },
    hostNetwork: { type: 'boolean', description: "Host networking requested for this pod. Use the host's network namespace." },
    hostPID: { type: 'boolean', description: "Use the host's pid namespace." },
    hostIPC: { type: 'boolean', description: "Use the host's ipc namespace." },
    hostUsers: { type: 'boolean', description: "Use the host's user namespace." },
    hostname: { type: 'string', description: "Specifies the hostname of the Pod. If not specified, the pod's hostname will be set to a system-defined value." },
    subdomain: { type: 'string', description: 'If specified, the fully qualified Pod hostname will be "<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>".' },
    setHostnameAsFQDN: { type: 'boolean', description: "If true the pod's hostname will be configured as the pod's FQDN." },
    hostAliases: { type: 'array', items: anyObject, description: "HostAliases is an optional list of hosts and IPs that will be injected into the pod's hosts file." },
    imagePullSecrets: { type: 'array', items: anyObject, description: 'ImagePullSecrets is an optional list of references to secrets in the same namespace to use for pulling any of the images used by this PodSpec.' },
    shareProcessNamespace: { type: 'boolean', description: 'Share a single process namespace between all of the containers in a pod.' },
    enableServiceLinks: { type: 'boolean', description: "EnableServiceLinks indicates whether information about services should be injected into pod's environment variables." },
    runtimeClassName: { type: 'string', description: 'RuntimeClassName refers to a RuntimeClass object in the node.k8s.io group, which should be used to run this pod.' },
    readinessGates: { type: 'array', items: anyObject, description: 'If specified, all readiness gates will be evaluated for pod readiness.' },
    overhead: { type: 'object', additionalProperties: any, description: 'Overhead represents the resource overhead associated with running a pod for a given RuntimeClass.' },
    os: { type: 'object', additionalProperties: any, description: 'Specifies the OS of the containers in the pod.' },
    schedulingGates: { type: 'array', items: anyObject, description: 'SchedulingGates is an opaque list of values that if specified will block scheduling the pod.' },
    resourceClaims: { type: 'array', items: anyObject, description: 'ResourceClaims defines which ResourceClaims must be allocated and reserved before the Pod is allowed to start.' },
    resources: { type: 'object', additionalProperties: any, description: 'Resources is the total amount of CPU and Memory resources required by all containers in the pod.' },
    securityContext: { type: 'object', additionalProperties: any, description: 'SecurityContext holds pod-level security attributes and common container settings.' },
  },
};

const metadataOnly = (extra: Record<string, FieldSchema>, description?: string): FieldSchema => ({
  type: 'object',
  ...(description === undefined ? {} : { description }),
  properties: { ...typeAndObjectMeta, ...extra },
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
      out.push(...resourceQuantityCauses(container['resources'], `${at}.resources`));
    });
  }
  return out;
}

/** requests and limits must be Kubernetes quantities (`100m`, `1Gi`, `2`, `1e3`), as kube-apiserver checks. */
function resourceQuantityCauses(resources: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  if (!isObject(resources)) return out;
  for (const kind of ['requests', 'limits']) {
    const amounts = resources[kind];
    if (!isObject(amounts)) continue;
    for (const [name, value] of Object.entries(amounts)) {
      const text = typeof value === 'number' ? String(value) : value;
      let valid = typeof text === 'string';
      if (valid) {
        try {
          parseQuantity(text as string);
        } catch {
          valid = false;
        }
      }
      if (!valid) out.push(causes.invalid(`${path}.${kind}[${name}]`, value, "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"));
    }
  }
  return out;
}

const podSchema = metadataOnly(
  { spec: podSpecSchema, status: { type: 'object', additionalProperties: any, description: 'Most recently observed status of the pod. This data may not be up to date. Populated by the system. Read-only.' } },
  'Pod is a collection of containers that can run on a host. This resource is created by clients and scheduled onto hosts.',
);

/** Pod spec fields that may change after creation (Kubernetes: image, activeDeadlineSeconds, tolerations additions). */
function validatePodUpdate(object: JsonObject, old: JsonObject): StatusCause[] {
  const strip = (spec: unknown): unknown => {
    if (!isObject(spec)) return spec;
    const copy: JsonObject = { ...spec };
    delete copy['activeDeadlineSeconds'];
    delete copy['tolerations'];
    delete copy['terminationGracePeriodSeconds'];
    for (const list of ['containers', 'initContainers']) {
      if (Array.isArray(copy[list])) copy[list] = (copy[list] as unknown[]).map((c) => (isObject(c) ? { ...c, image: '' } : c));
    }
    return copy;
  };
  // A scheduler's binding sets nodeName through the binding subresource, which bypasses this check.
  if (!jsonEqual(strip(object['spec']), strip(old['spec']))) {
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
    // Served by handlers/logs.ts and handlers/eviction.ts (routed in pipeline.ts).
    { name: 'log', verbs: ['get'] },
    { name: 'eviction', verbs: ['create'], kind: { group: 'policy', version: 'v1', kind: 'Eviction' } },
    // Answered with a clear error: kplane runs no container runtime (handlers/pod-streams.ts).
    { name: 'exec', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodExecOptions' } },
    { name: 'attach', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodAttachOptions' } },
    { name: 'portforward', verbs: ['create', 'get'], kind: { group: '', version: 'v1', kind: 'PodPortForwardOptions' } },
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
  schema: metadataOnly(
    { spec: { type: 'object', description: 'Spec defines the behavior of the Namespace.', properties: { finalizers: { type: 'array', items: str, description: 'Finalizers is an opaque list of values that must be empty to permanently remove object from storage.' } } }, status: anyObject },
    'Namespace provides a scope for Names. Use of multiple namespaces is optional.',
  ),
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
  schema: metadataOnly(
    {
      spec: {
        type: 'object',
        description: 'Spec defines the behavior of a node.',
        properties: {
          unschedulable: { type: 'boolean', description: 'Unschedulable controls node schedulability of new pods. By default, node is schedulable.' },
          podCIDR: { type: 'string', description: 'PodCIDR represents the pod IP range assigned to the node.' },
          podCIDRs: { type: 'array', items: str, description: 'podCIDRs represents the IP ranges assigned to the node for usage by Pods on that node.' },
          providerID: { type: 'string', description: 'ID of the node assigned by the cloud provider.' },
          taints: { type: 'array', items: anyObject, description: "If specified, the node's taints." },
          configSource: anyObject,
          externalID: str,
        },
      },
      status: anyObject,
    },
    'Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache (i.e. in etcd).',
  ),
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
  schema: metadataOnly(
    {
      data: { type: 'object', additionalProperties: str, description: 'Data contains the configuration data. Each key must consist of alphanumeric characters, \'-\', \'_\' or \'.\'.' },
      binaryData: { type: 'object', additionalProperties: str, description: 'BinaryData contains the binary data (base64).' },
      immutable: { type: 'boolean', description: 'Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated (only object metadata can be modified).' },
    },
    'ConfigMap holds configuration data for pods to consume.',
  ),
  hasStatusSubresource: false,
  validate: (configMap, old) => {
    const out: StatusCause[] = [];
    const data = configMap['data'];
    if (isObject(data)) for (const key of Object.keys(data)) if (!/^[-._a-zA-Z0-9]+$/.test(key)) out.push(causes.invalid(`data[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
    if (old !== undefined && old['immutable'] === true && !jsonEqual(old['data'] ?? null, configMap['data'] ?? null))
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
  schema: metadataOnly(
    {
      data: { type: 'object', additionalProperties: str, description: 'Data contains the secret data. The serialized form of the secret data is a base64 encoded string.' },
      stringData: { type: 'object', additionalProperties: str, description: 'stringData allows specifying non-binary secret data in string form. It is provided as a write-only input field for convenience.' },
      type: { type: 'string', description: 'Used to facilitate programmatic handling of secret data.' },
      immutable: { type: 'boolean', description: 'Immutable, if set to true, ensures that data stored in the Secret cannot be updated (only object metadata can be modified).' },
    },
    'Secret holds secret data of a certain type. The total bytes of the values in the Data field must be less than MaxSecretSize bytes.',
  ),
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
  schema: metadataOnly(
    {
      spec: {
        type: 'object',
        description: 'Spec defines the behavior of a service.',
        properties: {
          type: { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'], description: 'type determines how the Service is exposed. Defaults to ClusterIP.' },
          selector: { type: 'object', additionalProperties: str, description: 'Route service traffic to pods with label keys and values matching this selector.' },
          clusterIP: { type: 'string', description: 'clusterIP is the IP address of the service and is usually assigned randomly.' },
          clusterIPs: { type: 'array', items: str, description: 'ClusterIPs is a list of IP addresses assigned to this service.' },
          ports: {
            type: 'array',
            description: 'The list of ports that are exposed by this service.',
            items: {
              type: 'object',
              required: ['port'],
              properties: {
                name: { type: 'string', description: 'The name of this port within the service.' },
                port: { type: 'integer', description: 'The port that will be exposed by this service.' },
                targetPort: { type: 'any', intOrString: true, description: 'Number or name of the port to access on the pods targeted by the service.' },
                protocol: { type: 'string', description: 'The IP protocol for this port. Supports "TCP", "UDP", and "SCTP". Default is TCP.' },
                appProtocol: { type: 'string', description: 'The application protocol for this port.' },
                nodePort: { type: 'integer', description: 'The port on each node on which this service is exposed when type is NodePort or LoadBalancer.' },
              },
            },
          },
          externalIPs: { type: 'array', items: str, description: 'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.' },
          externalName: { type: 'string', description: 'externalName is the external reference that discovery mechanisms will return as an alias for this service (type ExternalName).' },
          externalTrafficPolicy: str,
          internalTrafficPolicy: str,
          healthCheckNodePort: int,
          sessionAffinity: { type: 'string', enum: ['ClientIP', 'None'], description: 'Supports "ClientIP" and "None". Used to maintain session affinity.' },
          sessionAffinityConfig: anyObject,
          loadBalancerIP: str,
          loadBalancerSourceRanges: { type: 'array', items: str },
          loadBalancerClass: str,
          allocateLoadBalancerNodePorts: bool,
          publishNotReadyAddresses: bool,
          ipFamilies: { type: 'array', items: str },
          ipFamilyPolicy: str,
          trafficDistribution: str,
        },
      },
      status: anyObject,
    },
    'Service is a named abstraction of software service (for example, mysql) consisting of local port (for example 3306) that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.',
  ),
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
  // TokenRequest (handlers/token-request.ts, routed in pipeline.ts).
  subresources: [{ name: 'token', verbs: ['create'], kind: { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' } }],
  categories: [],
  schema: metadataOnly(
    { secrets: { type: 'array', items: anyObject }, imagePullSecrets: { type: 'array', items: anyObject }, automountServiceAccountToken: bool },
    'ServiceAccount binds together a name, a principal that can be authenticated and authorized, and a set of secrets.',
  ),
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
  action: str,
  related: anyObject,
  series: anyObject,
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
