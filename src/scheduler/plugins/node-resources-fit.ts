// NodeResourcesFit (filter): the pod's requests fit beside what the node's pods already request
// ("Insufficient cpu", "Insufficient memory", "Too many pods"). The same rule guards the binding in
// the API server (src/api/handlers/binding.ts), so the filter is an optimisation, not the guard.

import type { Plugin } from '../framework.js';
import { insufficientResources } from '../resources.js';

export const nodeResourcesFit: Plugin = {
  name: 'NodeResourcesFit',
  filter(_state, pod, node) {
    const reasons = insufficientResources(pod.requests, node.requested, node.allocatable);
    return reasons.length === 0 ? undefined : { plugin: 'NodeResourcesFit', reasons };
  },
};
