// pods/eviction (policy/v1 Eviction, as `kubectl drain` posts it): delete the pod with the grace period
// and preconditions of the Eviction's deleteOptions, answered 201 with a Success Status. kplane serves
// no PodDisruptionBudgets, so no eviction is refused for one (the 429 of kube-apiserver never happens).

import { isObject } from '../registry/types.js';
import { errors, successStatus } from '../status.js';
import { type ResourceTarget, checkKind, json } from './common.js';
import { decodeObject } from './decode.js';
import { deleteOne, deleteOptionsOf } from './delete.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';

const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];

export async function evict(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  const name = target.name ?? '';
  const eviction = decodeObject(request.body, request.headers['content-type']);
  const apiVersion = typeof eviction['apiVersion'] === 'string' && EVICTION_VERSIONS.includes(eviction['apiVersion']) ? eviction['apiVersion'] : 'policy/v1';
  checkKind(target.definition, eviction, 'Eviction', apiVersion);
  const metadata = isObject(eviction['metadata']) ? eviction['metadata'] : {};
  if (metadata['name'] !== undefined && metadata['name'] !== name) throw errors.badRequest(`name in URL does not match name in Eviction object`);
  const deleteOptions = isObject(eviction['deleteOptions']) ? eviction['deleteOptions'] : {};
  const options = deleteOptionsOf({
    ...request,
    headers: { ...request.headers, 'content-type': 'application/json' },
    body: new TextEncoder().encode(JSON.stringify({ ...deleteOptions, kind: 'DeleteOptions' })),
  });
  await deleteOne(context, { ...target, verb: 'delete' }, name, options);
  return json(201, { ...successStatus(), code: 201 });
}
