// StatefulSet and DaemonSet through real processes (issue 8 §3): a cluster from `kplane up` (ChaosCluster)
// with two simulated-node pools of two nodes each, driven only through @kubernetes/client-node.
//   1. A StatefulSet of 3 (OrderedReady): a watch sees web-0, web-1, web-2 created in that order, each only
//      after every lower ordinal was Running and Ready; scaling down to 1 removes web-2, and only once it
//      is gone, web-1.
//   2. A DaemonSet gets one pod on each of the 4 nodes; one whose nodeSelector matches one pool's nodes
//      (labelled here through the API, as an operator would: the pools carry no label of their own) gets 2.
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { eventually, isRunningAndReady } from '../../src/testing/chaos/pod-invariants.js';

const NAMESPACE = 'default';
const POOL_LABEL = 'kplane.io/pool';
const LABELLED_POOL = 'sim-nodes-1';
const LABELLED_POOL_NODES = ['sim-1-1', 'sim-1-2'];
const ALL_NODES = ['sim-1-1', 'sim-1-2', 'sim-2-1', 'sim-2-2'];

let cluster: ChaosCluster | undefined;

function theCluster(): ChaosCluster {
  if (cluster === undefined) throw new Error('the cluster did not start');
  return cluster;
}

test.before(async () => {
  cluster = await ChaosCluster.start({
    config: { name: 'sets', nodes: { simulatedProcesses: 2, nodesPerProcess: 2, processNodes: 0 } },
  });
});

test.after.always(async () => {
  await cluster?.stop();
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
