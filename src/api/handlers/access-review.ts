// selfsubjectaccessreviews (create only, never stored): the authorizer's decision for the
// requesting user on the attributes in the review's spec (kubectl auth can-i).

import type { RequestAttributes } from '../auth-types.js';
import { isObject } from '../registry/types.js';
import { causes, errors } from '../status.js';
import { decodeObject } from './decode.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';
import { validateObject } from './validate.js';
import { type ResourceTarget, json, checkKind } from './common.js';


export function createReview(context: HandlerContext, request: ApiRequest, target: ResourceTarget): ApiResponse {
  const { definition } = target;
  if (target.verb !== 'create') throw errors.methodNotAllowed();
  const review = decodeObject(request.body, request.headers['content-type']);
  checkKind(definition, review);
  validateObject(definition, { ...review, metadata: { name: 'review', ...(isObject(review['metadata']) ? review['metadata'] : {}) } }, undefined);
  const spec = isObject(review['spec']) ? review['spec'] : {};
  const resourceAttributes = spec['resourceAttributes'];
  const nonResourceAttributes = spec['nonResourceAttributes'];
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  let attributes: RequestAttributes;
  if (isObject(resourceAttributes)) {
    const namespace = text(resourceAttributes['namespace']);
    const name = text(resourceAttributes['name']);
    const sub = text(resourceAttributes['subresource']);
    attributes = {
      kind: 'resource',
      user: request.user,
      verb: text(resourceAttributes['verb']),
      apiGroup: text(resourceAttributes['group']),
      apiVersion: text(resourceAttributes['version']) || '*',
      resource: text(resourceAttributes['resource']),
      ...(sub === '' ? {} : { subresource: sub }),
      ...(namespace === '' ? {} : { namespace }),
      ...(name === '' ? {} : { name }),
    };
  } else if (isObject(nonResourceAttributes)) {
    attributes = { kind: 'nonResource', user: request.user, verb: text(nonResourceAttributes['verb']), path: text(nonResourceAttributes['path']) };
  } else {
    throw errors.invalid(definition.kind, definition.group, '', [causes.required('spec.resourceAttributes', 'exactly one of nonResourceAttributes or resourceAttributes must be specified')]);
  }
  const decision = context.authorizer.authorize(attributes);
  return json(201, {
    ...review,
    metadata: { creationTimestamp: null },
    status: { allowed: decision.allowed, ...(decision.allowed ? {} : { denied: false }), ...(decision.reason === '' ? {} : { reason: decision.reason }) },
  });
}

