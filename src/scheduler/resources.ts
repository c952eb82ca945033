// What a pod requests and what a node can give, in whole millicores, bytes and pod slots. One rule
// for the scheduler's NodeResourcesFit and for the binding's allocation check (src/api/handlers/
// binding.ts), so the two never disagree on whether a pod fits. Pure.

import { parseMillis, parseUnits, quantityText } from './quantity.js';

export interface Resources {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  readonly pods: number;
}

export const NO_RESOURCES: Resources = { cpuMillis: 0, memoryBytes: 0, pods: 0 };
/** A node that declares no allocatable amount of a resource is not limited in it. */
export const UNLIMITED = Number.POSITIVE_INFINITY;

type Json = { readonly [field: string]: unknown };

function objectAt(value: unknown, field: string): Json | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const child = (value as Json)[field];
  return typeof child === 'object' && child !== null && !Array.isArray(child) ? (child as Json) : undefined;
}

function containersOf(spec: Json | undefined, field: string): Json[] {
  const list = spec?.[field];
  return Array.isArray(list) ? list.filter((item): item is Json => typeof item === 'object' && item !== null) : [];
}

/** A container's request for one resource: requests, else limits (Kubernetes defaults one to the other). */
function containerRequest(container: Json, resource: 'cpu' | 'memory'): number {
  const resources = objectAt(container, 'resources');
  const text = quantityText(objectAt(resources, 'requests')?.[resource]) ?? quantityText(objectAt(resources, 'limits')?.[resource]);
  if (text === undefined) return 0;
  return resource === 'cpu' ? parseMillis(text) : parseUnits(text);
}

/**
 * The pod's effective request (as kube-scheduler computes it): the sum over its containers, or the
 * largest init container if that is more, plus spec.overhead; one pod slot. Throws QuantityError on a
 * malformed quantity.
 */
export function podRequests(pod: Json): Resources {
  const spec = objectAt(pod, 'spec');
  const total = { cpuMillis: 0, memoryBytes: 0 };
  for (const container of containersOf(spec, 'containers')) {
    total.cpuMillis += containerRequest(container, 'cpu');
    total.memoryBytes += containerRequest(container, 'memory');
  }
  for (const container of containersOf(spec, 'initContainers')) {
    total.cpuMillis = Math.max(total.cpuMillis, containerRequest(container, 'cpu'));
    total.memoryBytes = Math.max(total.memoryBytes, containerRequest(container, 'memory'));
  }
  const overhead = objectAt(spec, 'overhead');
  const overheadCpu = quantityText(overhead?.['cpu']);
  const overheadMemory = quantityText(overhead?.['memory']);
  if (overheadCpu !== undefined) total.cpuMillis += parseMillis(overheadCpu);
  if (overheadMemory !== undefined) total.memoryBytes += parseUnits(overheadMemory);
  return { ...total, pods: 1 };
}

/** status.allocatable, else status.capacity; a resource neither names is UNLIMITED. */
export function nodeAllocatable(node: Json): Resources {
  const status = objectAt(node, 'status');
  const allocatable = objectAt(status, 'allocatable') ?? objectAt(status, 'capacity') ?? {};
  const read = (resource: string, parse: (text: string) => number): number => {
    const text = quantityText(allocatable[resource]);
    return text === undefined ? UNLIMITED : parse(text);
  };
  return { cpuMillis: read('cpu', parseMillis), memoryBytes: read('memory', parseUnits), pods: read('pods', parseUnits) };
}

export function addResources(a: Resources, b: Resources): Resources {
  return { cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes, pods: a.pods + b.pods };
}

export function subtractResources(a: Resources, b: Resources): Resources {
  return { cpuMillis: a.cpuMillis - b.cpuMillis, memoryBytes: a.memoryBytes - b.memoryBytes, pods: a.pods - b.pods };
}

/**
 * kube-scheduler's reasons why `request` does not fit beside `committed` within `allocatable`:
 * "Too many pods", "Insufficient cpu", "Insufficient memory" (empty when it fits). A zero request of
 * a resource never fails on it.
 */
export function insufficientResources(request: Resources, committed: Resources, allocatable: Resources): string[] {
  const reasons: string[] = [];
  if (committed.pods + request.pods > allocatable.pods) reasons.push('Too many pods');
  if (request.cpuMillis > 0 && committed.cpuMillis + request.cpuMillis > allocatable.cpuMillis) reasons.push('Insufficient cpu');
  if (request.memoryBytes > 0 && committed.memoryBytes + request.memoryBytes > allocatable.memoryBytes) reasons.push('Insufficient memory');
  return reasons;
}

/** A pod that has finished (Succeeded or Failed) holds no resources any more. */
export function isTerminal(pod: Json): boolean {
  const phase = objectAt(pod, 'status')?.['phase'];
  return phase === 'Succeeded' || phase === 'Failed';
}
