// Runs one pod chaos scenario (issue 10 §3; issue 9 §3) on a cluster with controllers, a scheduler and
// simulated node pools, and judges it with the pod invariants (pod-invariants.ts):
//   1. a watch of every pod of the namespace checks, at each event, that no pod is bound twice, no
//      node is overcommitted and the registered rollouts keep their bound;
//   2. the scenario drives its workload (Deployments, bare pods) and injects its faults and heals
//      (kill -9 with the launcher's restart as heal; SIGSTOP/SIGCONT);
//   3. convergence: after the last heal, every Deployment has its replicas Running and Ready within
//      POD_CONVERGE_BOUND_MS;
//   4. the scenario's own end checks, a last invariant check, then its objects are deleted so the next
//      scenario on the same cluster starts with free nodes.
// The result carries the seed, the violations and a timeline of events, faults and violations.
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import { Prng, type Random } from '../../actors/random.js';
import type { ChaosOutcome } from '../../cluster/chaos.js';
import { waitForRestart } from '../../cluster/chaos.js';
import type { ClusterConfigInput } from '../../cluster/config.js';
import type { ChaosCluster } from './chaos-cluster.js';
import { PodInvariants, POD_CONVERGE_BOUND_MS, eventually, waitDeploymentsConverged } from './pod-invariants.js';
import { Timeline } from './timeline.js';

export const POD_NAMESPACE = 'default';
/** Short leader election for the controller managers, so a takeover fits in a test. */
export const MANAGER_LEASE_DURATION_MS = 6_000;
export const MANAGER_RETRY_PERIOD_MS = 1_000;
/** Node agents renew their Lease every 10 s: the grace period must be longer. */
export const NODE_GRACE_PERIOD_MS = 14_000;
export const NODE_LEASE_RENEW_MS = 10_000;
export const SIMULATED_POOLS = 2;
export const NODES_PER_POOL = 3;
/** Each simulated node's capacity (the config default). */
export const NODE_CPU_MILLIS = 4_000;
const CLEANUP_TIMEOUT_MS = 30_000;

/** The cluster the pod scenarios run on: two controller managers, two simulated pools of three nodes. */
export const POD_SCENARIO_CLUSTER: ClusterConfigInput = {
  name: 'chaos-pods',
  controllerManager: {
    count: 2,
    leaseDurationMs: MANAGER_LEASE_DURATION_MS,
    renewDeadlineMs: 4_000,
    retryPeriodMs: MANAGER_RETRY_PERIOD_MS,
    nodeGracePeriodMs: NODE_GRACE_PERIOD_MS,
    defaultTolerationMs: 1_000,
    evictionsPerSecond: 50,
  },
  scheduler: { shards: 2 },
  nodes: { simulatedProcesses: SIMULATED_POOLS, nodesPerProcess: NODES_PER_POOL, processNodes: 0 },
};

export interface PodScenarioContext {
  readonly cluster: ChaosCluster;
  readonly kubeConfig: k8s.KubeConfig;
  readonly namespace: string;
  readonly invariants: PodInvariants;
  /** Derived from the scenario's seed (targets, sizes, timing). */
  readonly random: Random;
  sleep(ms: number): Promise<void>;
  /** SIGKILL the target, then wait for the launcher to restart it (the heal). */
  crash(target: string): Promise<ChaosOutcome>;
  /** SIGSTOP the target; `resume` is the heal. */
  pause(target: string): Promise<ChaosOutcome>;
  resume(paused: ChaosOutcome): Promise<void>;
  note(text: string): void;
  /** A violation the scenario found itself (e.g. a pod never scheduled). */
  violation(text: string): void;
}

export interface PodScenario {
  readonly name: string;
  /** Drives the workload and the faults; when it returns every fault is healed. */
  run(context: PodScenarioContext): Promise<void>;
  /** Checks after convergence (optional). */
  finish?(context: PodScenarioContext): Promise<void>;
}

export interface PodScenarioResult {
  readonly name: string;
  readonly seed: number;
  readonly podEvents: number;
  readonly podsBound: number;
  readonly faults: number;
  readonly violations: readonly string[];
  /** From the last heal until every Deployment was converged; undefined if it did not within the bound. */
  readonly convergeMs: number | undefined;
  readonly durationMs: number;
  /** Seed, violations and timeline: print it when the scenario failed. */
  readonly report: string;
}

export async function runPodScenario(scenario: PodScenario, seed: number, cluster: ChaosCluster): Promise<PodScenarioResult> {
  const origin = performance.now();
  const now = (): number => performance.now() - origin;
  const timeline = new Timeline(now);
  const random = new Prng(seed);
  const violations: string[] = [];
  const kubeConfig = cluster.kubeConfig();
  const invariants = new PodInvariants(kubeConfig, POD_NAMESPACE, (text) => timeline.note('check', `VIOLATION ${text}`));
  let faults = 0;
  let lastHealAtMs = 0;
  let convergeMs: number | undefined;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const describe = (outcome: ChaosOutcome): string => outcome.hits.map((hit) => `${hit.name} (pid ${hit.pid})`).join(', ');
  const context: PodScenarioContext = {
    cluster,
    kubeConfig,
    namespace: POD_NAMESPACE,
    invariants,
    random: random.fork(),
    sleep,
    note: (text) => timeline.note('note', text),
    violation: (text) => {
      violations.push(text);
      timeline.note('check', `VIOLATION ${text}`);
    },
    crash: async (target) => {
      const outcome = await cluster.fault('kill', target);
      faults += 1;
      timeline.note('fault', `kill -9 ${target}: ${describe(outcome)}`);
      const pids = await Promise.all(outcome.hits.map((hit) => waitForRestart(cluster.dir, hit.name, hit.pid)));
      lastHealAtMs = now();
      timeline.note('heal', `launcher restarted ${outcome.hits.map((hit, index) => `${hit.name} as pid ${pids[index]}`).join(', ')}`);
      return outcome;
    },
    pause: async (target) => {
      const outcome = await cluster.fault('pause', target);
      faults += 1;
      timeline.note('fault', `SIGSTOP ${target}: ${describe(outcome)}`);
      return outcome;
    },
    resume: async (paused) => {
      for (const hit of paused.hits) await cluster.fault('resume', hit.name);
      lastHealAtMs = now();
      timeline.note('heal', `SIGCONT ${describe(paused)}`);
    },
  };
  try {
    await invariants.start();
    timeline.note('check', 'pod watch started');
    try {
      await scenario.run(context);
    } catch (error) {
      violations.push(`the scenario's workload or faults failed: ${error instanceof Error ? error.message : String(error)}`);
      timeline.note('note', `scenario step failed: ${error instanceof Error ? error.message : String(error)}`);
      cluster.resumeAll();
    }
    // The bound counts from the last heal; the scenario may have spent some of it already.
    const healedAt = lastHealAtMs === 0 ? now() : lastHealAtMs;
    const converged = await waitDeploymentsConverged(kubeConfig, POD_NAMESPACE, Math.max(1_000, POD_CONVERGE_BOUND_MS - (now() - healedAt)));
    convergeMs = converged.ms === undefined ? undefined : now() - healedAt;
    if (converged.ms === undefined) context.violation(`Deployments not Running and Ready within ${POD_CONVERGE_BOUND_MS} ms of the last heal: ${converged.detail}`);
    else timeline.note('check', `converged ${(convergeMs ?? 0).toFixed(0)} ms after the last heal (${converged.detail})`);
    await scenario.finish?.(context);
    invariants.checkAll();
  } catch (error) {
    violations.push(`the scenario could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    invariants.stop();
    timeline.note('check', `pod watch stopped after ${invariants.eventCount} events, ${invariants.boundCount()} pods bound${invariants.relistCount > 0 ? `, ${invariants.relistCount} relists after 410 Gone` : ''}`);
    await deleteWorkload(kubeConfig, POD_NAMESPACE).catch((error: unknown) => timeline.note('note', `cleanup failed: ${String(error)}`));
  }
  const allViolations = [...invariants.violations, ...violations];
  const report = [
    `pod chaos scenario "${scenario.name}" seed ${seed}: ${allViolations.length === 0 ? 'ok' : `${allViolations.length} violation(s)`}`,
    ...allViolations.map((violation) => `VIOLATION: ${violation}`),
    'timeline:',
    // The pod scenarios have no ConfigMap workload: drop its (empty) acknowledgement line.
    timeline.format(new Map(), []).split('\n').slice(0, -1).join('\n'),
  ].join('\n');
  return {
    name: scenario.name,
    seed,
    podEvents: invariants.eventCount,
    podsBound: invariants.boundCount(),
    faults,
    violations: allViolations,
    convergeMs,
    durationMs: now(),
    report,
  };
}

/** Deletes every Deployment, ReplicaSet and pod of the namespace and waits until the pods are gone. */
export async function deleteWorkload(kubeConfig: k8s.KubeConfig, namespace: string): Promise<void> {
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  for (const deployment of (await apps.listNamespacedDeployment({ namespace })).items) {
    await apps.deleteNamespacedDeployment({ namespace, name: deployment.metadata?.name ?? '', propagationPolicy: 'Background' }).catch(() => undefined);
  }
  for (const set of (await apps.listNamespacedReplicaSet({ namespace })).items) {
    await apps.deleteNamespacedReplicaSet({ namespace, name: set.metadata?.name ?? '', propagationPolicy: 'Background' }).catch(() => undefined);
  }
  for (const pod of (await core.listNamespacedPod({ namespace })).items) {
    if (pod.metadata?.deletionTimestamp === undefined) await core.deleteNamespacedPod({ namespace, name: pod.metadata?.name ?? '' }).catch(() => undefined);
  }
  await eventually(() => core.listNamespacedPod({ namespace }), (list) => list.items.length === 0, CLEANUP_TIMEOUT_MS);
}

/** The summary table of pod scenario results. */
export function podSummaryTable(results: readonly PodScenarioResult[]): string {
  const header = ['scenario', 'seed', 'pod events', 'pods bound', 'faults', 'violations', 'converge ms', 'time s'];
  const rows = results.map((result) => [
    result.name,
    String(result.seed),
    String(result.podEvents),
    String(result.podsBound),
    String(result.faults),
    String(result.violations.length),
    result.convergeMs === undefined ? '-' : result.convergeMs.toFixed(0),
    (result.durationMs / 1000).toFixed(1),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]): string => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  return [format(header), format(widths.map((width) => '-'.repeat(width))), ...rows.map(format)].join('\n');
}
