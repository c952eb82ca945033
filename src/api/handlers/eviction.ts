// pods/eviction (policy/v1 Eviction, as `kubectl drain` posts it): delete the pod with the grace period
// and preconditions of the Eviction's deleteOptions, answered 201 with a Success Status, unless a
// PodDisruptionBudget covering the pod has no disruption left: then 429 TooManyRequests "Cannot evict
// pod as it would violate the pod's disruption budget." (kubectl drain waits and retries). The
// budget is charged before the pod is deleted, by a status write conditioned on the resourceVersion
// the decision was made on; a lost race re-reads the budget and decides again, so concurrent
// evictions never spend more disruptions than the budget allows (rules: disruption-budget.ts).

import { poddisruptionbudgets } from '../registry/policy.js';
import { isObject, type JsonObject } from '../registry/types.js';
import { metadataOf } from '../storage/object-store.js';
import { ApiError, errors, successStatus } from '../status.js';
import { type ResourceTarget, checkKind, json } from './common.js';
import { decodeObject } from './decode.js';
import { deleteOne, deleteOptionsOf, type DeleteOptions } from './delete.js';
import { budgetCoversPod, decideEviction, evictionIgnoresBudgets } from './disruption-budget.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';

const EVICTION_VERSIONS = ['policy/v1', 'policy/v1beta1'];
/** Attempts to charge a budget that other evictions keep changing (kube-apiserver's EvictionsRetry: 20 steps). */
export const EVICTION_CHARGE_ATTEMPTS = 20;

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
  await chargeBudget(context, target, name, options);
  await deleteOne(context, { ...target, verb: 'delete' }, name, options);
  return json(201, { ...successStatus(), code: 201 });
}

/** Spend one disruption of the budget covering the pod, or throw the 429 that refuses the eviction. */
async function chargeBudget(context: HandlerContext, target: ResourceTarget, name: string, options: DeleteOptions): Promise<void> {
  const namespace = target.namespace;
  for (let attempt = 0; attempt < EVICTION_CHARGE_ATTEMPTS; attempt++) {
    const pod = await context.objects.get(target.definition, namespace, name);
    if (evictionIgnoresBudgets(pod)) return;
    const budgets = (await context.objects.list(poddisruptionbudgets, namespace)).items.filter((budget) => budgetCoversPod(budget, pod));
    if (budgets.length === 0) return;
    if (budgets.length > 1) throw new ApiError(500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    const budget = budgets[0] as JsonObject;
    const decision = decideEviction(budget, pod, context.objects.timestamp());
    if (decision.kind === 'evict-without-charge') return;
    const budgetName = String(metadataOf(budget)['name']);
    try {
      await context.objects.update(poddisruptionbudgets, namespace, budgetName, (current) => ({ ...current, status: decision.budget['status'] }), {
        dryRun: options.dryRun,
        expectedResourceVersion: String(metadataOf(budget)['resourceVersion']),
      });
      return;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'Conflict') continue; // another eviction or the controller moved it: decide again
      if (error instanceof ApiError && error.code === 'NotFound') continue;
      throw error;
    }
  }
  throw errors.tooManyRequests(`too many concurrent evictions of pods covered by a disruption budget; evicting ${name} again may succeed`);
}
