// The node lifecycle controller: watches node Leases in kube-node-lease. A node whose Lease has not been
// renewed for the grace period (default 40 s, by OUR clock: we note when we saw each renewal) gets its
// Ready condition set to Unknown and the taint node.kubernetes.io/unreachable:NoExecute. Its pods are
// evicted (deleted) once their toleration of that taint runs out (a pod without one gets the default
// 300 s, as Kubernetes' DefaultTolerationSeconds admission gives it), at most `evictionsPerSecond`
// (rate-limited across all nodes), so their owners recreate them elsewhere. When the Lease is renewed
// again the taint is removed (the node agent posts Ready itself).
//
// Evicted pods on an unreachable node stay Terminating until the node returns or is deleted (as in
// Kubernetes: nobody can confirm their containers stopped); their owners' replacements do not wait.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { isNotFound, LEASES, NODES, PODS, type ApiClient, type KubeObject } from '../client/index.js';
import type { EventRecorder } from './machinery/event-recorder.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { isBeingDeleted, metaOf, nameOf, namespaceOf, specOf, statusOf, stringField, timestampOf, uidOf } from './machinery/objects.js';
import { TokenBucket } from './machinery/rate-limit.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';
import { taintsOf, toleratedForMs, tolerates, tolerationsOf, UNREACHABLE_TAINT, type Taint } from './machinery/taints.js';

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export interface NodeLifecycleOptions {
  /** A node silent this long is unreachable (default 40 s). */
  readonly gracePeriodMs?: number;
  /** Toleration given to pods that have none for the unreachable taint (default 300 s). */
  readonly defaultTolerationMs?: number;
  /** Evictions per second across all nodes (default 0.1, Kubernetes' figure), burst 1. */
  readonly evictionsPerSecond?: number;
}

export interface NodeLifecycleEnv extends NodeLifecycleOptions {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly events?: EventRecorder;
}

interface Heartbeat {
  readonly renewTime: string;
  readonly seenAtMs: number;
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly heartbeats = new Map<string, Heartbeat>();
  private readonly evictions: TokenBucket;
  private readonly gracePeriodMs: number;
  private readonly defaultTolerationMs: number;
  private readonly evictionsPerSecond: number;
  private nodes: SharedInformer | undefined;
  private pods: SharedInformer | undefined;

  constructor(private readonly env: NodeLifecycleEnv) {
    this.gracePeriodMs = env.gracePeriodMs ?? 40_000;
    this.defaultTolerationMs = env.defaultTolerationMs ?? 300_000;
    this.evictionsPerSecond = env.evictionsPerSecond ?? 0.1;
    this.evictions = new TokenBucket(env.clock, this.evictionsPerSecond, 1);
  }

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const nodes = (this.nodes = factory.informerFor(NODES));
    const leases = factory.informerFor(LEASES);
    this.pods = factory.informerFor(PODS);
    const onLease = (lease: KubeObject): void => {
      if (namespaceOf(lease) !== NODE_LEASE_NAMESPACE) return;
      const renewTime = stringField(specOf(lease), 'renewTime') ?? '';
      const known = this.heartbeats.get(nameOf(lease));
      if (known === undefined || known.renewTime !== renewTime) this.heartbeats.set(nameOf(lease), { renewTime, seenAtMs: this.env.clock.now() });
      enqueue(nameOf(lease));
    };
    const registrations = [
      leases.addHandlers({ onAdd: onLease, onUpdate: (_p, lease) => onLease(lease) }),
      nodes.addHandlers({
        onAdd: (node) => enqueue(nameOf(node)),
        onDelete: (node) => this.heartbeats.delete(nameOf(node)),
      }),
    ];
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const node = this.nodes?.get(undefined, name);
    if (node === undefined) return DONE;
    const now = this.env.clock.now();
    let heartbeat = this.heartbeats.get(name);
    if (heartbeat === undefined) {
      // Never heard from: the grace period runs from when we first saw the node.
      heartbeat = { renewTime: '', seenAtMs: now };
      this.heartbeats.set(name, heartbeat);
    }
    const silentMs = now - heartbeat.seenAtMs;
    const taint = taintsOf(node).find((candidate) => candidate.key === UNREACHABLE_TAINT && candidate.effect === 'NoExecute');
    if (silentMs < this.gracePeriodMs) {
      if (taint !== undefined) await this.setTaints(node, taintsOf(node).filter((candidate) => candidate !== taint));
      return requeueAfter(this.gracePeriodMs - silentMs);
    }
    await this.markUnknown(node);
    const current = taint ?? { key: UNREACHABLE_TAINT, effect: 'NoExecute' as const, timeAdded: timestampOf(now) };
    if (taint === undefined) {
      await this.setTaints(node, [...taintsOf(node), current]);
      void this.env.events?.record(NODES, node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    }
    return this.evictPods(name, current, now);
  }

  private async evictPods(nodeName: string, taint: Taint, now: number): Promise<ReconcileResult> {
    const taintedAt = Date.parse(taint.timeAdded ?? '') || now;
    let wakeMs = Infinity;
    for (const pod of this.pods?.onNode(nodeName) ?? []) {
      if (isBeingDeleted(pod)) continue;
      const tolerations = tolerationsOf(specOf(pod));
      const hasOwn = tolerations.some((toleration) => tolerates(toleration, taint));
      const allowedMs = hasOwn ? toleratedForMs(taint, tolerations) : this.defaultTolerationMs;
      if (allowedMs === Infinity) continue;
      const dueMs = taintedAt + allowedMs;
      if (dueMs > now) {
        wakeMs = Math.min(wakeMs, dueMs - now);
        continue;
      }
      if (!this.evictions.tryTake()) {
        wakeMs = Math.min(wakeMs, Math.ceil(1000 / this.evictionsPerSecond));
        break;
      }
      try {
        await this.env.client.delete(PODS, namespaceOf(pod), nameOf(pod), { preconditions: { uid: uidOf(pod) } });
        this.env.log.info({ pod: `${namespaceOf(pod)}/${nameOf(pod)}`, node: nodeName }, 'evicted pod from an unreachable node');
        void this.env.events?.record(PODS, pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${namespaceOf(pod)}/${nameOf(pod)}`);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    // Keep checking while unreachable: the Lease may come back, and new pods may land here.
    return requeueAfter(Math.min(wakeMs, this.gracePeriodMs));
  }

  private async setTaints(node: KubeObject, taints: readonly Taint[]): Promise<void> {
    try {
      await this.env.client.patch(NODES, undefined, nameOf(node), { metadata: { resourceVersion: metaOf(node).resourceVersion }, spec: { taints: taints.length === 0 ? null : taints } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async markUnknown(node: KubeObject): Promise<void> {
    const conditions = statusOf(node)['conditions'];
    const list = Array.isArray(conditions) ? (conditions as { type?: string; status?: string }[]) : [];
    const ready = list.find((condition) => condition.type === 'Ready');
    if (ready?.status === 'Unknown') return;
    const at = timestampOf(this.env.clock.now());
    const unknown = { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: at, lastTransitionTime: at };
    const next = [...list.filter((condition) => condition.type !== 'Ready'), unknown];
    try {
      await this.env.client.patch(NODES, undefined, nameOf(node), { status: { conditions: next } }, 'merge', 'status');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
}
