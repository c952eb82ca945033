// StatefulSet and DaemonSet through real processes (issue 8 §3): a cluster from `kplane up` (ChaosCluster)
// with two simulated-node pools of two nodes each, driven only through @kubernetes/client-node.
//   1. A StatefulSet of 3 (OrderedReady): a watch sees web-0, web-1, web-2 created in that order, each only
//      after every lower ordinal was Running and Ready; scaling down to 1 removes web-2, and only once it
//      is gone, web-1.
//   2. A DaemonSet gets one pod on each of the 4 nodes; one whose nodeSelector matches one pool's nodes
//      (labelled here through the API, as an operator would: the pools carry no label of their own) gets 2.
//   3. StatefulSet Parallel (every pod made without waiting: shown with pods that can never be scheduled);
//      RollingUpdate with a partition (only ordinals ≥ partition, highest first, each after the previous
//      is Running and Ready; lowering the partition goes on); OnDelete (a pod changes only when deleted);
//      stable names and the controller-revision-hash / currentRevision / updateRevision status.
//   4. DaemonSet RollingUpdate (maxUnavailable 1: at most one node without an available pod at every
//      event); nodes coming and going: a node registered through the API gets a pod, a deleted node's
//      pod goes; cordoned, a NoSchedule taint and a NoExecute taint as Kubernetes treats them.
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { clusterForFile } from './cluster-fixture.js';
import { eventually, isAvailable, isRunningAndReady, isTerminating } from '../../src/testing/chaos/pod-invariants.js';
import { PodWatcher } from './pod-watcher.js';

const NAMESPACE = 'default';
const POOL_LABEL = 'kplane.io/pool';
const LABELLED_POOL = 'sim-nodes-1';
const LABELLED_POOL_NODES = ['sim-1-1', 'sim-1-2'];
const ALL_NODES = ['sim-1-1', 'sim-1-2', 'sim-2-1', 'sim-2-2'];



const theCluster = clusterForFile(test, {
    config: { name: 'sets', nodes: { simulatedProcesses: 2, nodesPerProcess: 2, processNodes: 0 } },
  });


const podTemplate = (app: string, extra: Partial<k8s.V1PodSpec> = {}): k8s.V1PodTemplateSpec => ({
  metadata: { labels: { app } },
  spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'app', image: 'nginx:1', resources: { requests: { cpu: '10m' } } }], ...extra },
});

/** One line of the watched history: what happened to which pod, in watch order. */
type Happening = 'created' | 'ready' | 'terminating' | 'deleted';
interface HistoryEntry {
  readonly pod: string;
  readonly happening: Happening;
}

/**
 * Every pod event of one label selector from a resourceVersion on, as a history of first happenings
 * (created, ready, terminating, deleted) per pod, and a check run at each creation against the pods
 * as they were just before it.
 */
class PodHistory {
  readonly pods = new Map<string, k8s.V1Pod>();
  readonly history: HistoryEntry[] = [];
  private abort: AbortController | undefined;

  constructor(
    private readonly kubeConfig: k8s.KubeConfig,
    private readonly labelSelector: string,
    private readonly onCreate: (name: string, before: ReadonlyMap<string, k8s.V1Pod>) => void,
  ) {}

  private seen(pod: string, happening: Happening): boolean {
    return this.history.some((entry) => entry.pod === pod && entry.happening === happening);
  }

  private note(pod: string, happening: Happening): void {
    if (!this.seen(pod, happening)) this.history.push({ pod, happening });
  }

  indexOf(pod: string, happening: Happening): number {
    return this.history.findIndex((entry) => entry.pod === pod && entry.happening === happening);
  }

  async start(resourceVersion: string): Promise<void> {
    const watch = new k8s.Watch(this.kubeConfig);
    this.abort = await watch.watch(
      `/api/v1/namespaces/${NAMESPACE}/pods`,
      { labelSelector: this.labelSelector, resourceVersion },
      (phase: string, pod: k8s.V1Pod) => {
        if (phase === 'ERROR' || phase === 'BOOKMARK') return;
        const name = pod.metadata?.name ?? '';
        if (!this.seen(name, 'created')) {
          this.onCreate(name, new Map(this.pods));
          this.note(name, 'created');
        }
        if (phase === 'DELETED') {
          this.pods.delete(name);
          this.note(name, 'terminating');
          this.note(name, 'deleted');
          return;
        }
        this.pods.set(name, pod);
        if (isRunningAndReady(pod)) this.note(name, 'ready');
        if (pod.metadata?.deletionTimestamp !== undefined) this.note(name, 'terminating');
      },
      () => undefined,
    );
  }

  stop(): void {
    this.abort?.abort();
  }

  describe(): string {
    return this.history.map((entry) => `${entry.pod} ${entry.happening}`).join(', ');
  }
}

test.serial('a StatefulSet of 3 (OrderedReady): created in ordinal order, each after the previous is Running and Ready; scaling to 1 removes web-2, then web-1', async (t) => {
  t.timeout(40_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = 'web';
  const outOfOrder: string[] = [];
  const initial = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  t.is(initial.items.length, 0);
  const watcher = new PodHistory(kubeConfig, `app=${name}`, (created, before) => {
    // At each creation, every lower ordinal must exist and be Running and Ready.
    const ordinal = Number(created.slice(created.lastIndexOf('-') + 1));
    for (let lower = 0; lower < ordinal; lower++) {
      const pod = before.get(`${name}-${lower}`);
      if (pod === undefined || !isRunningAndReady(pod)) outOfOrder.push(`${created} created while ${name}-${lower} was ${pod === undefined ? 'absent' : `${pod.status?.phase ?? 'unknown'}/not ready`}`);
    }
  });
  await watcher.start(initial.metadata?.resourceVersion ?? '0');
  t.teardown(() => watcher.stop());

  await apps.createNamespacedStatefulSet({
    namespace: NAMESPACE,
    body: {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name },
      spec: { replicas: 3, serviceName: name, podManagementPolicy: 'OrderedReady', selector: { matchLabels: { app: name } }, template: podTemplate(name) },
    },
  });
  const ready = await eventually(
    () => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }),
    (set) => set.status?.readyReplicas === 3 && watcher.indexOf(`${name}-2`, 'ready') >= 0,
    25_000,
  );
  t.is(ready?.status?.readyReplicas, 3, `3 ready replicas; history: ${watcher.describe()}\n${cluster.logTails(10)}`);
  const created = watcher.history.filter((entry) => entry.happening === 'created').map((entry) => entry.pod);
  t.deepEqual(created, [`${name}-0`, `${name}-1`, `${name}-2`], `created in ordinal order; history: ${watcher.describe()}`);
  t.deepEqual(outOfOrder, [], 'each pod was created only after every lower one was Running and Ready');
  for (let ordinal = 1; ordinal < 3; ordinal++) {
    t.true(watcher.indexOf(`${name}-${ordinal - 1}`, 'ready') < watcher.indexOf(`${name}-${ordinal}`, 'created'), `${name}-${ordinal - 1} ready before ${name}-${ordinal} created`);
  }

  // Scale down to 1: the highest ordinal goes first, and the next only once it is gone.
  const current = await apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name });
  if (current.spec === undefined) throw new Error('the StatefulSet has no spec');
  current.spec.replicas = 1;
  await apps.replaceNamespacedStatefulSet({ namespace: NAMESPACE, name, body: current });
  const scaled = await eventually(
    async () => (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items.map((pod) => pod.metadata?.name).sort(),
    (names) => names.length === 1 && watcher.indexOf(`${name}-1`, 'deleted') >= 0,
    20_000,
  );
  t.deepEqual(scaled, [`${name}-0`], `only ${name}-0 is left; history: ${watcher.describe()}\n${cluster.logTails(10)}`);
  const web2Terminating = watcher.indexOf(`${name}-2`, 'terminating');
  const web2Deleted = watcher.indexOf(`${name}-2`, 'deleted');
  const web1Terminating = watcher.indexOf(`${name}-1`, 'terminating');
  t.true(web2Terminating >= 0 && web1Terminating >= 0, `both were removed; history: ${watcher.describe()}`);
  t.true(web2Terminating < web1Terminating, `${name}-2 removed before ${name}-1; history: ${watcher.describe()}`);
  t.true(web2Deleted >= 0 && web2Deleted < web1Terminating, `${name}-1 removed only after ${name}-2 was gone; history: ${watcher.describe()}`);
  t.is(watcher.indexOf(`${name}-0`, 'terminating'), -1, `${name}-0 stays`);
  watcher.stop();
  await apps.deleteNamespacedStatefulSet({ namespace: NAMESPACE, name });
});

test.serial('a DaemonSet runs one pod on each of the 4 nodes; one with a nodeSelector matching one pool runs 2', async (t) => {
  t.timeout(40_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const nodes = await eventually(
    async () => (await core.listNode()).items.map((node) => node.metadata?.name ?? '').sort(),
    (names) => names.length === ALL_NODES.length,
    15_000,
  );
  t.deepEqual(nodes, ALL_NODES, 'the two pools registered their 4 nodes');

  // The pools carry no label of their own: label one pool's nodes, as `kubectl label node` would.
  const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
  for (const node of LABELLED_POOL_NODES) {
    await core.patchNode({ name: node, body: { metadata: { labels: { [POOL_LABEL]: LABELLED_POOL } } } }, mergePatch);
  }

  const daemonSet = (name: string, nodeSelector?: Record<string, string>): k8s.V1DaemonSet => ({
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name },
    spec: { selector: { matchLabels: { app: name } }, template: podTemplate(name, nodeSelector === undefined ? {} : { nodeSelector }) },
  });
  await apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSet('everywhere') });
  await apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSet('one-pool', { [POOL_LABEL]: LABELLED_POOL }) });

  const placement = async (name: string): Promise<string[]> =>
    (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items
      .filter(isRunningAndReady)
      .map((pod) => pod.spec?.nodeName ?? '(unbound)')
      .sort();
  const everywhere = await eventually(() => placement('everywhere'), (onNodes) => onNodes.length >= ALL_NODES.length, 20_000);
  t.deepEqual(everywhere, ALL_NODES, `one Running and Ready pod on each node\n${cluster.logTails(10)}`);
  const onePool = await eventually(() => placement('one-pool'), (onNodes) => onNodes.length >= LABELLED_POOL_NODES.length, 20_000);
  t.deepEqual(onePool, LABELLED_POOL_NODES, `one pod on each node of ${LABELLED_POOL} only`);

  const status = await eventually(
    () => apps.readNamespacedDaemonSet({ namespace: NAMESPACE, name: 'one-pool' }),
    (set) => set.status?.numberReady === 2,
    10_000,
  );
  t.like(status?.status, { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberReady: 2, numberMisscheduled: 0 });
  // Nothing more comes later: the counts stay exact.
  t.deepEqual(await placement('everywhere'), ALL_NODES);
  t.is((await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=one-pool' })).items.length, 2);
  await apps.deleteNamespacedDaemonSet({ namespace: NAMESPACE, name: 'everywhere' });
  await apps.deleteNamespacedDaemonSet({ namespace: NAMESPACE, name: 'one-pool' });
});

// ---- StatefulSet: Parallel, partitioned RollingUpdate, OnDelete ----------------------------------------

/** No node carries this label: a pod asking for it stays Pending and unscheduled. */
const NOWHERE = { 'kplane.io/no-such-pool': 'none' };
const REVISION_HASH = 'controller-revision-hash';
const MERGE_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

function statefulSet(name: string, replicas: number, extra: Partial<k8s.V1StatefulSetSpec> = {}, podSpec: Partial<k8s.V1PodSpec> = {}): k8s.V1StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: { replicas, serviceName: name, selector: { matchLabels: { app: name } }, template: podTemplate(name, podSpec), ...extra },
  };
}

/** One line per pod incarnation change, in watch order: "<name> created|ready|deleting <revision hash>". */
async function incarnations(kubeConfig: k8s.KubeConfig, app: string): Promise<{ readonly lines: string[]; stop(): void }> {
  const lines: string[] = [];
  const noted = new Set<string>();
  const note = (pod: k8s.V1Pod, happening: string): void => {
    const key = `${pod.metadata?.uid ?? ''} ${happening}`;
    if (noted.has(key)) return;
    noted.add(key);
    lines.push(`${pod.metadata?.name ?? ''} ${happening} ${pod.metadata?.labels?.[REVISION_HASH] ?? ''}`);
  };
  const watcher = await PodWatcher.start(kubeConfig, NAMESPACE, `app=${app}`, (_watcher, phase, pod) => {
    note(pod, 'created');
    if (phase === 'DELETED' || isTerminating(pod)) note(pod, 'deleting');
    else if (isRunningAndReady(pod)) note(pod, 'ready');
  });
  return { lines, stop: () => watcher.stop() };
}

async function setImage(apps: k8s.AppsV1Api, kind: 'StatefulSet' | 'DaemonSet', name: string, image: string): Promise<void> {
  const body = { spec: { template: { spec: { containers: [{ name: 'app', image, resources: { requests: { cpu: '10m' } } }] } } } };
  if (kind === 'StatefulSet') await apps.patchNamespacedStatefulSet({ namespace: NAMESPACE, name, body }, MERGE_PATCH);
  else await apps.patchNamespacedDaemonSet({ namespace: NAMESPACE, name, body }, MERGE_PATCH);
}

test.serial('a Parallel StatefulSet makes every pod at once, without waiting for the lower ordinals', async (t) => {
  t.timeout(60_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = 'par';
  // Pods that can never be scheduled: OrderedReady would stop at par-0; Parallel makes all four.
  await apps.createNamespacedStatefulSet({ namespace: NAMESPACE, body: statefulSet(name, 4, { podManagementPolicy: 'Parallel' }, { nodeSelector: NOWHERE }) });
  const pods = await eventually(
    async () => (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items,
    (items) => items.length === 4,
    20_000,
  );
  t.deepEqual((pods ?? []).map((pod) => pod.metadata?.name).sort(), ['par-0', 'par-1', 'par-2', 'par-3'], `four pods with stable names\n${cluster.logTails(10)}`);
  t.true((pods ?? []).every((pod) => pod.spec?.nodeName === undefined && !isRunningAndReady(pod)), 'none of them scheduled or ready');
  t.true((pods ?? []).every((pod) => pod.spec?.hostname === pod.metadata?.name && pod.spec?.subdomain === name), 'hostname and subdomain from the set');
  const status = await eventually(() => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }), (set) => set.status?.replicas === 4, 10_000);
  t.is(status?.status?.replicas, 4);
  t.is(status?.status?.readyReplicas ?? 0, 0);
  await apps.deleteNamespacedStatefulSet({ namespace: NAMESPACE, name });
  await eventually(() => core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` }), (list) => list.items.length === 0, 20_000);
});

test.serial('StatefulSet RollingUpdate with a partition: only ordinals ≥ partition, highest first, each after the previous is ready; lowering it goes on', async (t) => {
  t.timeout(120_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = 'part';
  await apps.createNamespacedStatefulSet({ namespace: NAMESPACE, body: statefulSet(name, 4, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }) });
  const first = await eventually(() => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }), (set) => set.status?.readyReplicas === 4 && set.status.currentRevision !== undefined, 40_000);
  t.is(first?.status?.readyReplicas, 4, `4 ready\n${cluster.logTails(10)}`);
  const oldRevision = first?.status?.currentRevision ?? '';
  const before = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  t.true(before.items.every((pod) => pod.metadata?.labels?.[REVISION_HASH] === oldRevision), `every pod carries the current revision ${oldRevision}`);
  const uidOf = (items: readonly k8s.V1Pod[], pod: string): string | undefined => items.find((item) => item.metadata?.name === pod)?.metadata?.uid;
  const history = await incarnations(kubeConfig, name);
  t.teardown(() => history.stop());

  await setImage(apps, 'StatefulSet', name, 'nginx:2');
  const partial = await eventually(
    () => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }),
    (set) => set.status?.updatedReplicas === 2 && set.status.readyReplicas === 4 && set.status.updateRevision !== oldRevision,
    60_000,
  );
  t.like(partial?.status, { updatedReplicas: 2, currentReplicas: 2, currentRevision: oldRevision }, `${JSON.stringify(partial?.status)}; history: ${history.lines.join(', ')}`);
  const newRevision = partial?.status?.updateRevision ?? '';
  t.not(newRevision, oldRevision);
  const newHash = (line: string): boolean => !line.endsWith(` ${oldRevision}`);
  // The watch may trail the status read: wait until it has seen the new part-2 ready.
  const caughtUp = (pod: string): Promise<string[] | undefined> => eventually(async () => history.lines, (lines) => lines.some((line) => line.startsWith(`${pod} ready `) && newHash(line)), 10_000);
  await caughtUp('part-2');
  const made = history.lines.filter((line) => line.includes(' created ') && newHash(line)).map((line) => line.split(' ')[0]);
  t.deepEqual(made, ['part-3', 'part-2'], `the highest ordinal first; history: ${history.lines.join(', ')}`);
  const index = (prefix: string, updated: boolean): number => history.lines.findIndex((line) => line.startsWith(prefix) && newHash(line) === updated);
  t.true(index('part-3 ready', true) >= 0 && index('part-3 ready', true) < index('part-2 deleting', false), `part-2 replaced only after the new part-3 was Running and Ready; history: ${history.lines.join(', ')}`);
  const middle = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  for (const pod of ['part-0', 'part-1']) t.is(uidOf(middle.items, pod), uidOf(before.items, pod), `${pod} (below the partition) untouched`);
  for (const pod of middle.items) {
    const ordinal = Number(pod.metadata?.name?.split('-')[1]);
    t.is(pod.spec?.containers[0]?.image, ordinal >= 2 ? 'nginx:2' : 'nginx:1', `${pod.metadata?.name ?? ''} image`);
  }

  // Partition 0: the rest follow, highest first.
  await apps.patchNamespacedStatefulSet({ namespace: NAMESPACE, name, body: { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } } } }, MERGE_PATCH);
  const done = await eventually(
    () => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }),
    (set) => set.status?.updatedReplicas === 4 && set.status.readyReplicas === 4 && set.status.currentRevision === set.status.updateRevision,
    60_000,
  );
  t.like(done?.status, { updatedReplicas: 4, currentReplicas: 4, currentRevision: newRevision, updateRevision: newRevision }, `${JSON.stringify(done?.status)}; history: ${history.lines.join(', ')}`);
  await caughtUp('part-0');
  const allMade = history.lines.filter((line) => line.includes(' created ') && newHash(line)).map((line) => line.split(' ')[0]);
  t.deepEqual(allMade, ['part-3', 'part-2', 'part-1', 'part-0'], `history: ${history.lines.join(', ')}`);
  t.true(index('part-1 ready', true) < index('part-0 deleting', false), 'part-0 replaced after the new part-1 was ready');
  const after = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  t.deepEqual(after.items.map((pod) => pod.metadata?.name).sort(), ['part-0', 'part-1', 'part-2', 'part-3'], 'the same stable names');
  t.true(after.items.every((pod) => pod.spec?.containers[0]?.image === 'nginx:2' && pod.metadata?.labels?.[REVISION_HASH] === newRevision), 'every pod on the new revision');
  history.stop();
  await apps.deleteNamespacedStatefulSet({ namespace: NAMESPACE, name });
});

test.serial('StatefulSet OnDelete: no pod changes until deleted; a deleted pod comes back with the new template', async (t) => {
  t.timeout(90_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = 'ondel';
  await apps.createNamespacedStatefulSet({ namespace: NAMESPACE, body: statefulSet(name, 2, { updateStrategy: { type: 'OnDelete' } }) });
  const first = await eventually(() => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }), (set) => set.status?.readyReplicas === 2, 30_000);
  t.is(first?.status?.readyReplicas, 2, `2 ready\n${cluster.logTails(10)}`);
  const before = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  await setImage(apps, 'StatefulSet', name, 'nginx:2');
  const noted = await eventually(
    () => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }),
    (set) => (set.status?.observedGeneration ?? 0) >= (set.metadata?.generation ?? 1) && set.status?.updateRevision !== set.status?.currentRevision,
    20_000,
  );
  t.like(noted?.status, { updatedReplicas: 0, currentReplicas: 2 }, JSON.stringify(noted?.status));
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const still = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` });
  t.deepEqual(still.items.map((pod) => pod.metadata?.uid).sort(), before.items.map((pod) => pod.metadata?.uid).sort(), 'no pod replaced');
  t.true(still.items.every((pod) => pod.spec?.containers[0]?.image === 'nginx:1'));

  const old1 = still.items.find((pod) => pod.metadata?.name === `${name}-1`);
  await core.deleteNamespacedPod({ namespace: NAMESPACE, name: `${name}-1` });
  const back = await eventually(
    () => core.readNamespacedPod({ namespace: NAMESPACE, name: `${name}-1` }),
    (pod) => pod.metadata?.uid !== old1?.metadata?.uid && isRunningAndReady(pod),
    30_000,
  );
  t.is(back?.spec?.containers[0]?.image, 'nginx:2', 'the deleted pod comes back with the new template');
  const status = await eventually(() => apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name }), (set) => set.status?.updatedReplicas === 1 && set.status.readyReplicas === 2, 20_000);
  t.like(status?.status, { updatedReplicas: 1, readyReplicas: 2 });
  t.is(back?.metadata?.labels?.[REVISION_HASH], status?.status?.updateRevision, 'its revision label is the update revision');
  const zero = await core.readNamespacedPod({ namespace: NAMESPACE, name: `${name}-0` });
  t.is(zero.spec?.containers[0]?.image, 'nginx:1', `${name}-0 keeps the old template`);
  t.is(zero.metadata?.labels?.[REVISION_HASH], status?.status?.currentRevision, 'its revision label is the current revision');
  await apps.deleteNamespacedStatefulSet({ namespace: NAMESPACE, name });
});

// ---- DaemonSet: rolling update, nodes coming and going -------------------------------------------------

function daemonSetOf(name: string, extra: Partial<k8s.V1DaemonSetSpec> = {}): k8s.V1DaemonSet {
  return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name }, spec: { selector: { matchLabels: { app: name } }, template: podTemplate(name), ...extra } };
}

test.serial('DaemonSet RollingUpdate (maxUnavailable 1): pods replaced node by node, never two nodes without an available pod', async (t) => {
  t.timeout(90_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = 'roller';
  await apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSetOf(name, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } }) });
  const ready = await eventually(() => apps.readNamespacedDaemonSet({ namespace: NAMESPACE, name }), (set) => set.status?.numberAvailable === ALL_NODES.length, 30_000);
  t.is(ready?.status?.numberAvailable, ALL_NODES.length, `a pod available on every node\n${cluster.logTails(10)}`);
  const problems: string[] = [];
  let leastCovered = ALL_NODES.length;
  const watcher = await PodWatcher.start(kubeConfig, NAMESPACE, `app=${name}`, (current) => {
    const now = Date.now();
    const covered = new Set([...current.pods.values()].filter((pod) => isAvailable(pod, now, 0)).map((pod) => pod.spec?.nodeName ?? ''));
    leastCovered = Math.min(leastCovered, covered.size);
    if (covered.size < ALL_NODES.length - 1) problems.push(`only ${[...covered].sort().join(',')} have an available pod`);
  });
  t.teardown(() => watcher.stop());
  await setImage(apps, 'DaemonSet', name, 'nginx:2');
  const done = await eventually(
    async () => (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items,
    (pods) => pods.length === ALL_NODES.length && pods.every((pod) => isRunningAndReady(pod) && pod.spec?.containers[0]?.image === 'nginx:2'),
    60_000,
  );
  watcher.stop();
  t.deepEqual((done ?? []).map((pod) => pod.spec?.nodeName).sort(), ALL_NODES, `every node on the new template\n${cluster.logTails(10)}`);
  t.deepEqual(problems, [], 'at most one node without an available pod at every event');
  t.is(leastCovered, ALL_NODES.length - 1, 'the update took one node at a time');
  const status = await eventually(() => apps.readNamespacedDaemonSet({ namespace: NAMESPACE, name }), (set) => set.status?.updatedNumberScheduled === ALL_NODES.length, 10_000);
  t.like(status?.status, { desiredNumberScheduled: 4, updatedNumberScheduled: 4, numberAvailable: 4 });
  await apps.deleteNamespacedDaemonSet({ namespace: NAMESPACE, name });
});

test.serial('DaemonSet and nodes coming and going: a registered node gets a pod, a deleted one loses it; cordoned, NoSchedule and NoExecute as Kubernetes', async (t) => {
  t.timeout(120_000);
  const cluster = theCluster();
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const name = 'follower';
  const extraNode = 'extra-1';
  const [cordoned, noSchedule, noExecute] = ['sim-1-1', 'sim-1-2', 'sim-2-1'];
  await apps.createNamespacedDaemonSet({ namespace: NAMESPACE, body: daemonSetOf(name) });
  const placement = async (): Promise<string[]> =>
    (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}` })).items
      .filter((pod) => !isTerminating(pod))
      .map((pod) => pod.spec?.nodeName ?? '(unbound)')
      .sort();
  t.deepEqual(await eventually(placement, (nodes) => nodes.length === ALL_NODES.length, 30_000), ALL_NODES, `a pod on each node\n${cluster.logTails(10)}`);
  try {
    // A node registered through the API (as a node agent registers its Node) gets a daemon pod.
    await core.createNode({ body: { apiVersion: 'v1', kind: 'Node', metadata: { name: extraNode, labels: { 'kubernetes.io/hostname': extraNode } } } });
    t.deepEqual(await eventually(placement, (nodes) => nodes.includes(extraNode), 20_000), [...ALL_NODES, extraNode].sort(), 'the new node got a pod');
    // Deleted, it loses it.
    await core.deleteNode({ name: extraNode });
    t.deepEqual(await eventually(placement, (nodes) => !nodes.includes(extraNode), 20_000), ALL_NODES, 'the deleted node\'s pod is gone');

    // Cordoned: DaemonSet pods tolerate it; the pod stays and, deleted, is made again there.
    await core.patchNode({ name: cordoned, body: { spec: { unschedulable: true } } }, MERGE_PATCH);
    const onCordoned = (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}`, fieldSelector: `spec.nodeName=${cordoned}` })).items[0];
    await core.deleteNamespacedPod({ namespace: NAMESPACE, name: onCordoned?.metadata?.name ?? '' });
    const remade = await eventually(
      async () => (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${name}`, fieldSelector: `spec.nodeName=${cordoned}` })).items,
      (pods) => pods.some((pod) => pod.metadata?.uid !== onCordoned?.metadata?.uid && !isTerminating(pod)),
      20_000,
    );
    t.true((remade ?? []).some((pod) => pod.metadata?.uid !== onCordoned?.metadata?.uid), 'a pod is made again on the cordoned node');

    // An untolerated NoSchedule taint keeps new pods out but leaves the running one (Kubernetes' NodeShouldRunDaemonPod).
    await core.patchNode({ name: noSchedule, body: { spec: { taints: [{ key: 'dedicated', value: 'other', effect: 'NoSchedule' }] } } }, MERGE_PATCH);
    const misscheduled = await eventually(() => apps.readNamespacedDaemonSet({ namespace: NAMESPACE, name }), (set) => set.status?.desiredNumberScheduled === ALL_NODES.length - 1, 20_000);
    t.like(misscheduled?.status, { desiredNumberScheduled: 3, numberMisscheduled: 1 }, JSON.stringify(misscheduled?.status));
    t.deepEqual(await placement(), ALL_NODES, 'the pod on the NoSchedule-tainted node keeps running');

    // An untolerated NoExecute taint removes it.
    await core.patchNode({ name: noExecute, body: { spec: { taints: [{ key: 'dedicated', value: 'other', effect: 'NoExecute' }] } } }, MERGE_PATCH);
    t.deepEqual(await eventually(placement, (nodes) => !nodes.includes(noExecute), 20_000), ALL_NODES.filter((node) => node !== noExecute), 'the pod on the NoExecute-tainted node is removed');
  } finally {
    await core.deleteNode({ name: extraNode }).catch(() => undefined);
    await core.patchNode({ name: cordoned, body: { spec: { unschedulable: null } } }, MERGE_PATCH);
    for (const node of [noSchedule, noExecute]) await core.patchNode({ name: node, body: { spec: { taints: null } } }, MERGE_PATCH);
  }
  // Untainted again: the removed pod comes back.
  t.deepEqual(await eventually(placement, (nodes) => nodes.length === ALL_NODES.length, 20_000), ALL_NODES, 'a pod on each node again');
  await apps.deleteNamespacedDaemonSet({ namespace: NAMESPACE, name });
});
