// The disruption controller: keeps each PodDisruptionBudget's status from the pods its selector picks
// and their controllers' scale, so that pods/eviction (src/api/handlers/eviction.ts) knows how many
// disruptions it may spend. As Kubernetes' (pkg/controller/disruption):
//   - minAvailable N: expectedPods = the matching pods, desiredHealthy = N;
//   - minAvailable P% or maxUnavailable: expectedPods = the sum of the scale of the pods' controllers
//     (a Deployment for its ReplicaSets, a ReplicaSet, a StatefulSet), desiredHealthy = ⌈P% of it⌉
//     or expectedPods − maxUnavailable (a percentage rounded up);
//   - currentHealthy = ready pods not being deleted and not in disruptedPods;
//   - disruptionsAllowed = currentHealthy − desiredHealthy (0 when negative or when nothing is expected).
// disruptedPods (evictions the API server granted) are dropped once the pod is deleted or after
// DISRUPTED_POD_TIMEOUT_MS. A pod without a known controller makes the budget fail safe
// (disruptionsAllowed 0, condition SyncFailed). Status is written with the cached resourceVersion, so
// a status the eviction handler charged meanwhile is never overwritten (409, retried from the cache).

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { PODS, DEPLOYMENTS, REPLICASETS, STATEFULSETS, isNotFound, isConflict, type ApiClient, type KubeObject } from '../client/index.js';
import { PODDISRUPTIONBUDGETS } from '../client/resources-policy.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { selectorMatches, type LabelSelector } from './machinery/labels.js';
import { controllerRefOf, fieldOf, isBeingDeleted, isPodReady, keyOf, metaOf, namespaceOf, nameOf, specOf, splitKey, statusOf, timestampOf, uidOf } from './machinery/objects.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

/** How long an eviction the API server granted counts as a disruption before the pod is seen deleted (Kubernetes: 2 minutes). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

export interface DisruptionControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

export interface BudgetStatus {
  readonly expectedPods: number;
  readonly desiredHealthy: number;
  readonly currentHealthy: number;
  readonly disruptionsAllowed: number;
  readonly disruptedPods: Readonly<Record<string, string>>;
  /** Set when the budget must fail safe (a pod with no controller whose scale is known). */
  readonly failure?: string;
  /** When the earliest disruptedPods entry expires (ms), for a requeue. */
  readonly nextExpiryMs?: number;
}

/** An int-or-percent resolved against a total: integers as they are, "P%" as P% of total rounded up. */
export function scaledValue(value: unknown, total: number): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && /^[0-9]+%$/.test(value)) return Math.ceil((Number(value.slice(0, -1)) * total) / 100);
  return 0;
}

/** The pure part: a budget's status from its pods, the scale of their controllers and the time. */
export function computeBudgetStatus(budget: KubeObject, pods: readonly KubeObject[], scaleOf: (pod: KubeObject) => { readonly uid: string; readonly replicas: number } | string, nowMs: number): BudgetStatus {
  const spec = specOf(budget);
  const previousDisrupted = fieldOf(statusOf(budget), 'disruptedPods');
  const podsByName = new Map(pods.map((pod) => [nameOf(pod), pod] as const));
  const disruptedPods: Record<string, string> = {};
  let nextExpiryMs: number | undefined;
  for (const [name, when] of Object.entries(previousDisrupted)) {
    const pod = podsByName.get(name);
    const at = typeof when === 'string' ? Date.parse(when) : Number.NaN;
    if (pod === undefined || isBeingDeleted(pod) || Number.isNaN(at)) continue;
    const expiresMs = at + DISRUPTED_POD_TIMEOUT_MS;
    if (expiresMs <= nowMs) continue;
    disruptedPods[name] = String(when);
    nextExpiryMs = nextExpiryMs === undefined ? expiresMs : Math.min(nextExpiryMs, expiresMs);
  }
  const currentHealthy = pods.filter((pod) => !isBeingDeleted(pod) && isPodReady(pod) && disruptedPods[nameOf(pod)] === undefined).length;
  const minAvailable = spec['minAvailable'];
  const maxUnavailable = spec['maxUnavailable'];
  let expectedPods: number;
  let desiredHealthy: number;
  if (typeof minAvailable === 'number') {
    expectedPods = pods.length;
    desiredHealthy = minAvailable;
  } else {
    // Percentages and maxUnavailable are relative to what the controllers want, not what exists.
    const scales = new Map<string, number>();
    for (const pod of pods) {
      const scale = scaleOf(pod);
      if (typeof scale === 'string') return { expectedPods: 0, desiredHealthy: 0, currentHealthy, disruptionsAllowed: 0, disruptedPods, failure: scale, ...(nextExpiryMs === undefined ? {} : { nextExpiryMs }) };
      scales.set(scale.uid, scale.replicas);
    }
    expectedPods = [...scales.values()].reduce((sum, replicas) => sum + replicas, 0);
    desiredHealthy = maxUnavailable !== undefined && maxUnavailable !== null ? Math.max(0, expectedPods - scaledValue(maxUnavailable, expectedPods)) : scaledValue(minAvailable, expectedPods);
  }
  const difference = currentHealthy - desiredHealthy;
  const disruptionsAllowed = expectedPods <= 0 || difference <= 0 ? 0 : difference;
  return { expectedPods, desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods, ...(nextExpiryMs === undefined ? {} : { nextExpiryMs }) };
}

export class DisruptionController implements Controller {
  readonly name = 'disruption';
  private budgets: SharedInformer | undefined;
  private pods: SharedInformer | undefined;
  private replicaSets: SharedInformer | undefined;
  private deployments: SharedInformer | undefined;
  private statefulSets: SharedInformer | undefined;

  constructor(private readonly env: DisruptionControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const budgets = (this.budgets = factory.informerFor(PODDISRUPTIONBUDGETS));
    this.pods = factory.informerFor(PODS);
    this.replicaSets = factory.informerFor(REPLICASETS);
    this.deployments = factory.informerFor(DEPLOYMENTS);
    this.statefulSets = factory.informerFor(STATEFULSETS);
    const enqueueCovering = (pod: KubeObject): void => {
      for (const budget of budgets.inNamespace(namespaceOf(pod))) if (this.selects(budget, pod)) enqueue(keyOf(budget));
    };
    const enqueueNamespace = (object: KubeObject): void => {
      for (const budget of budgets.inNamespace(namespaceOf(object))) enqueue(keyOf(budget));
    };
    const registrations = [
      budgets.addHandlers({ onAdd: (budget) => enqueue(keyOf(budget)), onUpdate: (_previous, budget) => enqueue(keyOf(budget)), onDelete: (budget) => enqueue(keyOf(budget)) }),
      this.pods.addHandlers({
        onAdd: enqueueCovering,
        onUpdate: (previous, pod) => {
          enqueueCovering(previous);
          enqueueCovering(pod);
        },
        onDelete: enqueueCovering,
      }),
      // A scale change of a controller changes what percentages and maxUnavailable are relative to.
      ...[this.replicaSets, this.deployments, this.statefulSets].map((informer) =>
        informer.addHandlers({ onAdd: enqueueNamespace, onUpdate: (_previous, object) => enqueueNamespace(object), onDelete: enqueueNamespace }),
      ),
    ];
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  private selects(budget: KubeObject, pod: KubeObject): boolean {
    const selector = specOf(budget)['selector'];
    if (typeof selector !== 'object' || selector === null) return false; // policy/v1: a null selector selects nothing
    return selectorMatches(selector as LabelSelector, metaOf(pod).labels);
  }

  /** The scale a pod's controller wants (a Deployment's for its ReplicaSets), or why it is unknown. */
  private scaleOf(pod: KubeObject): { readonly uid: string; readonly replicas: number } | string {
    const reference = controllerRefOf(pod);
    if (reference === undefined) return `found no controller ref for pod "${nameOf(pod)}"`;
    const namespace = namespaceOf(pod);
    const replicasOf = (object: KubeObject): number => {
      const replicas = specOf(object)['replicas'];
      return typeof replicas === 'number' ? replicas : 1;
    };
    if (reference.kind === 'ReplicaSet') {
      const replicaSet = this.replicaSets?.get(namespace, reference.name);
      if (replicaSet === undefined || uidOf(replicaSet) !== reference.uid) return `found no ReplicaSet ${reference.name} for pod "${nameOf(pod)}"`;
      const owner = controllerRefOf(replicaSet);
      if (owner?.kind === 'Deployment') {
        const deployment = this.deployments?.get(namespace, owner.name);
        if (deployment !== undefined && uidOf(deployment) === owner.uid) return { uid: uidOf(deployment), replicas: replicasOf(deployment) };
      }
      return { uid: uidOf(replicaSet), replicas: replicasOf(replicaSet) };
    }
    if (reference.kind === 'StatefulSet') {
      const statefulSet = this.statefulSets?.get(namespace, reference.name);
      if (statefulSet === undefined || uidOf(statefulSet) !== reference.uid) return `found no StatefulSet ${reference.name} for pod "${nameOf(pod)}"`;
      return { uid: uidOf(statefulSet), replicas: replicasOf(statefulSet) };
    }
    return `found no controllers for pod "${nameOf(pod)}" (a ${reference.kind} has no scale)`;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const budget = this.budgets?.get(namespace, name);
    if (budget === undefined || namespace === undefined) return DONE;
    const pods = (this.pods?.inNamespace(namespace) ?? []).filter((pod) => this.selects(budget, pod));
    const nowMs = this.env.clock.now();
    const computed = computeBudgetStatus(budget, pods, (pod) => this.scaleOf(pod), nowMs);
    const previous = statusOf(budget);
    const generation = metaOf(budget).generation ?? 0;
    const allowed = computed.failure === undefined && computed.disruptionsAllowed > 0;
    const conditionStatus = allowed ? 'True' : 'False';
    const reason = computed.failure !== undefined ? 'SyncFailed' : allowed ? 'SufficientPods' : 'InsufficientPods';
    const previousCondition = (Array.isArray(previous['conditions']) ? (previous['conditions'] as KubeObject[]) : []).find((condition) => condition['type'] === 'DisruptionAllowed');
    const condition = {
      type: 'DisruptionAllowed',
      status: conditionStatus,
      observedGeneration: generation,
      lastTransitionTime: previousCondition?.['status'] === conditionStatus && typeof previousCondition['lastTransitionTime'] === 'string' ? previousCondition['lastTransitionTime'] : timestampOf(nowMs),
      reason,
      message: computed.failure ?? '',
    };
    const status: KubeObject = {
      ...(Object.keys(computed.disruptedPods).length === 0 ? {} : { disruptedPods: computed.disruptedPods }),
      disruptionsAllowed: computed.disruptionsAllowed,
      currentHealthy: computed.currentHealthy,
      desiredHealthy: computed.desiredHealthy,
      expectedPods: computed.expectedPods,
      observedGeneration: generation,
      conditions: [condition],
    };
    if (computed.failure !== undefined && previousCondition?.['reason'] !== 'SyncFailed') {
      await this.env.events?.record(PODDISRUPTIONBUDGETS, budget, 'Warning', 'CalculateExpectedPodCountFailed', `Failed to calculate the number of expected pods: ${computed.failure}`);
    }
    if (JSON.stringify(stableStatus(previous)) !== JSON.stringify(stableStatus(status))) {
      try {
        await this.env.client.update(PODDISRUPTIONBUDGETS, { ...budget, status }, 'status');
      } catch (error) {
        if (isNotFound(error)) return DONE;
        if (isConflict(error)) return requeueAfter(100); // an eviction charged it, or a newer spec: the cache brings the new version
        throw error;
      }
    }
    return computed.nextExpiryMs === undefined ? DONE : requeueAfter(computed.nextExpiryMs - nowMs);
  }
}

/** A status with its fields in one order, for comparison. */
function stableStatus(status: { readonly [field: string]: unknown }): unknown {
  const conditions = Array.isArray(status['conditions']) ? (status['conditions'] as KubeObject[]) : [];
  return [
    status['disruptionsAllowed'] ?? 0,
    status['currentHealthy'] ?? 0,
    status['desiredHealthy'] ?? 0,
    status['expectedPods'] ?? 0,
    status['observedGeneration'] ?? 0,
    Object.entries(fieldOf(status, 'disruptedPods')).sort(),
    conditions.map((condition) => [condition['type'], condition['status'], condition['reason'], condition['message'] ?? '', condition['observedGeneration'] ?? 0]),
  ];
}
