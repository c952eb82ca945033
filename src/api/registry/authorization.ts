// authorization.k8s.io/v1 selfsubjectaccessreviews: create-only, never stored. The handler answers
// with the review's status filled in by the authorizer (kubectl auth can-i).

import type { ResourceDefinition } from './types.js';

export const selfsubjectaccessreviews: ResourceDefinition = {
  group: 'authorization.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectAccessReview',
  listKind: 'SelfSubjectAccessReviewList',
  plural: 'selfsubjectaccessreviews',
  singular: 'selfsubjectaccessreview',
  shortNames: [],
  namespaced: false,
  verbs: ['create'],
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    required: ['spec'],
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      metadata: { type: 'object', additionalProperties: { type: 'any' } },
      spec: {
        type: 'object',
        properties: {
          resourceAttributes: {
            type: 'object',
            properties: {
              namespace: { type: 'string' },
              verb: { type: 'string' },
              group: { type: 'string' },
              version: { type: 'string' },
              resource: { type: 'string' },
              subresource: { type: 'string' },
              name: { type: 'string' },
            },
          },
          nonResourceAttributes: { type: 'object', properties: { path: { type: 'string' }, verb: { type: 'string' } } },
        },
      },
    },
  },
  hasStatusSubresource: false,
  virtual: true,
};

export const authorizationResources: readonly ResourceDefinition[] = [selfsubjectaccessreviews];
