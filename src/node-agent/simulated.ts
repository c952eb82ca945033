// Simulated node agents (the kwok idea): many nodes in one process, each with its own API client
// (its own node credential in a real cluster). A node registers its Node (capacity, allocatable,
// labels, taints, Ready condition), holds a Lease in kube-node-lease renewed every 10 s, and watches
// only the pods bound to it (fieldSelector spec.nodeName=<node>). Its pods go Pending → Running after
// startDelayMs and Ready after readyDelayMs; the annotation `kplane.io/simulate` set to "fail" (or
// "succeed") makes a pod end Failed (exit 1) or Succeeded (exit 0) on cue. A pod that is meant to
// finish (restartPolicy Never or OnFailure: a Job's) ends by itself as its command line says
// (simulated-program.ts: `sleep N`, `exit K`, `true`, `false`; no command ends at once with 0); with
// OnFailure a non-zero exit restarts its containers (restartCount) instead. A pod being deleted gets
// its containers marked terminated, then is removed with grace 0, as the kubelet does.
//
// Everything is driven by the injected Clock; no process is started.

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.js';
import { ApiClientError, Informer, metaOf, PODS, type ApiClient, type KubeObject } from '../client/index.js';
import { NodeRegistration, timestamp, type NodeSpec } from './registration.js';
import { simulatedRunOf } from './simulated-program.js';

export { NODE_LEASE_NAMESPACE, LEASE_RENEW_INTERVAL_MS, LEASE_DURATION_SECONDS } from './registration.js';
/** The annotation that makes a simulated pod end on cue: "fail" or "succeed". */
export const SIMULATE_ANNOTATION = 'kplane.io/simulate';
/** Registrations (and their first lease) in flight at once when a pool starts. */
const REGISTRATION_CONCURRENCY = 32;

export type SimulatedNodeSpec = NodeSpec;

export interface SimulatedNodeOptions {
  /** The client a node uses (its own identity, system:node:<name>, in a real cluster). */
  readonly clientFor: (nodeName: string) => ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  /** Bound → Running (default 0: at once). */
  readonly startDelayMs?: number;
  /** Running → Ready (default 0). */
  readonly readyDelayMs?: number;
  readonly leaseRenewIntervalMs?: number;
  /**
   * One pod watch for the whole pool (fieldSelector spec.nodeName!=), dispatched to the nodes by
   * spec.nodeName, instead of one watch per node: for thousands of nodes in a process, as kwok does.
   * Each node still writes with its own client. The client needs list/watch of all pods.
   */
  readonly sharedWatchClient?: ApiClient;
}

interface PodRecord {
  uid: string;
  phase: 'Pending' | 'Running' | 'Ready' | 'Ended' | 'Terminating';
  timer: TimerHandle | undefined;
  /** When a finite pod's containers exit (simulated-program.ts). */
  endTimer?: TimerHandle | undefined;
  /** Container restarts of an OnFailure pod that exited non-zero. */
  restarts?: number;
}

/** An OnFailure container's restart delay: at once the first time, then 10 s doubling, at most 5 minutes (as the kubelet). */
const RESTART_BACKOFF_INITIAL_MS = 10_000;
const RESTART_BACKOFF_MAX_MS = 300_000;

/** One simulated node: its registration, lease and pods. */
/** A failed status write or removal is tried this many times in all, backing off from 100 ms to 5 s. */
const WRITE_ATTEMPTS = 8;
const WRITE_RETRY_MIN_MS = 100;
const WRITE_RETRY_MAX_MS = 5_000;

/** A /24 in 10.128.0.0/9 from a node's name (FNV-1a): distinct for distinct names but for rare hash clashes. */
export function podSubnetOf(nodeName: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < nodeName.length; index++) hash = Math.imul(hash ^ nodeName.charCodeAt(index), 0x01000193) >>> 0;
  const block = hash & 0x7fff; // 15 bits: 32,768 subnets
  return `10.${128 + (block >> 8)}.${block & 0xff}`;
}

export class SimulatedNode {
  private readonly client: ApiClient;
  /** Absent when the pool shares one watch (SimulatedNodeOptions.sharedWatchClient). */
  private readonly pods: Informer | undefined;
  private readonly records = new Map<string, PodRecord>();
  private readonly registration: NodeRegistration;
  private stopped = false;
  private nextPodAddress = 0;
  /** This node's pod subnet, a /24 from its name (as a node's podCIDR), so pod IPs differ across nodes and pools. */
  private readonly podSubnet: string;
  private readonly log: Logger;
  readonly stats = { started: 0, ready: 0, ended: 0, removed: 0 };

  constructor(
    readonly spec: SimulatedNodeSpec,
    private readonly address: string,
    private readonly options: SimulatedNodeOptions,
  ) {
    this.client = options.clientFor(spec.name);
    this.podSubnet = podSubnetOf(spec.name);
    this.log = options.log.child({ component: 'node-agent', node: spec.name });
    this.registration = new NodeRegistration({
      client: this.client,
      clock: options.clock,
      log: this.log,
      spec,
      address,
      runtime: 'simulated',
      ...(options.leaseRenewIntervalMs !== undefined ? { leaseRenewIntervalMs: options.leaseRenewIntervalMs } : {}),
    });
    if (options.sharedWatchClient === undefined) {
      this.pods = new Informer(this.client, PODS, { clock: options.clock, log: this.log, fieldSelector: `spec.nodeName=${spec.name}` });
      this.pods.addHandlers({
        onAdd: (pod) => this.onPod(pod),
        onUpdate: (_previous, pod) => this.onPod(pod),
        onDelete: (pod) => this.forget(pod),
      });
    }
  }

  /** A pod bound to this node was added or changed (from the pool's shared watch). */
  handlePod(pod: KubeObject): void {
    this.onPod(pod);
  }

  /** A pod bound to this node is gone (from the pool's shared watch). */
  handlePodDeleted(pod: KubeObject): void {
    this.forget(pod);
  }

  /** Registers the Node and its Lease, then starts watching its pods. */
  async start(): Promise<void> {
    await this.registration.start();
    this.pods?.start();
    await this.pods?.whenSynced();
  }

  stop(): void {
    this.stopped = true;
    this.registration.stop();
    for (const record of this.records.values()) this.cancelTimers(record);
    this.pods?.stop();
  }

  // ---- pods -----------------------------------------------------------------------------------

  private onPod(pod: KubeObject): void {
    if (this.stopped) return;
    const meta = metaOf(pod);
    const key = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
    let record = this.records.get(key);
    if (record !== undefined && record.uid !== (meta.uid ?? '')) {
      this.forget(pod);
      record = undefined;
    }
    if (meta.deletionTimestamp !== undefined) {
      if (record?.phase !== 'Terminating') void this.terminate(key, pod, record);
      return;
    }
    const phase = (pod['status'] as { phase?: string } | undefined)?.phase;
    if (record === undefined) {
      if (phase === 'Succeeded' || phase === 'Failed') {
        this.records.set(key, { uid: meta.uid ?? '', phase: 'Ended', timer: undefined });
        return;
      }
      if (phase === 'Running') {
        this.adopt(key, pod);
        return;
      }
      record = { uid: meta.uid ?? '', phase: 'Pending', timer: undefined };
      this.records.set(key, record);
      const pending = record;
      pending.timer = this.options.clock.setTimer(this.options.startDelayMs ?? 0, () => void this.startPod(key, pod, pending));
      return;
    }
    // A cue may arrive on a running pod.
    const cue = meta.annotations?.[SIMULATE_ANNOTATION];
    if ((record.phase === 'Running' || record.phase === 'Ready') && (cue === 'fail' || cue === 'succeed')) void this.endPod(key, pod, record, cue === 'fail' ? 1 : 0);
  }

  /**
   * A pod already Running on this node when the agent (re)started: adopt it as it is, Ready or not yet,
   * as a kubelet restart leaves running containers alone, rather than playing its start again.
   */
  private adopt(key: string, pod: KubeObject): void {
    const status = (pod['status'] ?? {}) as { startTime?: string; conditions?: { type?: string; status?: string }[] };
    const isReady = status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true;
    const record: PodRecord = { uid: metaOf(pod).uid ?? '', phase: isReady ? 'Ready' : 'Running', timer: undefined };
    this.records.set(key, record);
    const startedAt = status.startTime ?? timestamp(this.options.clock.now());
    this.scheduleEnd(key, pod, record, Date.parse(startedAt));
    if (isReady) return;
    record.timer = this.options.clock.setTimer(this.options.readyDelayMs ?? 0, () => void this.readyPod(key, pod, record, startedAt));
  }

  private forget(pod: KubeObject): void {
    const meta = metaOf(pod);
    const key = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
    const record = this.records.get(key);
    if (record !== undefined) this.cancelTimers(record);
    this.records.delete(key);
  }

  private containerNames(pod: KubeObject): string[] {
    const containers = (pod['spec'] as { containers?: { name?: string }[] } | undefined)?.containers ?? [];
    return containers.map((container) => container.name ?? '');
  }

  private conditions(ready: boolean, now: string): KubeObject[] {
    const flag = ready ? 'True' : 'False';
    return [
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      { type: 'ContainersReady', status: flag, lastProbeTime: null, lastTransitionTime: now },
      { type: 'Ready', status: flag, lastProbeTime: null, lastTransitionTime: now },
    ];
  }

  /**
   * Runs an API write, retrying what may succeed later (429 when the API server is busy, 5xx, a lost
   * connection) with exponential backoff on the injected clock; 4xx answers are final.
   */
  /** The next address of this node's pod subnet (1 to 254, then around again). */
  private nextPodIp(): string {
    return `${this.podSubnet}.${1 + (this.nextPodAddress++ % 254)}`;
  }

  private async withRetries<T>(write: () => Promise<T>): Promise<T> {
    let delayMs = WRITE_RETRY_MIN_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (error) {
        const final = error instanceof ApiClientError && error.status < 500 && error.status !== 429;
        if (final || attempt >= WRITE_ATTEMPTS || this.stopped) throw error;
        await new Promise<void>((resolve) => this.options.clock.setTimer(delayMs, resolve));
        delayMs = Math.min(WRITE_RETRY_MAX_MS, delayMs * 2);
      }
    }
  }

  private async patchStatus(pod: KubeObject, status: KubeObject): Promise<boolean> {
    const meta = metaOf(pod);
    try {
      await this.withRetries(() => this.client.patch(PODS, meta.namespace, meta.name ?? '', { status }, 'merge', 'status'));
      return true;
    } catch (error) {
      if (!(error instanceof ApiClientError && (error.status === 404 || error.status === 409))) this.log.warn({ err: error, pod: meta.name }, 'pod status update failed');
      return false;
    }
  }

  private async startPod(key: string, pod: KubeObject, record: PodRecord): Promise<void> {
    record.timer = undefined;
    if (this.stopped || this.records.get(key) !== record || record.phase !== 'Pending') return;
    const cue = metaOf(pod).annotations?.[SIMULATE_ANNOTATION];
    if (cue === 'fail' || cue === 'succeed') return this.endPod(key, pod, record, cue === 'fail' ? 1 : 0);
    const nowMs = this.options.clock.now();
    const now = timestamp(nowMs);
    record.phase = 'Running';
    const written = await this.patchStatus(pod, {
      phase: 'Running',
      hostIP: this.address,
      podIP: this.nextPodIp(),
      startTime: now,
      conditions: this.conditions(false, now),
      containerStatuses: this.containerNames(pod).map((name) => ({ name, ready: false, started: true, restartCount: 0, image: 'simulated', imageID: '', state: { running: { startedAt: now } } })),
    });
    if (!written) return;
    this.stats.started++;
    if (this.records.get(key) !== record || record.phase !== 'Running') return;
    this.scheduleEnd(key, pod, record, nowMs);
    record.timer = this.options.clock.setTimer(this.options.readyDelayMs ?? 0, () => void this.readyPod(key, pod, record, now));
  }

  private async readyPod(key: string, pod: KubeObject, record: PodRecord, startedAt: string): Promise<void> {
    record.timer = undefined;
    if (this.stopped || this.records.get(key) !== record || record.phase !== 'Running') return;
    record.phase = 'Ready';
    const now = timestamp(this.options.clock.now());
    const written = await this.patchStatus(pod, {
      conditions: this.conditions(true, now),
      containerStatuses: this.containerNames(pod).map((name) => ({ name, ready: true, started: true, restartCount: record.restarts ?? 0, image: 'simulated', imageID: '', state: { running: { startedAt } } })),
    });
    if (written) this.stats.ready++;
  }

  private cancelTimers(record: PodRecord): void {
    if (record.timer !== undefined) this.options.clock.cancelTimer(record.timer);
    if (record.endTimer !== undefined) this.options.clock.cancelTimer(record.endTimer);
    record.timer = undefined;
    record.endTimer = undefined;
  }

  /** A finite pod (restartPolicy Never/OnFailure): its containers exit runMs after `startedAtMs`. */
  private scheduleEnd(key: string, pod: KubeObject, record: PodRecord, startedAtMs: number): void {
    const run = simulatedRunOf((pod['spec'] ?? {}) as { restartPolicy?: unknown; containers?: unknown });
    if (run === undefined) return;
    const elapsed = Number.isFinite(startedAtMs) ? this.options.clock.now() - startedAtMs : 0;
    record.endTimer = this.options.clock.setTimer(Math.max(0, run.runMs - elapsed), () => void this.containersExited(key, pod, record, run.exitCode));
  }

  /** The containers exited: the pod ends, or (OnFailure, non-zero) they restart after the backoff. */
  private async containersExited(key: string, pod: KubeObject, record: PodRecord, exitCode: number): Promise<void> {
    record.endTimer = undefined;
    if (this.stopped || this.records.get(key) !== record || (record.phase !== 'Running' && record.phase !== 'Ready')) return;
    const restartPolicy = (pod['spec'] as { restartPolicy?: string } | undefined)?.restartPolicy;
    if (exitCode === 0 || restartPolicy !== 'OnFailure') return this.endPod(key, pod, record, exitCode);
    const restarts = (record.restarts ?? 0) + 1;
    record.restarts = restarts;
    const nowMs = this.options.clock.now();
    const now = timestamp(nowMs);
    const delayMs = restarts === 1 ? 0 : Math.min(RESTART_BACKOFF_MAX_MS, RESTART_BACKOFF_INITIAL_MS * 2 ** Math.min(restarts - 2, 20));
    const written = await this.patchStatus(pod, {
      containerStatuses: this.containerNames(pod).map((name) => ({
        name,
        ready: record.phase === 'Ready',
        started: true,
        restartCount: restarts,
        image: 'simulated',
        imageID: '',
        state: { running: { startedAt: timestamp(nowMs + delayMs) } },
        lastState: { terminated: { exitCode, reason: 'Error', finishedAt: now } },
      })),
    });
    if (!written || this.records.get(key) !== record) return;
    this.scheduleEnd(key, pod, record, nowMs + delayMs);
  }

  private async endPod(key: string, pod: KubeObject, record: PodRecord, exitCode: number): Promise<void> {
    this.cancelTimers(record);
    record.phase = 'Ended';
    const now = timestamp(this.options.clock.now());
    const reason = exitCode === 0 ? 'Completed' : 'Error';
    const written = await this.patchStatus(pod, {
      phase: exitCode === 0 ? 'Succeeded' : 'Failed',
      conditions: this.conditions(false, now),
      containerStatuses: this.containerNames(pod).map((name) => ({ name, ready: false, started: false, restartCount: record.restarts ?? 0, image: 'simulated', imageID: '', state: { terminated: { exitCode, reason, finishedAt: now } } })),
    });
    if (written && this.records.get(key) === record) this.stats.ended++;
  }

  /** Graceful deletion: containers terminated (exit 0, as after SIGTERM), then the grace-0 delete. */
  private async terminate(key: string, pod: KubeObject, existing: PodRecord | undefined): Promise<void> {
    const meta = metaOf(pod);
    const record: PodRecord = existing ?? { uid: meta.uid ?? '', phase: 'Terminating', timer: undefined };
    this.cancelTimers(record);
    const wasRunning = record.phase === 'Running' || record.phase === 'Ready';
    record.phase = 'Terminating';
    this.records.set(key, record);
    if (wasRunning) {
      const now = timestamp(this.options.clock.now());
      await this.patchStatus(pod, {
        conditions: this.conditions(false, now),
        containerStatuses: this.containerNames(pod).map((name) => ({ name, ready: false, started: false, restartCount: 0, image: 'simulated', imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: now } } })),
      });
    }
    try {
      await this.withRetries(() => this.client.delete(PODS, meta.namespace, meta.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: record.uid } }));
      this.stats.removed++;
    } catch (error) {
      if (!(error instanceof ApiClientError && (error.status === 404 || error.status === 409))) {
        this.log.warn({ err: error, pod: meta.name }, 'pod removal failed; retrying on the next update');
        record.phase = 'Ended';
      }
    }
  }
}

/** Many simulated nodes in one process. */
export class SimulatedNodePool {
  readonly nodes: SimulatedNode[];
  private readonly byName = new Map<string, SimulatedNode>();
  private readonly sharedPods: Informer | undefined;

  constructor(specs: readonly SimulatedNodeSpec[], options: SimulatedNodeOptions) {
    this.nodes = specs.map((spec, index) => {
      if (this.byName.has(spec.name)) throw new RangeError(`simulated node ${JSON.stringify(spec.name)} is listed twice`);
      const node = new SimulatedNode(spec, `10.${64 + ((index >> 16) & 63)}.${(index >> 8) & 255}.${index & 255}`, options);
      this.byName.set(spec.name, node);
      return node;
    });
    if (options.sharedWatchClient !== undefined) {
      const nodeOf = (pod: KubeObject): SimulatedNode | undefined => this.byName.get((pod['spec'] as { nodeName?: string } | undefined)?.nodeName ?? '');
      this.sharedPods = new Informer(options.sharedWatchClient, PODS, { clock: options.clock, log: options.log, fieldSelector: 'spec.nodeName!=' });
      this.sharedPods.addHandlers({
        onAdd: (pod) => nodeOf(pod)?.handlePod(pod),
        onUpdate: (_previous, pod) => nodeOf(pod)?.handlePod(pod),
        onDelete: (pod) => nodeOf(pod)?.handlePodDeleted(pod),
      });
    }
  }

  /** Registers every node (a bounded number at once) and starts their pod watches. */
  async start(): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < this.nodes.length) {
        const node = this.nodes[next++];
        if (node !== undefined) await node.start();
      }
    };
    await Promise.all(Array.from({ length: Math.min(REGISTRATION_CONCURRENCY, this.nodes.length) }, worker));
    this.sharedPods?.start();
    await this.sharedPods?.whenSynced();
  }

  stop(): void {
    this.sharedPods?.stop();
    for (const node of this.nodes) node.stop();
  }
}

/** `count` nodes named `<prefix>-<i>` with the same capacity (the config's nodes.capacity). */
export function uniformNodes(prefix: string, count: number, capacity: SimulatedNodeSpec['capacity'], labels: Readonly<Record<string, string>> = {}): SimulatedNodeSpec[] {
  const width = String(Math.max(0, count - 1)).length;
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${String(i).padStart(width, '0')}`, capacity, labels }));
}
