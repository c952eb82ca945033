// Table columns (`kubectl get`) for the policy-like kinds: PodDisruptionBudgets, PriorityClasses,
// ResourceQuotas, Ingresses and IngressClasses, with Kubernetes' printers' columns and cells
// (pkg/printers/internalversion). tables.ts merges these into its per-kind map; import this module
// only through tables.ts (it uses tables.ts's humanDuration, and tables.ts reads its list at load).

import { isObject, objectsOf, stringField, type JsonObject } from './registry/types.js';
import type { TableColumn } from './tables.js';
import { humanDuration } from './tables.js';

type Cell = string | number | boolean;

function column(name: string, cell: (object: JsonObject, nowMs: number) => Cell, type: 'string' | 'integer' | 'boolean' = 'string', description = name): TableColumn {
  return { definition: { name, type, format: name === 'Name' ? 'name' : '', description, priority: 0 }, cell };
}

function objectAt(object: unknown, ...path: string[]): JsonObject {
  let current: unknown = object;
  for (const field of path) current = isObject(current) ? current[field] : undefined;
  return isObject(current) ? current : {};
}

const nameColumn = column('Name', (object) => stringField(objectAt(object, 'metadata'), 'name') ?? '', 'string', 'Name must be unique within a namespace.');
const ageColumn = column('Age', (object, nowMs) => {
  const created = objectAt(object, 'metadata')['creationTimestamp'];
  const at = typeof created === 'string' ? Date.parse(created) : Number.NaN;
  return Number.isNaN(at) ? '<unknown>' : humanDuration(nowMs - at);
}, 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.');

function intOrStringCell(value: unknown): string {
  return typeof value === 'number' || typeof value === 'string' ? String(value) : 'N/A';
}

const podDisruptionBudgetColumns: TableColumn[] = [
  nameColumn,
  column('Min Available', (object) => intOrStringCell(objectAt(object, 'spec')['minAvailable']), 'string', 'The minimum number of pods that must be available.'),
  column('Max Unavailable', (object) => intOrStringCell(objectAt(object, 'spec')['maxUnavailable']), 'string', 'The maximum number of pods that may be unavailable.'),
  column('Allowed Disruptions', (object) => {
    const allowed = objectAt(object, 'status')['disruptionsAllowed'];
    return typeof allowed === 'number' ? allowed : 0;
  }, 'integer', 'Calculated number of pods that may be disrupted at this time.'),
  ageColumn,
];

const priorityClassColumns: TableColumn[] = [
  nameColumn,
  column('Value', (object) => (typeof object['value'] === 'number' ? object['value'] : 0), 'integer', 'The value of this priority class.'),
  column('Global-Default', (object) => object['globalDefault'] === true, 'boolean', 'globalDefault specifies whether this PriorityClass should be considered as the default priority.'),
  ageColumn,
  column('PreemptionPolicy', (object) => stringField(object, 'preemptionPolicy') ?? 'PreemptLowerPriority', 'string', 'PreemptionPolicy is the Policy for preempting pods with lower priority.'),
];

/** "resource: used/hard" pairs; requests and plain resources in REQUEST, `limits*` in LIMIT (sorted by name). */
function quotaPairs(quota: JsonObject, limits: boolean): string {
  const status = objectAt(quota, 'status');
  const hard = Object.keys(objectAt(status, 'hard')).length > 0 ? objectAt(status, 'hard') : objectAt(quota, 'spec', 'hard');
  const used = objectAt(status, 'used');
  return Object.keys(hard)
    .sort()
    .filter((resource) => resource.startsWith('limits') === limits)
    .map((resource) => `${resource}: ${String(used[resource] ?? '0')}/${String(hard[resource])}`)
    .join(', ');
}

const resourceQuotaColumns: TableColumn[] = [
  nameColumn,
  ageColumn,
  column('Request', (object) => quotaPairs(object, false), 'string', 'Request represents a minimum amount of cpu/memory that a container may consume.'),
  column('Limit', (object) => quotaPairs(object, true), 'string', 'Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.'),
];

function ingressHosts(ingress: JsonObject): string {
  const hosts = objectsOf(objectAt(ingress, 'spec')['rules'])
    .map((rule) => stringField(rule, 'host') ?? '')
    .filter((host) => host !== '');
  if (hosts.length === 0) return '*';
  return hosts.length > 3 ? `${hosts.slice(0, 3).join(',')} + ${hosts.length - 3} more...` : hosts.join(',');
}

function loadBalancerAddresses(ingress: JsonObject): string {
  return objectsOf(objectAt(ingress, 'status', 'loadBalancer')['ingress'])
    .map((entry) => stringField(entry, 'ip') ?? stringField(entry, 'hostname') ?? '')
    .filter((address) => address !== '')
    .join(',');
}

const ingressColumns: TableColumn[] = [
  nameColumn,
  column('Class', (object) => stringField(objectAt(object, 'spec'), 'ingressClassName') ?? '<none>', 'string', 'The name of the IngressClass resource that should be used for this Ingress.'),
  column('Hosts', ingressHosts, 'string', 'Hosts that incoming requests are matched against before the ingress rule'),
  column('Address', loadBalancerAddresses, 'string', 'Address is a list containing ingress points for the load-balancer'),
  column('Ports', (object) => (objectsOf(objectAt(object, 'spec')['tls']).length > 0 ? '80, 443' : '80'), 'string', 'Ports of TLS configurations that open'),
  ageColumn,
];

const ingressClassColumns: TableColumn[] = [
  nameColumn,
  column('Controller', (object) => stringField(objectAt(object, 'spec'), 'controller') ?? '', 'string', 'Controller that is responsible for handling this class'),
  column('Parameters', (object) => {
    const parameters = objectAt(object, 'spec', 'parameters');
    const kind = stringField(parameters, 'kind');
    if (kind === undefined) return '<none>';
    const group = stringField(parameters, 'apiGroup');
    return `${kind}${group === undefined ? '' : `.${group}`}/${stringField(parameters, 'name') ?? ''}`;
  }, 'string', 'A reference to a resource with additional parameters'),
  ageColumn,
];

/** Columns by `group/plural`, merged into tables.ts's map. */
export const POLICY_TABLE_COLUMNS: ReadonlyArray<readonly [string, readonly TableColumn[]]> = [
  ['policy/poddisruptionbudgets', podDisruptionBudgetColumns],
  ['scheduling.k8s.io/priorityclasses', priorityClassColumns],
  ['/resourcequotas', resourceQuotaColumns],
  ['networking.k8s.io/ingresses', ingressColumns],
  ['networking.k8s.io/ingressclasses', ingressClassColumns],
];
