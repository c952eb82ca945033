// The bootstrap RBAC policy: the roles and bindings the API server creates at start when missing
// (startApiServer's `bootstrapObjects`), modelled on Kubernetes' defaults: cluster-admin for
// system:masters; the user-facing admin / edit / view roles (bound by nobody, for people to bind);
// system:discovery and system:basic-user for every authenticated user and
// system:public-info-viewer for everyone, so that discovery and `kubectl auth can-i` work;
// system:monitoring (/metrics and health) for the group of that name; and one
// least-privilege role per component (controller manager, scheduler, node agents), each bound to
// the identity its client certificate carries (pki.ts). Node agents are further held to their own
// Node, Lease and pods by node-restriction.ts.

import type { JsonObject } from '../registry/types.js';

const RBAC_VERSION = 'rbac.authorization.k8s.io/v1';
const RBAC_GROUP = 'rbac.authorization.k8s.io';
const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };

export const AUTHENTICATED = 'system:authenticated';
export const UNAUTHENTICATED = 'system:unauthenticated';

interface Rule {
  readonly verbs: readonly string[];
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

type SubjectSpec = { readonly kind: 'User' | 'Group'; readonly name: string };

const READ = ['get', 'list', 'watch'] as const;
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'] as const;
const ALL_VERBS = [...READ, ...WRITE] as const;

const rule = (verbs: readonly string[], apiGroups: readonly string[], resources: readonly string[], resourceNames?: readonly string[]): Rule => ({
  verbs,
  apiGroups,
  resources,
  ...(resourceNames === undefined ? {} : { resourceNames }),
});

function clusterRole(name: string, rules: readonly Rule[]): JsonObject {
  return { apiVersion: RBAC_VERSION, kind: 'ClusterRole', metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } }, rules: structuredClone(rules) as unknown as JsonObject[] };
}

function role(namespace: string, name: string, rules: readonly Rule[]): JsonObject {
  return { apiVersion: RBAC_VERSION, kind: 'Role', metadata: { name, namespace, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } }, rules: structuredClone(rules) as unknown as JsonObject[] };
}

function subjectsOf(subjects: readonly SubjectSpec[]): JsonObject[] {
  return subjects.map((subject) => ({ apiGroup: RBAC_GROUP, kind: subject.kind, name: subject.name }));
}

function clusterRoleBinding(name: string, roleName: string, subjects: readonly SubjectSpec[]): JsonObject {
  return {
    apiVersion: RBAC_VERSION,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'ClusterRole', name: roleName },
    subjects: subjectsOf(subjects),
  };
}

function roleBinding(namespace: string, name: string, roleName: string, subjects: readonly SubjectSpec[]): JsonObject {
  return {
    apiVersion: RBAC_VERSION,
    kind: 'RoleBinding',
    metadata: { name, namespace, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: RBAC_GROUP, kind: 'Role', name: roleName },
    subjects: subjectsOf(subjects),
  };
}

const user = (name: string): SubjectSpec => ({ kind: 'User', name });
const group = (name: string): SubjectSpec => ({ kind: 'Group', name });

/** Paths every authenticated user may read: discovery, health, version (Kubernetes' system:discovery). */
const DISCOVERY_URLS = ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'];
const PUBLIC_INFO_URLS = ['/healthz', '/livez', '/readyz', '/version', '/version/'];
/** What a metrics scraper reads (Kubernetes' system:monitoring, bound to the group of that name). */
const MONITORING_URLS = ['/healthz', '/livez', '/readyz', '/metrics'];
export const MONITORING_GROUP = 'system:monitoring';

// What the namespaced user-facing roles cover, by what they may do with it.
const WORKLOADS = ['deployments', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale', 'daemonsets'];
const WORKLOAD_STATUS = ['deployments/status', 'replicasets/status', 'statefulsets/status', 'daemonsets/status'];
const BATCH = ['jobs', 'cronjobs'];
const BATCH_STATUS = ['jobs/status', 'cronjobs/status'];
const CORE_EDITABLE = ['pods', 'pods/eviction', 'configmaps', 'endpoints', 'persistentvolumeclaims', 'services', 'serviceaccounts', 'events'];
const CORE_VIEWABLE = ['pods', 'pods/log', 'pods/status', 'configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'services', 'services/status', 'serviceaccounts', 'events', 'limitranges', 'resourcequotas', 'namespaces', 'namespaces/status'];

const VIEW_RULES: readonly Rule[] = [
  rule(READ, [''], CORE_VIEWABLE),
  rule(READ, ['apps'], [...WORKLOADS, ...WORKLOAD_STATUS]),
  rule(READ, ['batch'], [...BATCH, ...BATCH_STATUS]),
  rule(READ, ['coordination.k8s.io'], ['leases']),
  rule(READ, ['events.k8s.io'], ['events']),
  // metrics-server's system:aggregated-metrics-reader, aggregated to view (kubectl top).
  rule(READ, ['metrics.k8s.io'], ['pods', 'nodes']),
];

const EDIT_RULES: readonly Rule[] = [
  ...VIEW_RULES,
  rule(WRITE, [''], CORE_EDITABLE),
  rule([...READ, ...WRITE], [''], ['secrets']),
  rule(WRITE, ['apps'], WORKLOADS),
  rule(WRITE, ['batch'], BATCH),
  rule(WRITE, ['coordination.k8s.io'], ['leases']),
  rule(WRITE, ['events.k8s.io'], ['events']),
  // As Kubernetes' edit role: service account tokens, and the pod streams (which kplane refuses: no runtime).
  rule(['create'], [''], ['serviceaccounts/token']),
  rule([...READ, ...WRITE], [''], ['pods/attach', 'pods/exec', 'pods/portforward']),
];

const ADMIN_RULES: readonly Rule[] = [
  ...EDIT_RULES,
  rule(ALL_VERBS, [RBAC_GROUP], ['roles', 'rolebindings']),
  rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
];

/**
 * The controller manager runs every controller under one identity (DESIGN.md): workload controllers
 * (Deployment → ReplicaSet → Pod, StatefulSet, DaemonSet), node lifecycle, namespace deletion, the
 * garbage collector and leader election. It may not read secrets' contents.
 */
const CONTROLLER_MANAGER_RULES: readonly Rule[] = [
  // Observe everything it reconciles.
  rule(READ, [''], ['pods', 'nodes', 'namespaces', 'configmaps', 'services', 'serviceaccounts', 'endpoints', 'events', 'persistentvolumeclaims']),
  rule(READ, ['apps'], ['deployments', 'replicasets', 'statefulsets', 'daemonsets', 'controllerrevisions']),
  rule(READ, ['batch'], BATCH),
  rule(READ, ['coordination.k8s.io'], ['leases']),
  // Workload controllers: their objects, their status and scale, the pods they own.
  rule(['create', 'update', 'patch', 'delete'], ['apps'], ['replicasets', 'controllerrevisions']),
  rule(['update', 'patch'], ['apps'], ['deployments', 'statefulsets', 'daemonsets', 'deployments/finalizers', 'replicasets/finalizers', 'statefulsets/finalizers', 'daemonsets/finalizers']),
  rule(['update', 'patch'], ['apps'], [...WORKLOAD_STATUS, 'deployments/scale', 'replicasets/scale', 'statefulsets/scale']),
  rule(['create', 'update', 'patch', 'delete'], [''], ['pods']),
  rule(['update', 'patch'], [''], ['pods/status']),
  // Job and CronJob controllers: a CronJob's Jobs, finished Jobs' removal, both statuses.
  rule(['create', 'update', 'patch', 'delete'], ['batch'], ['jobs']),
  rule(['update', 'patch'], ['batch'], ['cronjobs', 'jobs/finalizers', 'cronjobs/finalizers', ...BATCH_STATUS]),
  rule(['create'], [''], ['pods/binding', 'pods/eviction']),
  // Node lifecycle: conditions and taints of unresponsive nodes, removal of their pods.
  rule(['update', 'patch', 'delete'], [''], ['nodes']),
  rule(['update', 'patch'], [''], ['nodes/status']),
  // Namespace controller: empty a Terminating namespace, then finalize it.
  rule(['update', 'patch', 'delete'], [''], ['namespaces']),
  rule(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
  // (delete and deletecollection only: listing `*` would reveal secrets.)
  rule(['delete', 'deletecollection'], ['', 'apps', 'batch', 'coordination.k8s.io', 'events.k8s.io', RBAC_GROUP], ['*']),
  // Garbage collector: drop owner references and finalizers of dependents.
  rule(['update', 'patch'], ['', 'apps'], ['pods', 'replicasets', 'configmaps', 'services', 'serviceaccounts', 'endpoints']),
  // Service accounts and endpoints controllers.
  rule(['create'], [''], ['serviceaccounts', 'endpoints']),
  rule(['create', 'update', 'patch'], [''], ['events']),
  rule(['create', 'update', 'patch'], ['events.k8s.io'], ['events']),
  rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'subjectaccessreviews']),
  // HorizontalPodAutoscaler controller: its autoscalers, their status, and any target's scale.
  rule(READ, ['autoscaling'], ['horizontalpodautoscalers']),
  rule(['update', 'patch'], ['autoscaling'], ['horizontalpodautoscalers/status']),
  rule(['get', 'update'], ['*'], ['*/scale']),
  rule(['get', 'list'], ['metrics.k8s.io'], ['pods']),
  rule(['delete', 'deletecollection'], ['autoscaling'], ['horizontalpodautoscalers']),
  // Disruption controller: budgets' status from the pods and their controllers' scale (read above).
  rule(READ, ['policy'], ['poddisruptionbudgets']),
  rule(['update', 'patch'], ['policy'], ['poddisruptionbudgets/status']),
  // Resource quota controller: recount what quotas limit (not secrets: their quota usage stays as admission charged it).
  rule(READ, [''], ['resourcequotas']),
  rule(READ, ['networking.k8s.io'], ['ingresses']),
  rule(['update', 'patch'], [''], ['resourcequotas/status']),
  // Namespace controller: the policy-like kinds of a Terminating namespace.
  rule(['delete', 'deletecollection'], ['policy', 'networking.k8s.io'], ['poddisruptionbudgets', 'ingresses']),
];

/** The scheduler reads pods and nodes (and what spreading looks at), binds pods and reports why not. */
const SCHEDULER_RULES: readonly Rule[] = [
  rule(READ, [''], ['pods', 'nodes', 'namespaces', 'services', 'persistentvolumeclaims', 'persistentvolumes']),
  rule(READ, ['apps'], ['replicasets', 'statefulsets']),
  rule(['create'], [''], ['pods/binding', 'bindings']),
  rule(['update', 'patch'], [''], ['pods/status']),
  rule(['delete'], [''], ['pods']),
  rule(['create', 'update', 'patch'], [''], ['events']),
  rule(['create', 'update', 'patch'], ['events.k8s.io'], ['events']),
];

/**
 * A node agent (kubelet): registers and updates its Node, renews its Lease, runs the pods bound to
 * it and reports their status, deletes them when they are done. Which Node, Lease and pods is
 * node-restriction.ts's job. No secrets: Kubernetes lets a kubelet read only the secrets of its own
 * pods (the Node authorizer); kplane has no such authorizer, so none.
 */
const NODE_RULES: readonly Rule[] = [
  rule([...READ, 'create', 'update', 'patch', 'delete'], [''], ['nodes']),
  rule(['update', 'patch'], [''], ['nodes/status']),
  rule(READ, [''], ['pods', 'services', 'endpoints', 'configmaps']),
  rule(['delete'], [''], ['pods']),
  rule(['update', 'patch'], [''], ['pods/status']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
  rule(['create', 'update', 'patch'], [''], ['events']),
  rule(['create', 'update', 'patch'], ['events.k8s.io'], ['events']),
];

/**
 * The Leases of the default scheduler's shards, `default-scheduler-shard-<i>` (scheduler/shard-leases.ts),
 * for every shard count the cluster config allows (scheduler.shards is 1 to 64).
 */
const SCHEDULER_SHARDS_MAX = 64;
const SCHEDULER_SHARD_LEASES = Array.from({ length: SCHEDULER_SHARDS_MAX }, (_, index) => `default-scheduler-shard-${index}`);

/** Leader election of the controller manager and the scheduler: create the Lease, then only their own one. */
function leaderLockingRole(component: string): JsonObject {
  return role('kube-system', `system::leader-locking-${component}`, [rule(['create'], ['coordination.k8s.io'], ['leases']), rule(['get', 'update', 'patch'], ['coordination.k8s.io'], ['leases'], [component])]);
}

/** Every bootstrap object, in the order they are created. */
export function bootstrapPolicy(): JsonObject[] {
  return [
    clusterRole('cluster-admin', [rule(['*'], ['*'], ['*']), { verbs: ['*'], nonResourceURLs: ['*'] }]),
    clusterRoleBinding('cluster-admin', 'cluster-admin', [group('system:masters')]),
    clusterRole('admin', ADMIN_RULES),
    clusterRole('edit', EDIT_RULES),
    clusterRole('view', VIEW_RULES),
    clusterRole('system:discovery', [{ verbs: ['get'], nonResourceURLs: DISCOVERY_URLS }]),
    clusterRoleBinding('system:discovery', 'system:discovery', [group(AUTHENTICATED)]),
    clusterRole('system:basic-user', [rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']), rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews'])]),
    clusterRoleBinding('system:basic-user', 'system:basic-user', [group(AUTHENTICATED)]),
    // For webhooks and auth proxies to bind (Kubernetes binds it to nobody): review tokens and access.
    clusterRole('system:auth-delegator', [rule(['create'], ['authentication.k8s.io'], ['tokenreviews']), rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews'])]),
    clusterRole('system:public-info-viewer', [{ verbs: ['get'], nonResourceURLs: PUBLIC_INFO_URLS }]),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', [group(AUTHENTICATED), group(UNAUTHENTICATED)]),
    clusterRole('system:monitoring', [{ verbs: ['get'], nonResourceURLs: MONITORING_URLS }]),
    clusterRoleBinding('system:monitoring', 'system:monitoring', [group(MONITORING_GROUP)]),
    clusterRole('system:kube-controller-manager', CONTROLLER_MANAGER_RULES),
    clusterRoleBinding('system:kube-controller-manager', 'system:kube-controller-manager', [user('system:kube-controller-manager')]),
    clusterRole('system:kube-scheduler', SCHEDULER_RULES),
    clusterRoleBinding('system:kube-scheduler', 'system:kube-scheduler', [user('system:kube-scheduler')]),
    clusterRole('system:node', NODE_RULES),
    clusterRoleBinding('system:node', 'system:node', [group('system:nodes')]),
    leaderLockingRole('kube-controller-manager'),
    roleBinding('kube-system', 'system::leader-locking-kube-controller-manager', 'system::leader-locking-kube-controller-manager', [user('system:kube-controller-manager')]),
    leaderLockingRole('kube-scheduler'),
    roleBinding('kube-system', 'system::leader-locking-kube-scheduler', 'system::leader-locking-kube-scheduler', [user('system:kube-scheduler')]),
    // Scheduler shards renew their own Leases and read the others' (scheduler/shard-leases.ts).
    role('kube-system', 'system::kube-scheduler-shard-leases', [
      rule(['list', 'watch'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update', 'patch'], ['coordination.k8s.io'], ['leases'], SCHEDULER_SHARD_LEASES),
    ]),
    roleBinding('kube-system', 'system::kube-scheduler-shard-leases', 'system::kube-scheduler-shard-leases', [user('system:kube-scheduler')]),
  ];
}
