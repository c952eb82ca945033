// One scheduler shard. It owns the pending pods whose stable hash of namespace/name, mod the shard
// count, is its index; it sees every node and every bound pod (informers) and binds through
// pods/binding. Shards race for the same nodes; the binding refuses any node whose committed
// allocation cannot take the pod (src/api/handlers/binding.ts), so a lost race is a 409 that sends
// the pod to backoff, never an overcommitted node.
//
// The loop: pop the best pod, run the framework over the cache (synchronously), assume the pod on
// the chosen node, and bind in the background (up to maxBindingsInFlight at once) while the next
// pod is scheduled. Unschedulable pods get a FailedScheduling Warning event and a PodScheduled=False
// condition, and wait in the queue for an event that could help.
//
// Environment: an ApiClient (its own credentials), a Clock, a Random (tie-breaks) and a logger.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import type { Random } from '../actors/random.js';
import { ApiClientError, EVENTS, Informer, metaOf, NODES, PODS, type ApiClient, type KubeObject } from '../client/index.js';
import { SchedulerCache } from './cache.js';
import { Framework } from './framework.js';
import { toPodInfo, type PodInfo } from './model.js';
import { buildProfile, type ProfileConfig } from './plugins/index.js';
import { SchedulingQueue, type QueuedPod } from './queue.js';
import { QuantityError } from './quantity.js';
import { ShardMembership } from './shard-leases.js';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
/** Bindings in flight per shard (each is one API call; the cache already counts their pods). */
export const MAX_BINDINGS_IN_FLIGHT = 32;
/** Scheduling cycles run back to back before the shard yields to I/O. */
const CYCLES_PER_TURN = 64;

export interface ShardOptions {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly index: number;
  readonly shards: number;
  readonly profile?: ProfileConfig;
  readonly schedulerName?: string;
  readonly maxBindingsInFlight?: number;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Shard leases (shard-leases.ts), so live shards take over a dead shard's part. Default: on when
   * there is more than one shard, with SHARD_LEASE_DURATION_SECONDS and SHARD_LEASE_RENEW_INTERVAL_MS.
   */
  readonly leases?: false | { readonly leaseDurationSeconds?: number; readonly renewIntervalMs?: number };
}

export interface ShardStats {
  bound: number;
  /** Bindings refused because the node had no room left (another shard won the race). */
  bindConflicts: number;
  unschedulable: number;
  errors: number;
}

/** FNV-1a, 32 bits: stable across processes and versions (unlike any runtime hash). */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

export function shardOf(namespace: string, name: string, shards: number): number {
  return stableHash(`${namespace}/${name}`) % shards;
}

export class SchedulerShard {
  readonly stats: ShardStats = { bound: 0, bindConflicts: 0, unschedulable: 0, errors: 0 };
  private readonly cache = new SchedulerCache();
  private readonly framework: Framework;
  private readonly queue: SchedulingQueue;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly schedulerName: string;
  private eventSequence = 0;
  private readonly maxBindingsInFlight: number;
  private readonly inFlight = new Set<string>();
  private readonly membership: ShardMembership | undefined;
  /** The parts (hash mod shards) this shard schedules: its own, plus dead shards' it took over. */
  private owned: ReadonlySet<number>;
  private pumpScheduled = false;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: ShardOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1 || options.index < 0 || options.index >= options.shards) {
      throw new RangeError(`shard index ${options.index} of ${options.shards} is out of range`);
    }
    this.log = options.log.child({ component: 'scheduler', shard: options.index });
    this.framework = new Framework(buildProfile(options.profile), options.random);
    this.schedulerName = options.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.maxBindingsInFlight = options.maxBindingsInFlight ?? MAX_BINDINGS_IN_FLIGHT;
    this.queue = new SchedulingQueue({
      clock: options.clock,
      compare: (a, b) => this.framework.compare(a, b),
      onActive: () => this.schedulePump(),
      ...(options.initialBackoffMs !== undefined ? { initialBackoffMs: options.initialBackoffMs } : {}),
      ...(options.maxBackoffMs !== undefined ? { maxBackoffMs: options.maxBackoffMs } : {}),
    });
    this.owned = new Set([options.index]);
    if (options.shards > 1 && options.leases !== false) {
      this.membership = new ShardMembership({
        client: options.client,
        clock: options.clock,
        log: this.log,
        schedulerName: this.schedulerName,
        index: options.index,
        shards: options.shards,
        ...(options.leases?.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: options.leases.leaseDurationSeconds } : {}),
        ...(options.leases?.renewIntervalMs !== undefined ? { renewIntervalMs: options.leases.renewIntervalMs } : {}),
        onOwnershipChange: (owned) => this.onOwnershipChange(owned),
      });
    }
    const informerOptions = { clock: options.clock, log: this.log };
    this.nodes = new Informer(options.client, NODES, informerOptions);
    this.pods = new Informer(options.client, PODS, informerOptions);
    this.nodes.addHandlers({
      onAdd: (node) => this.onNode(node),
      onUpdate: (_previous, node) => this.onNode(node),
      onDelete: (node) => this.cache.removeNode(metaOf(node).name ?? ''),
    });
    this.pods.addHandlers({
      onAdd: (pod) => this.onPod(pod),
      onUpdate: (_previous, pod) => this.onPod(pod),
      onDelete: (pod) => this.onPodDeleted(pod),
    });
  }

  /** Starts the informers; resolves once both have synced (scheduling starts then). */
  async start(): Promise<void> {
    await this.membership?.start();
    this.nodes.start();
    this.pods.start();
    await Promise.all([this.nodes.whenSynced(), this.pods.whenSynced()]);
    this.schedulePump();
  }

  stop(): void {
    this.stopped = true;
    this.membership?.stop();
    this.nodes.stop();
    this.pods.stop();
    this.queue.close();
  }

  owns(namespace: string, name: string): boolean {
    return this.owned.has(shardOf(namespace, name, this.options.shards));
  }

  ownedParts(): ReadonlySet<number> {
    return this.owned;
  }

  /** Took over a dead shard's part (or gave one back): re-sort every pending pod. */
  private onOwnershipChange(owned: ReadonlySet<number>): void {
    this.owned = owned;
    if (!this.pods.hasSynced()) return;
    for (const pod of this.pods.list()) this.onPod(pod);
  }

  queueSizes(): ReturnType<SchedulingQueue['sizes']> {
    return this.queue.sizes();
  }

  // ---- informer events ------------------------------------------------------------------------

  private onNode(node: KubeObject): void {
    this.cache.upsertNode(node);
    this.queue.moveAllUnschedulable();
  }

  private onPod(object: KubeObject): void {
    let pod: PodInfo;
    try {
      pod = toPodInfo(object);
    } catch (error) {
      if (!(error instanceof QuantityError)) throw error;
      this.log.warn({ err: error, pod: metaOf(object).name }, 'pod has a malformed resource quantity; not scheduling it');
      return;
    }
    if (pod.nodeName !== '') {
      this.queue.done(pod.key);
      if (pod.terminal) {
        if (this.cache.removePod(pod.key)) this.queue.moveAllUnschedulable();
      } else this.cache.addBoundPod(pod);
      return;
    }
    if (pod.deleting || pod.terminal || pod.schedulerName !== this.schedulerName || !this.owns(pod.namespace, pod.name)) {
      this.queue.delete(pod.key);
      return;
    }
    if (this.inFlight.has(pod.key) || this.cache.isAssumed(pod.key)) return;
    this.queue.addOrUpdate(pod);
  }

  private onPodDeleted(object: KubeObject): void {
    const meta = metaOf(object);
    const key = `${meta.namespace ?? 'default'}/${meta.name ?? ''}`;
    this.queue.delete(key);
    if (this.cache.removePod(key)) this.queue.moveAllUnschedulable();
  }

  // ---- the scheduling loop --------------------------------------------------------------------

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    this.options.clock.defer(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    for (let cycles = 0; !this.stopped && this.inFlight.size < this.maxBindingsInFlight; cycles++) {
      if (cycles === CYCLES_PER_TURN) {
        this.schedulePump();
        return;
      }
      const popped = this.queue.pop();
      if (popped === undefined) return;
      this.scheduleOne(popped);
    }
  }

  private scheduleOne(popped: QueuedPod): void {
    const pod = popped.info;
    const result = this.framework.schedule(pod, this.cache);
    if (result.kind === 'unschedulable') {
      this.stats.unschedulable++;
      this.queue.requeueUnschedulable(popped);
      void this.reportUnschedulable(pod, result.message);
      return;
    }
    const node = this.cache.byName.get(result.node);
    if (node === undefined) throw new Error(`invariant: the chosen node ${result.node} is in the cache`);
    this.cache.assume(pod, result.node);
    this.framework.reserve(result.state, pod, node);
    this.inFlight.add(pod.key);
    void this.bind(popped, result.node).finally(() => {
      this.inFlight.delete(pod.key);
      this.schedulePump();
    });
  }

  private async bind(popped: QueuedPod, nodeName: string): Promise<void> {
    const pod = popped.info;
    try {
      await this.options.client.bind(pod.namespace, pod.name, nodeName);
      this.stats.bound++;
      this.queue.done(pod.key);
      void this.recordEvent(pod, 'Normal', 'Scheduled', `Successfully assigned ${pod.namespace}/${pod.name} to ${nodeName}`);
    } catch (error) {
      this.cache.forget(pod.key);
      if (error instanceof ApiClientError && (error.status === 404 || (error.status === 409 && /already assigned|being deleted/.test(error.message)))) {
        this.queue.done(pod.key); // gone, bound already, or being deleted: nothing left to do
        return;
      }
      if (error instanceof ApiClientError && error.status === 409) this.stats.bindConflicts++;
      else {
        this.stats.errors++;
        this.log.warn({ err: error, pod: pod.key, node: nodeName }, 'binding failed; backing off');
      }
      this.queue.requeueBackoff(popped);
    }
  }

  /** kube-scheduler's FailedScheduling Warning event and PodScheduled=False condition. */
  private async reportUnschedulable(pod: PodInfo, message: string): Promise<void> {
    const now = this.timestamp();
    const recorded = await this.recordEvent(pod, 'Warning', 'FailedScheduling', message);
    if (!recorded) return;
    try {
      await this.options.client.patch(
        PODS,
        pod.namespace,
        pod.name,
        { status: { conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: now }] } },
        'merge',
        'status',
      );
    } catch (error) {
      this.log.debug({ err: error, pod: pod.key }, 'could not report FailedScheduling');
    }
  }

  private timestamp(): string {
    return new Date(this.options.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /**
   * An Event about a pod, as kube-scheduler records them (Scheduled, FailedScheduling), so that
   * `kubectl describe pod` shows them. Best effort: false when it could not be written.
   */
  private async recordEvent(pod: PodInfo, type: 'Normal' | 'Warning', reason: string, message: string): Promise<boolean> {
    const now = this.timestamp();
    const event: KubeObject = {
      apiVersion: 'v1',
      kind: 'Event',
      // Named from the clock, the shard and a counter: drawing from the scheduling PRNG would change decisions.
      metadata: { name: `${pod.name}.${this.options.clock.now().toString(16)}${this.options.index.toString(16)}${(this.eventSequence++).toString(16).padStart(4, '0')}`, namespace: pod.namespace },
      involvedObject: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
      reason,
      message,
      type,
      source: { component: this.schedulerName },
      reportingComponent: this.schedulerName,
      reportingInstance: `${this.schedulerName}-${this.options.index}`,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.options.client.create(EVENTS, pod.namespace, event);
      return true;
    } catch (error) {
      this.log.debug({ err: error, pod: pod.key, reason }, 'event not recorded');
      return false;
    }
  }
}
