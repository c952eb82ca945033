// coordination.k8s.io/v1 leases: leader election and node heartbeats.

import { typeAndObjectMeta } from './meta.js';
import { READ_WRITE_VERBS, type ResourceDefinition } from './types.js';

export const leases: ResourceDefinition = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  listKind: 'LeaseList',
  plural: 'leases',
  singular: 'lease',
  shortNames: [],
  namespaced: true,
  verbs: READ_WRITE_VERBS,
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    properties: {
      ...typeAndObjectMeta,
      spec: {
        type: 'object',
        properties: {
          holderIdentity: { type: 'string', description: 'holderIdentity contains the identity of the holder of a current lease.' },
          leaseDurationSeconds: { type: 'integer', minimum: 1, description: 'leaseDurationSeconds is a duration that candidates for a lease need to wait to force acquire it. This is measured against the time of last observed renewTime.' },
          acquireTime: { type: 'string', description: 'acquireTime is a time when the current lease was acquired.' },
          renewTime: { type: 'string', description: 'renewTime is a time when the current holder of a lease has last updated the lease.' },
          leaseTransitions: { type: 'integer', minimum: 0, description: 'leaseTransitions is the number of transitions of a lease between holders.' },
          strategy: { type: 'string', description: 'Strategy indicates the strategy for picking the leader for coordinated leader election.' },
          preferredHolder: { type: 'string', description: 'PreferredHolder signals to a lease holder that the lease has a more optimal holder and should be given up.' },
        },
      },
    },
  },
  hasStatusSubresource: false,
};

export const coordinationResources: readonly ResourceDefinition[] = [leases];
