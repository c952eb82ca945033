// The catalogue of pod chaos scenarios (issue 10 §3; issue 9 §3) for runPodScenario, on the
// POD_SCENARIO_CLUSTER (two controller managers, a scheduler, two simulated node pools):
//   - kill -9 of the active controller manager (the Lease holder) during a rolling update;
//   - kill -9 of the scheduler process with hundreds of pods pending;
//   - SIGSTOP of a simulated node pool past the grace period (evictions, recreation elsewhere), then
//     kill -9 of a pool (the launcher restarts it; it re-adopts its pods);
//   - a mixed nemesis of those faults with store and API server kills, under scaling and rollouts.
// test/cluster/chaos-pods.test.ts runs them briefly in `npm test`; test/chaos/ runs them longer.
import * as k8s from '@kubernetes/client-node';
import type { PodScenario, PodScenarioContext } from './pod-scenario.js';
import { MANAGER_LEASE_DURATION_MS, MANAGER_RETRY_PERIOD_MS, NODE_CPU_MILLIS, NODE_GRACE_PERIOD_MS, NODE_LEASE_RENEW_MS, NODES_PER_POOL, SIMULATED_POOLS } from './pod-scenario.js';
import { controllerOf, eventually, isRunningAndReady, isTerminating, type RolloutBound } from './pod-invariants.js';

const SIMULATED_SELECTOR = { 'kplane.io/node-agent': 'simulated' };
const LOAD_POD_CPU_MILLIS = 100;
const CREATE_BATCH = 25;
/** After the scheduler's restart, every pending pod must be bound and Running within this. */
const SCHEDULE_ALL_BOUND_MS = 60_000;
const FIRST_ROLLOUT_MS = 40_000;

export interface PodScenarioLength {
  /** Rollouts interrupted by a manager kill; pool faults; kills of the scheduler during one load. */
  readonly rounds: number;
  /** Pods of the scheduler scenario (at most what the nodes' cpu holds at LOAD_POD_CPU_MILLIS each: 240 is an exact fit). */
  readonly pendingPods: number;
  readonly replicas: number;
}

export const POD_SHORT: PodScenarioLength = { rounds: 1, pendingPods: 200, replicas: 6 };
export const POD_LONG: PodScenarioLength = { rounds: 3, pendingPods: 240, replicas: 10 };

export function deploymentOf(name: string, replicas: number, extra: Partial<k8s.V1DeploymentSpec> = {}): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { nodeSelector: SIMULATED_SELECTOR, containers: [{ name: 'app', image: 'nginx:1', resources: { requests: { cpu: '10m' } } }] },
      },
      ...extra,
    },
  };
}

function loadPod(name: string): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'load' } },
    spec: { nodeSelector: SIMULATED_SELECTOR, containers: [{ name: 'app', image: 'nginx:1', resources: { requests: { cpu: `${LOAD_POD_CPU_MILLIS}m` } } }] },
  };
}

interface LeaseHolder {
  readonly identity: string;
  readonly process: string;
}

async function managerLeaseHolder(kubeConfig: k8s.KubeConfig): Promise<LeaseHolder | undefined> {
  const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const lease = await coordination.readNamespacedLease({ namespace: 'kube-system', name: 'kube-controller-manager' });
  const identity = lease.spec?.holderIdentity ?? '';
  if (identity === '') return undefined;
  return { identity, process: identity.slice(0, identity.lastIndexOf('_')) };
}

/** kill -9 of the manager holding the Lease; records the takeover (a violation if slower than the lease allows). */
async function killActiveManager(context: PodScenarioContext): Promise<void> {
  const before = await eventually(() => managerLeaseHolder(context.kubeConfig), (holder) => holder !== undefined, 10_000);
  if (before === undefined) throw new Error('no controller manager holds the Lease');
  const killedAt = Date.now();
  await context.crash(before.process);
  const after = await eventually(() => managerLeaseHolder(context.kubeConfig), (holder) => holder !== undefined && holder.identity !== before.identity, MANAGER_LEASE_DURATION_MS + 10_000);
  const takeoverMs = Date.now() - killedAt;
  if (after === undefined || after.identity === before.identity) context.violation(`no manager took the Lease over from ${before.identity}`);
  else if (takeoverMs > MANAGER_LEASE_DURATION_MS + MANAGER_RETRY_PERIOD_MS + 2_000) context.violation(`takeover took ${takeoverMs} ms (lease ${MANAGER_LEASE_DURATION_MS} ms)`);
  else context.note(`${String(after.identity)} leads ${takeoverMs} ms after ${before.identity} was killed`);
}

async function createDeploymentAndWait(context: PodScenarioContext, body: k8s.V1Deployment): Promise<void> {
  const apps = context.kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = body.metadata?.name ?? '';
  const replicas = body.spec?.replicas ?? 1;
  await apps.createNamespacedDeployment({ namespace: context.namespace, body });
  const ready = await eventually(
    () => apps.readNamespacedDeployment({ namespace: context.namespace, name }),
    (object) => object.status?.availableReplicas === replicas && object.status.updatedReplicas === replicas && object.status.replicas === replicas,
    FIRST_ROLLOUT_MS,
  );
  if (ready?.status?.availableReplicas !== replicas) throw new Error(`Deployment ${name} did not reach ${replicas} available replicas (status ${JSON.stringify(ready?.status ?? {})})`);
  context.note(`Deployment ${name}: ${replicas} replicas available`);
}

async function changeImage(context: PodScenarioContext, name: string, image: string): Promise<void> {
  const apps = context.kubeConfig.makeApiClient(k8s.AppsV1Api);
  for (let attempt = 0; ; attempt++) {
    try {
      const current = await apps.readNamespacedDeployment({ namespace: context.namespace, name });
      const container = current.spec?.template.spec?.containers[0];
      if (container === undefined) throw new Error(`Deployment ${name} has no container`);
      container.image = image;
      await apps.replaceNamespacedDeployment({ namespace: context.namespace, name, body: current });
      context.note(`Deployment ${name}: image ${image} (rolling update)`);
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
      await context.sleep(300);
    }
  }
}

async function scaleTo(context: PodScenarioContext, name: string, replicas: number): Promise<void> {
  const apps = context.kubeConfig.makeApiClient(k8s.AppsV1Api);
  for (let attempt = 0; ; attempt++) {
    try {
      const current = await apps.readNamespacedDeployment({ namespace: context.namespace, name });
      if (current.spec !== undefined) current.spec.replicas = replicas;
      await apps.replaceNamespacedDeployment({ namespace: context.namespace, name, body: current });
      context.note(`Deployment ${name}: scaled to ${replicas}`);
      return;
    } catch (error) {
      if (attempt >= 10) throw error;
      await context.sleep(300);
    }
  }
}

/** Waits until some pods of a ReplicaSet other than those in `oldSets` run (the rollout is under way). */
async function waitRolloutUnderWay(context: PodScenarioContext, name: string, oldSets: ReadonlySet<string>, atLeast: number): Promise<number> {
  const updated = await eventually(
    async () => context.invariants.podsOf(name).filter((pod) => !oldSets.has(controllerOf(pod)) && !isTerminating(pod)).length,
    (count) => count >= atLeast,
    30_000,
  );
  return updated ?? 0;
}

/** The rollout of `name` is done: observed, every replica updated and available. */
async function waitRolloutDone(context: PodScenarioContext, name: string, replicas: number, timeoutMs: number): Promise<boolean> {
  const apps = context.kubeConfig.makeApiClient(k8s.AppsV1Api);
  const done = await eventually(
    () => apps.readNamespacedDeployment({ namespace: context.namespace, name }),
    (object) =>
      (object.status?.observedGeneration ?? 0) >= (object.metadata?.generation ?? 1) &&
      object.status?.updatedReplicas === replicas &&
      object.status.availableReplicas === replicas &&
      object.status.replicas === replicas,
    timeoutMs,
  );
  return done !== undefined && done.status?.updatedReplicas === replicas && done.status.availableReplicas === replicas;
}

/** After convergence: the pods of `name` belong to one ReplicaSet, which created exactly `replicas` pods. */
function checkNoDuplicatePods(context: PodScenarioContext, name: string, replicas: number): void {
  const sets = new Set(context.invariants.podsOf(name).map(controllerOf));
  if (sets.size !== 1) {
    context.violation(`pods of ${name} belong to ${sets.size} ReplicaSets at the end: ${[...sets].join(', ')}`);
    return;
  }
  const [newest] = [...sets];
  const created = context.invariants.everSeen.get(newest ?? '') ?? new Set<string>();
  if (created.size !== replicas) context.violation(`ReplicaSet ${String(newest)} created ${created.size} pods over the rollout, not ${replicas}: ${[...created].join(', ')}`);
}

export function managerKillDuringRollout(length: PodScenarioLength): PodScenario {
  const name = 'roll';
  const bound: RolloutBound = { replicas: length.replicas, maxSurge: 1, maxUnavailable: 0, minReadySeconds: 1 };
  return {
    name: 'kill -9 active controller manager mid-rollout',
    run: async (context) => {
      const strategy: k8s.V1DeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: bound.maxSurge, maxUnavailable: bound.maxUnavailable } };
      await createDeploymentAndWait(context, deploymentOf(name, bound.replicas, { strategy, minReadySeconds: bound.minReadySeconds }));
      context.invariants.watchRollout(name, bound);
      for (let round = 0; round < length.rounds; round++) {
        const oldSets = new Set(context.invariants.podsOf(name).map(controllerOf));
        await changeImage(context, name, `nginx:${round + 2}`);
        const updated = await waitRolloutUnderWay(context, name, oldSets, 1 + context.random.int(Math.max(1, bound.replicas - 2)));
        context.note(`${updated} pods of the new ReplicaSet exist`);
        await killActiveManager(context);
        if (round + 1 < length.rounds && !(await waitRolloutDone(context, name, bound.replicas, 60_000))) context.violation(`rollout ${round + 1} of ${name} did not complete`);
      }
    },
    finish: async (context) => {
      if (!(await waitRolloutDone(context, name, bound.replicas, 10_000))) context.violation(`the last rollout of ${name} did not complete`);
      checkNoDuplicatePods(context, name, bound.replicas);
      const extremes = context.invariants.rolloutExtremes(name);
      context.note(`rollout bound: at most ${String(extremes?.maxPods)} pods, at least ${String(extremes?.minAvailable)} available`);
    },
  };
}

/**
 * The scheduler is stopped while `pendingPods` pods are created (so hundreds are pending), resumed, and
 * killed with -9 once a share of them is bound (each round at a later share). Every pod must still be
 * bound and Running; none bound twice and no node overcommitted (the watch checks both throughout).
 */
export function schedulerKillUnderLoad(length: PodScenarioLength): PodScenario {
  const capacity = (SIMULATED_POOLS * NODES_PER_POOL * NODE_CPU_MILLIS) / LOAD_POD_CPU_MILLIS;
  const count = Math.min(length.pendingPods, Math.floor(capacity));
  const bound = (context: PodScenarioContext): number => context.invariants.podsOf('load').filter((pod) => (pod.spec?.nodeName ?? '') !== '').length;
  return {
    name: 'kill -9 scheduler under load',
    run: async (context) => {
      const core = context.kubeConfig.makeApiClient(k8s.CoreV1Api);
      const paused = await context.pause('scheduler');
      try {
        for (let first = 0; first < count; first += CREATE_BATCH) {
          const batch = Array.from({ length: Math.min(CREATE_BATCH, count - first) }, (_, index) => `load-${first + index}`);
          await Promise.all(batch.map((podName) => core.createNamespacedPod({ namespace: context.namespace, body: loadPod(podName) })));
        }
        context.note(`${count} pods created while the scheduler was stopped (${count * LOAD_POD_CPU_MILLIS}m cpu of ${capacity * LOAD_POD_CPU_MILLIS}m)`);
      } finally {
        await context.resume(paused);
      }
      for (let round = 0; round < length.rounds; round++) {
        const share = (round + 1) / (length.rounds + 2);
        const reached = await eventually(async () => bound(context), (value) => value >= count * share, 30_000);
        context.note(`${String(reached)} of ${count} pods bound`);
        await context.crash('scheduler');
      }
    },
    finish: async (context) => {
      const core = context.kubeConfig.makeApiClient(k8s.CoreV1Api);
      const all = await eventually(
        () => core.listNamespacedPod({ namespace: context.namespace, labelSelector: 'app=load' }),
        (list) => list.items.length === count && list.items.every((pod) => (pod.spec?.nodeName ?? '') !== '' && pod.status?.phase === 'Running'),
        SCHEDULE_ALL_BOUND_MS,
      );
      const unbound = (all?.items ?? []).filter((pod) => (pod.spec?.nodeName ?? '') === '');
      const notRunning = (all?.items ?? []).filter((pod) => pod.status?.phase !== 'Running');
      if (all === undefined || all.items.length !== count || unbound.length > 0 || notRunning.length > 0) {
        const sample = unbound.slice(0, 5).map((pod) => `${pod.metadata?.name ?? ''} (${pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled')?.message ?? 'no PodScheduled condition'})`);
        context.violation(`${SCHEDULE_ALL_BOUND_MS} ms after the scheduler's restart: ${all?.items.length ?? 0}/${count} pods, ${unbound.length} unbound, ${notRunning.length} not Running; e.g. ${sample.join('; ')}`);
      } else {
        context.note(`all ${count} pods bound and Running`);
      }
    },
  };
}

const poolNodes = (pool: number): string[] => Array.from({ length: NODES_PER_POOL }, (_, index) => `sim-${pool}-${index + 1}`);

/**
 * The simulated pool running most of the Deployment's pods stopped (SIGSTOP) past the node grace period: its nodes go unreachable, their pods
 * are evicted and recreated on the other pool; then SIGCONT. Then kill -9 of a pool: the launcher
 * restarts it and it re-adopts its pods. The Deployment must converge after each.
 */
export function nodePoolFaults(length: PodScenarioLength): PodScenario {
  const name = 'spread';
  const replicas = length.replicas + 3;
  return {
    name: 'SIGSTOP / kill -9 of a node pool',
    run: async (context) => {
      const core = context.kubeConfig.makeApiClient(k8s.CoreV1Api);
      await createDeploymentAndWait(context, deploymentOf(name, replicas));
      for (let round = 0; round < length.rounds; round++) {
        // The pool running most of the Deployment's pods (so every round evicts some).
        const podsOnPool = (candidate: number): number => context.invariants.podsOf(name).filter((pod) => poolNodes(candidate).includes(pod.spec?.nodeName ?? '')).length;
        const pools = Array.from({ length: SIMULATED_POOLS }, (_, index) => index + 1);
        const pool = pools.reduce((best, candidate) => (podsOnPool(candidate) > podsOnPool(best) ? candidate : best), 1 + context.random.int(SIMULATED_POOLS));
        const nodes = poolNodes(pool);
        const onPool = podsOnPool(pool);
        context.note(`${onPool} of ${replicas} pods on sim-nodes-${pool}`);
        const paused = await context.pause(`sim-nodes-${pool}`);
        try {
          const unreachable = await eventually(
            () => core.listNode(),
            (list) =>
              nodes.every((nodeName) =>
                list.items.some((node) => node.metadata?.name === nodeName && node.spec?.taints?.some((taint) => taint.key === 'node.kubernetes.io/unreachable' && taint.effect === 'NoExecute') === true),
              ),
            NODE_GRACE_PERIOD_MS + NODE_LEASE_RENEW_MS + 10_000,
          );
          if (unreachable === undefined) context.violation(`the nodes of sim-nodes-${pool} were not tainted unreachable`);
          else context.note(`nodes of sim-nodes-${pool} tainted unreachable`);
          const replaced = await eventually(
            async () => context.invariants.podsOf(name).filter((pod) => isRunningAndReady(pod) && !nodes.includes(pod.spec?.nodeName ?? '')).length,
            (count) => count >= replicas,
            30_000,
          );
          if ((replaced ?? 0) < replicas) context.violation(`only ${String(replaced)} of ${replicas} pods Running and Ready off the stopped pool`);
          else context.note(`all ${replicas} pods Running and Ready off sim-nodes-${pool}`);
        } finally {
          await context.resume(paused);
        }
        const recovered = await eventually(
          () => core.listNode(),
          (list) => nodes.every((nodeName) => list.items.some((node) => node.metadata?.name === nodeName && (node.spec?.taints ?? []).every((taint) => taint.key !== 'node.kubernetes.io/unreachable'))),
          NODE_LEASE_RENEW_MS + 10_000,
        );
        if (recovered === undefined) context.violation(`the unreachable taint stayed on sim-nodes-${pool}'s nodes after SIGCONT`);
        await context.crash(`sim-nodes-${1 + context.random.int(SIMULATED_POOLS)}`);
      }
    },
  };
}

/**
 * Two Deployments under rollouts and scaling while a random fault every few seconds hits the active
 * controller manager, the scheduler, a node pool (kill -9 or a SIGSTOP shorter than the grace period),
 * the store leader or the API server, each healed before the next. The rolling-update bound is checked
 * on the Deployment that is never scaled.
 */
export function podMixedNemesis(length: PodScenarioLength, faults: number): PodScenario {
  const rolled = 'mixed-roll';
  const scaled = 'mixed-scale';
  const bound: RolloutBound = { replicas: length.replicas, maxSurge: 2, maxUnavailable: 1, minReadySeconds: 0 };
  return {
    name: 'pod mixed nemesis',
    run: async (context) => {
      const strategy: k8s.V1DeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: bound.maxSurge, maxUnavailable: bound.maxUnavailable } };
      await createDeploymentAndWait(context, deploymentOf(rolled, bound.replicas, { strategy }));
      await createDeploymentAndWait(context, deploymentOf(scaled, 4));
      context.invariants.watchRollout(rolled, bound);
      for (let index = 0; index < faults; index++) {
        if (index > 0) await context.sleep(1_500 + context.random.int(3_000));
        if (context.random.chance(0.5)) await changeImage(context, rolled, `nginx:${index + 2}`);
        else await scaleTo(context, scaled, 2 + context.random.int(10));
        await context.sleep(context.random.int(1_500));
        const choice = context.random.int(7);
        if (choice === 0) await killActiveManager(context);
        else if (choice === 1) await context.crash('scheduler');
        else if (choice === 2) await context.crash(`sim-nodes-${1 + context.random.int(SIMULATED_POOLS)}`);
        else if (choice === 3) {
          const paused = await context.pause(`sim-nodes-${1 + context.random.int(SIMULATED_POOLS)}`);
          await context.sleep(2_000 + context.random.int(3_000));
          await context.resume(paused);
        } else if (choice === 4) await context.crash('store-leader');
        else if (choice === 5) await context.crash('apiserver');
        else await context.crash('controller-manager');
      }
    },
    finish: async (context) => {
      checkNoDuplicatePods(context, rolled, bound.replicas);
    },
  };
}
