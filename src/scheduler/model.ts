// The scheduler's view of pods and nodes: the fields its plugins read, parsed once from the API
// objects (PodInfo, NodeInfo), and the snapshot a scheduling cycle runs over. Pure; no I/O.

import { addResources, isTerminal, nodeAllocatable, NO_RESOURCES, podRequests, subtractResources, type Resources } from './resources.js';

export type Json = { readonly [field: string]: unknown };

export interface Taint {
  readonly key: string;
  readonly value: string;
  readonly effect: string;
}

export interface PodInfo {
  /** namespace/name */
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  /** '' while unscheduled. */
  readonly nodeName: string;
  readonly requests: Resources;
  readonly priority: number;
  readonly creationTimestamp: string;
  readonly schedulerName: string;
  readonly spec: Json;
  readonly terminal: boolean;
  readonly deleting: boolean;
  /** The API object this was parsed from. */
  readonly object: Json;
}

export interface NodeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  readonly unschedulable: boolean;
  readonly allocatable: Resources;
  /** Summed requests of the pods counted on this node (bound, assumed, not terminal). */
  requested: Resources;
  /** The pods counted on this node, by key. */
  readonly pods: Map<string, PodInfo>;
  readonly object: Json;
}

/** What one scheduling cycle sees: every node with its pods, in a stable order (by name). */
export interface Snapshot {
  readonly nodes: readonly NodeInfo[];
  readonly byName: ReadonlyMap<string, NodeInfo>;
  /** Counted pods that carry required pod anti-affinity terms (InterPodAffinity checks them for symmetry). */
  readonly podsWithAntiAffinity: ReadonlyMap<string, PodInfo>;
}

export function objectField(value: unknown, field: string): Json | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const child = (value as Json)[field];
  return typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as Json) : undefined;
}

export function arrayField(value: unknown, field: string): Json[] {
  if (typeof value !== 'object' || value === null) return [];
  const child = (value as Json)[field];
  return Array.isArray(child) ? child.filter((item): item is Json => typeof item === 'object' && item !== null) : [];
}

export function stringField(value: unknown, field: string): string {
  if (typeof value !== 'object' || value === null) return '';
  const child = (value as Json)[field];
  return typeof child === 'string' ? child : '';
}

function stringMap(value: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (value === undefined) return out;
  for (const [key, item] of Object.entries(value)) if (typeof item === 'string') out[key] = item;
  return out;
}

export function podKeyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** Parses a pod; a malformed quantity makes its requests throw QuantityError (the caller decides). */
export function toPodInfo(pod: Json): PodInfo {
  const metadata = objectField(pod, 'metadata');
  const spec = objectField(pod, 'spec') ?? {};
  const namespace = stringField(metadata, 'namespace') || 'default';
  const name = stringField(metadata, 'name');
  const priority = spec['priority'];
  return {
    key: podKeyOf(namespace, name),
    namespace,
    name,
    uid: stringField(metadata, 'uid'),
    labels: stringMap(objectField(metadata, 'labels')),
    nodeName: stringField(spec, 'nodeName'),
    requests: podRequests(pod),
    priority: typeof priority === 'number' ? priority : 0,
    creationTimestamp: stringField(metadata, 'creationTimestamp'),
    schedulerName: stringField(spec, 'schedulerName') || 'default-scheduler',
    spec,
    terminal: isTerminal(pod),
    deleting: metadata?.['deletionTimestamp'] !== undefined,
    object: pod,
  };
}

export function toNodeInfo(node: Json): NodeInfo {
  const metadata = objectField(node, 'metadata');
  const spec = objectField(node, 'spec');
  return {
    name: stringField(metadata, 'name'),
    labels: stringMap(objectField(metadata, 'labels')),
    taints: arrayField(spec, 'taints').map((taint) => ({ key: stringField(taint, 'key'), value: stringField(taint, 'value'), effect: stringField(taint, 'effect') })),
    unschedulable: spec?.['unschedulable'] === true,
    allocatable: nodeAllocatable(node),
    requested: NO_RESOURCES,
    pods: new Map(),
    object: node,
  };
}

export function addPodToNode(node: NodeInfo, pod: PodInfo): void {
  const previous = node.pods.get(pod.key);
  if (previous !== undefined) node.requested = subtractResources(node.requested, previous.requests);
  node.pods.set(pod.key, pod);
  node.requested = addResources(node.requested, pod.requests);
}

export function removePodFromNode(node: NodeInfo, key: string): void {
  const previous = node.pods.get(key);
  if (previous === undefined) return;
  node.pods.delete(key);
  node.requested = subtractResources(node.requested, previous.requests);
}

export function requiredAntiAffinityTerms(pod: PodInfo): Json[] {
  return arrayField(objectField(objectField(pod.spec, 'affinity'), 'podAntiAffinity'), 'requiredDuringSchedulingIgnoredDuringExecution');
}

/** Builds a snapshot from plain nodes and pods (tests; a shard keeps one up to date in its cache). */
export function buildSnapshot(nodes: readonly Json[], pods: readonly Json[]): Snapshot {
  const infos = nodes.map(toNodeInfo).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const byName = new Map(infos.map((info) => [info.name, info]));
  const podsWithAntiAffinity = new Map<string, PodInfo>();
  for (const pod of pods) {
    const info = toPodInfo(pod);
    if (info.nodeName === '' || info.terminal) continue;
    const node = byName.get(info.nodeName);
    if (node === undefined) continue;
    addPodToNode(node, info);
    if (requiredAntiAffinityTerms(info).length > 0) podsWithAntiAffinity.set(info.key, info);
  }
  return { nodes: infos, byName, podsWithAntiAffinity };
}
