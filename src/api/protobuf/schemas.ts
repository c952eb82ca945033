// Field-number tables for the Kubernetes messages kplane decodes from protobuf request bodies, taken
// from k8s.io/api and k8s.io/apimachinery `generated.proto` (proto2). They cover what kubectl's
// `create <generator>` subcommands, `autoscale`, `auth can-i` and drain's DeleteOptions send:
// Namespace, ConfigMap, Secret, Service, ServiceAccount, apps/v1 Deployment (down to
// PodSpec/Container as far as `create deployment` and ordinary pod templates go), the RBAC kinds,
// batch/v1 Job and CronJob and autoscaling/v1 HorizontalPodAutoscaler (for when those groups are
// served), SelfSubjectAccessReview, the authentication.k8s.io reviews and TokenRequest, and DeleteOptions.
// A field that is not listed here makes the decoder answer 415 (see decode.ts) rather than silently
// drop data. `pointer` marks Go pointer fields: their zero values are real values and are kept,
// where a non-pointer zero is what an encoder emits for "unset" and is dropped (JSON omitempty).

import type { JsonObject } from '../registry/types.js';

export type ScalarType = 'string' | 'bytes' | 'int32' | 'int64' | 'bool' | 'double';

export interface MapType {
  /** Keys are always strings in Kubernetes' maps. */
  readonly map: ScalarType | MessageSchema;
}

export interface FieldSpec {
  readonly name: string;
  readonly type: ScalarType | MessageSchema | MapType;
  readonly repeated?: boolean;
  /** A Go pointer: a zero value was set on purpose and is kept. */
  readonly pointer?: boolean;
  /** An embedded Go struct whose JSON fields sit in the parent (Volume's VolumeSource). */
  readonly inline?: boolean;
  /** Read and dropped (status on create: the server ignores it). */
  readonly ignored?: boolean;
}

export interface MessageSchema {
  readonly name: string;
  readonly fields: ReadonlyMap<number, FieldSpec>;
  /** Messages with a JSON form of their own (Time, Quantity, IntOrString); undefined drops the field. */
  readonly toJson?: (decoded: JsonObject) => unknown;
}

type FieldOptions = Omit<FieldSpec, 'name' | 'type'>;
type FieldTable = { readonly [number: number]: readonly [name: string, type: FieldSpec['type'], options?: FieldOptions] };

function message(name: string, table: FieldTable, toJson?: MessageSchema['toJson']): MessageSchema {
  const fields = new Map<number, FieldSpec>();
  for (const [number, [fieldName, type, options]] of Object.entries(table)) fields.set(Number(number), { name: fieldName, type, ...options });
  return { name, fields, ...(toJson === undefined ? {} : { toJson }) };
}

const POINTER = { pointer: true } as const;
const REPEATED = { repeated: true } as const;
const IGNORED = { ignored: true } as const;
const stringMap: MapType = { map: 'string' };
const bytesMap: MapType = { map: 'bytes' };

// ---- apimachinery ----------------------------------------------------------------------------

/** metav1.Time: {seconds, nanos} → RFC 3339 (second precision, as Kubernetes prints it); zero → absent. */
export const Time = message('Time', { 1: ['seconds', 'int64'], 2: ['nanos', 'int32'] }, (decoded) => {
  const seconds = typeof decoded['seconds'] === 'number' ? decoded['seconds'] : 0;
  if (seconds === 0) return undefined;
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
});

/** resource.Quantity: serialized as its string form. */
export const Quantity = message('Quantity', { 1: ['string', 'string'] }, (decoded) => decoded['string'] ?? '');

/** intstr.IntOrString: type 0 is an int, 1 a string. */
export const IntOrString = message('IntOrString', { 1: ['type', 'int64'], 2: ['intVal', 'int32'], 3: ['strVal', 'string'] }, (decoded) =>
  decoded['type'] === 1 ? (decoded['strVal'] ?? '') : (decoded['intVal'] ?? 0),
);

export const OwnerReference = message('OwnerReference', {
  1: ['kind', 'string'],
  3: ['name', 'string'],
  4: ['uid', 'string'],
  5: ['apiVersion', 'string'],
  6: ['controller', 'bool', POINTER],
  7: ['blockOwnerDeletion', 'bool', POINTER],
});

export const ObjectMeta = message('ObjectMeta', {
  1: ['name', 'string'],
  2: ['generateName', 'string'],
  3: ['namespace', 'string'],
  4: ['selfLink', 'string'],
  5: ['uid', 'string'],
  6: ['resourceVersion', 'string'],
  7: ['generation', 'int64'],
  8: ['creationTimestamp', Time],
  9: ['deletionTimestamp', Time],
  10: ['deletionGracePeriodSeconds', 'int64', POINTER],
  11: ['labels', stringMap],
  12: ['annotations', stringMap],
  13: ['ownerReferences', OwnerReference, REPEATED],
  14: ['finalizers', 'string', REPEATED],
  17: ['managedFields', message('ManagedFieldsEntry', {}), { repeated: true, ignored: true }],
});

export const LabelSelectorRequirement = message('LabelSelectorRequirement', { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['values', 'string', REPEATED] });

export const LabelSelector = message('LabelSelector', { 1: ['matchLabels', stringMap], 2: ['matchExpressions', LabelSelectorRequirement, REPEATED] });

const Preconditions = message('Preconditions', { 1: ['uid', 'string', POINTER], 2: ['resourceVersion', 'string', POINTER] });

export const DeleteOptions = message('DeleteOptions', {
  1: ['gracePeriodSeconds', 'int64', POINTER],
  2: ['preconditions', Preconditions, POINTER],
  3: ['orphanDependents', 'bool', POINTER],
  4: ['propagationPolicy', 'string', POINTER],
  5: ['dryRun', 'string', REPEATED],
  6: ['ignoreStoreReadErrorWithClusterBreakingPotential', 'bool', POINTER],
});

// ---- core/v1: pod templates ------------------------------------------------------------------

const LocalObjectReference = message('LocalObjectReference', { 1: ['name', 'string'] });
const KeySelector = (name: string): MessageSchema =>
  message(name, { 1: ['localObjectReference', LocalObjectReference, { inline: true }], 2: ['key', 'string'], 3: ['optional', 'bool', POINTER] });
const ObjectFieldSelector = message('ObjectFieldSelector', { 1: ['apiVersion', 'string'], 2: ['fieldPath', 'string'] });
const ResourceFieldSelector = message('ResourceFieldSelector', { 1: ['containerName', 'string'], 2: ['resource', 'string'], 3: ['divisor', Quantity] });
const EnvVarSource = message('EnvVarSource', {
  1: ['fieldRef', ObjectFieldSelector, POINTER],
  2: ['resourceFieldRef', ResourceFieldSelector, POINTER],
  3: ['configMapKeyRef', KeySelector('ConfigMapKeySelector'), POINTER],
  4: ['secretKeyRef', KeySelector('SecretKeySelector'), POINTER],
});
const EnvVar = message('EnvVar', { 1: ['name', 'string'], 2: ['value', 'string'], 3: ['valueFrom', EnvVarSource, POINTER] });
const EnvFromSource = message('EnvFromSource', {
  1: ['prefix', 'string'],
  2: ['configMapRef', message('ConfigMapEnvSource', { 1: ['localObjectReference', LocalObjectReference, { inline: true }], 2: ['optional', 'bool', POINTER] }), POINTER],
  3: ['secretRef', message('SecretEnvSource', { 1: ['localObjectReference', LocalObjectReference, { inline: true }], 2: ['optional', 'bool', POINTER] }), POINTER],
});
const ContainerPort = message('ContainerPort', { 1: ['name', 'string'], 2: ['hostPort', 'int32'], 3: ['containerPort', 'int32'], 4: ['protocol', 'string'], 5: ['hostIP', 'string'] });
const ResourceRequirements = message('ResourceRequirements', { 1: ['limits', { map: Quantity }], 2: ['requests', { map: Quantity }] });
const VolumeMount = message('VolumeMount', {
  1: ['name', 'string'],
  2: ['readOnly', 'bool'],
  3: ['mountPath', 'string'],
  4: ['subPath', 'string'],
  5: ['mountPropagation', 'string', POINTER],
  6: ['subPathExpr', 'string'],
  7: ['recursiveReadOnly', 'string', POINTER],
});
const Capabilities = message('Capabilities', { 1: ['add', 'string', REPEATED], 2: ['drop', 'string', REPEATED] });
const SecurityContext = message('SecurityContext', {
  1: ['capabilities', Capabilities, POINTER],
  2: ['privileged', 'bool', POINTER],
  4: ['runAsUser', 'int64', POINTER],
  5: ['runAsNonRoot', 'bool', POINTER],
  6: ['readOnlyRootFilesystem', 'bool', POINTER],
  7: ['allowPrivilegeEscalation', 'bool', POINTER],
  8: ['runAsGroup', 'int64', POINTER],
});
const Container = message('Container', {
  1: ['name', 'string'],
  2: ['image', 'string'],
  3: ['command', 'string', REPEATED],
  4: ['args', 'string', REPEATED],
  5: ['workingDir', 'string'],
  6: ['ports', ContainerPort, REPEATED],
  7: ['env', EnvVar, REPEATED],
  8: ['resources', ResourceRequirements],
  9: ['volumeMounts', VolumeMount, REPEATED],
  13: ['terminationMessagePath', 'string'],
  14: ['imagePullPolicy', 'string'],
  15: ['securityContext', SecurityContext, POINTER],
  16: ['stdin', 'bool'],
  17: ['stdinOnce', 'bool'],
  18: ['tty', 'bool'],
  19: ['envFrom', EnvFromSource, REPEATED],
  20: ['terminationMessagePolicy', 'string'],
  24: ['restartPolicy', 'string', POINTER],
});
const KeyToPath = message('KeyToPath', { 1: ['key', 'string'], 2: ['path', 'string'], 3: ['mode', 'int32', POINTER] });
const VolumeSource = message('VolumeSource', {
  1: ['hostPath', message('HostPathVolumeSource', { 1: ['path', 'string'], 2: ['type', 'string', POINTER] }), POINTER],
  2: ['emptyDir', message('EmptyDirVolumeSource', { 1: ['medium', 'string'], 2: ['sizeLimit', Quantity, POINTER] }), POINTER],
  6: ['secret', message('SecretVolumeSource', { 1: ['secretName', 'string'], 2: ['items', KeyToPath, REPEATED], 3: ['defaultMode', 'int32', POINTER], 4: ['optional', 'bool', POINTER] }), POINTER],
  10: ['persistentVolumeClaim', message('PersistentVolumeClaimVolumeSource', { 1: ['claimName', 'string'], 2: ['readOnly', 'bool'] }), POINTER],
  19: [
    'configMap',
    message('ConfigMapVolumeSource', { 1: ['localObjectReference', LocalObjectReference, { inline: true }], 2: ['items', KeyToPath, REPEATED], 3: ['defaultMode', 'int32', POINTER], 4: ['optional', 'bool', POINTER] }),
    POINTER,
  ],
});
const Volume = message('Volume', { 1: ['name', 'string'], 2: ['volumeSource', VolumeSource, { inline: true }] });
const Toleration = message('Toleration', { 1: ['key', 'string'], 2: ['operator', 'string'], 3: ['value', 'string'], 4: ['effect', 'string'], 5: ['tolerationSeconds', 'int64', POINTER] });
const PodSecurityContext = message('PodSecurityContext', {
  2: ['runAsUser', 'int64', POINTER],
  3: ['runAsNonRoot', 'bool', POINTER],
  4: ['supplementalGroups', 'int64', REPEATED],
  5: ['fsGroup', 'int64', POINTER],
  6: ['runAsGroup', 'int64', POINTER],
});
export const PodSpec = message('PodSpec', {
  1: ['volumes', Volume, REPEATED],
  2: ['containers', Container, REPEATED],
  3: ['restartPolicy', 'string'],
  4: ['terminationGracePeriodSeconds', 'int64', POINTER],
  5: ['activeDeadlineSeconds', 'int64', POINTER],
  6: ['dnsPolicy', 'string'],
  7: ['nodeSelector', stringMap],
  8: ['serviceAccountName', 'string'],
  9: ['serviceAccount', 'string'],
  10: ['nodeName', 'string'],
  11: ['hostNetwork', 'bool'],
  12: ['hostPID', 'bool'],
  13: ['hostIPC', 'bool'],
  14: ['securityContext', PodSecurityContext, POINTER],
  15: ['imagePullSecrets', LocalObjectReference, REPEATED],
  16: ['hostname', 'string'],
  17: ['subdomain', 'string'],
  19: ['schedulerName', 'string'],
  20: ['initContainers', Container, REPEATED],
  21: ['automountServiceAccountToken', 'bool', POINTER],
  22: ['tolerations', Toleration, REPEATED],
  24: ['priorityClassName', 'string'],
  25: ['priority', 'int32', POINTER],
  30: ['enableServiceLinks', 'bool', POINTER],
  31: ['preemptionPolicy', 'string', POINTER],
});
export const PodTemplateSpec = message('PodTemplateSpec', { 1: ['metadata', ObjectMeta], 2: ['spec', PodSpec] });

// ---- the kinds -------------------------------------------------------------------------------

/** Status of any kind: ignored on create (the handlers drop it too). */
const AnyStatus = message('Status', {});

export const Namespace = message('Namespace', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('NamespaceSpec', { 1: ['finalizers', 'string', REPEATED] })],
  3: ['status', AnyStatus, IGNORED],
});

export const ConfigMap = message('ConfigMap', {
  1: ['metadata', ObjectMeta],
  2: ['data', stringMap],
  3: ['binaryData', bytesMap],
  4: ['immutable', 'bool', POINTER],
});

export const Secret = message('Secret', {
  1: ['metadata', ObjectMeta],
  2: ['data', bytesMap],
  3: ['type', 'string'],
  4: ['stringData', stringMap],
  5: ['immutable', 'bool', POINTER],
});

const ServicePort = message('ServicePort', {
  1: ['name', 'string'],
  2: ['protocol', 'string'],
  3: ['port', 'int32'],
  4: ['targetPort', IntOrString],
  5: ['nodePort', 'int32'],
  6: ['appProtocol', 'string', POINTER],
});
const ServiceSpec = message('ServiceSpec', {
  1: ['ports', ServicePort, REPEATED],
  2: ['selector', stringMap],
  3: ['clusterIP', 'string'],
  4: ['type', 'string'],
  5: ['externalIPs', 'string', REPEATED],
  7: ['sessionAffinity', 'string'],
  8: ['loadBalancerIP', 'string'],
  9: ['loadBalancerSourceRanges', 'string', REPEATED],
  10: ['externalName', 'string'],
  11: ['externalTrafficPolicy', 'string'],
  12: ['healthCheckNodePort', 'int32'],
  13: ['publishNotReadyAddresses', 'bool'],
  18: ['clusterIPs', 'string', REPEATED],
  19: ['ipFamilies', 'string', REPEATED],
  20: ['ipFamilyPolicy', 'string', POINTER],
  21: ['allocateLoadBalancerNodePorts', 'bool', POINTER],
  22: ['loadBalancerClass', 'string', POINTER],
  23: ['internalTrafficPolicy', 'string', POINTER],
});
export const Service = message('Service', { 1: ['metadata', ObjectMeta], 2: ['spec', ServiceSpec], 3: ['status', AnyStatus, IGNORED] });

const RollingUpdateDeployment = message('RollingUpdateDeployment', { 1: ['maxUnavailable', IntOrString, POINTER], 2: ['maxSurge', IntOrString, POINTER] });
const DeploymentStrategy = message('DeploymentStrategy', { 1: ['type', 'string'], 2: ['rollingUpdate', RollingUpdateDeployment, POINTER] });
const DeploymentSpec = message('DeploymentSpec', {
  1: ['replicas', 'int32', POINTER],
  2: ['selector', LabelSelector, POINTER],
  3: ['template', PodTemplateSpec],
  4: ['strategy', DeploymentStrategy],
  5: ['minReadySeconds', 'int32'],
  6: ['revisionHistoryLimit', 'int32', POINTER],
  7: ['paused', 'bool'],
  9: ['progressDeadlineSeconds', 'int32', POINTER],
});
export const Deployment = message('Deployment', { 1: ['metadata', ObjectMeta], 2: ['spec', DeploymentSpec], 3: ['status', AnyStatus, IGNORED] });

const SelectorAttributes = (name: string): MessageSchema =>
  message(name, { 1: ['rawSelector', 'string'], 2: ['requirements', LabelSelectorRequirement, REPEATED] });
const ResourceAttributes = message('ResourceAttributes', {
  1: ['namespace', 'string'],
  2: ['verb', 'string'],
  3: ['group', 'string'],
  4: ['version', 'string'],
  5: ['resource', 'string'],
  6: ['subresource', 'string'],
  7: ['name', 'string'],
  8: ['fieldSelector', SelectorAttributes('FieldSelectorAttributes'), POINTER],
  9: ['labelSelector', SelectorAttributes('LabelSelectorAttributes'), POINTER],
});
const NonResourceAttributes = message('NonResourceAttributes', { 1: ['path', 'string'], 2: ['verb', 'string'] });
export const SelfSubjectAccessReview = message('SelfSubjectAccessReview', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('SelfSubjectAccessReviewSpec', { 1: ['resourceAttributes', ResourceAttributes, POINTER], 2: ['nonResourceAttributes', NonResourceAttributes, POINTER] })],
  3: ['status', AnyStatus, IGNORED],
});

const ObjectReference = message('ObjectReference', {
  1: ['kind', 'string'],
  2: ['namespace', 'string'],
  3: ['name', 'string'],
  4: ['uid', 'string'],
  5: ['apiVersion', 'string'],
  6: ['resourceVersion', 'string'],
  7: ['fieldPath', 'string'],
});
export const ServiceAccount = message('ServiceAccount', {
  1: ['metadata', ObjectMeta],
  2: ['secrets', ObjectReference, REPEATED],
  3: ['imagePullSecrets', LocalObjectReference, REPEATED],
  4: ['automountServiceAccountToken', 'bool', POINTER],
});

// ---- authentication.k8s.io/v1 (`kubectl auth whoami`, `kubectl create token`) ----------------

export const SelfSubjectReview = message('SelfSubjectReview', { 1: ['metadata', ObjectMeta], 2: ['status', AnyStatus, IGNORED] });
const BoundObjectReference = message('BoundObjectReference', { 1: ['kind', 'string'], 2: ['apiVersion', 'string'], 3: ['name', 'string'], 4: ['uid', 'string'] });
export const TokenRequest = message('TokenRequest', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('TokenRequestSpec', { 1: ['audiences', 'string', REPEATED], 3: ['boundObjectRef', BoundObjectReference, POINTER], 4: ['expirationSeconds', 'int64', POINTER] })],
  3: ['status', AnyStatus, IGNORED],
});
export const TokenReview = message('TokenReview', {
  1: ['metadata', ObjectMeta],
  2: ['spec', message('TokenReviewSpec', { 1: ['token', 'string'], 2: ['audiences', 'string', REPEATED] })],
  3: ['status', AnyStatus, IGNORED],
});

// ---- rbac.authorization.k8s.io/v1 ------------------------------------------------------------

const PolicyRule = message('PolicyRule', {
  1: ['verbs', 'string', REPEATED],
  2: ['apiGroups', 'string', REPEATED],
  3: ['resources', 'string', REPEATED],
  4: ['resourceNames', 'string', REPEATED],
  5: ['nonResourceURLs', 'string', REPEATED],
});
const Subject = message('Subject', { 1: ['kind', 'string'], 2: ['apiGroup', 'string'], 3: ['name', 'string'], 4: ['namespace', 'string'] });
const RoleRef = message('RoleRef', { 1: ['apiGroup', 'string'], 2: ['kind', 'string'], 3: ['name', 'string'] });
export const Role = message('Role', { 1: ['metadata', ObjectMeta], 2: ['rules', PolicyRule, REPEATED] });
export const ClusterRole = message('ClusterRole', {
  1: ['metadata', ObjectMeta],
  2: ['rules', PolicyRule, REPEATED],
  3: ['aggregationRule', message('AggregationRule', { 1: ['clusterRoleSelectors', LabelSelector, REPEATED] }), POINTER],
});
export const RoleBinding = message('RoleBinding', { 1: ['metadata', ObjectMeta], 2: ['subjects', Subject, REPEATED], 3: ['roleRef', RoleRef] });
export const ClusterRoleBinding = message('ClusterRoleBinding', { 1: ['metadata', ObjectMeta], 2: ['subjects', Subject, REPEATED], 3: ['roleRef', RoleRef] });

// ---- batch/v1 and autoscaling/v1: decoded for when those groups are served ------------------

const JobSpec = message('JobSpec', {
  1: ['parallelism', 'int32', POINTER],
  2: ['completions', 'int32', POINTER],
  3: ['activeDeadlineSeconds', 'int64', POINTER],
  4: ['selector', LabelSelector, POINTER],
  5: ['manualSelector', 'bool', POINTER],
  6: ['template', PodTemplateSpec],
  7: ['backoffLimit', 'int32', POINTER],
  8: ['ttlSecondsAfterFinished', 'int32', POINTER],
  9: ['completionMode', 'string', POINTER],
  10: ['suspend', 'bool', POINTER],
  12: ['backoffLimitPerIndex', 'int32', POINTER],
  13: ['maxFailedIndexes', 'int32', POINTER],
  14: ['podReplacementPolicy', 'string', POINTER],
  15: ['managedBy', 'string', POINTER],
});
export const Job = message('Job', { 1: ['metadata', ObjectMeta], 2: ['spec', JobSpec], 3: ['status', AnyStatus, IGNORED] });
const CronJobSpec = message('CronJobSpec', {
  1: ['schedule', 'string'],
  2: ['startingDeadlineSeconds', 'int64', POINTER],
  3: ['concurrencyPolicy', 'string'],
  4: ['suspend', 'bool', POINTER],
  5: ['jobTemplate', message('JobTemplateSpec', { 1: ['metadata', ObjectMeta], 2: ['spec', JobSpec] })],
  6: ['successfulJobsHistoryLimit', 'int32', POINTER],
  7: ['failedJobsHistoryLimit', 'int32', POINTER],
  8: ['timeZone', 'string', POINTER],
});
export const CronJob = message('CronJob', { 1: ['metadata', ObjectMeta], 2: ['spec', CronJobSpec], 3: ['status', AnyStatus, IGNORED] });
const CrossVersionObjectReference = message('CrossVersionObjectReference', { 1: ['kind', 'string'], 2: ['name', 'string'], 3: ['apiVersion', 'string'] });
export const HorizontalPodAutoscaler = message('HorizontalPodAutoscaler', {
  1: ['metadata', ObjectMeta],
  2: [
    'spec',
    message('HorizontalPodAutoscalerSpec', {
      1: ['scaleTargetRef', CrossVersionObjectReference],
      2: ['minReplicas', 'int32', POINTER],
      3: ['maxReplicas', 'int32'],
      4: ['targetCPUUtilizationPercentage', 'int32', POINTER],
    }),
  ],
  3: ['status', AnyStatus, IGNORED],
});

// ---- policy/v1, scheduling.k8s.io/v1, core/v1 ResourceQuota, networking.k8s.io/v1 ------------
// (what `kubectl create pdb / priorityclass / quota / ingress` send)

const PodDisruptionBudgetSpec = message('PodDisruptionBudgetSpec', {
  1: ['minAvailable', IntOrString, POINTER],
  2: ['selector', LabelSelector, POINTER],
  3: ['maxUnavailable', IntOrString, POINTER],
  4: ['unhealthyPodEvictionPolicy', 'string', POINTER],
});
export const PodDisruptionBudget = message('PodDisruptionBudget', { 1: ['metadata', ObjectMeta], 2: ['spec', PodDisruptionBudgetSpec], 3: ['status', AnyStatus, IGNORED] });

export const PriorityClass = message('PriorityClass', {
  1: ['metadata', ObjectMeta],
  2: ['value', 'int32'],
  3: ['globalDefault', 'bool'],
  4: ['description', 'string'],
  5: ['preemptionPolicy', 'string', POINTER],
});

const ScopedResourceSelectorRequirement = message('ScopedResourceSelectorRequirement', { 1: ['scopeName', 'string'], 2: ['operator', 'string'], 3: ['values', 'string', REPEATED] });
const ResourceQuotaSpec = message('ResourceQuotaSpec', {
  1: ['hard', { map: Quantity }],
  2: ['scopes', 'string', REPEATED],
  3: ['scopeSelector', message('ScopeSelector', { 1: ['matchExpressions', ScopedResourceSelectorRequirement, REPEATED] }), POINTER],
});
export const ResourceQuota = message('ResourceQuota', { 1: ['metadata', ObjectMeta], 2: ['spec', ResourceQuotaSpec], 3: ['status', AnyStatus, IGNORED] });

const TypedLocalObjectReference = message('TypedLocalObjectReference', { 1: ['apiGroup', 'string', POINTER], 2: ['kind', 'string'], 3: ['name', 'string'] });
const ServiceBackendPort = message('ServiceBackendPort', { 1: ['name', 'string'], 2: ['number', 'int32'] });
const IngressBackend = message('IngressBackend', {
  3: ['resource', TypedLocalObjectReference, POINTER],
  4: ['service', message('IngressServiceBackend', { 1: ['name', 'string'], 2: ['port', ServiceBackendPort] }), POINTER],
});
const HTTPIngressPath = message('HTTPIngressPath', { 1: ['path', 'string'], 2: ['backend', IngressBackend], 3: ['pathType', 'string', POINTER] });
const IngressRuleValue = message('IngressRuleValue', { 1: ['http', message('HTTPIngressRuleValue', { 1: ['paths', HTTPIngressPath, REPEATED] }), POINTER] });
const IngressRule = message('IngressRule', { 1: ['host', 'string'], 2: ['ingressRuleValue', IngressRuleValue, { inline: true }] });
const IngressTLS = message('IngressTLS', { 1: ['hosts', 'string', REPEATED], 2: ['secretName', 'string'] });
const IngressSpec = message('IngressSpec', {
  1: ['defaultBackend', IngressBackend, POINTER],
  2: ['tls', IngressTLS, REPEATED],
  3: ['rules', IngressRule, REPEATED],
  4: ['ingressClassName', 'string', POINTER],
});
export const Ingress = message('Ingress', { 1: ['metadata', ObjectMeta], 2: ['spec', IngressSpec], 3: ['status', AnyStatus, IGNORED] });

/** Top-level messages by `apiVersion/kind` as the envelope names them. */
export const KIND_SCHEMAS: ReadonlyMap<string, MessageSchema> = new Map([
  ['v1/Namespace', Namespace],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Secret', Secret],
  ['v1/Service', Service],
  ['v1/ServiceAccount', ServiceAccount],
  ['apps/v1/Deployment', Deployment],
  ['rbac.authorization.k8s.io/v1/Role', Role],
  ['rbac.authorization.k8s.io/v1/ClusterRole', ClusterRole],
  ['rbac.authorization.k8s.io/v1/RoleBinding', RoleBinding],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', ClusterRoleBinding],
  ['batch/v1/Job', Job],
  ['batch/v1/CronJob', CronJob],
  ['autoscaling/v1/HorizontalPodAutoscaler', HorizontalPodAutoscaler],
  ['authorization.k8s.io/v1/SelfSubjectAccessReview', SelfSubjectAccessReview],
  ['policy/v1/PodDisruptionBudget', PodDisruptionBudget],
  ['scheduling.k8s.io/v1/PriorityClass', PriorityClass],
  ['v1/ResourceQuota', ResourceQuota],
  ['networking.k8s.io/v1/Ingress', Ingress],
  ['authentication.k8s.io/v1/SelfSubjectReview', SelfSubjectReview],
  ['authentication.k8s.io/v1/TokenRequest', TokenRequest],
  ['authentication.k8s.io/v1/TokenReview', TokenReview],
]);

/** DeleteOptions is accepted under whichever group-version the client's typed client names. */
export function schemaFor(apiVersion: string, kind: string): MessageSchema | undefined {
  if (kind === 'DeleteOptions') return DeleteOptions;
  return KIND_SCHEMAS.get(`${apiVersion}/${kind}`);
}
