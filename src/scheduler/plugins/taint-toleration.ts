// TaintToleration: filter out nodes with a NoSchedule/NoExecute taint the pod does not tolerate
// ("node(s) had untolerated taint {key: value}"); score nodes by how few PreferNoSchedule taints the
// pod does not tolerate.

import { normaliseToMax, type Plugin } from '../framework.js';
import { arrayField, stringField, type Json, type PodInfo, type Taint } from '../model.js';

export interface Toleration {
  readonly key: string;
  readonly operator: string;
  readonly value: string;
  readonly effect: string;
}

/** Parsed once per pod (a cycle asks for every node it examines). */
const parsed = new WeakMap<PodInfo, Toleration[]>();

export function tolerationsOf(pod: PodInfo): Toleration[] {
  const known = parsed.get(pod);
  if (known !== undefined) return known;
  const tolerations = arrayField(pod.spec, 'tolerations').map((toleration: Json) => ({
    key: stringField(toleration, 'key'),
    operator: stringField(toleration, 'operator') || 'Equal',
    value: stringField(toleration, 'value'),
    effect: stringField(toleration, 'effect'),
  }));
  parsed.set(pod, tolerations);
  return tolerations;
}

/** Kubernetes' rule: an empty effect matches every effect; Exists with an empty key matches every taint. */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect !== '' && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return toleration.key === '' || toleration.key === taint.key;
  return toleration.operator === 'Equal' && toleration.key === taint.key && toleration.value === taint.value;
}

export const taintToleration: Plugin = {
  name: 'TaintToleration',
  filter(_state, pod, node) {
    if (node.taints.length === 0) return undefined;
    const tolerations = tolerationsOf(pod);
    for (const taint of node.taints) {
      if (taint.effect !== 'NoSchedule' && taint.effect !== 'NoExecute') continue;
      if (!tolerations.some((toleration) => tolerates(toleration, taint))) {
        return { plugin: 'TaintToleration', reasons: [`node(s) had untolerated taint {${taint.key}: ${taint.value}}`] };
      }
    }
    return undefined;
  },
  preScore(_state, _pod, nodes) {
    return nodes.some((node) => node.taints.some((taint) => taint.effect === 'PreferNoSchedule')) ? undefined : 'skip';
  },
  score(_state, pod, node) {
    const tolerations = tolerationsOf(pod).filter((toleration) => toleration.effect === '' || toleration.effect === 'PreferNoSchedule');
    return node.taints.filter((taint) => taint.effect === 'PreferNoSchedule' && !tolerations.some((toleration) => tolerates(toleration, taint))).length;
  },
  normaliseScores(_state, _pod, scores) {
    normaliseToMax(scores, true);
  },
};
