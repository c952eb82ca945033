// NodeName (filter): a pod that names a node (spec.nodeName) fits only that node.

import type { Plugin } from '../framework.js';

export const nodeName: Plugin = {
  name: 'NodeName',
  filter(_state, pod, node) {
    if (pod.nodeName === '' || pod.nodeName === node.name) return undefined;
    return { plugin: 'NodeName', reasons: ["node(s) didn't match the requested node name"] };
  },
};
