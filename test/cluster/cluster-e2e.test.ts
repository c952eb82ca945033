// The whole cluster end to end, started as a person starts it: `kplane up --detach` on a temporary
// directory with a JSON config on free ports (ChaosCluster), then driven only through
// @kubernetes/client-node with the admin kubeconfig `up` wrote. Every component is its own OS process
// talking to the API server over the actor transport with its own certificate: node agents register
// Ready nodes, the scheduler binds a pod that fits and leaves one that fits nowhere pending, simulated
// nodes run their pods, the controller manager turns a Deployment into 3 running pods, the scheduler
// and the node pool survive kill -9 (the launcher restarts them), a process node runs a real child
// process, and `kplane down` leaves no process behind (that child included).
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { isAlive } from '../../src/cluster/cluster-dir.js';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { eventually as pollUntil } from '../../src/testing/chaos/pod-invariants.js';

const NAMESPACE = 'default';
const SIMULATED_NODES = ['sim-1-1', 'sim-1-2', 'sim-1-3'];
const PROCESS_NODE = 'node-1';
const WAIT_MS = 20_000;

/** Polls `read` until `accept` holds or WAIT_MS is up (pod-invariants' `eventually` with this file's bound). */
const eventually = <T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = WAIT_MS): Promise<T | undefined> => pollUntil(read, accept, timeoutMs);

const isReady = (node: k8s.V1Node): boolean => node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true;

function simulatedPod(name: string, cpu: string): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeSelector: { 'kplane.io/node-agent': 'simulated' },
      containers: [{ name: 'app', image: 'nginx', resources: { requests: { cpu, memory: '64Mi' } } }],
    },
  };
}

/** The pids a process node recorded for its pods' containers (<node dir>/data/pods/<uid>/state.json). */
function processNodePids(clusterRoot: string): number[] {
  const podsDir = join(clusterRoot, PROCESS_NODE, 'data', 'pods');
  const pids: number[] = [];
  for (const uid of readdirSync(podsDir)) {
    try {
      const state = JSON.parse(readFileSync(join(podsDir, uid, 'state.json'), 'utf8')) as { containers?: Record<string, { pid?: number }> };
      for (const container of Object.values(state.containers ?? {})) if (typeof container.pid === 'number') pids.push(container.pid);
    } catch {
      // a pod directory without state yet
    }
  }
  return pids;
}

test.serial('kplane up runs every component: nodes Ready, pods scheduled and Running, a Deployment of 3, and down leaves nothing', async (t) => {
  const cluster = await ChaosCluster.start({ config: { name: 'e2e', nodes: { simulatedProcesses: 1, nodesPerProcess: 3, processNodes: 1 } } });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await cluster.stop();
  });
  const logsOnFailure = (): string => cluster.logTails(15);
  const started = cluster.dir.readState();
  t.deepEqual(
    started?.processes.map((entry) => `${entry.name}:${entry.role}`),
    ['store-1:store', 'store-2:store', 'store-3:store', 'apiserver-1:apiserver', 'controller-manager-1:controller-manager', 'scheduler:scheduler', 'sim-nodes-1:node-agent', 'node-1:node-agent'],
  );
  t.notRegex(cluster.startOutput, /not started/);
  const kubeConfig = cluster.kubeConfig();
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);

  // Node agents registered their nodes, each as itself, and they are Ready.
  const nodes = await eventually(
    () => core.listNode(),
    (list) => list.items.length === 4 && list.items.every(isReady),
  );
  t.deepEqual(nodes?.items.map((node) => node.metadata?.name).sort(), [PROCESS_NODE, ...SIMULATED_NODES], logsOnFailure());
  t.true(nodes?.items.every(isReady), 'every node is Ready');
  t.is(nodes?.items.find((node) => node.metadata?.name === PROCESS_NODE)?.metadata?.labels?.['kplane.io/node-agent'], 'process');

  // A pod that fits is bound to a simulated node and runs; one that fits nowhere stays pending.
  await core.createNamespacedPod({ namespace: NAMESPACE, body: simulatedPod('fits', '500m') });
  await core.createNamespacedPod({ namespace: NAMESPACE, body: simulatedPod('too-big', '64') });
  const running = await eventually(
    () => core.readNamespacedPod({ namespace: NAMESPACE, name: 'fits' }),
    (pod) => pod.status?.phase === 'Running',
  );
  t.true(SIMULATED_NODES.includes(running?.spec?.nodeName ?? ''), `bound to a simulated node: ${String(running?.spec?.nodeName)}\n${logsOnFailure()}`);
  t.is(running?.status?.phase, 'Running');
  const pending = await eventually(
    () => core.readNamespacedPod({ namespace: NAMESPACE, name: 'too-big' }),
    (pod) => pod.status?.conditions?.some((condition) => condition.type === 'PodScheduled' && condition.status === 'False') === true,
  );
  t.is(pending?.spec?.nodeName, undefined, 'a pod that fits no node is not bound');
  t.regex(pending?.status?.conditions?.find((condition) => condition.type === 'PodScheduled')?.message ?? '', /Insufficient cpu/);

  // The controller manager (deployment and replicaset controllers) and the scheduler: 3 Running pods.
  await apps.createNamespacedDeployment({
    namespace: NAMESPACE,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: { nodeSelector: { 'kplane.io/node-agent': 'simulated' }, containers: [{ name: 'web', image: 'nginx', resources: { requests: { cpu: '100m' } } }] },
        },
      },
    },
  });
  const webPods = await eventually(
    () => core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=web' }),
    (list) => list.items.length === 3 && list.items.every((pod) => pod.status?.phase === 'Running'),
    30_000,
  );
  t.is(webPods?.items.filter((pod) => pod.status?.phase === 'Running').length, 3, logsOnFailure());
  t.true(webPods?.items.every((pod) => SIMULATED_NODES.includes(pod.spec?.nodeName ?? '')));
  const deployment = await eventually(
    () => apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'web' }),
    (object) => object.status?.readyReplicas === 3,
  );
  t.is(deployment?.status?.readyReplicas, 3);

  // kill -9 of the scheduler and of the simulated-node pool: the launcher restarts them, they
  // reconnect with their certificates, the pool re-adopts its pods, and scheduling goes on.
  for (const target of ['scheduler', 'sim-nodes-1']) {
    const outcome = await cluster.fault('restart', target);
    t.is(outcome.hits.length, 1, `${target} was killed and restarted`);
  }
  await core.createNamespacedPod({ namespace: NAMESPACE, body: simulatedPod('after-restart', '250m') });
  const afterRestart = await eventually(
    () => core.readNamespacedPod({ namespace: NAMESPACE, name: 'after-restart' }),
    (pod) => pod.status?.phase === 'Running',
  );
  t.is(afterRestart?.status?.phase, 'Running', `scheduled and run after the restarts\n${logsOnFailure()}`);
  const stillRunning = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: 'app=web' });
  t.deepEqual(
    stillRunning.items.map((pod) => pod.status?.phase),
    ['Running', 'Running', 'Running'],
    'the restarted pool kept its pods running',
  );
  const readyNodes = await eventually(
    () => core.listNode(),
    (list) => list.items.length === 4 && list.items.every(isReady),
  );
  t.is(readyNodes?.items.filter(isReady).length, 4);

  // The process node runs a pod's container as a real local process.
  await core.createNamespacedPod({
    namespace: NAMESPACE,
    body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sleeper' }, spec: { nodeName: PROCESS_NODE, containers: [{ name: 'main', image: 'none', command: ['sh', '-c', 'exec sleep 600'] }] } },
  });
  const sleeper = await eventually(
    () => core.readNamespacedPod({ namespace: NAMESPACE, name: 'sleeper' }),
    (pod) => pod.status?.phase === 'Running',
  );
  t.is(sleeper?.status?.phase, 'Running', logsOnFailure());
  const podPids = processNodePids(cluster.dir.root);
  t.is(podPids.length, 1);
  t.true(podPids.every((pid) => isAlive(pid)));

  // kplane down: no component, launcher or pod process outlives it.
  const survivors = await cluster.stop();
  stopped = true;
  t.deepEqual(survivors, []);
  t.deepEqual(
    podPids.filter((pid) => isAlive(pid)),
    [],
    'the process node ended its pods on an orderly stop',
  );
});
