// The eviction rules of PodDisruptionBudgets, as kube-apiserver's pods/eviction applies them: which
// budgets cover a pod, whether its eviction may skip the budget (the pod is not running, or it is
// unhealthy and the budget allows that), and whether the budget has a disruption left to spend.
// Spending one (disruptionsAllowed − 1, the pod noted in disruptedPods) is written back by the
// caller with the budget's resourceVersion as precondition, so two evictions racing for the last
// disruption cannot both win. Pure: no I/O, time passed in.

import { selectorMatches, type LabelSelector } from '../../controllers/machinery/labels.js';
import { isObject, objectsOf, stringField, type JsonObject } from '../registry/types.js';
import { ApiError } from '../status.js';

/** Kubernetes' MaxDisruptedPodSize: evictions not yet confirmed by the controller, per budget. */
export const MAX_DISRUPTED_PODS = 2000;
export const EVICTION_REFUSED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

function labelsOf(object: JsonObject): Record<string, string> {
  const metadata = isObject(object['metadata']) ? object['metadata'] : {};
  const labels = metadata['labels'];
  const out: Record<string, string> = {};
  if (isObject(labels)) for (const [key, value] of Object.entries(labels)) if (typeof value === 'string') out[key] = value;
  return out;
}

/** The budget's selector; a budget without one selects nothing (policy/v1: a null selector matches no pods). */
export function budgetSelector(budget: JsonObject): LabelSelector | undefined {
  const spec = isObject(budget['spec']) ? budget['spec'] : {};
  const selector = spec['selector'];
  return isObject(selector) ? (selector as LabelSelector) : undefined;
}

export function budgetCoversPod(budget: JsonObject, pod: JsonObject): boolean {
  const selector = budgetSelector(budget);
  return selector !== undefined && selectorMatches(selector, labelsOf(pod));
}

export function isPodReady(pod: JsonObject): boolean {
  const status = isObject(pod['status']) ? pod['status'] : {};
  return objectsOf(status['conditions']).some((condition) => condition['type'] === 'Ready' && condition['status'] === 'True');
}

/** Pods whose eviction never consults a budget: finished, not started, or already being deleted. */
export function evictionIgnoresBudgets(pod: JsonObject): boolean {
  const status = isObject(pod['status']) ? pod['status'] : {};
  const phase = stringField(status, 'phase') ?? 'Pending';
  const metadata = isObject(pod['metadata']) ? pod['metadata'] : {};
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending' || metadata['deletionTimestamp'] !== undefined;
}

function statusNumber(budget: JsonObject, field: string): number {
  const status = isObject(budget['status']) ? budget['status'] : {};
  const value = status[field];
  return typeof value === 'number' ? value : 0;
}

function budgetName(budget: JsonObject): string {
  const metadata = isObject(budget['metadata']) ? budget['metadata'] : {};
  return String(metadata['name'] ?? '');
}

function refused(detail: string): ApiError {
  return new ApiError(429, 'TooManyRequests', EVICTION_REFUSED_MESSAGE, { retryAfterSeconds: 0, causes: [{ reason: 'DisruptionBudget', message: detail, field: '' }] });
}

export type EvictionDecision =
  /** Delete the pod; the budget is not charged. */
  | { readonly kind: 'evict-without-charge' }
  /** Charge the budget (write `budget` back with its resourceVersion), then delete the pod. */
  | { readonly kind: 'charge'; readonly budget: JsonObject };

/**
 * What an eviction of `pod` under `budget` may do at `nowIso`. Throws the ApiError to answer when
 * the budget forbids it: 429 TooManyRequests when no disruption is left or the controller has not
 * processed the budget's latest generation, 403 when its status is unusable.
 */
export function decideEviction(budget: JsonObject, pod: JsonObject, nowIso: string): EvictionDecision {
  const spec = isObject(budget['spec']) ? budget['spec'] : {};
  const name = budgetName(budget);
  const currentHealthy = statusNumber(budget, 'currentHealthy');
  const desiredHealthy = statusNumber(budget, 'desiredHealthy');
  if (!isPodReady(pod)) {
    // An unhealthy pod does not count towards the budget: it may go when the policy allows it, or
    // when the budget is met without it.
    if (spec['unhealthyPodEvictionPolicy'] === 'AlwaysAllow') return { kind: 'evict-without-charge' };
    if (desiredHealthy > 0 && currentHealthy >= desiredHealthy) return { kind: 'evict-without-charge' };
  }
  const metadata = isObject(budget['metadata']) ? budget['metadata'] : {};
  const generation = typeof metadata['generation'] === 'number' ? metadata['generation'] : 0;
  const status = isObject(budget['status']) ? budget['status'] : {};
  const observedGeneration = typeof status['observedGeneration'] === 'number' ? status['observedGeneration'] : 0;
  if (observedGeneration < generation) throw refused(`The disruption budget ${name} is still being processed by the server.`);
  const allowed = statusNumber(budget, 'disruptionsAllowed');
  if (allowed < 0) throw new ApiError(403, 'Forbidden', 'pdb disruptions allowed is negative');
  const disrupted = isObject(status['disruptedPods']) ? status['disruptedPods'] : {};
  if (Object.keys(disrupted).length > MAX_DISRUPTED_PODS) throw new ApiError(403, 'Forbidden', 'DisruptedPods map too big - too many evictions not confirmed by PDB controller');
  if (allowed === 0) throw refused(`The disruption budget ${name} needs ${desiredHealthy} healthy pods and has ${currentHealthy} currently`);
  const podMetadata = isObject(pod['metadata']) ? pod['metadata'] : {};
  const charged = structuredClone(budget);
  const chargedStatus: JsonObject = { ...status, disruptionsAllowed: allowed - 1, disruptedPods: { ...disrupted, [String(podMetadata['name'] ?? '')]: nowIso } };
  charged['status'] = chargedStatus;
  return { kind: 'charge', budget: charged };
}
