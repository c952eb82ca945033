// NodeUnschedulable (filter): a cordoned node (spec.unschedulable) takes only pods that tolerate the
// node.kubernetes.io/unschedulable:NoSchedule taint.

import type { Plugin } from '../framework.js';
import { tolerates, tolerationsOf } from './taint-toleration.js';

export const UNSCHEDULABLE_TAINT = { key: 'node.kubernetes.io/unschedulable', value: '', effect: 'NoSchedule' };

export const nodeUnschedulable: Plugin = {
  name: 'NodeUnschedulable',
  filter(_state, pod, node) {
    if (!node.unschedulable) return undefined;
    if (tolerationsOf(pod).some((toleration) => tolerates(toleration, UNSCHEDULABLE_TAINT))) return undefined;
    return { plugin: 'NodeUnschedulable', reasons: ['node(s) were unschedulable'] };
  },
};
