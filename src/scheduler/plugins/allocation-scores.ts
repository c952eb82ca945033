// LeastAllocated and BalancedAllocation (score): prefer nodes with the most room left, and nodes whose
// cpu and memory would be used in equal shares. A pod that requests nothing counts as kube-scheduler's
// non-zero defaults (100m cpu, 200Mi memory) so that empty pods still spread.

import { MAX_NODE_SCORE, type Plugin } from '../framework.js';
import type { NodeInfo, PodInfo } from '../model.js';

export const DEFAULT_CPU_REQUEST_MILLIS = 100;
export const DEFAULT_MEMORY_REQUEST_BYTES = 200 * 1024 * 1024;

/** Used share (0..1, capped) of cpu and memory on the node if the pod were added. */
function shares(pod: PodInfo, node: NodeInfo): { cpu: number; memory: number } {
  const cpu = pod.requests.cpuMillis === 0 ? DEFAULT_CPU_REQUEST_MILLIS : pod.requests.cpuMillis;
  const memory = pod.requests.memoryBytes === 0 ? DEFAULT_MEMORY_REQUEST_BYTES : pod.requests.memoryBytes;
  const share = (requested: number, allocatable: number): number => (allocatable === Number.POSITIVE_INFINITY ? 0 : allocatable <= 0 ? 1 : Math.min(1, requested / allocatable));
  return { cpu: share(node.requested.cpuMillis + cpu, node.allocatable.cpuMillis), memory: share(node.requested.memoryBytes + memory, node.allocatable.memoryBytes) };
}

export const leastAllocated: Plugin = {
  name: 'LeastAllocated',
  score(_state, pod, node) {
    const { cpu, memory } = shares(pod, node);
    return Math.floor((((1 - cpu) + (1 - memory)) / 2) * MAX_NODE_SCORE);
  },
};

export const balancedAllocation: Plugin = {
  name: 'BalancedAllocation',
  score(_state, pod, node) {
    const { cpu, memory } = shares(pod, node);
    const deviation = Math.abs(cpu - memory) / 2; // standard deviation of two values
    return Math.floor((1 - deviation) * MAX_NODE_SCORE);
  },
};
