// PodTopologySpread: hard constraints (whenUnsatisfiable DoNotSchedule) filter nodes whose domain
// would exceed maxSkew over the least-loaded eligible domain ("node(s) didn't match pod topology
// spread constraints", or "(missing required label)" for a node without the topology key); soft
// constraints (ScheduleAnyway) score domains with fewer matching pods higher. Eligible nodes are
// those that pass the pod's node selector and required node affinity (nodeAffinityPolicy Honor).

import { normaliseToMax, type CycleState, type Plugin } from '../framework.js';
import { arrayField, objectField, stringField, type Json, type NodeInfo, type PodInfo, type Snapshot } from '../model.js';
import { matchesLabelSelector } from '../selectors.js';
import { matchesRequiredNodeAffinity } from './node-affinity.js';

const STATE_KEY = 'PodTopologySpread';

interface Constraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly hard: boolean;
  readonly selector: Json | undefined;
  readonly minDomains: number;
  /** Matching pods per domain value, over eligible nodes (every eligible domain present, maybe 0). */
  readonly counts: Map<string, number>;
  readonly selfMatch: number;
}

function constraintsOf(pod: PodInfo): Json[] {
  return arrayField(pod.spec, 'topologySpreadConstraints');
}

function prepare(pod: PodInfo, snapshot: Snapshot): Constraint[] {
  const constraints = constraintsOf(pod).map((raw): Constraint => {
    const maxSkew = raw['maxSkew'];
    const minDomains = raw['minDomains'];
    const selector = objectField(raw, 'labelSelector');
    return {
      maxSkew: typeof maxSkew === 'number' && maxSkew > 0 ? maxSkew : 1,
      topologyKey: stringField(raw, 'topologyKey'),
      hard: stringField(raw, 'whenUnsatisfiable') !== 'ScheduleAnyway',
      selector,
      minDomains: typeof minDomains === 'number' && minDomains > 0 ? minDomains : 1,
      counts: new Map(),
      selfMatch: matchesLabelSelector(selector, pod.labels) ? 1 : 0,
    };
  });
  if (constraints.length === 0) return constraints;
  for (const node of snapshot.nodes) {
    if (!matchesRequiredNodeAffinity(pod, node)) continue;
    if (constraints.some((constraint) => node.labels[constraint.topologyKey] === undefined)) continue;
    for (const constraint of constraints) {
      const value = node.labels[constraint.topologyKey] ?? '';
      let count = constraint.counts.get(value) ?? 0;
      for (const existing of node.pods.values()) {
        if (existing.namespace === pod.namespace && existing.key !== pod.key && !existing.deleting && matchesLabelSelector(constraint.selector, existing.labels)) count++;
      }
      constraint.counts.set(value, count);
    }
  }
  return constraints;
}

function minimumCount(constraint: Constraint): number {
  if (constraint.counts.size < constraint.minDomains) return 0;
  let minimum = Number.POSITIVE_INFINITY;
  for (const count of constraint.counts.values()) minimum = Math.min(minimum, count);
  return minimum === Number.POSITIVE_INFINITY ? 0 : minimum;
}

export const podTopologySpread: Plugin = {
  name: 'PodTopologySpread',
  preFilter(state: CycleState, pod, snapshot) {
    state.set(STATE_KEY, prepare(pod, snapshot));
    return undefined;
  },
  filter(state, _pod, node: NodeInfo) {
    const constraints = state.get<Constraint[]>(STATE_KEY) ?? [];
    for (const constraint of constraints) {
      if (!constraint.hard) continue;
      const value = node.labels[constraint.topologyKey];
      if (value === undefined) return { plugin: 'PodTopologySpread', reasons: ["node(s) didn't match pod topology spread constraints (missing required label)"] };
      const skew = (constraint.counts.get(value) ?? 0) + constraint.selfMatch - minimumCount(constraint);
      if (skew > constraint.maxSkew) return { plugin: 'PodTopologySpread', reasons: ["node(s) didn't match pod topology spread constraints"] };
    }
    return undefined;
  },
  preScore(state) {
    return (state.get<Constraint[]>(STATE_KEY) ?? []).some((constraint) => !constraint.hard) ? undefined : 'skip';
  },
  score(state, _pod, node) {
    const constraints = state.get<Constraint[]>(STATE_KEY) ?? [];
    let total = 0;
    for (const constraint of constraints) {
      if (constraint.hard) continue;
      const value = node.labels[constraint.topologyKey];
      total += value === undefined ? 0 : (constraint.counts.get(value) ?? 0);
    }
    return total;
  },
  normaliseScores(_state, _pod, scores) {
    normaliseToMax(scores, true);
  },
};
