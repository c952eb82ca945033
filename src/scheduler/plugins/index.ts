// The plugin registry and profiles: which plugins run, in which order, with which score weights.
// `buildProfile` takes the config's `scheduler.profile` (plugins on/off by name, weights by name);
// unknown names are refused with a message naming them.

import type { Plugin, Profile } from '../framework.js';
import { balancedAllocation, leastAllocated } from './allocation-scores.js';
import { interPodAffinity } from './inter-pod-affinity.js';
import { nodeAffinity } from './node-affinity.js';
import { nodeName } from './node-name.js';
import { nodeResourcesFit } from './node-resources-fit.js';
import { nodeUnschedulable } from './node-unschedulable.js';
import { podTopologySpread } from './pod-topology-spread.js';
import { prioritySort } from './queue-sort.js';
import { taintToleration } from './taint-toleration.js';

/** Every plugin, in the order filters run (cheap and decisive first, as kube-scheduler). */
export const ALL_PLUGINS: readonly Plugin[] = [
  prioritySort,
  nodeUnschedulable,
  nodeName,
  taintToleration,
  nodeAffinity,
  nodeResourcesFit,
  podTopologySpread,
  interPodAffinity,
  leastAllocated,
  balancedAllocation,
];

/** kube-scheduler's default score weights. */
export const DEFAULT_WEIGHTS: Readonly<Record<string, number>> = {
  LeastAllocated: 1,
  BalancedAllocation: 1,
  NodeAffinity: 2,
  TaintToleration: 3,
  PodTopologySpread: 2,
  InterPodAffinity: 2,
};

export interface ProfileConfig {
  readonly plugins?: Readonly<Record<string, boolean>>;
  readonly weights?: Readonly<Record<string, number>>;
}

export function buildProfile(config: ProfileConfig = {}): Profile {
  const known = new Set(ALL_PLUGINS.map((plugin) => plugin.name));
  for (const name of [...Object.keys(config.plugins ?? {}), ...Object.keys(config.weights ?? {})]) {
    if (!known.has(name)) throw new RangeError(`scheduler.profile: unknown plugin ${JSON.stringify(name)} (known: ${[...known].join(', ')})`);
  }
  const plugins = ALL_PLUGINS.filter((plugin) => config.plugins?.[plugin.name] !== false);
  return { plugins, weights: { ...DEFAULT_WEIGHTS, ...config.weights } };
}
