// The ReplicaSet controller: keeps `spec.replicas` pods matching the selector, each owned by the
// ReplicaSet (controller owner reference). It adopts orphans whose labels match, releases owned pods
// whose labels no longer match, deletes the least useful pods first (pod-control.ts), creates in
// growing batches (1, 2, 4, …), never acts while its own creations/deletions are in flight
// (expectations.ts), and writes status last: replicas, fullyLabeledReplicas, readyReplicas,
// availableReplicas, observedGeneration, and a ReplicaFailure condition while creations fail.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { isNotFound, PODS, REPLICASETS, type ApiClient, type KubeObject } from '../client/index.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import { Expectations } from './machinery/expectations.js';
import { deleteOwnedPods, watchOwnedPods } from './machinery/owned-pods.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { selectorMatches } from './machinery/labels.js';
import {
  controllerRefOf,
  controllerReference,
  isBeingDeleted,
  isPodActive,
  isPodAvailable,
  isPodReady,
  keyOf,
  metaOf,
  nameOf,
  namespaceOf,
  numberField,
  podAvailableAtMs,
  selectorOf,
  specOf,
  splitKey,
  statusOf,
  templateOf,
  timestampOf,
  uidOf,
} from './machinery/objects.js';
import { compareForDeletion, podFromTemplate } from './machinery/pod-control.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

/** Most pods created or deleted in one sync (Kubernetes' burstReplicas). */
export const BURST_REPLICAS = 500;
/** The first batch of a slow-start creation; each successful batch doubles it. */
export const SLOW_START_INITIAL_BATCH = 1;

export interface ReplicaSetControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  readonly expectations: Expectations;
  private pods: SharedInformer | undefined;
  private replicaSets: SharedInformer | undefined;

  constructor(private readonly env: ReplicaSetControllerEnv) {
    this.expectations = new Expectations(env.clock);
  }

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const replicaSets = (this.replicaSets = factory.informerFor(REPLICASETS));
    const pods = (this.pods = factory.informerFor(PODS));
    return watchOwnedPods({ owners: replicaSets, pods, ownerKind: 'ReplicaSet', expectations: this.expectations, enqueue });
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const replicaSet = this.replicaSets?.get(namespace, name);
    if (replicaSet === undefined || namespace === undefined) {
      this.expectations.forget(key);
      return DONE;
    }
    // Expectations first, then the cache: an event arriving in between must not make a stale list look current.
    const needsSync = this.expectations.satisfied(key);
    const owned = await this.claimPods(replicaSet);
    const active = owned.filter(isPodActive);
    let failure: string | undefined;
    if (needsSync && !isBeingDeleted(replicaSet)) {
      failure = await this.manageReplicas(replicaSet, active);
    }
    return this.writeStatus(replicaSet, owned, failure);
  }

  /** The pods this ReplicaSet owns after adopting matching orphans and releasing non-matching pods. */
  private async claimPods(replicaSet: KubeObject): Promise<KubeObject[]> {
    const selector = selectorOf(replicaSet);
    const uid = uidOf(replicaSet);
    const owned: KubeObject[] = [];
    let ownerChecked = false;
    // Only the pods it owns and the orphans it may adopt: not every pod in the namespace.
    const candidates = new Map([...(this.pods?.ownedBy(uid) ?? []), ...(this.pods?.orphansIn(namespaceOf(replicaSet)) ?? [])].map((pod) => [keyOf(pod), pod] as const));
    for (const pod of candidates.values()) {
      if (namespaceOf(pod) !== namespaceOf(replicaSet)) continue;
      const reference = controllerRefOf(pod);
      const matches = selectorMatches(selector, metaOf(pod).labels);
      if (reference !== undefined) {
        if (reference.uid !== uid) continue;
        if (matches) owned.push(pod);
        else if (!isBeingDeleted(replicaSet)) await this.release(pod, uid);
        continue;
      }
      if (!matches || isBeingDeleted(pod) || isBeingDeleted(replicaSet)) continue;
      if (!ownerChecked) {
        // Adopt only if the ReplicaSet is still the one we know (a stale cache must not adopt for a deleted one).
        const live = await this.env.client.get(REPLICASETS, namespaceOf(replicaSet), nameOf(replicaSet)).catch((error: unknown) => {
          if (isNotFound(error)) return undefined;
          throw error;
        });
        if (live === undefined || uidOf(live) !== uid || isBeingDeleted(live)) return owned;
        ownerChecked = true;
      }
      const adopted = await this.adopt(replicaSet, pod);
      if (adopted !== undefined) owned.push(adopted);
    }
    return owned;
  }

  private async adopt(replicaSet: KubeObject, pod: KubeObject): Promise<KubeObject | undefined> {
    const meta = metaOf(pod);
    const references = [...(meta.ownerReferences ?? []), controllerReference(replicaSet, 'apps/v1', 'ReplicaSet')];
    try {
      return await this.env.client.patch(PODS, namespaceOf(pod), nameOf(pod), { metadata: { ownerReferences: references, resourceVersion: meta.resourceVersion, uid: meta.uid } });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async release(pod: KubeObject, ownerUid: string): Promise<void> {
    const meta = metaOf(pod);
    const references = (meta.ownerReferences ?? []).filter((reference) => reference.uid !== ownerUid);
    try {
      await this.env.client.patch(PODS, namespaceOf(pod), nameOf(pod), { metadata: { ownerReferences: references, resourceVersion: meta.resourceVersion, uid: meta.uid } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Creates or deletes pods toward spec.replicas; returns a failure message when creations failed. */
  private async manageReplicas(replicaSet: KubeObject, active: readonly KubeObject[]): Promise<string | undefined> {
    const key = keyOf(replicaSet);
    const wanted = numberField(specOf(replicaSet), 'replicas', 1);
    const diff = active.length - wanted;
    this.env.log.debug({ replicaSet: key, active: active.length, wanted }, 'managing replicas');
    if (diff < 0) {
      const count = Math.min(-diff, BURST_REPLICAS);
      this.expectations.expectCreations(key, count);
      const owner = controllerReference(replicaSet, 'apps/v1', 'ReplicaSet');
      const pod = podFromTemplate(templateOf(replicaSet), namespaceOf(replicaSet), `${nameOf(replicaSet)}-`, owner);
      let created = 0;
      let made = 0;
      let failure: string | undefined;
      for (let batch = SLOW_START_INITIAL_BATCH; created < count && failure === undefined; batch *= 2) {
        const size = Math.min(batch, count - created);
        const results = await Promise.allSettled(Array.from({ length: size }, () => this.env.client.create(PODS, namespaceOf(replicaSet), pod)));
        for (const result of results) {
          if (result.status === 'fulfilled') {
            made += 1;
            continue;
          }
          this.expectations.creationObserved(key);
          failure ??= result.reason instanceof Error ? result.reason.message : String(result.reason);
        }
        created += size;
      }
      // Creations never attempted will never be observed.
      for (let skipped = created; skipped < count; skipped++) this.expectations.creationObserved(key);
      if (made > 0) void this.env.events?.record(REPLICASETS, replicaSet, 'Normal', 'SuccessfulCreate', `Created ${made} pod(s)`);
      if (failure !== undefined) void this.env.events?.record(REPLICASETS, replicaSet, 'Warning', 'FailedCreate', `Error creating: ${failure}`);
      return failure;
    }
    if (diff > 0) {
      const victims = [...active].sort(compareForDeletion).slice(0, Math.min(diff, BURST_REPLICAS));
      await deleteOwnedPods(this.env.client, this.expectations, key, victims);
      void this.env.events?.record(REPLICASETS, replicaSet, 'Normal', 'SuccessfulDelete', `Deleted ${victims.length} pod(s)`);
    }
    return undefined;
  }

  private async writeStatus(replicaSet: KubeObject, owned: readonly KubeObject[], failure: string | undefined): Promise<ReconcileResult> {
    const now = this.env.clock.now();
    const minReadySeconds = numberField(specOf(replicaSet), 'minReadySeconds', 0);
    const active = owned.filter(isPodActive);
    const templateLabels = (metaOf(templateOf(replicaSet) as KubeObject).labels ?? {}) as Readonly<Record<string, string>>;
    const status: Record<string, unknown> = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((pod) => Object.entries(templateLabels).every(([label, value]) => metaOf(pod).labels?.[label] === value)).length,
      readyReplicas: active.filter(isPodReady).length,
      availableReplicas: active.filter((pod) => isPodAvailable(pod, minReadySeconds, now)).length,
      observedGeneration: metaOf(replicaSet).generation ?? 0,
    };
    const previous = statusOf(replicaSet);
    const previousFailure = Array.isArray(previous['conditions']) ? (previous['conditions'] as { type?: string }[]).find((condition) => condition.type === 'ReplicaFailure') : undefined;
    if (failure !== undefined) {
      status['conditions'] = [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: failure, lastTransitionTime: timestampOf(now) }];
    } else if (previousFailure !== undefined && this.expectations.satisfied(keyOf(replicaSet))) {
      status['conditions'] = null; // cleared by the merge patch
    }
    const changed = Object.entries(status).some(([field, value]) => JSON.stringify(previous[field] ?? null) !== JSON.stringify(value));
    if (changed && !isBeingDeleted(replicaSet)) {
      try {
        await this.env.client.patch(REPLICASETS, namespaceOf(replicaSet), nameOf(replicaSet), { status }, 'merge', 'status');
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    // A ready pod that is not yet available becomes so later: look again then.
    const nextAvailable = active.map((pod) => podAvailableAtMs(pod, minReadySeconds)).filter((at): at is number => at !== undefined && at > now);
    if (failure !== undefined) throw new Error(`replicaset ${keyOf(replicaSet)}: ${failure}`);
    return nextAvailable.length > 0 ? requeueAfter(Math.min(...nextAvailable) - now) : DONE;
  }
}
