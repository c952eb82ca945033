// The resource types the cluster's components use, as paths: group, version, plural, scope.

export interface ResourceType {
  /** '' for the core group. */
  readonly group: string;
  readonly version: string;
  /** Plural, lower case: 'pods'. */
  readonly resource: string;
  readonly namespaced: boolean;
  readonly kind: string;
}

const core = (resource: string, kind: string, namespaced = true): ResourceType => ({ group: '', version: 'v1', resource, kind, namespaced });
const apps = (resource: string, kind: string): ResourceType => ({ group: 'apps', version: 'v1', resource, kind, namespaced: true });

export const PODS = core('pods', 'Pod');
export const NODES = core('nodes', 'Node', false);
export const NAMESPACES = core('namespaces', 'Namespace', false);
export const EVENTS = core('events', 'Event');
export const CONFIGMAPS = core('configmaps', 'ConfigMap');
export const SECRETS = core('secrets', 'Secret');
export const SERVICES = core('services', 'Service');
export const SERVICEACCOUNTS = core('serviceaccounts', 'ServiceAccount');
export const DEPLOYMENTS = apps('deployments', 'Deployment');
export const REPLICASETS = apps('replicasets', 'ReplicaSet');
export const STATEFULSETS = apps('statefulsets', 'StatefulSet');
export const DAEMONSETS = apps('daemonsets', 'DaemonSet');
export const CONTROLLERREVISIONS = apps('controllerrevisions', 'ControllerRevision');
export const JOBS: ResourceType = { group: 'batch', version: 'v1', resource: 'jobs', kind: 'Job', namespaced: true };
export const CRONJOBS: ResourceType = { group: 'batch', version: 'v1', resource: 'cronjobs', kind: 'CronJob', namespaced: true };
export const LEASES: ResourceType = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases', kind: 'Lease', namespaced: true };

export function apiVersionOf(type: ResourceType): string {
  return type.group === '' ? type.version : `${type.group}/${type.version}`;
}

/** The collection path, or an object's path when `name` is given (and a subresource after it). */
export function resourcePath(type: ResourceType, namespace: string | undefined, name?: string, subresource?: string): string {
  const root = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const scope = type.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const object = name === undefined ? '' : `/${encodeURIComponent(name)}${subresource === undefined ? '' : `/${subresource}`}`;
  return `${root}${scope}/${type.resource}${object}`;
}
