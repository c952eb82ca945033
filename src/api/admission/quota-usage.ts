// What an object counts against a ResourceQuota, and quota arithmetic: Kubernetes' quota evaluators
// in small. Every object counts 1 of `count/<plural>[.<group>]`; pods, services, configmaps,
// secrets, persistentvolumeclaims, resourcequotas and replicationcontrollers also count under
// their plain name; a pod adds its compute requests and limits (requests.cpu, requests.memory,
// limits.cpu, limits.memory, and cpu/memory for the requests: the sum over its containers or the
// largest init container, whichever is more); a service adds services.loadbalancers and
// services.nodeports. Scopes (BestEffort, NotBestEffort, Terminating, NotTerminating, PriorityClass)
// restrict a quota to the pods they match. Amounts are held in thousandths (millis). Pure: used by
// the quota admission and the quota controller alike.

import { parseMillis, formatBytes, formatMillis, quantityText } from '../../scheduler/quantity.js';
import { isObject, objectsOf, type JsonObject } from '../registry/types.js';

export type Usage = Map<string, number>;

/** Kinds also counted under their plain resource name (Kubernetes' legacy object-count names). */
const PLAIN_COUNT_RESOURCES = new Set(['pods', 'services', 'configmaps', 'secrets', 'persistentvolumeclaims', 'resourcequotas', 'replicationcontrollers']);
const COMPUTE = ['cpu', 'memory', 'ephemeral-storage'] as const;
/** Quota resources only pods carry: a scoped quota tracks these alone. */
const POD_RESOURCES = new Set(['pods', 'count/pods', 'cpu', 'memory', 'ephemeral-storage', ...COMPUTE.flatMap((name) => [`requests.${name}`, `limits.${name}`])]);

export function countResourceName(group: string, plural: string): string {
  return group === '' ? `count/${plural}` : `count/${plural}.${group}`;
}

function add(usage: Usage, resource: string, millis: number): void {
  usage.set(resource, (usage.get(resource) ?? 0) + millis);
}

function quantityMillis(value: unknown): number | undefined {
  const text = quantityText(value);
  if (text === undefined) return undefined;
  try {
    return parseMillis(text);
  } catch {
    return undefined;
  }
}

/** One container's requests or limits, by compute resource. */
function containerAmounts(container: JsonObject, field: 'requests' | 'limits'): Map<string, number> {
  const resources = isObject(container['resources']) ? container['resources'] : {};
  const amounts = isObject(resources[field]) ? resources[field] : {};
  const out = new Map<string, number>();
  for (const name of COMPUTE) {
    const millis = quantityMillis(amounts[name]);
    if (millis !== undefined) out.set(name, millis);
  }
  // A limit without a request defaults the request to the limit (as API defaulting does).
  if (field === 'requests') for (const [name, millis] of containerAmounts(container, 'limits')) if (!out.has(name)) out.set(name, millis);
  return out;
}

/** The pod's effective amount per compute resource: max(sum of containers, largest init container). */
function podAmounts(pod: JsonObject, field: 'requests' | 'limits'): Map<string, number> {
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  const total = new Map<string, number>();
  for (const container of objectsOf(spec['containers'])) for (const [name, millis] of containerAmounts(container, field)) total.set(name, (total.get(name) ?? 0) + millis);
  for (const container of objectsOf(spec['initContainers'])) for (const [name, millis] of containerAmounts(container, field)) total.set(name, Math.max(total.get(name) ?? 0, millis));
  return total;
}

export function isBestEffort(pod: JsonObject): boolean {
  return podAmounts(pod, 'requests').size === 0 && podAmounts(pod, 'limits').size === 0;
}

/** Whether a pod still counts: not finished, and not past the end of its deletion grace period. */
export function podCountsAgainstQuota(pod: JsonObject, nowMs: number): boolean {
  const status = isObject(pod['status']) ? pod['status'] : {};
  if (status['phase'] === 'Succeeded' || status['phase'] === 'Failed') return false;
  const metadata = isObject(pod['metadata']) ? pod['metadata'] : {};
  const deletion = typeof metadata['deletionTimestamp'] === 'string' ? Date.parse(metadata['deletionTimestamp']) : Number.NaN;
  return Number.isNaN(deletion) || deletion > nowMs;
}

/** What creating `object` (of group/plural) adds to a quota's usage. */
export function usageOf(group: string, plural: string, object: JsonObject): Usage {
  const usage: Usage = new Map();
  add(usage, countResourceName(group, plural), 1000);
  if (group === '' && PLAIN_COUNT_RESOURCES.has(plural)) add(usage, plural, 1000);
  if (group === '' && plural === 'pods') {
    for (const [name, millis] of podAmounts(object, 'requests')) {
      add(usage, `requests.${name}`, millis);
      add(usage, name, millis);
    }
    for (const [name, millis] of podAmounts(object, 'limits')) add(usage, `limits.${name}`, millis);
  }
  if (group === '' && plural === 'services') {
    const spec = isObject(object['spec']) ? object['spec'] : {};
    const type = spec['type'];
    if (type === 'LoadBalancer') add(usage, 'services.loadbalancers', 1000);
    if (type === 'LoadBalancer' || type === 'NodePort') add(usage, 'services.nodeports', objectsOf(spec['ports']).length * 1000);
  }
  return usage;
}

interface ScopeRequirement {
  readonly scopeName: string;
  readonly operator: string;
  readonly values: readonly string[];
}

function scopeRequirements(quota: JsonObject): ScopeRequirement[] {
  const spec = isObject(quota['spec']) ? quota['spec'] : {};
  const out: ScopeRequirement[] = (Array.isArray(spec['scopes']) ? spec['scopes'] : []).map((scope) => ({ scopeName: String(scope), operator: 'Exists', values: [] }));
  const selector = isObject(spec['scopeSelector']) ? spec['scopeSelector'] : {};
  for (const expression of objectsOf(selector['matchExpressions'])) {
    out.push({ scopeName: String(expression['scopeName']), operator: String(expression['operator']), values: Array.isArray(expression['values']) ? expression['values'].map(String) : [] });
  }
  return out;
}

function podMatchesScope(pod: JsonObject, requirement: ScopeRequirement): boolean {
  const spec = isObject(pod['spec']) ? pod['spec'] : {};
  switch (requirement.scopeName) {
    case 'BestEffort':
      return isBestEffort(pod);
    case 'NotBestEffort':
      return !isBestEffort(pod);
    case 'Terminating':
      return typeof spec['activeDeadlineSeconds'] === 'number';
    case 'NotTerminating':
      return typeof spec['activeDeadlineSeconds'] !== 'number';
    case 'PriorityClass': {
      const name = typeof spec['priorityClassName'] === 'string' ? spec['priorityClassName'] : '';
      if (requirement.operator === 'Exists') return name !== '';
      if (requirement.operator === 'DoesNotExist') return name === '';
      if (requirement.operator === 'In') return requirement.values.includes(name);
      return !requirement.values.includes(name);
    }
    default:
      return false; // CrossNamespacePodAffinity: kplane pods never use namespaceSelector terms
  }
}

/**
 * The usage `object` brings to `quota`: all of it for an unscoped quota, the pod resources of a pod
 * that matches every scope of a scoped one, nothing otherwise.
 */
export function usageForQuota(quota: JsonObject, group: string, plural: string, object: JsonObject): Usage {
  const usage = usageOf(group, plural, object);
  const requirements = scopeRequirements(quota);
  if (requirements.length === 0) return usage;
  if (group !== '' || plural !== 'pods' || !requirements.every((requirement) => podMatchesScope(object, requirement))) return new Map();
  return new Map([...usage].filter(([resource]) => POD_RESOURCES.has(resource)));
}

/** A quota map (spec.hard, status.used) in millis; unparsable entries are left out. */
export function quotaAmounts(map: unknown): Usage {
  const out: Usage = new Map();
  if (!isObject(map)) return out;
  for (const [resource, value] of Object.entries(map)) {
    const millis = quantityMillis(value);
    if (millis !== undefined) out.set(resource, millis);
  }
  return out;
}

/** Millis back to a quantity: bytes-like resources with a binary suffix, others as cpu is written. */
export function formatAmount(resource: string, millis: number): string {
  if (/memory|storage/.test(resource)) return formatBytes(Math.ceil(millis / 1000));
  return formatMillis(millis);
}

export function formatUsage(usage: Usage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const resource of [...usage.keys()].sort()) out[resource] = formatAmount(resource, usage.get(resource) ?? 0);
  return out;
}

/** Kubernetes' prettyPrint of a resource list: "pods=1,requests.cpu=500m" (sorted). */
export function prettyUsage(usage: Usage): string {
  return [...usage.keys()]
    .sort()
    .map((resource) => `${resource}=${formatAmount(resource, usage.get(resource) ?? 0)}`)
    .join(',');
}

/** Resources a quota limits that a pod must declare (a hard requests.cpu needs every pod to request cpu). */
export function missingDeclarations(hard: Usage, group: string, plural: string, object: JsonObject): string[] {
  if (group !== '' || plural !== 'pods') return [];
  const requests = podAmounts(object, 'requests');
  const limits = podAmounts(object, 'limits');
  const missing: string[] = [];
  for (const resource of hard.keys()) {
    const [kind, name] = resource.includes('.') ? (resource.split('.', 2) as [string, string]) : ['requests', resource];
    if (!COMPUTE.some((compute) => compute === name)) continue;
    if (kind === 'requests' && !requests.has(name)) missing.push(resource);
    if (kind === 'limits' && !limits.has(name)) missing.push(resource);
  }
  return missing.sort();
}
