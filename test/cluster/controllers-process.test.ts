// The controller manager as real processes (issue 8 §3): a cluster from `kplane up` (ChaosCluster) with
// TWO controller-manager processes and two simulated-node pools, driven only through
// @kubernetes/client-node.
//   1. kill -9 of the ACTIVE manager (the holder of the Lease kube-system/kube-controller-manager) in the
//      middle of a rolling update: the other takes over within the lease duration (plus one retry
//      period), the rollout completes, every ReplicaSet ends with exactly its replicas, the new one
//      created exactly `replicas` pods (every pod name ever seen is tracked by a watch), and the
//      rolling-update bound held at every watch event (pods ≤ replicas + maxSurge, terminating ones
//      included; available ≥ replicas − maxUnavailable).
//   2. A node-agent pool stopped (SIGSTOP: the launcher would restart a killed one): its nodes go
//      Ready=Unknown with the unreachable NoExecute taint, their pods are evicted and recreated on the
//      other pool's nodes, within the configured grace period and toleration.
//   3. Cascading deletion of each propagation policy (Background, Foreground, Orphan).
// Short leader-election and node-lifecycle settings come from the config's controllerManager section.
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { clusterForFile } from './cluster-fixture.js';
import { controllerOf, eventually, isAvailable, isTerminating } from '../../src/testing/chaos/pod-invariants.js';
import { PodWatcher } from './pod-watcher.js';

const NAMESPACE = 'default';
const LEASE_DURATION_MS = 6_000;
const RETRY_PERIOD_MS = 1_000;
/**
 * Node agents renew their Lease every 10 s: the grace period must be longer, with room for a renewal
 * delayed by a busy machine (with 14 s, a loaded CI run saw a healthy pool tainted unreachable).
 */
const NODE_GRACE_PERIOD_MS = 20_000;
const NODE_LEASE_RENEW_MS = 10_000;
const DEFAULT_TOLERATION_MS = 1_000;
const REPLICAS = 8;
const MAX_SURGE = 1;
const MAX_UNAVAILABLE = 0;
const MIN_READY_SECONDS = 1;
const SIMULATED_SELECTOR = { 'kplane.io/node-agent': 'simulated' };
const STOPPED_POOL = 'sim-nodes-2';
const STOPPED_POOL_NODES = ['sim-2-1', 'sim-2-2', 'sim-2-3'];



const theCluster = clusterForFile(test, {
    config: {
      name: 'controllers',
      controllerManager: {
        count: 2,
        leaseDurationMs: LEASE_DURATION_MS,
        renewDeadlineMs: 4_000,
        retryPeriodMs: RETRY_PERIOD_MS,
        nodeGracePeriodMs: NODE_GRACE_PERIOD_MS,
        defaultTolerationMs: DEFAULT_TOLERATION_MS,
        evictionsPerSecond: 50,
      },
      nodes: { simulatedProcesses: 2, nodesPerProcess: 3, processNodes: 0 },
    },
  });


function deployment(name: string, replicas: number, extra: Partial<k8s.V1DeploymentSpec> = {}): k8s.V1Deployment {
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

interface LeaseHolder {
  readonly identity: string;
  readonly process: string;
}

async function leaseHolder(coordination: k8s.CoordinationV1Api): Promise<LeaseHolder | undefined> {
  const lease = await coordination.readNamespacedLease({ namespace: 'kube-system', name: 'kube-controller-manager' });
  const identity = lease.spec?.holderIdentity ?? '';
  if (identity === '') return undefined;
  return { identity, process: identity.slice(0, identity.lastIndexOf('_')) };
}

test.serial('kill -9 of the active controller manager mid-rollout: the standby takes over, the rollout completes within its bounds, no pod duplicated or missing', async (t) => {
  t.timeout(120_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const coordination = kubeConfig.makeApiClient(k8s.CoordinationV1Api);
  const name = 'roll';
  const strategy: k8s.V1DeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: MAX_SURGE, maxUnavailable: MAX_UNAVAILABLE } };
  await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, REPLICAS, { strategy, minReadySeconds: MIN_READY_SECONDS }) });
  const settled = await eventually(
    () => apps.readNamespacedDeployment({ namespace: NAMESPACE, name }),
    (object) => object.status?.availableReplicas === REPLICAS && object.status.updatedReplicas === REPLICAS && object.status.replicas === REPLICAS,
    40_000,
  );
  t.is(settled?.status?.availableReplicas, REPLICAS, `the first rollout finished\n${cluster.logTails(10)}`);

  // Watch every pod event from here on; the bound must hold at each.
  const violations: string[] = [];
  let maxPods = 0;
  let minAvailable = Number.POSITIVE_INFINITY;
  const initial = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  const watcher = new PodWatcher(kubeConfig, NAMESPACE, `app=${name}`, initial, (current) => {
    const now = Date.now();
    const pods = [...current.pods.values()];
    const available = pods.filter((pod) => isAvailable(pod, now, MIN_READY_SECONDS)).length;
    maxPods = Math.max(maxPods, pods.length);
    minAvailable = Math.min(minAvailable, available);
    if (pods.length > REPLICAS + MAX_SURGE) violations.push(`${pods.length} pods (> ${REPLICAS + MAX_SURGE})`);
    if (available < REPLICAS - MAX_UNAVAILABLE) violations.push(`${available} available (< ${REPLICAS - MAX_UNAVAILABLE})`);
  });
  await watcher.start();
  t.teardown(() => watcher.stop());
  const oldSet = controllerOf(initial.items[0] ?? {});

  // A new template: the rolling update begins.
  const current = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
  const container = current.spec?.template.spec?.containers[0];
  if (container === undefined) throw new Error('the Deployment has no container');
  container.image = 'nginx:2';
  await apps.replaceNamespacedDeployment({ namespace: NAMESPACE, name, body: current });

  // Mid-rollout (the new set has pods, the old one still has most): kill -9 the Lease holder.
  const midway = await eventually(
    async () => [...watcher.pods.values()].filter((pod) => controllerOf(pod) !== oldSet && !isTerminating(pod)).length,
    (updated) => updated >= 2,
    30_000,
  );
  t.true((midway ?? 0) >= 2 && (midway ?? 0) < REPLICAS, `killed mid-rollout (${String(midway)} updated pods)`);
  const before = await leaseHolder(coordination);
  if (before === undefined) throw new Error('no controller manager holds the Lease');
  const victim = cluster.dir.readState()?.processes.find((entry) => entry.name === before.process);
  if (victim?.pid === undefined) throw new Error(`no running process ${before.process}`);
  process.kill(victim.pid, 'SIGKILL');
  const killedAt = Date.now();

  const after = await eventually(
    () => leaseHolder(coordination),
    (holder) => holder !== undefined && holder.identity !== before.identity,
    LEASE_DURATION_MS + 10_000,
  );
  const takeoverMs = Date.now() - killedAt;
  t.not(after?.identity, undefined, 'another manager took the Lease');
  t.not(after?.identity, before.identity);
  t.true(takeoverMs <= LEASE_DURATION_MS + RETRY_PERIOD_MS + 2_000, `taken over in ${takeoverMs} ms (lease ${LEASE_DURATION_MS} ms) by ${String(after?.identity)}`);
  t.log(`active ${before.identity} killed; ${String(after?.identity)} leads after ${takeoverMs} ms`);

  const done = await eventually(
    () => apps.readNamespacedDeployment({ namespace: NAMESPACE, name }),
    (object) =>
      (object.status?.observedGeneration ?? 0) >= (object.metadata?.generation ?? 1) &&
      object.status?.updatedReplicas === REPLICAS &&
      object.status.availableReplicas === REPLICAS &&
      object.status.replicas === REPLICAS,
    60_000,
  );
  t.is(done?.status?.updatedReplicas, REPLICAS, `the rollout completed\n${cluster.logTails(10)}`);
  const finalPods = await eventually(
    () => core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }),
    (list) => list.items.length === REPLICAS,
    20_000,
  );
  watcher.stop();

  // Pods per ReplicaSet at the end: exactly REPLICAS in the new set, none in the old.
  const perSet = new Map<string, number>();
  for (const pod of finalPods?.items ?? []) perSet.set(controllerOf(pod), (perSet.get(controllerOf(pod)) ?? 0) + 1);
  const newSet = [...perSet.keys()].find((set) => set !== oldSet) ?? '(none)';
  t.deepEqual([...perSet.entries()], [[newSet, REPLICAS]], 'every pod belongs to the new ReplicaSet');
  t.true((finalPods?.items ?? []).every((pod) => pod.status?.phase === 'Running' && pod.spec?.containers[0]?.image === 'nginx:2'));
  // No duplicate: the new set created exactly REPLICAS pods over the whole rollout, across the handover.
  t.is(watcher.everSeen.get(newSet)?.size, REPLICAS, `pods ever seen of ${newSet}: ${[...(watcher.everSeen.get(newSet) ?? [])].join(', ')}`);
  t.is(watcher.everSeen.get(oldSet)?.size, REPLICAS, 'no pod of the old set was created during the rollout');
  t.deepEqual(violations, [], `the rolling-update bound held at every event (max pods ${maxPods}, min available ${minAvailable})`);
  t.true(maxPods <= REPLICAS + MAX_SURGE && minAvailable >= REPLICAS - MAX_UNAVAILABLE);
});

test.serial('a stopped node agent: its nodes go Ready=Unknown and tainted, their pods are evicted and recreated elsewhere within the configured bounds', async (t) => {
  t.timeout(120_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = 'spread';
  const replicas = 12;
  // Every node of the pool to stop must be Ready first, or the scheduler may place nothing there.
  await eventually(
    () => core.listNode(),
    (nodes) =>
      STOPPED_POOL_NODES.every((node) =>
        nodes.items.some((item) => item.metadata?.name === node && item.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true && (item.spec?.taints ?? []).length === 0),
      ),
    40_000,
  );
  await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, replicas) });
  const running = await eventually(
    () => core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }),
    (list) => list.items.length === replicas && list.items.every((pod) => pod.status?.phase === 'Running'),
    40_000,
  );
  const onStoppedPool = (running?.items ?? []).filter((pod) => STOPPED_POOL_NODES.includes(pod.spec?.nodeName ?? ''));
  t.true(onStoppedPool.length > 0, `some pods run on ${STOPPED_POOL}: ${(running?.items ?? []).map((pod) => pod.spec?.nodeName).join(',')}`);

  const outcome = await cluster.fault('pause', STOPPED_POOL);
  t.is(outcome.hits.length, 1, `${STOPPED_POOL} was stopped`);
  const pausedAt = Date.now();
  try {
    // Ready=Unknown and the unreachable NoExecute taint on each of its nodes within the grace period (counted from the last renewal).
    const unreachable = await eventually(
      () => core.listNode(),
      (list) =>
        STOPPED_POOL_NODES.every((nodeName) => {
          const node = list.items.find((item) => item.metadata?.name === nodeName);
          const ready = node?.status?.conditions?.find((condition) => condition.type === 'Ready');
          const tainted = node?.spec?.taints?.some((taint) => taint.key === 'node.kubernetes.io/unreachable' && taint.effect === 'NoExecute') === true;
          return ready?.status === 'Unknown' && tainted;
        }),
      NODE_GRACE_PERIOD_MS + NODE_LEASE_RENEW_MS + 10_000,
    );
    const unreachableMs = Date.now() - pausedAt;
    t.true(unreachable !== undefined && STOPPED_POOL_NODES.every((nodeName) => unreachable.items.some((node) => node.metadata?.name === nodeName && node.spec?.taints?.some((taint) => taint.key === 'node.kubernetes.io/unreachable') === true)), `nodes unreachable\n${cluster.logTails(10)}`);
    t.true(unreachableMs <= NODE_GRACE_PERIOD_MS + NODE_LEASE_RENEW_MS + 5_000, `unreachable after ${unreachableMs} ms`);

    // Their pods are evicted (Terminating: nobody can confirm them stopped) and replaced on the other pool.
    const replaced = await eventually(
      () => core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }),
      (list) => {
        const active = list.items.filter((pod) => !isTerminating(pod));
        const evicted = onStoppedPool.every((old) => list.items.find((pod) => pod.metadata?.name === old.metadata?.name)?.metadata?.deletionTimestamp !== undefined);
        return evicted && active.length === replicas && active.every((pod) => pod.status?.phase === 'Running' && !STOPPED_POOL_NODES.includes(pod.spec?.nodeName ?? ''));
      },
      DEFAULT_TOLERATION_MS + 20_000,
    );
    const replacedMs = Date.now() - pausedAt;
    const active = (replaced?.items ?? []).filter((pod) => !isTerminating(pod));
    t.is(active.length, replicas, `replacements running\n${cluster.logTails(10)}`);
    t.true(active.every((pod) => pod.status?.phase === 'Running' && !STOPPED_POOL_NODES.includes(pod.spec?.nodeName ?? '')), 'every active pod runs on a reachable node');
    const evictedNames = (replaced?.items ?? []).filter(isTerminating).map((pod) => pod.metadata?.name).sort();
    t.deepEqual(evictedNames, onStoppedPool.map((pod) => pod.metadata?.name).sort(), 'exactly the pods of the stopped nodes were evicted');
    t.log(`${onStoppedPool.length} pods of ${STOPPED_POOL} evicted and replaced ${replacedMs} ms after it stopped (nodes unreachable after ${unreachableMs} ms)`);
  } finally {
    await cluster.fault('resume', STOPPED_POOL);
  }
  // Back: the stopped pool renews its Leases, the taint goes, its evicted pods are removed.
  const recovered = await eventually(
    () => core.listNode(),
    (list) => STOPPED_POOL_NODES.every((nodeName) => list.items.some((node) => node.metadata?.name === nodeName && (node.spec?.taints ?? []).every((taint) => taint.key !== 'node.kubernetes.io/unreachable'))),
    NODE_LEASE_RENEW_MS + 10_000,
  );
  t.not(recovered, undefined, 'the taint is removed once the pool renews its Leases');
  await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name });
});

test.serial('cascading deletion through client-node: Background, Foreground and Orphan', async (t) => {
  t.timeout(90_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const policies = ['Background', 'Foreground', 'Orphan'] as const;
  for (const policy of policies) {
    const name = `gc-${policy.toLowerCase()}`;
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, 2) });
  }
  for (const policy of policies) {
    const name = `gc-${policy.toLowerCase()}`;
    const ready = await eventually(
      () => core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }),
      (list) => list.items.length === 2 && list.items.every((pod) => pod.status?.phase === 'Running'),
      30_000,
    );
    t.is(ready?.items.length, 2, `${name} runs 2 pods\n${cluster.logTails(10)}`);
  }
  const setsOf = async (name: string): Promise<k8s.V1ReplicaSet[]> => (await apps.listNamespacedReplicaSet({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items;
  const podsOf = async (name: string): Promise<k8s.V1Pod[]> => (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items;
  const deploymentExists = async (name: string): Promise<k8s.V1Deployment | undefined> => {
    try {
      return await apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
    } catch {
      return undefined;
    }
  };

  // Background: the Deployment goes at once; the collector then removes its ReplicaSet and their pods.
  await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name: 'gc-background', propagationPolicy: 'Background' });
  t.is(await deploymentExists('gc-background'), undefined, 'Background removes the owner at once');
  const backgroundGone = await eventually(async () => [...(await setsOf('gc-background')), ...(await podsOf('gc-background'))].length, (count) => count === 0, 20_000);
  t.is(backgroundGone, 0, 'its ReplicaSet and pods are collected');

  // Foreground: the owner stays (deletionTimestamp, finalizer foregroundDeletion) until its dependents are gone.
  // Watched rather than read once: on a busy machine the collector may finish before a read comes back.
  let sawWaiting = false;
  const ownerWatch = await new k8s.Watch(kubeConfig).watch(
    `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`,
    { fieldSelector: 'metadata.name=gc-foreground' },
    (phase: string, object: k8s.V1Deployment) => {
      if (phase !== 'ERROR' && object.metadata?.deletionTimestamp !== undefined && object.metadata.finalizers?.includes('foregroundDeletion') === true) sawWaiting = true;
    },
    () => undefined,
  );
  await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name: 'gc-foreground', propagationPolicy: 'Foreground' });
  await eventually(async () => sawWaiting, (seen) => seen, 10_000);
  ownerWatch.abort();
  t.true(sawWaiting, 'the owner waits for its dependents with the foregroundDeletion finalizer');
  const foregroundGone = await eventually(
    async () => ({ owner: await deploymentExists('gc-foreground'), rest: [...(await setsOf('gc-foreground')), ...(await podsOf('gc-foreground'))].length }),
    (state) => state.owner === undefined && state.rest === 0,
    20_000,
  );
  t.deepEqual(foregroundGone, { owner: undefined, rest: 0 }, 'dependents, then the owner, are gone');

  // Orphan: the owner goes; its ReplicaSet stays, without the owner reference, and keeps its pods running.
  await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name: 'gc-orphan', propagationPolicy: 'Orphan' });
  const orphaned = await eventually(
    async () => ({ owner: await deploymentExists('gc-orphan'), sets: await setsOf('gc-orphan') }),
    (state) => state.owner === undefined && state.sets.length === 1 && (state.sets[0]?.metadata?.ownerReferences ?? []).length === 0,
    20_000,
  );
  t.is(orphaned?.owner, undefined, 'the owner is removed');
  t.is(orphaned?.sets.length, 1, 'the ReplicaSet stays');
  t.deepEqual(orphaned?.sets[0]?.metadata?.ownerReferences ?? [], [], 'without its owner reference');
  const stillRunning = await podsOf('gc-orphan');
  t.is(stillRunning.filter((pod) => pod.status?.phase === 'Running' && !isTerminating(pod)).length, 2, 'its pods keep running');
});
