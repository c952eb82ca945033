// authentication.k8s.io/v1 reviews (create only, never stored): selfsubjectreviews answers the
// requesting user's own identity (`kubectl auth whoami`); tokenreviews authenticates the token in its
// spec with this API server's authenticators (static tokens and service account tokens) for the
// audiences it names, and says whose it is or why not.

import type { UserInfo } from '../auth-types.js';
import { isObject, type JsonObject } from '../registry/types.js';
import { causes, errors } from '../status.js';
import { decodeObject } from './decode.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';
import { validateObject } from './validate.js';
import { type ResourceTarget, checkKind, json } from './common.js';

/** Kubernetes' authentication/v1 UserInfo: username, uid and extra only when known. */
export function userInfoJson(user: UserInfo): JsonObject {
  return {
    username: user.name,
    ...(user.uid === undefined || user.uid === '' ? {} : { uid: user.uid }),
    groups: [...user.groups],
    ...(user.extra === undefined || Object.keys(user.extra).length === 0 ? {} : { extra: Object.fromEntries(Object.entries(user.extra).map(([key, values]) => [key, [...values]])) }),
  };
}

function decodeReview(request: ApiRequest, target: ResourceTarget): JsonObject {
  const review = request.body === undefined || request.body.length === 0 ? {} : decodeObject(request.body, request.headers['content-type']);
  checkKind(target.definition, review);
  validateObject(target.definition, { ...review, metadata: { name: 'review', ...(isObject(review['metadata']) ? review['metadata'] : {}) } }, undefined);
  return review;
}

export function selfSubjectReview(request: ApiRequest, target: ResourceTarget): ApiResponse {
  if (target.verb !== 'create') throw errors.methodNotAllowed();
  const review = decodeReview(request, target);
  return json(201, { apiVersion: review['apiVersion'], kind: review['kind'], metadata: { creationTimestamp: null }, status: { userInfo: userInfoJson(request.user) } });
}

export async function tokenReview(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  if (target.verb !== 'create') throw errors.methodNotAllowed();
  const review = decodeReview(request, target);
  const spec = isObject(review['spec']) ? review['spec'] : {};
  const token = typeof spec['token'] === 'string' ? spec['token'] : '';
  if (token === '') throw errors.invalid(target.definition.kind, target.definition.group, '', [causes.required('spec.token', 'token is required')]);
  const wanted = Array.isArray(spec['audiences']) ? spec['audiences'].filter((audience): audience is string => typeof audience === 'string') : [];
  const outcome = context.authenticateToken === undefined ? { kind: 'rejected' as const, reason: 'token authentication is not configured' } : await context.authenticateToken(token, wanted);
  const status: JsonObject =
    outcome.kind === 'authenticated'
      ? { authenticated: true, user: userInfoJson(outcome.user), audiences: [...outcome.audiences] }
      : { user: {}, error: outcome.reason };
  return json(201, { apiVersion: review['apiVersion'], kind: review['kind'], metadata: { creationTimestamp: null }, spec: review['spec'], status });
}
