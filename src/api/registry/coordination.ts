// coordination.k8s.io/v1 leases: leader election and node heartbeats.

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
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object', additionalProperties: { type: 'any' } },
      spec: {
        type: 'object',
        properties: {
          holderIdentity: { type: 'string' },
          leaseDurationSeconds: { type: 'integer', minimum: 1 },
          acquireTime: { type: 'string' },
          renewTime: { type: 'string' },
          leaseTransitions: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
  hasStatusSubresource: false,
};

export const coordinationResources: readonly ResourceDefinition[] = [leases];
