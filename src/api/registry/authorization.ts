// authorization.k8s.io/v1 selfsubjectaccessreviews: create-only, never stored. The handler answers
// with the review's status filled in by the authorizer (kubectl auth can-i).

import { typeAndObjectMeta } from './meta.js';
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
      ...typeAndObjectMeta,
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
              fieldSelector: { type: 'any' },
              labelSelector: { type: 'any' },
            },
          },
          nonResourceAttributes: { type: 'object', properties: { path: { type: 'string' }, verb: { type: 'string' } } },
        },
      },
      status: { type: 'object', additionalProperties: { type: 'any' } },
    },
  },
  hasStatusSubresource: false,
  virtual: true,
};

export const authorizationResources: readonly ResourceDefinition[] = [selfsubjectaccessreviews];
