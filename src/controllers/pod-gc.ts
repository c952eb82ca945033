// The pod garbage collector (Kubernetes' "pod-garbage-collector"): deletes pods nobody else will.
//  - Orphaned pods: bound to a node that no longer exists (deleted, or never was). After a quarantine
//    (default 40 s, Kubernetes' figure: a node may be re-registering) and a live check that the node
//    is really gone, the pod is marked Failed with a DisruptionTarget condition (reason
//    DeletionByPodGC) and deleted with grace 0: no node agent is left to confirm its containers
//    stopped, so nobody else ever would.
//  - Terminating pods that were never scheduled: nothing runs them, so they are deleted with grace 0.
//  - Terminating pods on a node that is not Ready and carries the node.kubernetes.io/out-of-service
//    taint (an operator's statement that the node is down for good): deleted with grace 0.
//  - Terminated pods (Succeeded or Failed) beyond a threshold (default 12,500, as
//    --terminated-pod-gc-threshold): the oldest are deleted.
// Every delete carries the pod's uid as a precondition, so a pod recreated under the same name is
// never the one deleted.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { ApiClientError, isNotFound, NODES, PODS, type ApiClient, type KubeObject } from '../client/index.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { isBeingDeleted, keyOf, metaOf, nameOf, namespaceOf, podNodeName, podPhase, splitKey, statusOf, timestampOf, uidOf } from './machinery/objects.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';
import { taintsOf } from './machinery/taints.js';

export const OUT_OF_SERVICE_TAINT = 'node.kubernetes.io/out-of-service';
/** The work-queue key of the terminated-pods count (pod keys always hold a slash). */
const TERMINATED_KEY = '@terminated';

export interface PodGcOptions {
  /** How long a pod's node must have been missing before the pod is deleted (default 40 s). */
  readonly orphanQuarantineMs?: number;
  /** Terminated pods kept before the oldest are deleted (default 12,500; 0 turns it off). */
  readonly terminatedThreshold?: number;
}

export interface PodGcEnv extends PodGcOptions {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

const isTerminated = (pod: KubeObject): boolean => podPhase(pod) === 'Succeeded' || podPhase(pod) === 'Failed';

export class PodGarbageCollector implements Controller {
  readonly name = 'pod-gc';
  private pods: SharedInformer | undefined;
  private nodes: SharedInformer | undefined;
  /** When each pod was first seen bound to a missing node (by our clock). */
  private readonly orphanedSince = new Map<string, number>();
  private readonly quarantineMs: number;
  private readonly threshold: number;

  constructor(private readonly env: PodGcEnv) {
    this.quarantineMs = env.orphanQuarantineMs ?? 40_000;
    this.threshold = env.terminatedThreshold ?? 12_500;
  }

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const pods = (this.pods = factory.informerFor(PODS));
    const nodes = (this.nodes = factory.informerFor(NODES));
    const onPod = (pod: KubeObject): void => {
      enqueue(keyOf(pod));
      if (this.threshold > 0 && isTerminated(pod)) enqueue(TERMINATED_KEY);
    };
    const registrations = [
      pods.addHandlers({ onAdd: onPod, onUpdate: (_previous, pod) => onPod(pod), onDelete: (pod) => this.orphanedSince.delete(keyOf(pod)) }),
      nodes.addHandlers({
        // A node gone, or newly tainted out of service: look at its pods again.
        onDelete: (node) => pods.onNode(nameOf(node)).forEach((pod) => enqueue(keyOf(pod))),
        onUpdate: (_previous, node) => {
          if (taintsOf(node).some((taint) => taint.key === OUT_OF_SERVICE_TAINT)) pods.onNode(nameOf(node)).forEach((pod) => enqueue(keyOf(pod)));
        },
      }),
    ];
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    if (key === TERMINATED_KEY) return this.collectTerminated();
    const { namespace, name } = splitKey(key);
    const pod = this.pods?.get(namespace, name);
    if (pod === undefined) {
      this.orphanedSince.delete(key);
      return DONE;
    }
    const nodeName = podNodeName(pod);
    if (nodeName === undefined) {
      if (isBeingDeleted(pod)) await this.forceDelete(pod, 'a terminating pod that was never scheduled');
      return DONE;
    }
    const node = this.nodes?.get(undefined, nodeName);
    if (node !== undefined) {
      this.orphanedSince.delete(key);
      if (isBeingDeleted(pod) && isOutOfService(node)) await this.forceDelete(pod, `its node ${nodeName} is out of service`);
      return DONE;
    }
    const now = this.env.clock.now();
    const since = this.orphanedSince.get(key) ?? now;
    this.orphanedSince.set(key, since);
    if (now - since < this.quarantineMs) return requeueAfter(this.quarantineMs - (now - since));
    // The cache may be behind: only a node the API server says is gone makes an orphan.
    try {
      await this.env.client.get(NODES, undefined, nodeName);
      this.orphanedSince.delete(key);
      return DONE;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (!isTerminated(pod)) await this.markFailed(pod, nodeName);
    await this.forceDelete(pod, `its node ${nodeName} no longer exists`);
    this.orphanedSince.delete(key);
    return DONE;
  }

  /** Marks the pod Failed (DisruptionTarget), only if it is still the same pod (a uid test in the patch). */
  private async markFailed(pod: KubeObject, nodeName: string): Promise<void> {
    const now = timestampOf(this.env.clock.now());
    const conditions = Array.isArray(statusOf(pod)['conditions']) ? (statusOf(pod)['conditions'] as KubeObject[]).filter((condition) => condition['type'] !== 'DisruptionTarget') : [];
    conditions.push({ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: `PodGC: node ${nodeName} no longer exists`, lastTransitionTime: now });
    const patch = [
      { op: 'test', path: '/metadata/uid', value: uidOf(pod) },
      { op: 'add', path: '/status/phase', value: 'Failed' },
      { op: 'add', path: '/status/conditions', value: conditions },
    ];
    try {
      await this.env.client.patch(PODS, namespaceOf(pod), nameOf(pod), patch, 'json', 'status');
    } catch (error) {
      // Gone, or another pod under that name now (the uid test failed, 422): not ours to mark.
      if (!isNotFound(error) && !(error instanceof ApiClientError && error.status === 422)) throw error;
    }
  }

  private async forceDelete(pod: KubeObject, why: string): Promise<void> {
    try {
      await this.env.client.delete(PODS, namespaceOf(pod), nameOf(pod), { gracePeriodSeconds: 0, preconditions: { uid: uidOf(pod) } });
      this.env.log.info({ pod: keyOf(pod), why }, 'pod garbage-collected');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  /** Terminated pods beyond the threshold, oldest first (by creation time, then name). */
  private async collectTerminated(): Promise<ReconcileResult> {
    const terminated = (this.pods?.list() ?? []).filter((pod) => isTerminated(pod) && !isBeingDeleted(pod));
    const excess = terminated.length - this.threshold;
    if (this.threshold <= 0 || excess <= 0) return DONE;
    const oldest = terminated
      .sort((a, b) => String(metaOf(a).creationTimestamp ?? '').localeCompare(String(metaOf(b).creationTimestamp ?? '')) || keyOf(a).localeCompare(keyOf(b)))
      .slice(0, excess);
    for (const pod of oldest) await this.forceDelete(pod, `more than ${this.threshold} terminated pods`);
    return DONE;
  }
}

function isOutOfService(node: KubeObject): boolean {
  const conditions = Array.isArray(statusOf(node)['conditions']) ? (statusOf(node)['conditions'] as KubeObject[]) : [];
  const ready = conditions.find((condition) => condition['type'] === 'Ready');
  return ready?.['status'] !== 'True' && taintsOf(node).some((taint) => taint.key === OUT_OF_SERVICE_TAINT);
}
