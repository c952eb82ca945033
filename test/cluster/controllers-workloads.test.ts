// The ReplicaSet and Deployment controllers as real processes (issue 8 §3): a cluster from `kplane up`
// (ChaosCluster: store, API server, scheduler, controller manager, one simulated-node process of 3 nodes),
// driven only through @kubernetes/client-node.
//   ReplicaSet: pods created and deleted to match replicas; a matching orphan adopted (no extra pod made);
//     a relabelled pod released and replaced; scale-down deleting unscheduled pods first.
//   Deployment: Recreate (no new pod while an old one exists, at every watch event); minReadySeconds
//     (availableReplicas lags readiness by it); pause and resume; progressDeadlineSeconds; revisionHistoryLimit
//     and a rollback's revision annotations; the rolling-update bound at every pod event for 10 replicas 0/1,
//     10 replicas 3/0 and 20 replicas 25%/25%; proportional scaling in the middle of a stalled rollout.
// A pod that cannot be scheduled (a nodeSelector no node has) stands for a replica that never becomes ready.
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { clusterForFile } from './cluster-fixture.js';
import { controllerOf, eventually, isRunningAndReady, isTerminating, PodInvariants, readySinceMs, type RolloutBound } from '../../src/testing/chaos/pod-invariants.js';
import { PodWatcher } from './pod-watcher.js';

const NAMESPACE = 'default';
/** No node carries this label: a pod asking for it stays Pending and unscheduled. */
const NOWHERE = { 'kplane.io/no-such-pool': 'none' };
const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
const MERGE_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

let invariants: PodInvariants | undefined;


function theInvariants(): PodInvariants {
  if (invariants === undefined) throw new Error('the pod invariants are not watching');
  return invariants;
}

const theCluster = clusterForFile(test, { config: { name: 'workloads', nodes: { simulatedProcesses: 1, nodesPerProcess: 3, processNodes: 0 } } }, () => invariants?.stop());

test.before(async () => {
  const core = (await theCluster.started()).kubeConfig().makeApiClient(k8s.CoreV1Api);
  await eventually(
    () => core.listNode(),
    (nodes) => nodes.items.filter((node) => node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true).length === 3,
    40_000,
  );
  invariants = new PodInvariants(theCluster().kubeConfig(), NAMESPACE);
  await invariants.start();
});


function podTemplate(app: string, image = 'nginx:1', extra: Partial<k8s.V1PodSpec> = {}): k8s.V1PodTemplateSpec {
  return {
    metadata: { labels: { app } },
    spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image, resources: { requests: { cpu: '10m' } } }], ...extra },
  };
}

function deployment(name: string, replicas: number, extra: Partial<k8s.V1DeploymentSpec> = {}): k8s.V1Deployment {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { replicas, selector: { matchLabels: { app: name } }, template: podTemplate(name), ...extra } };
}

interface Apis {
  readonly kubeConfig: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly apps: k8s.AppsV1Api;
}

function apis(): Apis {
  const kubeConfig = theCluster().kubeConfig();
  return { kubeConfig, core: kubeConfig.makeApiClient(k8s.CoreV1Api), apps: kubeConfig.makeApiClient(k8s.AppsV1Api) };
}

async function livePods(core: k8s.CoreV1Api, app: string): Promise<k8s.V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${app}` })).items.filter((pod) => !isTerminating(pod));
}

/** Rolled out as `kubectl rollout status` decides, with every pod Running and Ready on `image` when given. */
async function rolledOut(api: Apis, name: string, image?: string): Promise<boolean> {
  const object = await api.apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
  const replicas = object.spec?.replicas ?? 1;
  const status = object.status;
  if ((status?.observedGeneration ?? 0) < (object.metadata?.generation ?? 1)) return false;
  if (status?.updatedReplicas !== replicas || status.replicas !== replicas || status.availableReplicas !== replicas) return false;
  const pods = (await api.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items;
  return pods.length === replicas && pods.every((pod) => isRunningAndReady(pod) && (image === undefined || pod.spec?.containers[0]?.image === image));
}

async function waitRolledOut(api: Apis, name: string, image?: string, timeoutMs = 60_000): Promise<boolean> {
  return (await eventually(() => rolledOut(api, name, image), (done) => done, timeoutMs)) === true;
}

/** The Deployment's ReplicaSets by revision: name, spec.replicas and annotations. */
async function setsOf(api: Apis, name: string): Promise<k8s.V1ReplicaSet[]> {
  const sets = (await api.apps.listNamespacedReplicaSet({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items;
  return sets.sort((a, b) => Number(a.metadata?.annotations?.[REVISION] ?? 0) - Number(b.metadata?.annotations?.[REVISION] ?? 0));
}

/** Read, change the template, replace; again on a 409 (the controller writes the Deployment too). */
async function setTemplate(api: Apis, name: string, change: (template: k8s.V1PodTemplateSpec) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const current = await api.apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
    if (current.spec === undefined) throw new Error(`Deployment ${name} has no spec`);
    change(current.spec.template);
    try {
      await api.apps.replaceNamespacedDeployment({ namespace: NAMESPACE, name, body: current });
      return;
    } catch (error) {
      if (!(error instanceof k8s.ApiException) || error.code !== 409 || attempt >= 10) throw error;
    }
  }
}

/** Every state of a Deployment's ReplicaSets' sizes (oldest revision first, joined by commas), one per watch event. */
async function watchSetSizes(api: Apis, name: string): Promise<{ readonly history: string[]; stop(): void }> {
  const listed = await api.apps.listNamespacedReplicaSet({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  const sets = new Map(listed.items.map((set) => [set.metadata?.name ?? '', set] as const));
  const history: string[] = [];
  const abort = await new k8s.Watch(api.kubeConfig).watch(
    `/apis/apps/v1/namespaces/${NAMESPACE}/replicasets`,
    { labelSelector: `app=${name}`, resourceVersion: listed.metadata?.resourceVersion ?? '0' },
    (phase: string, set: k8s.V1ReplicaSet) => {
      if (phase !== 'ADDED' && phase !== 'MODIFIED') return;
      sets.set(set.metadata?.name ?? '', set);
      const ordered = [...sets.values()].sort((a, b) => Number(a.metadata?.annotations?.[REVISION] ?? 0) - Number(b.metadata?.annotations?.[REVISION] ?? 0));
      history.push(ordered.map((each) => each.spec?.replicas ?? 0).join());
    },
    () => undefined,
  );
  return { history, stop: () => abort.abort() };
}

async function scaleDeployment(api: Apis, name: string, replicas: number): Promise<void> {
  await api.apps.patchNamespacedDeployment({ namespace: NAMESPACE, name, body: { spec: { replicas } } }, MERGE_PATCH);
}

function progressing(object: k8s.V1Deployment | undefined): k8s.V1DeploymentCondition | undefined {
  return object?.status?.conditions?.find((condition) => condition.type === 'Progressing');
}

async function deleteDeployment(api: Apis, name: string): Promise<void> {
  await api.apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name });
  await eventually(() => api.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }), (list) => list.items.length === 0, 30_000);
}

// ---- ReplicaSet ----------------------------------------------------------------------------------

test.serial('a ReplicaSet adopts a matching orphan (no extra pod), scales up and down, releases a relabelled pod and replaces it', async (t) => {
  t.timeout(120_000);
  const api = apis();
  const name = 'rs';
  await api.core.createNamespacedPod({ namespace: NAMESPACE, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'rs-orphan', labels: { app: name } }, spec: podTemplate(name).spec ?? { containers: [] } } });
  const orphanRunning = await eventually(() => api.core.readNamespacedPod({ namespace: NAMESPACE, name: 'rs-orphan' }), isRunningAndReady, 30_000);
  t.true(orphanRunning !== undefined && isRunningAndReady(orphanRunning), `the orphan runs\n${theCluster().logTails(10)}`);
  const watcher = await PodWatcher.start(api.kubeConfig, NAMESPACE, `app=${name}`, () => undefined);
  t.teardown(() => watcher.stop());

  const created = await api.apps.createNamespacedReplicaSet({
    namespace: NAMESPACE,
    body: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name }, spec: { replicas: 3, selector: { matchLabels: { app: name } }, template: podTemplate(name) } },
  });
  const owned = (pod: k8s.V1Pod): boolean => pod.metadata?.ownerReferences?.some((reference) => reference.controller === true && reference.uid === created.metadata?.uid) === true;
  const three = await eventually(() => livePods(api.core, name), (pods) => pods.length === 3 && pods.every((pod) => owned(pod) && isRunningAndReady(pod)), 30_000);
  t.is(three?.length, 3, `3 pods of the ReplicaSet\n${theCluster().logTails(10)}`);
  const orphan = await api.core.readNamespacedPod({ namespace: NAMESPACE, name: 'rs-orphan' });
  t.like(orphan.metadata?.ownerReferences?.[0], { kind: 'ReplicaSet', name, uid: created.metadata?.uid, controller: true }, 'the orphan was adopted');
  /** Pod names the watch has seen, once it has caught up with at least `expected` (a watch may trail a list). */
  const seenCount = async (expected: number): Promise<number> => (await eventually(async () => watcher.allSeen().size, (count) => count >= expected, 10_000)) ?? 0;
  t.is(await seenCount(3), 3, `only 2 pods were created: ${[...watcher.allSeen()].join(', ')}`);

  await api.apps.patchNamespacedReplicaSet({ namespace: NAMESPACE, name, body: { spec: { replicas: 5 } } }, MERGE_PATCH);
  const five = await eventually(() => livePods(api.core, name), (pods) => pods.length === 5 && pods.every(isRunningAndReady), 30_000);
  t.is(five?.length, 5, 'scaled up to 5');
  await api.apps.patchNamespacedReplicaSet({ namespace: NAMESPACE, name, body: { spec: { replicas: 2 } } }, MERGE_PATCH);
  const two = await eventually(() => api.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }), (list) => list.items.length === 2, 30_000);
  t.is(two?.items.length, 2, 'scaled down to 2 (the others deleted)');
  t.is(await seenCount(5), 5, 'no pod was made beyond the 3 more of the scale-up');

  // Relabelled so it no longer matches: released (owner reference gone) and replaced.
  const victim = two?.items[0]?.metadata?.name ?? '';
  await api.core.patchNamespacedPod({ namespace: NAMESPACE, name: victim, body: { metadata: { labels: { app: 'rs-released' } } } }, MERGE_PATCH);
  const released = await eventually(() => api.core.readNamespacedPod({ namespace: NAMESPACE, name: victim }), (pod) => (pod.metadata?.ownerReferences ?? []).length === 0, 20_000);
  t.deepEqual(released?.metadata?.ownerReferences ?? [], [], 'the relabelled pod lost its owner reference');
  const replaced = await eventually(() => livePods(api.core, name), (pods) => pods.length === 2 && pods.every((pod) => owned(pod) && isRunningAndReady(pod)), 30_000);
  t.is(replaced?.length, 2, 'a replacement keeps 2 matching pods');
  t.false((replaced ?? []).some((pod) => pod.metadata?.name === victim));
  t.is(await seenCount(6), 6, 'exactly one replacement was made');
  const status = await eventually(() => api.apps.readNamespacedReplicaSet({ namespace: NAMESPACE, name }), (set) => set.status?.availableReplicas === 2, 10_000);
  t.like(status?.status, { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
  await api.apps.deleteNamespacedReplicaSet({ namespace: NAMESPACE, name });
  await api.core.deleteNamespacedPod({ namespace: NAMESPACE, name: victim });
});

test.serial('a ReplicaSet scaled down deletes its unscheduled (not ready) pods first', async (t) => {
  t.timeout(90_000);
  const api = apis();
  const name = 'rs-pick';
  await api.apps.createNamespacedReplicaSet({
    namespace: NAMESPACE,
    body: { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name }, spec: { replicas: 3, selector: { matchLabels: { app: name } }, template: podTemplate(name) } },
  });
  const running = await eventually(() => livePods(api.core, name), (pods) => pods.length === 3 && pods.every(isRunningAndReady), 30_000);
  t.is(running?.length, 3);
  const runningNames = (running ?? []).map((pod) => pod.metadata?.name ?? '').sort();
  // Two more from a template no node can take: they stay Pending, unscheduled.
  await api.apps.patchNamespacedReplicaSet({ namespace: NAMESPACE, name, body: { spec: { replicas: 5, template: { spec: { nodeSelector: NOWHERE } } } } }, MERGE_PATCH);
  const five = await eventually(() => livePods(api.core, name), (pods) => pods.length === 5 && pods.filter((pod) => pod.spec?.nodeName === undefined).length === 2, 30_000);
  t.is(five?.filter((pod) => pod.spec?.nodeName === undefined).length, 2, 'two unscheduled pods');
  await api.apps.patchNamespacedReplicaSet({ namespace: NAMESPACE, name, body: { spec: { replicas: 3 } } }, MERGE_PATCH);
  const after = await eventually(() => api.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }), (list) => list.items.length === 3, 30_000);
  t.deepEqual((after?.items ?? []).map((pod) => pod.metadata?.name ?? '').sort(), runningNames, 'the Running and Ready pods stay; the unscheduled ones went');
  await api.apps.deleteNamespacedReplicaSet({ namespace: NAMESPACE, name });
});

// ---- Deployment ----------------------------------------------------------------------------------

test.serial('Recreate: at no watch event does a pod of the new template exist while one of the old does', async (t) => {
  t.timeout(90_000);
  const api = apis();
  const name = 'recreate';
  await api.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, 3, { strategy: { type: 'Recreate' } }) });
  t.true(await waitRolledOut(api, name, 'nginx:1'), `the first rollout\n${theCluster().logTails(10)}`);
  const mixed: string[] = [];
  let events = 0;
  const watcher = await PodWatcher.start(api.kubeConfig, NAMESPACE, `app=${name}`, (current) => {
    events += 1;
    const hashes = new Set([...current.pods.values()].map((pod) => pod.metadata?.labels?.['pod-template-hash'] ?? ''));
    if (hashes.size > 1) mixed.push([...current.pods.values()].map((pod) => `${pod.metadata?.name ?? ''}${isTerminating(pod) ? ' (terminating)' : ''}`).join(', '));
  });
  t.teardown(() => watcher.stop());
  await setTemplate(api, name, (template) => {
    const container = template.spec?.containers[0];
    if (container !== undefined) container.image = 'nginx:2';
  });
  t.true(await waitRolledOut(api, name, 'nginx:2'), `the Recreate rollout\n${theCluster().logTails(10)}`);
  watcher.stop();
  t.true(events >= 9, `the watch saw the rollout (${events} events)`);
  t.deepEqual(mixed, [], 'old and new pods never existed together');
  await deleteDeployment(api, name);
});

test.serial('minReadySeconds: availableReplicas counts a pod only once it has been ready that long', async (t) => {
  t.timeout(90_000);
  const api = apis();
  const name = 'min-ready';
  const minReadySeconds = 4;
  await api.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, 2, { minReadySeconds }) });
  const early: string[] = [];
  let lagSeen = false;
  const deadline = Date.now() + 60_000;
  let available = 0;
  while (Date.now() < deadline && available < 2) {
    const object = await api.apps.readNamespacedDeployment({ namespace: NAMESPACE, name });
    const pods = await livePods(api.core, name);
    const readAt = Date.now();
    available = object.status?.availableReplicas ?? 0;
    // A pod can only count once it has been ready minReadySeconds by the time of this read.
    const mayCount = pods.filter((pod) => {
      const since = readySinceMs(pod);
      return since !== undefined && since + minReadySeconds * 1000 <= readAt;
    }).length;
    if (available > mayCount) early.push(`${available} available at ${new Date(readAt).toISOString()}, only ${mayCount} ready for ${minReadySeconds} s`);
    if ((object.status?.readyReplicas ?? 0) === 2 && available < 2) lagSeen = true;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  t.is(available, 2, `both pods become available\n${theCluster().logTails(10)}`);
  t.deepEqual(early, [], 'never counted available before minReadySeconds');
  t.true(lagSeen, 'readyReplicas 2 was seen while availableReplicas was still behind');
  await deleteDeployment(api, name);
});

test.serial('pause: a template change makes no ReplicaSet while paused; resume rolls it out', async (t) => {
  t.timeout(90_000);
  const api = apis();
  const name = 'pausing';
  await api.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, 2) });
  t.true(await waitRolledOut(api, name, 'nginx:1'), 'the first rollout');
  await api.apps.patchNamespacedDeployment({ namespace: NAMESPACE, name, body: { spec: { paused: true } } }, MERGE_PATCH);
  await setTemplate(api, name, (template) => {
    const container = template.spec?.containers[0];
    if (container !== undefined) container.image = 'nginx:2';
  });
  const paused = await eventually(
    () => api.apps.readNamespacedDeployment({ namespace: NAMESPACE, name }),
    (object) => (object.status?.observedGeneration ?? 0) >= (object.metadata?.generation ?? 1) && progressing(object)?.reason === 'DeploymentPaused',
    20_000,
  );
  t.like(progressing(paused), { status: 'Unknown', reason: 'DeploymentPaused' });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  t.is((await setsOf(api, name)).length, 1, 'no new ReplicaSet while paused');
  t.true((await livePods(api.core, name)).every((pod) => pod.spec?.containers[0]?.image === 'nginx:1'), 'the pods are untouched');

  await api.apps.patchNamespacedDeployment({ namespace: NAMESPACE, name, body: { spec: { paused: false } } }, MERGE_PATCH);
  t.true(await waitRolledOut(api, name, 'nginx:2'), `the rollout proceeds after resume\n${theCluster().logTails(10)}`);
  const sets = await setsOf(api, name);
  t.deepEqual(sets.map((set) => [set.metadata?.annotations?.[REVISION], set.spec?.replicas]), [['1', 0], ['2', 2]]);
  await deleteDeployment(api, name);
});

test.serial('progressDeadlineSeconds: a rollout to a template no node can take ends Progressing=False ProgressDeadlineExceeded', async (t) => {
  t.timeout(90_000);
  const api = apis();
  const name = 'deadline';
  await api.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, 2, { progressDeadlineSeconds: 3 }) });
  t.true(await waitRolledOut(api, name, 'nginx:1'), 'the first rollout');
  await setTemplate(api, name, (template) => {
    if (template.spec !== undefined) template.spec.nodeSelector = NOWHERE;
  });
  const exceeded = await eventually(() => api.apps.readNamespacedDeployment({ namespace: NAMESPACE, name }), (object) => progressing(object)?.reason === 'ProgressDeadlineExceeded', 30_000);
  t.like(progressing(exceeded), { status: 'False', reason: 'ProgressDeadlineExceeded' }, `${JSON.stringify(exceeded?.status)}\n${theCluster().logTails(10)}`);
  t.like(exceeded?.status?.conditions?.find((condition) => condition.type === 'Available'), { status: 'True' }, 'the old pods keep it available');
  t.is((await livePods(api.core, name)).filter((pod) => pod.spec?.containers[0] !== undefined && pod.spec.nodeSelector === undefined && isRunningAndReady(pod)).length, 2, 'the old pods still run');
  await deleteDeployment(api, name);
});

test.serial('revisionHistoryLimit prunes old ReplicaSets; a rollback to a revision reuses its set with the next revision', async (t) => {
  t.timeout(150_000);
  const api = apis();
  const name = 'history';
  await api.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, 1, { revisionHistoryLimit: 2 }) });
  t.true(await waitRolledOut(api, name, 'nginx:1'), 'revision 1');
  for (let version = 2; version <= 5; version++) {
    await setTemplate(api, name, (template) => {
      const container = template.spec?.containers[0];
      if (container !== undefined) container.image = `nginx:${version}`;
    });
    t.true(await waitRolledOut(api, name, `nginx:${version}`), `revision ${version}\n${theCluster().logTails(10)}`);
  }
  const pruned = await eventually(() => setsOf(api, name), (sets) => sets.length === 3, 20_000);
  t.deepEqual(
    (pruned ?? []).map((set) => [set.metadata?.annotations?.[REVISION], set.spec?.template?.spec?.containers[0]?.image, set.spec?.replicas]),
    [['3', 'nginx:3', 0], ['4', 'nginx:4', 0], ['5', 'nginx:5', 1]],
    'the current set and the 2 newest old ones are kept',
  );
  t.is((await api.apps.readNamespacedDeployment({ namespace: NAMESPACE, name })).metadata?.annotations?.[REVISION], '5');

  // Roll back to revision 4: its template (without the pod-template-hash label) back into the Deployment.
  const revision4 = pruned?.[1];
  const template = structuredClone(revision4?.spec?.template);
  if (template === undefined || revision4 === undefined) throw new Error('no ReplicaSet of revision 4');
  delete template.metadata?.labels?.['pod-template-hash'];
  await setTemplate(api, name, (current) => Object.assign(current, template));
  t.true(await waitRolledOut(api, name, 'nginx:4'), `the rollback\n${theCluster().logTails(10)}`);
  const after = await eventually(
    () => setsOf(api, name),
    (sets) => sets.some((set) => set.metadata?.name === revision4.metadata?.name && set.metadata?.annotations?.[REVISION] === '6'),
    20_000,
  );
  t.deepEqual(
    (after ?? []).map((set) => [set.metadata?.name, set.metadata?.annotations?.[REVISION], set.spec?.replicas]),
    [[pruned?.[0]?.metadata?.name, '3', 0], [pruned?.[2]?.metadata?.name, '5', 0], [revision4.metadata?.name, '6', 1]],
    'the set of revision 4 is current again as revision 6; no new set was made',
  );
  t.is((await api.apps.readNamespacedDeployment({ namespace: NAMESPACE, name })).metadata?.annotations?.[REVISION], '6');
  await deleteDeployment(api, name);
});

const ROLLOUTS: readonly { readonly replicas: number; readonly maxSurge: number | string; readonly maxUnavailable: number | string; readonly bound: { readonly maxSurge: number; readonly maxUnavailable: number } }[] = [
  { replicas: 10, maxSurge: 0, maxUnavailable: 1, bound: { maxSurge: 0, maxUnavailable: 1 } },
  { replicas: 10, maxSurge: 3, maxUnavailable: 0, bound: { maxSurge: 3, maxUnavailable: 0 } },
  { replicas: 20, maxSurge: '25%', maxUnavailable: '25%', bound: { maxSurge: 5, maxUnavailable: 5 } },
];

for (const { replicas, maxSurge, maxUnavailable, bound } of ROLLOUTS) {
  test.serial(`rolling update of ${replicas} with maxSurge ${maxSurge} and maxUnavailable ${maxUnavailable}: the bound holds at every pod event`, async (t) => {
    t.timeout(120_000);
    const api = apis();
    const name = `roll-${replicas}-${String(maxSurge).replace('%', 'pc')}-${String(maxUnavailable).replace('%', 'pc')}`;
    const strategy: k8s.V1DeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } };
    await api.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, replicas, { strategy }) });
    t.true(await waitRolledOut(api, name, 'nginx:1'), `the first rollout\n${theCluster().logTails(10)}`);
    const watched = theInvariants();
    const before = watched.violations.length;
    watched.watchRollout(name, { replicas, ...bound, minReadySeconds: 0 });
    await setTemplate(api, name, (template) => {
      const container = template.spec?.containers[0];
      if (container !== undefined) container.image = 'nginx:2';
    });
    t.true(await waitRolledOut(api, name, 'nginx:2', 90_000), `the rollout\n${theCluster().logTails(10)}`);
    watched.checkAll();
    const extremes = watched.rolloutExtremes(name);
    watched.unwatchRollout(name);
    t.deepEqual(watched.violations.slice(before).filter((violation) => violation.includes(name)), [], `at most ${replicas + bound.maxSurge} pods and at least ${replicas - bound.maxUnavailable} available at every event`);
    t.log(`max pods ${String(extremes?.maxPods)}, min available ${String(extremes?.minAvailable)}`);
    await deleteDeployment(api, name);
  });
}

/** The bound as the checker takes it: at most `maxPods` pods, at least `minAvailable` available. */
function podsBetween(minAvailable: number, maxPods: number): RolloutBound {
  return { replicas: minAvailable, maxSurge: maxPods - minAvailable, maxUnavailable: 0, minReadySeconds: 0 };
}

test.serial('proportional scaling: scaled mid-rollout, the change is spread over both ReplicaSets by size, within the bound', async (t) => {
  t.timeout(150_000);
  const api = apis();
  const name = 'proportional';
  const strategy: k8s.V1DeploymentStrategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 0 } };
  await api.apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(name, 10, { strategy }) });
  t.true(await waitRolledOut(api, name, 'nginx:1'), `the first rollout\n${theCluster().logTails(10)}`);
  const watched = theInvariants();
  const before = watched.violations.length;
  watched.watchRollout(name, podsBetween(10, 13));
  // A rollout that stalls: the new pods can never be scheduled, so the old set keeps its 10.
  await setTemplate(api, name, (template) => {
    if (template.spec !== undefined) template.spec.nodeSelector = NOWHERE;
  });
  const sizes = async (): Promise<number[]> => (await setsOf(api, name)).map((set) => set.spec?.replicas ?? 0);
  t.deepEqual(await eventually(sizes, (now) => now.join() === '10,3', 30_000), [10, 3], 'stalled at old 10, new 3');

  // 10 → 20: 23 places, 10 more: round(10·23/13) = 18 and round(3·23/13) = 5.
  watched.watchRollout(name, podsBetween(10, 23));
  await scaleDeployment(api, name, 20);
  t.deepEqual(await eventually(sizes, (now) => now.join() === '18,5', 30_000), [18, 5], `scaled up in proportion\n${theCluster().logTails(10)}`);
  for (const set of await setsOf(api, name)) {
    t.is(set.metadata?.annotations?.[DESIRED_REPLICAS], '20', `${set.metadata?.name ?? ''} desired-replicas`);
    t.is(set.metadata?.annotations?.[MAX_REPLICAS], '23', `${set.metadata?.name ?? ''} max-replicas`);
  }
  const oldSet = (await setsOf(api, name))[0]?.metadata?.name ?? '';
  const grown = await eventually(() => livePods(api.core, name), (pods) => pods.filter((pod) => controllerOf(pod) === oldSet && isRunningAndReady(pod)).length === 18, 40_000);
  t.is(grown?.filter((pod) => controllerOf(pod) === oldSet && isRunningAndReady(pod)).length, 18, 'the old set runs 18');

  // 20 → 5: 8 places, 15 fewer: round(18·8/23) = 6 and round(5·8/23) = 2. The rollout step after it may move
  // one place (old 6 is one more available than 5 needs), so every state of the sets is watched.
  watched.watchRollout(name, podsBetween(5, 23));
  const sizeWatch = await watchSetSizes(api, name);
  t.teardown(() => sizeWatch.stop());
  await scaleDeployment(api, name, 5);
  const shrunk = await eventually(async () => sizeWatch.history, (history) => history.includes('6,2'), 30_000);
  t.true(shrunk?.includes('6,2'), `scaled down in proportion to 6 and 2; states seen: ${sizeWatch.history.join(' ')}`);
  sizeWatch.stop();
  const settled = await eventually(() => api.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }), (list) => list.items.length <= 8, 30_000);
  t.true((settled?.items.length ?? 99) <= 8, 'the surplus pods are gone');

  // A template that works: the rollout finishes at 5, within 5 + 3 pods and 5 available.
  watched.watchRollout(name, podsBetween(5, 8));
  await setTemplate(api, name, (template) => {
    if (template.spec !== undefined) delete template.spec.nodeSelector;
    const container = template.spec?.containers[0];
    if (container !== undefined) container.image = 'nginx:2';
  });
  t.true(await waitRolledOut(api, name, 'nginx:2', 90_000), `the rollout to nginx:2\n${theCluster().logTails(10)}`);
  watched.checkAll();
  watched.unwatchRollout(name);
  t.deepEqual(watched.violations.slice(before).filter((violation) => violation.includes(name)), [], 'the bound held at every event');
  await deleteDeployment(api, name);
});
