// authentication.k8s.io/v1: selfsubjectreviews (who am I: `kubectl auth whoami`) and tokenreviews
// (is this bearer token good, and whose is it: for webhooks and auth proxies). Both are create-only
// and never stored; handlers/authentication-reviews.ts answers them.

import { typeAndObjectMeta } from './meta.js';
import type { FieldSchema, ResourceDefinition } from './types.js';

const userInfoSchema: FieldSchema = {
  type: 'object',
  properties: {
    username: { type: 'string' },
    uid: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    extra: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
  },
};

export const selfsubjectreviews: ResourceDefinition = {
  group: 'authentication.k8s.io',
  version: 'v1',
  kind: 'SelfSubjectReview',
  listKind: 'SelfSubjectReviewList',
  plural: 'selfsubjectreviews',
  singular: 'selfsubjectreview',
  shortNames: [],
  namespaced: false,
  verbs: ['create'],
  subresources: [],
  categories: [],
  schema: {
    type: 'object',
    properties: {
      ...typeAndObjectMeta,
      status: { type: 'object', properties: { userInfo: userInfoSchema } },
    },
  },
  hasStatusSubresource: false,
  virtual: true,
};

export const tokenreviews: ResourceDefinition = {
  group: 'authentication.k8s.io',
  version: 'v1',
  kind: 'TokenReview',
  listKind: 'TokenReviewList',
  plural: 'tokenreviews',
  singular: 'tokenreview',
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
      spec: { type: 'object', properties: { token: { type: 'string' }, audiences: { type: 'array', items: { type: 'string' } } } },
      status: {
        type: 'object',
        properties: { authenticated: { type: 'boolean' }, user: userInfoSchema, audiences: { type: 'array', items: { type: 'string' } }, error: { type: 'string' } },
      },
    },
  },
  hasStatusSubresource: false,
  virtual: true,
};

export const authenticationResources: readonly ResourceDefinition[] = [selfsubjectreviews, tokenreviews];
