// The node agent's resource-usage service (the kubelet's /metrics/resource, which metrics-server
// scrapes): an actor at NODE_STATS_PATH in each node's API-connection actor system, asked by the API
// server for the metrics.k8s.io API (`kubectl top`). docs/decisions/0010-metrics.md.
//
//   stats.read → answered with stats.summary { status, timestampMs, windowMs, node, pods }
//
// What a node reports depends on its runtime: a process node measures its containers' process groups
// and the machine (process-usage.ts); a simulated node derives its pods' usage from their requests,
// or from the annotations kplane.io/simulate-cpu and kplane.io/simulate-memory (so that a test or a
// demo can make a pod look busy), and adds a fixed system overhead.

import type { ActorRef, Behavior, MessageProtocol } from '../actors/index.js';
import { isActorRef, isSignal, remoteSenderOf } from '../actors/index.js';
import type { Clock } from '../actors/clock.js';
import { PODS, metaOf, type ApiClient, type KubeObject } from '../client/index.js';
import { parseMillis, parseUnits, quantityText } from '../scheduler/quantity.js';
import type { ProcessUsage } from './process-usage.js';

/** Where the stats actor lives in each node's actor system. */
export const NODE_STATS_PATH = '/user/stats';
/** The window a simulated node says its figures cover (metrics-server's default resolution). */
export const SIMULATED_WINDOW_MS = 10_000;
/** A simulated pod's usage, whole pod, as a quantity ("250m", "64Mi"): overrides the default. */
export const SIMULATE_CPU_ANNOTATION = 'kplane.io/simulate-cpu';
export const SIMULATE_MEMORY_ANNOTATION = 'kplane.io/simulate-memory';
/** What a simulated node's own system uses, besides its pods. */
const SIMULATED_SYSTEM = { cpuNanoCores: 100_000_000, memoryBytes: 512 * 1024 * 1024 };
/** A simulated container with no request uses this much. */
const SIMULATED_FLOOR = { cpuNanoCores: 1_000_000, memoryBytes: 4 * 1024 * 1024 };
/** Most pods one summary carries (a bound on the message; nodes run far fewer). */
const SUMMARY_MAX_PODS = 10_000;

export interface Usage {
  readonly cpuNanoCores: number;
  readonly memoryBytes: number;
}

export interface ContainerUsage extends Usage {
  readonly name: string;
}

export interface PodUsage {
  readonly namespace: string;
  readonly name: string;
  readonly containers: readonly ContainerUsage[];
}

export interface StatsSummary {
  readonly type: 'stats.summary';
  /** 200, or the HTTP status of the problem (503 while the agent starts). */
  readonly status: number;
  readonly message?: string;
  readonly timestampMs: number;
  readonly windowMs: number;
  readonly node: Usage;
  readonly pods: readonly PodUsage[];
}

export interface StatsReadMessage {
  readonly type: 'stats.read';
  readonly replyTo: ActorRef<StatsSummary>;
}

/** What a runtime offers: its current figures. */
export interface StatsSource {
  summary(): Promise<StatsSummary>;
}

/** A late-bound source: the runtime is created after the connection (503 until then). */
export interface StatsSourceSlot {
  current: StatsSource | undefined;
}

export function statsProblem(status: number, message: string): StatsSummary {
  return { type: 'stats.summary', status, message, timestampMs: 0, windowMs: 0, node: { cpuNanoCores: 0, memoryBytes: 0 }, pods: [] };
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isAmount = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;
const isName = (value: unknown): boolean => typeof value === 'string' && value.length > 0 && value.length <= 253;
const isUsage = (value: unknown): boolean => isRecord(value) && isAmount(value['cpuNanoCores']) && isAmount(value['memoryBytes']);
const isPodUsage = (value: unknown): boolean =>
  isRecord(value) && isName(value['namespace']) && isName(value['name']) && Array.isArray(value['containers']) && value['containers'].every((container) => isUsage(container) && isName((container as Record<string, unknown>)['name']));

export function isStatsRead(message: unknown): message is StatsReadMessage {
  return isRecord(message) && message['type'] === 'stats.read' && isActorRef(message['replyTo']);
}

export function isStatsSummary(message: unknown): message is StatsSummary {
  return (
    isRecord(message) &&
    message['type'] === 'stats.summary' &&
    Number.isInteger(message['status']) &&
    isAmount(message['timestampMs']) &&
    isAmount(message['windowMs']) &&
    isUsage(message['node']) &&
    Array.isArray(message['pods']) &&
    message['pods'].length <= SUMMARY_MAX_PODS &&
    message['pods'].every(isPodUsage)
  );
}

/** What a node's API-connection system accepts for stats (with the log protocol, node-agent/logs.ts). */
export const NODE_STATS_PROTOCOL: MessageProtocol = { types: ['stats.read'], validators: { 'stats.read': isStatsRead } };

/** The stats actor: answers reads from the transport with the slot's source. */
export function nodeStatsBehavior(slot: StatsSourceSlot): Behavior<StatsReadMessage> {
  return {
    start() {},
    receive(ctx, _state, message) {
      if (isSignal(message)) return;
      if (remoteSenderOf(message) === undefined) {
        ctx.log.warn('stats read not from the API server; ignored');
        return;
      }
      const source = slot.current;
      const answer = source === undefined ? Promise.resolve(statsProblem(503, 'the node agent is starting')) : source.summary();
      void answer
        .catch((error: unknown) => {
          ctx.log.warn({ err: error }, 'stats read failed');
          return statsProblem(500, `reading usage failed: ${error instanceof Error ? error.message : String(error)}`);
        })
        .then((summary) => ctx.tell(message.replyTo, summary));
    },
  };
}

function quantityOf(value: unknown, parse: (text: string) => number): number | undefined {
  const text = quantityText(value);
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A simulated pod's usage per container: its annotations (whole pod, shared equally), else half of
 * each container's requests, never below a small floor.
 */
export function simulatedPodUsage(pod: KubeObject): PodUsage {
  const meta = metaOf(pod);
  const spec = (pod['spec'] ?? {}) as { containers?: { name?: string; resources?: { requests?: Record<string, unknown> } }[] };
  const containers = spec.containers ?? [];
  const annotations = meta.annotations ?? {};
  const podCpuMillis = quantityOf(annotations[SIMULATE_CPU_ANNOTATION], parseMillis);
  const podMemory = quantityOf(annotations[SIMULATE_MEMORY_ANNOTATION], parseUnits);
  const share = Math.max(1, containers.length);
  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    containers: containers.map((container) => {
      const requests = container.resources?.requests ?? {};
      const requestedCpuMillis = quantityOf(requests['cpu'], parseMillis);
      const requestedMemory = quantityOf(requests['memory'], parseUnits);
      const cpuNanoCores = podCpuMillis !== undefined ? (podCpuMillis * 1_000_000) / share : Math.max(SIMULATED_FLOOR.cpuNanoCores, ((requestedCpuMillis ?? 0) * 1_000_000) / 2);
      const memoryBytes = podMemory !== undefined ? podMemory / share : Math.max(SIMULATED_FLOOR.memoryBytes, (requestedMemory ?? 0) / 2);
      return { name: container.name ?? '', cpuNanoCores: Math.round(cpuNanoCores), memoryBytes: Math.round(memoryBytes) };
    }),
  };
}

/** A simulated node's figures: its Running pods (asked of the API server) plus the system's share. */
export function simulatedStatsSource(client: ApiClient, nodeName: string, clock: Clock): StatsSource {
  return {
    async summary() {
      const running = await client.listAll(PODS, { fieldSelector: `spec.nodeName=${nodeName},status.phase=Running` });
      const pods = running.items.map(simulatedPodUsage);
      const node = pods.reduce(
        (total, pod) => pod.containers.reduce((sum, container) => ({ cpuNanoCores: sum.cpuNanoCores + container.cpuNanoCores, memoryBytes: sum.memoryBytes + container.memoryBytes }), total),
        SIMULATED_SYSTEM as Usage,
      );
      return { type: 'stats.summary', status: 200, timestampMs: clock.now(), windowMs: SIMULATED_WINDOW_MS, node, pods };
    },
  };
}

/** The running containers of a process node (ProcessNode.runningContainers). */
export interface RunningContainers {
  runningContainers(): readonly { readonly namespace: string; readonly pod: string; readonly container: string; readonly pid: number }[];
}

/**
 * How far apart a process node's measurements are at least. CPU is a rate over the time between two
 * measurements, so reads closer together (two autoscalers, `kubectl top` during an autoscaler's sync)
 * get the last figures instead of a rate over a few milliseconds (metrics-server likewise scrapes
 * every 15 s and serves what it has).
 */
export const PROCESS_SAMPLE_MIN_MS = 10_000;

/** A process node's figures: its containers' process groups and the machine, measured from /proc. */
export function processStatsSource(node: RunningContainers, usage: ProcessUsage, clock: Clock): StatsSource {
  let last: { readonly summary: StatsSummary; readonly atMs: number } | undefined;
  return {
    async summary() {
      const now = clock.now();
      if (last !== undefined && now - last.atMs < PROCESS_SAMPLE_MIN_MS) return last.summary;
      // The first measurement averages over the processes' lives; later ones cover the time since the previous.
      const windowMs = last === undefined ? PROCESS_SAMPLE_MIN_MS : now - last.atMs;
      const containers = node.runningContainers();
      const byGroup = usage.groupUsage(containers.map((container) => container.pid));
      const pods = new Map<string, { namespace: string; name: string; containers: ContainerUsage[] }>();
      for (const container of containers) {
        const key = `${container.namespace}/${container.pod}`;
        let pod = pods.get(key);
        if (pod === undefined) {
          pod = { namespace: container.namespace, name: container.pod, containers: [] };
          pods.set(key, pod);
        }
        pod.containers.push({ name: container.container, ...(byGroup.get(container.pid) ?? { cpuNanoCores: 0, memoryBytes: 0 }) });
      }
      const summary: StatsSummary = { type: 'stats.summary', status: 200, timestampMs: now, windowMs, node: usage.machineUsage(), pods: [...pods.values()] };
      last = { summary, atMs: now };
      return summary;
    },
  };
}
