// NodeAffinity (filter and score): spec.nodeSelector and required node affinity must both match
// ("node(s) didn't match Pod's node affinity/selector"); preferred terms add their weights to the
// node's score, normalised to 0..100.

import { normaliseToMax, type Plugin } from '../framework.js';
import { arrayField, objectField, type NodeInfo, type PodInfo } from '../model.js';
import { matchesNodeSelector, matchesNodeSelectorTerm } from '../selectors.js';

/** nodeSelector and requiredDuringSchedulingIgnoredDuringExecution; also used by PodTopologySpread. */
export function matchesRequiredNodeAffinity(pod: PodInfo, node: NodeInfo): boolean {
  const nodeSelector = objectField(pod.spec, 'nodeSelector');
  if (nodeSelector !== undefined) {
    for (const [key, value] of Object.entries(nodeSelector)) if (node.labels[key] !== value) return false;
  }
  const required = objectField(objectField(objectField(pod.spec, 'affinity'), 'nodeAffinity'), 'requiredDuringSchedulingIgnoredDuringExecution');
  return required === undefined || matchesNodeSelector(required, node.name, node.labels);
}

function preferredTermsOf(pod: PodInfo): unknown[] {
  return arrayField(objectField(objectField(pod.spec, 'affinity'), 'nodeAffinity'), 'preferredDuringSchedulingIgnoredDuringExecution');
}

export const nodeAffinity: Plugin = {
  name: 'NodeAffinity',
  filter(_state, pod, node) {
    return matchesRequiredNodeAffinity(pod, node) ? undefined : { plugin: 'NodeAffinity', reasons: ["node(s) didn't match Pod's node affinity/selector"] };
  },
  preScore(_state, pod) {
    return preferredTermsOf(pod).length === 0 ? 'skip' : undefined;
  },
  score(_state, pod, node) {
    const preferred = arrayField(objectField(objectField(pod.spec, 'affinity'), 'nodeAffinity'), 'preferredDuringSchedulingIgnoredDuringExecution');
    let total = 0;
    for (const term of preferred) {
      const weight = term['weight'];
      const preference = objectField(term, 'preference');
      if (typeof weight === 'number' && preference !== undefined && matchesNodeSelectorTerm(preference, node.name, node.labels)) total += weight;
    }
    return total;
  },
  normaliseScores(_state, _pod, scores) {
    normaliseToMax(scores, false);
  },
};
