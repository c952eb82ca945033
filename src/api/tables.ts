// Server-side printing: objects and lists converted to meta.k8s.io/v1 Tables, the form `kubectl get`
// asks for (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`). Columns and cells follow
// Kubernetes' printers per kind (priority-1 columns are the `-o wide` ones); rows carry
// PartialObjectMetadata by default, the full object for includeObject=Object (`--sort-by` needs it)
// and nothing for None. Ages are computed here against the injected clock's time.

import { formatSelector } from './handlers/scale.js';
import { apiVersionOf, isObject, objectsOf, stringField, type JsonObject, type PrinterColumn, type ResourceDefinition } from './registry/types.js';
import { valueAtJsonPath } from './crd/json-path.js';
import type { TableOptions } from './handlers/types.js';
import { POLICY_TABLE_COLUMNS } from './tables-policy.js';

export interface ColumnDefinition {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly format: string;
  readonly description: string;
  readonly priority: number;
}

type Cell = string | number | boolean;
interface Column {
  readonly definition: ColumnDefinition;
  readonly cell: (object: JsonObject, nowMs: number) => Cell;
}
/** A column as other modules define them (tables-policy.ts). */
export type TableColumn = Column;

const NONE = '<none>';

function column(name: string, cell: Column['cell'], options: { type?: ColumnDefinition['type']; priority?: number; format?: string; description?: string } = {}): Column {
  return {
    definition: { name, type: options.type ?? 'string', format: options.format ?? '', description: options.description ?? name, priority: options.priority ?? 0 },
    cell,
  };
}

// ---- field helpers ---------------------------------------------------------------------------

function objectAt(object: unknown, ...path: string[]): JsonObject {
  let current: unknown = object;
  for (const field of path) current = isObject(current) ? current[field] : undefined;
  return isObject(current) ? current : {};
}
function metadata(object: JsonObject): JsonObject {
  return objectAt(object, 'metadata');
}
function numberAt(object: JsonObject, field: string): number {
  const value = object[field];
  return typeof value === 'number' ? value : 0;
}
function text(object: JsonObject, field: string): string {
  return stringField(object, field) ?? '';
}
function orNone(value: string): string {
  return value === '' ? NONE : value;
}

/** Kubernetes' duration.HumanDuration: the AGE column's format. */
export function humanDuration(durationMs: number): string {
  const seconds = Math.floor(durationMs / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    return days === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function ageOf(timestamp: unknown, nowMs: number): string {
  if (typeof timestamp !== 'string') return '<unknown>';
  const at = Date.parse(timestamp);
  return Number.isNaN(at) ? '<unknown>' : humanDuration(nowMs - at);
}

function labelsText(labels: JsonObject): string {
  const entries = Object.entries(labels).map(([key, value]) => `${key}=${String(value)}`);
  return entries.length === 0 ? NONE : entries.sort().join(',');
}

function selectorText(selector: JsonObject): string {
  const formatted = formatSelector(selector);
  return formatted === '' ? NONE : formatted;
}

const nameColumn = column('Name', (object) => text(metadata(object), 'name'), { format: 'name', description: 'Name must be unique within a namespace.' });
const ageColumn = column('Age', (object, nowMs) => ageOf(metadata(object)['creationTimestamp'], nowMs), { description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' });

function templateContainers(object: JsonObject): JsonObject[] {
  return objectsOf(objectAt(object, 'spec', 'template', 'spec')['containers']);
}
const containersColumn = column('Containers', (object) => orNone(templateContainers(object).map((container) => text(container, 'name')).join(',')), { priority: 1 });
const imagesColumn = column('Images', (object) => orNone(templateContainers(object).map((container) => text(container, 'image')).join(',')), { priority: 1 });
const selectorColumn = column('Selector', (object) => selectorText(objectAt(object, 'spec', 'selector')), { priority: 1 });

// ---- per kind --------------------------------------------------------------------------------

function podStatus(pod: JsonObject): { ready: string; reason: string; restarts: string } {
  const spec = objectAt(pod, 'spec');
  const status = objectAt(pod, 'status');
  const statuses = objectsOf(status['containerStatuses']);
  let reason = text(status, 'reason') || text(status, 'phase') || 'Pending';
  let readyCount = 0;
  let restarts = 0;
  for (const containerStatus of objectsOf(status['initContainerStatuses'])) {
    const state = objectAt(containerStatus, 'state');
    const terminated = objectAt(state, 'terminated');
    if (isObject(state['terminated']) && numberAt(terminated, 'exitCode') === 0) continue;
    if (isObject(state['terminated'])) reason = `Init:${text(terminated, 'reason') || 'Error'}`;
    else if (text(objectAt(state, 'waiting'), 'reason') !== '' && text(objectAt(state, 'waiting'), 'reason') !== 'PodInitializing') reason = `Init:${text(objectAt(state, 'waiting'), 'reason')}`;
    else reason = 'Init:0/1';
    break;
  }
  for (const containerStatus of statuses) {
    restarts += numberAt(containerStatus, 'restartCount');
    const state = objectAt(containerStatus, 'state');
    const waiting = text(objectAt(state, 'waiting'), 'reason');
    const terminated = objectAt(state, 'terminated');
    if (waiting !== '') reason = waiting;
    else if (isObject(state['terminated'])) reason = text(terminated, 'reason') || (numberAt(terminated, 'signal') !== 0 ? `Signal:${numberAt(terminated, 'signal')}` : `ExitCode:${numberAt(terminated, 'exitCode')}`);
    if (containerStatus['ready'] === true && isObject(state['running'])) readyCount++;
  }
  if (metadata(pod)['deletionTimestamp'] !== undefined) reason = status['reason'] === 'NodeLost' ? 'Unknown' : 'Terminating';
  return { ready: `${readyCount}/${objectsOf(spec['containers']).length}`, reason, restarts: String(restarts) };
}

const podColumns: Column[] = [
  nameColumn,
  column('Ready', (pod) => podStatus(pod).ready, { description: 'The aggregate readiness state of this pod for accepting traffic.' }),
  column('Status', (pod) => podStatus(pod).reason, { description: 'The aggregate status of the containers in this pod.' }),
  column('Restarts', (pod) => podStatus(pod).restarts, { description: 'The number of times the containers in this pod have been restarted.' }),
  ageColumn,
  column('IP', (pod) => orNone(text(objectAt(pod, 'status'), 'podIP')), { priority: 1, description: 'IP address allocated to the pod.' }),
  column('Node', (pod) => orNone(text(objectAt(pod, 'spec'), 'nodeName')), { priority: 1, description: 'Name of the Node this pod runs on.' }),
  column('Nominated Node', (pod) => orNone(text(objectAt(pod, 'status'), 'nominatedNodeName')), { priority: 1, description: 'Name of the node nominated by the scheduler.' }),
  column(
    'Readiness Gates',
    (pod) => {
      const gates = objectsOf(objectAt(pod, 'spec')['readinessGates']);
      if (gates.length === 0) return NONE;
      const conditions = objectsOf(objectAt(pod, 'status')['conditions']);
      const ready = gates.filter((gate) => conditions.some((condition) => condition['type'] === gate['conditionType'] && condition['status'] === 'True')).length;
      return `${ready}/${gates.length}`;
    },
    { priority: 1, description: 'Pod readiness gates.' },
  ),
];

const deploymentColumns: Column[] = [
  nameColumn,
  column('Ready', (object) => `${numberAt(objectAt(object, 'status'), 'readyReplicas')}/${numberAt(objectAt(object, 'spec'), 'replicas')}`, { description: 'Number of the pod with ready state' }),
  column('Up-to-date', (object) => numberAt(objectAt(object, 'status'), 'updatedReplicas'), { type: 'integer', description: 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.' }),
  column('Available', (object) => numberAt(objectAt(object, 'status'), 'availableReplicas'), { type: 'integer', description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.' }),
  ageColumn,
  containersColumn,
  imagesColumn,
  selectorColumn,
];

const replicaSetColumns: Column[] = [
  nameColumn,
  column('Desired', (object) => numberAt(objectAt(object, 'spec'), 'replicas'), { type: 'integer' }),
  column('Current', (object) => numberAt(objectAt(object, 'status'), 'replicas'), { type: 'integer' }),
  column('Ready', (object) => numberAt(objectAt(object, 'status'), 'readyReplicas'), { type: 'integer' }),
  ageColumn,
  containersColumn,
  imagesColumn,
  selectorColumn,
];

const statefulSetColumns: Column[] = [
  nameColumn,
  column('Ready', (object) => `${numberAt(objectAt(object, 'status'), 'readyReplicas')}/${numberAt(objectAt(object, 'spec'), 'replicas')}`),
  ageColumn,
  containersColumn,
  imagesColumn,
];

const daemonSetColumns: Column[] = [
  nameColumn,
  column('Desired', (object) => numberAt(objectAt(object, 'status'), 'desiredNumberScheduled'), { type: 'integer' }),
  column('Current', (object) => numberAt(objectAt(object, 'status'), 'currentNumberScheduled'), { type: 'integer' }),
  column('Ready', (object) => numberAt(objectAt(object, 'status'), 'numberReady'), { type: 'integer' }),
  column('Up-to-date', (object) => numberAt(objectAt(object, 'status'), 'updatedNumberScheduled'), { type: 'integer' }),
  column('Available', (object) => numberAt(objectAt(object, 'status'), 'numberAvailable'), { type: 'integer' }),
  column('Node Selector', (object) => labelsText(objectAt(object, 'spec', 'template', 'spec', 'nodeSelector'))),
  ageColumn,
  containersColumn,
  imagesColumn,
  selectorColumn,
];

function hasTrueCondition(object: JsonObject, type: string): boolean {
  return objectsOf(objectAt(object, 'status')['conditions']).some((condition) => condition['type'] === type && condition['status'] === 'True');
}

/** printJob's STATUS: the first that holds of Complete, Failed, Terminating, Suspended, FailureTarget, SuccessCriteriaMet; else Running. */
function jobStatusText(job: JsonObject): string {
  if (hasTrueCondition(job, 'Complete')) return 'Complete';
  if (hasTrueCondition(job, 'Failed')) return 'Failed';
  if (metadata(job)['deletionTimestamp'] !== undefined) return 'Terminating';
  if (hasTrueCondition(job, 'Suspended')) return 'Suspended';
  if (hasTrueCondition(job, 'FailureTarget')) return 'FailureTarget';
  if (hasTrueCondition(job, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** printJob's COMPLETIONS: succeeded/completions, or succeeded/1 (of parallelism) for a work-queue Job. */
function jobCompletionsText(job: JsonObject): string {
  const spec = objectAt(job, 'spec');
  const succeeded = numberAt(objectAt(job, 'status'), 'succeeded');
  if (typeof spec['completions'] === 'number') return `${succeeded}/${spec['completions']}`;
  const parallelism = numberAt(spec, 'parallelism');
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** printJob's DURATION: start to completion, or start to now while running; empty before it starts. */
function jobDurationText(job: JsonObject, nowMs: number): string {
  const status = objectAt(job, 'status');
  const start = typeof status['startTime'] === 'string' ? Date.parse(status['startTime']) : Number.NaN;
  if (Number.isNaN(start)) return '';
  const end = typeof status['completionTime'] === 'string' ? Date.parse(status['completionTime']) : Number.NaN;
  return humanDuration((Number.isNaN(end) ? nowMs : end) - start);
}

const jobColumns: Column[] = [
  nameColumn,
  column('Status', jobStatusText, { description: 'Status of the job.' }),
  column('Completions', jobCompletionsText, { description: 'The completion status of the job.' }),
  column('Duration', jobDurationText, { description: 'Time required to complete the job.' }),
  ageColumn,
  column('Containers', (object) => orNone(templateContainers(object).map((container) => text(container, 'name')).join(',')), { priority: 1, description: 'Names of each container in the template.' }),
  column('Images', (object) => orNone(templateContainers(object).map((container) => text(container, 'image')).join(',')), { priority: 1, description: 'Images referenced by each container in the template.' }),
  column('Selector', (object) => selectorText(objectAt(object, 'spec', 'selector')), { priority: 1, description: 'A label query over pods that should match the pod count.' }),
];

function cronJobContainers(object: JsonObject): JsonObject[] {
  return objectsOf(objectAt(object, 'spec', 'jobTemplate', 'spec', 'template', 'spec')['containers']);
}
const cronJobColumns: Column[] = [
  nameColumn,
  column('Schedule', (object) => text(objectAt(object, 'spec'), 'schedule'), { description: 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.' }),
  column('Timezone', (object) => orNone(text(objectAt(object, 'spec'), 'timeZone')), { description: 'The time zone name for the given schedule.' }),
  column('Suspend', (object) => {
    const suspend = objectAt(object, 'spec')['suspend'];
    return typeof suspend === 'boolean' ? (suspend ? 'True' : 'False') : '<unset>';
  }, { type: 'boolean', description: 'This flag tells the controller to suspend subsequent executions.' }),
  column('Active', (object) => objectsOf(objectAt(object, 'status')['active']).length, { type: 'integer', description: 'A list of pointers to currently running jobs.' }),
  column('Last Schedule', (object, nowMs) => {
    const last = objectAt(object, 'status')['lastScheduleTime'];
    return last === undefined || last === null ? NONE : ageOf(last, nowMs);
  }, { description: 'Information when was the last time the job was successfully scheduled.' }),
  ageColumn,
  column('Containers', (object) => orNone(cronJobContainers(object).map((container) => text(container, 'name')).join(',')), { priority: 1, description: 'Names of each container in the template.' }),
  column('Images', (object) => orNone(cronJobContainers(object).map((container) => text(container, 'image')).join(',')), { priority: 1, description: 'Images referenced by each container in the template.' }),
  column('Selector', (object) => selectorText(objectAt(object, 'spec', 'jobTemplate', 'spec', 'selector')), { priority: 1, description: 'A label query over pods that should match the pod count.' }),
];

function nodeAddress(node: JsonObject, type: string): string {
  return orNone(objectsOf(objectAt(node, 'status')['addresses']).find((address) => address['type'] === type)?.['address']?.toString() ?? '');
}
const ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';
const nodeColumns: Column[] = [
  nameColumn,
  column('Status', (node) => {
    const ready = objectsOf(objectAt(node, 'status')['conditions']).find((condition) => condition['type'] === 'Ready');
    const states = [ready === undefined ? 'Unknown' : ready['status'] === 'True' ? 'Ready' : ready['status'] === 'False' ? 'NotReady' : 'Unknown'];
    if (objectAt(node, 'spec')['unschedulable'] === true) states.push('SchedulingDisabled');
    return states.join(',');
  }, { description: 'The status of the node' }),
  column('Roles', (node) => {
    const labels = metadata(node)['labels'];
    const roles = new Set<string>();
    for (const [key, value] of Object.entries(isObject(labels) ? labels : {})) {
      if (key.startsWith(ROLE_LABEL_PREFIX) && key.length > ROLE_LABEL_PREFIX.length) roles.add(key.slice(ROLE_LABEL_PREFIX.length));
      else if (key === 'kubernetes.io/role' && typeof value === 'string' && value !== '') roles.add(value);
    }
    return roles.size === 0 ? NONE : [...roles].sort().join(',');
  }, { description: 'The roles of the node' }),
  ageColumn,
  column('Version', (node) => text(objectAt(node, 'status', 'nodeInfo'), 'kubeletVersion'), { description: 'Kubelet Version reported by the node.' }),
  column('Internal-IP', (node) => nodeAddress(node, 'InternalIP'), { priority: 1 }),
  column('External-IP', (node) => nodeAddress(node, 'ExternalIP'), { priority: 1 }),
  column('OS-Image', (node) => orNone(text(objectAt(node, 'status', 'nodeInfo'), 'osImage')), { priority: 1 }),
  column('Kernel-Version', (node) => orNone(text(objectAt(node, 'status', 'nodeInfo'), 'kernelVersion')), { priority: 1 }),
  column('Container-Runtime', (node) => orNone(text(objectAt(node, 'status', 'nodeInfo'), 'containerRuntimeVersion')), { priority: 1 }),
];

const namespaceColumns: Column[] = [nameColumn, column('Status', (object) => text(objectAt(object, 'status'), 'phase'), { description: 'The status of the namespace' }), ageColumn];

const configMapColumns: Column[] = [nameColumn, column('Data', (object) => Object.keys(objectAt(object, 'data')).length + Object.keys(objectAt(object, 'binaryData')).length, { type: 'integer' }), ageColumn];

const secretColumns: Column[] = [
  nameColumn,
  column('Type', (object) => text(object, 'type')),
  column('Data', (object) => Object.keys(objectAt(object, 'data')).length, { type: 'integer' }),
  ageColumn,
];

function servicePorts(service: JsonObject): string {
  const ports = objectsOf(objectAt(service, 'spec')['ports']).map((port) => {
    const nodePort = numberAt(port, 'nodePort');
    return `${numberAt(port, 'port')}${nodePort === 0 ? '' : `:${nodePort}`}/${text(port, 'protocol') || 'TCP'}`;
  });
  return ports.length === 0 ? NONE : ports.join(',');
}
function serviceExternalIp(service: JsonObject): string {
  const spec = objectAt(service, 'spec');
  const external = Array.isArray(spec['externalIPs']) ? spec['externalIPs'].map(String) : [];
  switch (text(spec, 'type')) {
    case 'ExternalName':
      return text(spec, 'externalName');
    case 'LoadBalancer': {
      const ingress = objectsOf(objectAt(service, 'status', 'loadBalancer')['ingress']).map((entry) => text(entry, 'ip') || text(entry, 'hostname'));
      const all = [...ingress, ...external].filter((value) => value !== '');
      return all.length === 0 ? '<pending>' : all.join(',');
    }
    default:
      return external.length === 0 ? NONE : external.join(',');
  }
}
const serviceColumns: Column[] = [
  nameColumn,
  column('Type', (object) => text(objectAt(object, 'spec'), 'type') || 'ClusterIP'),
  column('Cluster-IP', (object) => orNone(text(objectAt(object, 'spec'), 'clusterIP'))),
  column('External-IP', serviceExternalIp),
  column('Port(s)', servicePorts),
  ageColumn,
  column('Selector', (object) => labelsText(objectAt(object, 'spec', 'selector')), { priority: 1 }),
];

function eventLastSeen(event: JsonObject, nowMs: number): string {
  const series = objectAt(event, 'series');
  const when = series['lastObservedTime'] ?? event['lastTimestamp'] ?? event['deprecatedLastTimestamp'] ?? event['eventTime'] ?? metadata(event)['creationTimestamp'];
  return ageOf(when, nowMs);
}
function eventObject(event: JsonObject): JsonObject {
  return isObject(event['regarding']) ? event['regarding'] : objectAt(event, 'involvedObject');
}
const eventColumns: Column[] = [
  column('Last Seen', eventLastSeen),
  column('Type', (event) => text(event, 'type')),
  column('Reason', (event) => text(event, 'reason')),
  column('Object', (event) => `${text(eventObject(event), 'kind').toLowerCase()}/${text(eventObject(event), 'name')}`),
  column('Message', (event) => (text(event, 'message') || text(event, 'note')).trim()),
  column('Subobject', (event) => text(eventObject(event), 'fieldPath'), { priority: 1 }),
  column('Source', (event) => {
    const source = objectAt(event, 'source');
    const component = text(source, 'component') || text(event, 'reportingController') || text(event, 'reportingComponent');
    const host = text(source, 'host');
    return host === '' ? component : `${component}, ${host}`;
  }, { priority: 1 }),
  column('First Seen', (event, nowMs) => ageOf(event['firstTimestamp'] ?? event['deprecatedFirstTimestamp'] ?? event['eventTime'] ?? metadata(event)['creationTimestamp'], nowMs), { priority: 1 }),
  column('Count', (event) => numberAt(event, 'count') || numberAt(objectAt(event, 'series'), 'count') || 1, { type: 'integer', priority: 1 }),
  column('Name', (event) => text(metadata(event), 'name'), { priority: 1, format: 'name' }),
];

const leaseColumns: Column[] = [nameColumn, column('Holder', (object) => text(objectAt(object, 'spec'), 'holderIdentity')), ageColumn];

const createdAtColumn = column('Created At', (object) => text(metadata(object), 'creationTimestamp'), { type: 'date' });
function subjectsOf(binding: JsonObject, kind: string): string {
  return objectsOf(binding['subjects'])
    .filter((subject) => subject['kind'] === kind)
    .map((subject) => (kind === 'ServiceAccount' ? `${text(subject, 'namespace')}/${text(subject, 'name')}` : text(subject, 'name')))
    .join(', ');
}
const bindingColumns: Column[] = [
  nameColumn,
  column('Role', (object) => `${text(objectAt(object, 'roleRef'), 'kind')}/${text(objectAt(object, 'roleRef'), 'name')}`),
  ageColumn,
  column('Users', (object) => subjectsOf(object, 'User'), { priority: 1 }),
  column('Groups', (object) => subjectsOf(object, 'Group'), { priority: 1 }),
  column('ServiceAccounts', (object) => subjectsOf(object, 'ServiceAccount'), { priority: 1 }),
];

const serviceAccountColumns: Column[] = [nameColumn, column('Secrets', (object) => objectsOf(object['secrets']).length, { type: 'integer' }), ageColumn];

const endpointsColumns: Column[] = [
  nameColumn,
  column('Endpoints', (object) => {
    const pairs: string[] = [];
    for (const subset of objectsOf(object['subsets'])) {
      const ports = objectsOf(subset['ports']).map((port) => numberAt(port, 'port'));
      for (const address of objectsOf(subset['addresses'])) {
        if (ports.length === 0) pairs.push(text(address, 'ip'));
        for (const port of ports) pairs.push(`${text(address, 'ip')}:${port}`);
      }
    }
    if (pairs.length === 0) return NONE;
    return pairs.length > 3 ? `${pairs.slice(0, 3).join(',')} + ${pairs.length - 3} more...` : pairs.join(',');
  }),
  ageColumn,
];

/** The TARGETS cell: autoscaling/v1 has one metric, CPU utilization (80 % when unset, the default policy). */
function hpaTargets(object: JsonObject): string {
  const spec = objectAt(object, 'spec');
  const status = objectAt(object, 'status');
  const target = typeof spec['targetCPUUtilizationPercentage'] === 'number' ? spec['targetCPUUtilizationPercentage'] : 80;
  const current = typeof status['currentCPUUtilizationPercentage'] === 'number' ? `${status['currentCPUUtilizationPercentage']}%` : '<unknown>';
  return `cpu: ${current}/${target}%`;
}
const horizontalPodAutoscalerColumns: Column[] = [
  nameColumn,
  column('Reference', (object) => `${text(objectAt(object, 'spec', 'scaleTargetRef'), 'kind')}/${text(objectAt(object, 'spec', 'scaleTargetRef'), 'name')}`, {
    description: 'ScaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count.',
  }),
  column('Targets', hpaTargets, { description: 'metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used).' }),
  column('MinPods', (object) => {
    const minimum = objectAt(object, 'spec')['minReplicas'];
    return typeof minimum === 'number' ? String(minimum) : '<unset>';
  }, { description: 'minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down. It defaults to 1 pod.' }),
  column('MaxPods', (object) => numberAt(objectAt(object, 'spec'), 'maxReplicas'), { type: 'integer', description: 'maxReplicas is the upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.' }),
  column('Replicas', (object) => numberAt(objectAt(object, 'status'), 'currentReplicas'), { type: 'integer', description: 'currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler.' }),
  ageColumn,
];

/** Columns by `group/plural` (core group: empty). */
const COLUMNS_BY_RESOURCE: ReadonlyMap<string, readonly Column[]> = new Map([
  ['/pods', podColumns],
  ['apps/deployments', deploymentColumns],
  ['apps/replicasets', replicaSetColumns],
  ['apps/statefulsets', statefulSetColumns],
  ['apps/daemonsets', daemonSetColumns],
  ['/nodes', nodeColumns],
  ['/namespaces', namespaceColumns],
  ['/configmaps', configMapColumns],
  ['/secrets', secretColumns],
  ['/services', serviceColumns],
  ['/events', eventColumns],
  ['events.k8s.io/events', eventColumns],
  ['coordination.k8s.io/leases', leaseColumns],
  ['rbac.authorization.k8s.io/roles', [nameColumn, createdAtColumn]],
  ['rbac.authorization.k8s.io/clusterroles', [nameColumn, createdAtColumn]],
  ['rbac.authorization.k8s.io/rolebindings', bindingColumns],
  ['rbac.authorization.k8s.io/clusterrolebindings', bindingColumns],
  ['/serviceaccounts', serviceAccountColumns],
  ['/endpoints', endpointsColumns],
  ['batch/jobs', jobColumns],
  ['batch/cronjobs', cronJobColumns],
  ['autoscaling/horizontalpodautoscalers', horizontalPodAutoscalerColumns],
  ...POLICY_TABLE_COLUMNS,
]);
const DEFAULT_COLUMNS: readonly Column[] = [nameColumn, ageColumn];

export function columnsFor(definition: ResourceDefinition): readonly Column[] {
  if (definition.printerColumns !== undefined) return customColumns(definition.printerColumns);
  return COLUMNS_BY_RESOURCE.get(`${definition.group}/${definition.plural}`) ?? DEFAULT_COLUMNS;
}

/** A CRD's columns: NAME, its additionalPrinterColumns, then AGE unless it declares one itself. */
function customColumns(printerColumns: readonly PrinterColumn[]): readonly Column[] {
  const declared = printerColumns.map((entry) =>
    column(entry.name, (object, nowMs) => printerCell(entry, valueAtJsonPath(object, entry.jsonPath), nowMs), {
      type: entry.type,
      priority: entry.priority ?? 0,
      format: entry.format ?? '',
      description: entry.description ?? entry.name,
    }),
  );
  const hasAge = printerColumns.some((entry) => entry.name.toUpperCase() === 'AGE');
  return hasAge ? [nameColumn, ...declared] : [nameColumn, ...declared, ageColumn];
}

function printerCell(entry: PrinterColumn, value: unknown, nowMs: number): Cell {
  if (value === undefined || value === null) return '<none>';
  if (entry.type === 'date') return ageOf(value, nowMs);
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectOf(value: string | undefined): IncludeObject {
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function rowOf(definition: ResourceDefinition, columns: readonly Column[], object: JsonObject, options: TableOptions): JsonObject {
  const row: JsonObject = { cells: columns.map((entry) => entry.cell(object, options.nowMs)) };
  const include = includeObjectOf(options.includeObject);
  if (include === 'Object') row['object'] = { kind: definition.kind, apiVersion: apiVersionOf(definition), ...object };
  else if (include === 'Metadata') row['object'] = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: metadata(object) };
  return row;
}

/**
 * The TableConverter: a list (items) becomes a Table with one row per item and the list's
 * resourceVersion/continue; a single object a one-row Table. `withColumns: false` omits the
 * column definitions (watch events after the first).
 */
export function toTable(definition: ResourceDefinition, objectOrList: JsonObject, options: TableOptions): JsonObject {
  const columns = columnsFor(definition);
  const isList = Array.isArray(objectOrList['items']);
  const items = isList ? objectsOf(objectOrList['items']) : [objectOrList];
  const source = metadata(objectOrList);
  const tableMetadata: JsonObject = {};
  for (const field of ['resourceVersion', 'continue', 'remainingItemCount']) if (source[field] !== undefined) tableMetadata[field] = source[field];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: tableMetadata,
    ...(options.withColumns === false ? {} : { columnDefinitions: columns.map((entry) => entry.definition) }),
    rows: items.map((item) => rowOf(definition, columns, item, options)),
  };
}
