// The pod invariants of the chaos suite (issue 10 §3), judged from one watch of every pod of a
// namespace through @kubernetes/client-node, so a check sees the pods as they were at each revision:
//   - no pod bound twice: once a pod has spec.nodeName it never changes, and each pod name (uid) is
//     bound once;
//   - no node overcommitted: at every pod event, the requests of the pods bound to a node and not
//     terminated (Succeeded/Failed; terminating pods still count, as in the allocation ledger) fit its
//     allocatable (cpu, memory, pod count);
//   - the rolling-update bound of the Deployments registered with `watchRollout`: pods ≤ replicas +
//     maxSurge (terminating ones included), available ≥ replicas − maxUnavailable, at every event;
//   - convergence (`waitConverged`): every registered Deployment has its replicas Running and Ready.
// The watch restarts from its last resourceVersion if the server ends it; violations are collected,
// not thrown, so a scenario can finish and print its timeline.
import * as k8s from '@kubernetes/client-node';
import type { Json } from '../../scheduler/model.js';
import { addResources, isTerminal, nodeAllocatable, podRequests, type Resources, NO_RESOURCES } from '../../scheduler/resources.js';

/** Every pod event is checked; a violation is kept at most this many times (the rest are counted). */
const MAX_RECORDED_VIOLATIONS = 50;
const WATCH_RESTART_MS = 200;

export interface RolloutBound {
  readonly replicas: number;
  readonly maxSurge: number;
  readonly maxUnavailable: number;
  readonly minReadySeconds: number;
}

export const isTerminating = (pod: k8s.V1Pod): boolean => pod.metadata?.deletionTimestamp !== undefined;

export const controllerOf = (pod: k8s.V1Pod): string => pod.metadata?.ownerReferences?.find((reference) => reference.controller === true)?.name ?? '(none)';

/** When the pod's Ready condition became True; undefined when it is not Ready. */
export function readySinceMs(pod: k8s.V1Pod): number | undefined {
  const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready');
  if (ready?.status !== 'True') return undefined;
  const since = ready.lastTransitionTime === undefined ? Number.NaN : new Date(ready.lastTransitionTime).getTime();
  return Number.isNaN(since) ? 0 : since;
}

/** Available as the Deployment controller counts it: not terminating, Ready for minReadySeconds. */
export function isAvailable(pod: k8s.V1Pod, nowMs: number, minReadySeconds: number): boolean {
  const since = readySinceMs(pod);
  return !isTerminating(pod) && since !== undefined && nowMs - since >= minReadySeconds * 1000;
}

export const isRunningAndReady = (pod: k8s.V1Pod): boolean => !isTerminating(pod) && pod.status?.phase === 'Running' && readySinceMs(pod) !== undefined;

interface Binding {
  readonly uid: string;
  readonly node: string;
}

interface RolloutState {
  readonly bound: RolloutBound;
  maxPods: number;
  minAvailable: number;
}

export class PodInvariants {
  /** The pods as of the last event, by name. */
  readonly pods = new Map<string, k8s.V1Pod>();
  /** Every pod name ever seen, per controlling owner (a ReplicaSet name, or "(none)"). */
  readonly everSeen = new Map<string, Set<string>>();
  /** The first node each pod name (and uid) was seen bound to. */
  private readonly bindings = new Map<string, Binding>();
  private readonly allocatable = new Map<string, Resources>();
  private readonly rollouts = new Map<string, RolloutState>();
  private readonly violationList: string[] = [];
  private violationCount = 0;
  private events = 0;
  private abort: AbortController | undefined;
  private resourceVersion = '0';
  private closed = false;
  private relistNeeded = false;
  private relists = 0;

  constructor(
    private readonly kubeConfig: k8s.KubeConfig,
    private readonly namespace: string,
    /** Called with each violation as it is found (for the timeline). */
    private readonly onViolation: (text: string) => void = () => undefined,
  ) {}

  /** Reads the nodes' allocatable and the current pods, then watches every pod event from there. */
  async start(): Promise<void> {
    await this.refreshNodes();
    const core = this.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const initial = await core.listNamespacedPod({ namespace: this.namespace });
    this.resourceVersion = initial.metadata?.resourceVersion ?? '0';
    for (const pod of initial.items) this.remember(pod);
    this.checkAll();
    await this.watch();
  }

  /** Re-reads every node's allocatable (call after nodes are added). */
  async refreshNodes(): Promise<void> {
    const core = this.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const nodes = await core.listNode();
    for (const node of nodes.items) this.allocatable.set(node.metadata?.name ?? '', nodeAllocatable(node as unknown as Json));
  }

  /** Checks the rolling-update bound of Deployment `name` (pods labelled app=`name`) from now on. */
  watchRollout(name: string, bound: RolloutBound): void {
    this.rollouts.set(name, { bound, maxPods: 0, minAvailable: Number.POSITIVE_INFINITY });
  }

  unwatchRollout(name: string): void {
    this.rollouts.delete(name);
  }

  /** The largest pod count and the smallest available count seen for a watched rollout. */
  rolloutExtremes(name: string): { readonly maxPods: number; readonly minAvailable: number } | undefined {
    const state = this.rollouts.get(name);
    return state === undefined ? undefined : { maxPods: state.maxPods, minAvailable: state.minAvailable };
  }

  get violations(): readonly string[] {
    const dropped = this.violationCount - this.violationList.length;
    return dropped > 0 ? [...this.violationList, `(${dropped} more violations not recorded)`] : this.violationList;
  }

  get eventCount(): number {
    return this.events;
  }

  /** Pods of app=`name`, as of the last event. */
  podsOf(app: string): k8s.V1Pod[] {
    return [...this.pods.values()].filter((pod) => pod.metadata?.labels?.['app'] === app);
  }

  /** Names of pods bound (ever) so far. */
  boundCount(): number {
    return this.bindings.size;
  }

  /** Final check of the current pods (the same checks as at each event). */
  checkAll(): void {
    this.checkOvercommit();
    this.checkRollouts();
  }

  stop(): void {
    this.closed = true;
    this.abort?.abort();
  }

  private async watch(): Promise<void> {
    if (this.closed) return;
    if (this.relistNeeded) await this.relist();
    const watch = new k8s.Watch(this.kubeConfig);
    this.abort = await watch.watch(
      `/api/v1/namespaces/${this.namespace}/pods`,
      { resourceVersion: this.resourceVersion },
      (phase: string, pod: k8s.V1Pod) => {
        if (phase === 'ERROR') {
          // 410 Gone: our resourceVersion is compacted away; list again on the next start.
          if ((pod as { code?: number }).code === 410) this.relistNeeded = true;
          return;
        }
        if (phase === 'BOOKMARK') return;
        this.events += 1;
        this.resourceVersion = pod.metadata?.resourceVersion ?? this.resourceVersion;
        if (phase === 'DELETED') this.pods.delete(pod.metadata?.name ?? '');
        else this.remember(pod);
        this.checkAll();
      },
      (error: unknown) => {
        if (error instanceof Error && /\b410\b|Gone/.test(error.message)) this.relistNeeded = true;
        this.scheduleRestart();
      },
    );
  }

  /** Replaces the view with a fresh list (after 410 Gone); pods missing from it were deleted meanwhile. */
  private async relist(): Promise<void> {
    const core = this.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: this.namespace });
    const present = new Set(list.items.map((pod) => pod.metadata?.name ?? ''));
    for (const name of [...this.pods.keys()]) if (!present.has(name)) this.pods.delete(name);
    for (const pod of list.items) this.remember(pod);
    this.resourceVersion = list.metadata?.resourceVersion ?? this.resourceVersion;
    this.relistNeeded = false;
    this.relists += 1;
    this.checkAll();
  }

  /** How often the watch had to list again (its resourceVersion was compacted). */
  get relistCount(): number {
    return this.relists;
  }

  private scheduleRestart(): void {
    if (!this.closed) setTimeout(() => void this.watch().catch(() => this.scheduleRestart()), WATCH_RESTART_MS);
  }

  private violation(text: string): void {
    this.violationCount += 1;
    if (this.violationList.length < MAX_RECORDED_VIOLATIONS) {
      this.violationList.push(text);
      this.onViolation(text);
    }
  }

  private remember(pod: k8s.V1Pod): void {
    const name = pod.metadata?.name ?? '';
    this.pods.set(name, pod);
    const owner = controllerOf(pod);
    const names = this.everSeen.get(owner) ?? new Set<string>();
    names.add(name);
    this.everSeen.set(owner, names);
    const node = pod.spec?.nodeName ?? '';
    const uid = pod.metadata?.uid ?? '';
    const earlier = this.bindings.get(name);
    if (node === '') {
      if (earlier !== undefined && earlier.uid === uid) this.violation(`pod ${name} (uid ${uid}) was bound to ${earlier.node}, now shows no node`);
      return;
    }
    if (earlier === undefined) this.bindings.set(name, { uid, node });
    else if (earlier.uid !== uid) this.violation(`pod name ${name} bound twice: uid ${earlier.uid} on ${earlier.node}, then uid ${uid} on ${node}`);
    else if (earlier.node !== node) this.violation(`pod ${name} (uid ${uid}) bound twice: ${earlier.node}, then ${node}`);
  }

  private checkOvercommit(): void {
    const committed = new Map<string, Resources>();
    for (const pod of this.pods.values()) {
      const node = pod.spec?.nodeName ?? '';
      if (node === '' || isTerminal(pod as unknown as Json)) continue;
      committed.set(node, addResources(committed.get(node) ?? NO_RESOURCES, podRequests(pod as unknown as Json)));
    }
    for (const [node, used] of committed) {
      const allocatable = this.allocatable.get(node);
      if (allocatable === undefined) continue;
      const over = exceeded(used, allocatable);
      if (over.length > 0) this.violation(`node ${node} overcommitted (${over.join(', ')}): ${used.cpuMillis}m cpu, ${used.memoryBytes} bytes, ${used.pods} pods bound`);
    }
  }

  private checkRollouts(): void {
    const now = Date.now();
    for (const [name, state] of this.rollouts) {
      const pods = this.podsOf(name);
      const available = pods.filter((pod) => isAvailable(pod, now, state.bound.minReadySeconds)).length;
      state.maxPods = Math.max(state.maxPods, pods.length);
      state.minAvailable = Math.min(state.minAvailable, available);
      const { replicas, maxSurge, maxUnavailable } = state.bound;
      if (pods.length > replicas + maxSurge) this.violation(`rollout ${name}: ${pods.length} pods (> ${replicas} + ${maxSurge})`);
      if (available < replicas - maxUnavailable) this.violation(`rollout ${name}: ${available} available (< ${replicas} − ${maxUnavailable})`);
    }
  }
}

/** The resources of which `used` is more than `allocatable` has. */
function exceeded(used: Resources, allocatable: Resources): string[] {
  const over: string[] = [];
  if (used.pods > allocatable.pods) over.push('pods');
  if (used.cpuMillis > allocatable.cpuMillis) over.push('cpu');
  if (used.memoryBytes > allocatable.memoryBytes) over.push('memory');
  return over;
}

/** Polls `read` until `accept` holds or the time is up; returns the last value read (errors count as "not yet"). */
export async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch {
      // the API may be briefly unavailable; try again
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return last;
}

/** The stated bound: after the last heal, every Deployment has its replicas Running and Ready within this. */
export const POD_CONVERGE_BOUND_MS = 30_000;

/**
 * Waits until every Deployment of the namespace has status and pods matching spec.replicas, each pod
 * Running and Ready and none left over; resolves with the ms it took, or undefined and what was
 * missing.
 */
export async function waitDeploymentsConverged(kubeConfig: k8s.KubeConfig, namespace: string, timeoutMs = POD_CONVERGE_BOUND_MS): Promise<{ readonly ms: number | undefined; readonly detail: string }> {
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const started = Date.now();
  let detail = 'not read';
  while (Date.now() - started < timeoutMs) {
    try {
      const deployments = (await apps.listNamespacedDeployment({ namespace })).items;
      const pods = (await core.listNamespacedPod({ namespace })).items;
      const missing: string[] = [];
      for (const deployment of deployments) {
        const name = deployment.metadata?.name ?? '';
        const replicas = deployment.spec?.replicas ?? 1;
        const selector = deployment.spec?.selector.matchLabels ?? {};
        const own = pods.filter((pod) => Object.entries(selector).every(([key, value]) => pod.metadata?.labels?.[key] === value));
        const ready = own.filter(isRunningAndReady).length;
        if (ready !== replicas || own.length !== replicas || deployment.status?.readyReplicas !== replicas) {
          missing.push(`${name}: ${ready}/${replicas} Running and Ready, ${own.length} pods, status.readyReplicas ${String(deployment.status?.readyReplicas)}`);
        }
      }
      detail = missing.length === 0 ? `${deployments.length} Deployments converged` : missing.join('; ');
      if (missing.length === 0) return { ms: Date.now() - started, detail };
    } catch (error) {
      detail = `API error: ${error instanceof Error ? error.message : String(error)}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { ms: undefined, detail };
}
