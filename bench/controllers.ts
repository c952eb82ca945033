// `npm run bench:controllers`: the controller manager in a real cluster (issue 8 §4). `kplane up` on a
// temporary directory (free ports; 3 store replicas, one API server, the controller manager, the
// scheduler, NODES simulated nodes in two node-agent processes), driven through
// @kubernetes/client-node over HTTPS as a user drives it. Measured, in this order:
//   1. SMALL_DEPLOYMENTS Deployments of 3 replicas created at once: time until every one reports 3
//      available replicas, as Deployments per second (kwok's users report about 5/s);
//   2. a Deployment of BIG_REPLICAS replicas: time from its creation to all of them Running and Ready;
//   3. a full rolling update of it (new image; default 25 % surge / 25 % unavailable): time until every
//      replica is updated and available and no old pod is left;
//   4. beside them, the store's raw write throughput in the same run: a RemoteStoreClient against the
//      cluster's replicas (the secret from <dir>/cluster-secret), STORE_CONCURRENCY puts in flight for
//      a few seconds. Each pod costs several writes (create, bind, status updates, ReplicaSet status),
//      so pods/s is compared with writes/s.
// Progress goes to stderr, a table to stdout, and the last line is ONE JSON object (snake_case keys).
// Sizes can be lowered for a quick try: BENCH_NODES, BENCH_REPLICAS, BENCH_DEPLOYMENTS.

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import { storeReplicas } from '../src/cluster/plan.js';
import { RemoteStoreClient } from '../src/store/client/remote-store-client.js';
import { ChaosCluster } from '../src/testing/chaos/chaos-cluster.js';
import { runClosedLoop } from './store-load.js';

const NODES = Number(process.env['BENCH_NODES'] ?? 100);
const NODE_PROCESSES = 2;
const BIG_REPLICAS = Number(process.env['BENCH_REPLICAS'] ?? 1_000);
const SMALL_DEPLOYMENTS = Number(process.env['BENCH_DEPLOYMENTS'] ?? 50);
const SMALL_REPLICAS = 3;
const CREATE_CONCURRENCY = 10;
const STORE_CONCURRENCY = 64;
const STORE_WARMUP_MS = 1_000;
const STORE_DURATION_MS = 5_000;
/** What kwok's users report for Deployments becoming ready (a figure to beat, not measured here). */
const KWOK_DEPLOYMENTS_PER_S = 5;
const POLL_MS = 250;
const PHASE_TIMEOUT_MS = 600_000;
/** A phase whose progress line has not changed for this long has stalled: the run fails, naming it. */
const STALL_MS = 60_000;
const NAMESPACE = 'default';
const SIMULATED_SELECTOR = { 'kplane.io/node-agent': 'simulated' };

const progress = (line: string): void => {
  process.stderr.write(`[bench:controllers] ${line}\n`);
};

const seconds = (ms: number): string => (ms / 1000).toFixed(2);

function deployment(name: string, replicas: number, image: string): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { nodeSelector: SIMULATED_SELECTOR, containers: [{ name: 'app', image, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

async function inParallel(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Polls until `done` holds (errors count as "not yet"); resolves with the ms since `startedAt`. */
async function until(what: string, startedAt: number, check: () => Promise<{ readonly done: boolean; readonly detail: string }>): Promise<number> {
  let lastReport = 0;
  let detail = '';
  let changedAt = performance.now();
  while (performance.now() - startedAt < PHASE_TIMEOUT_MS) {
    if (performance.now() - changedAt > STALL_MS) throw new Error(`${what} stalled: no progress for ${STALL_MS} ms (${detail})`);
    try {
      const state = await check();
      if (state.detail !== detail) changedAt = performance.now();
      detail = state.detail;
      if (state.done) return performance.now() - startedAt;
    } catch (error) {
      detail = `(${error instanceof Error ? error.message : String(error)})`;
    }
    if (performance.now() - lastReport > 2_000) {
      lastReport = performance.now();
      progress(`${what}: ${detail} after ${seconds(performance.now() - startedAt)} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`${what} did not finish within ${PHASE_TIMEOUT_MS} ms (last: ${detail})`);
}

const isReady = (node: k8s.V1Node): boolean => node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true;

/** A Deployment whose every replica is updated and available, and no other pod is counted. */
function rolledOut(object: k8s.V1Deployment, replicas: number): boolean {
  const status = object.status;
  return (
    (status?.observedGeneration ?? 0) >= (object.metadata?.generation ?? 1) &&
    status?.updatedReplicas === replicas &&
    status.availableReplicas === replicas &&
    status.readyReplicas === replicas &&
    status.replicas === replicas
  );
}

/** After a failure: the pods by state, and the warnings and errors each process logged (by message). */
async function diagnose(cluster: ChaosCluster): Promise<void> {
  try {
    const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE });
    const states = new Map<string, number>();
    for (const pod of pods.items) {
      const ready = pod.status?.conditions?.find((condition) => condition.type === 'Ready')?.status ?? '-';
      const state = `${pod.status?.phase ?? '?'} ready=${ready}${pod.metadata?.deletionTimestamp === undefined ? '' : ' terminating'}${pod.spec?.nodeName === undefined ? ' unbound' : ''}`;
      states.set(state, (states.get(state) ?? 0) + 1);
    }
    progress(`pods by state: ${[...states.entries()].map(([state, count]) => `${count} ${state}`).join('; ')}`);
  } catch (error) {
    progress(`could not list pods: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (const entry of cluster.dir.readState()?.processes ?? []) {
    let text = '';
    try {
      text = readFileSync(cluster.dir.logFile(entry.name), 'utf8');
    } catch {
      continue;
    }
    const messages = new Map<string, number>();
    for (const line of text.split('\n')) {
      const match = /"level":(\d+).*"msg":"([^"]*)"/.exec(line);
      if (match !== null && Number(match[1]) >= 40) messages.set(match[2] ?? '', (messages.get(match[2] ?? '') ?? 0) + 1);
    }
    if (messages.size > 0) progress(`${entry.name} warnings: ${[...messages.entries()].map(([message, count]) => `${count}× ${message}`).join('; ')}`);
  }
}

async function main(): Promise<void> {
  const perProcess = Math.ceil(NODES / NODE_PROCESSES);
  progress(`kplane up: ${NODE_PROCESSES} × ${perProcess} simulated nodes`);
  const cluster = await ChaosCluster.start({
    config: {
      name: 'bench-controllers',
      logLevel: 'warn',
      // 100 nodes, each with its own API connection, plus the controllers and the scheduler in a burst
      // exceed the default 400 requests in flight; a refused (429) status write of a simulated node is
      // not retried by the node agent, which would stall the rollout on a pod that never turns Running.
      apiServer: { maxRequestsInFlight: 4_000 },
      scheduler: { shards: 2 },
      nodes: { simulatedProcesses: NODE_PROCESSES, nodesPerProcess: perProcess, processNodes: 0 },
    },
  });
  try {
    const kubeConfig = cluster.kubeConfig();
    const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
    const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
    const nodeCount = NODE_PROCESSES * perProcess;
    await until('nodes Ready', performance.now(), async () => {
      const list = await core.listNode();
      const ready = list.items.filter(isReady).length;
      return { done: ready === nodeCount, detail: `${ready}/${nodeCount} Ready` };
    });

    // 1. Deployments of 3 replicas becoming ready.
    progress(`${SMALL_DEPLOYMENTS} Deployments of ${SMALL_REPLICAS}`);
    const smallStarted = performance.now();
    await inParallel(SMALL_DEPLOYMENTS, CREATE_CONCURRENCY, async (index) => {
      await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(`small-${index}`, SMALL_REPLICAS, 'nginx:1') });
    });
    const smallMs = await until('small Deployments ready', smallStarted, async () => {
      const list = await apps.listNamespacedDeployment({ namespace: NAMESPACE });
      const ready = list.items.filter((object) => object.metadata?.name?.startsWith('small-') === true && rolledOut(object, SMALL_REPLICAS)).length;
      return { done: ready === SMALL_DEPLOYMENTS, detail: `${ready}/${SMALL_DEPLOYMENTS} ready` };
    });
    const deploymentsPerS = SMALL_DEPLOYMENTS / (smallMs / 1000);
    progress(`${SMALL_DEPLOYMENTS} Deployments ready in ${seconds(smallMs)} s (${deploymentsPerS.toFixed(1)}/s)`);
    await inParallel(SMALL_DEPLOYMENTS, CREATE_CONCURRENCY, async (index) => {
      await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name: `small-${index}` });
    });
    await until('small Deployments collected', performance.now(), async () => {
      const list = await core.listNamespacedPod({ namespace: NAMESPACE });
      return { done: list.items.length === 0, detail: `${list.items.length} pods left` };
    });

    // 2. One Deployment of BIG_REPLICAS: creation to all Running and Ready.
    const big = 'big';
    progress(`a Deployment of ${BIG_REPLICAS} replicas on ${nodeCount} nodes`);
    const bigStarted = performance.now();
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment(big, BIG_REPLICAS, 'nginx:1') });
    const createMs = await until('big Deployment available', bigStarted, async () => {
      const object = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name: big });
      return { done: rolledOut(object, BIG_REPLICAS), detail: `${object.status?.availableReplicas ?? 0}/${BIG_REPLICAS} available` };
    });
    const pods = await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${big}` });
    const running = pods.items.filter((pod) => pod.status?.phase === 'Running').length;
    if (running !== BIG_REPLICAS) throw new Error(`the Deployment reports ${BIG_REPLICAS} available but ${running} pods are Running`);
    progress(`${BIG_REPLICAS} pods Running and Ready in ${seconds(createMs)} s`);

    // 3. A full rolling update of it.
    const current = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name: big });
    const container = current.spec?.template.spec?.containers[0];
    if (container === undefined) throw new Error('the Deployment has no container');
    container.image = 'nginx:2';
    const rollStarted = performance.now();
    await apps.replaceNamespacedDeployment({ namespace: NAMESPACE, name: big, body: current });
    const rollMs = await until('rolling update', rollStarted, async () => {
      const object = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name: big });
      return { done: rolledOut(object, BIG_REPLICAS), detail: `${object.status?.updatedReplicas ?? 0} updated, ${object.status?.availableReplicas ?? 0} available, ${object.status?.replicas ?? 0} total` };
    });
    progress(`rolling update of ${BIG_REPLICAS} in ${seconds(rollMs)} s`);

    // 4. The store's raw write throughput, the same cluster, the same run.
    progress(`store raw writes: ${STORE_CONCURRENCY} concurrent puts for ${seconds(STORE_DURATION_MS)} s`);
    const store = await RemoteStoreClient.connect({
      replicas: storeReplicas(cluster.config).map((replica) => replica.node),
      secret: cluster.dir.secret(),
      requestTimeoutMs: 30_000,
    });
    const value = new TextEncoder().encode(JSON.stringify({ ...pods.items[0], pad: 'x'.repeat(200) }));
    const writes = await runClosedLoop({
      concurrency: STORE_CONCURRENCY,
      warmupMs: STORE_WARMUP_MS,
      durationMs: STORE_DURATION_MS,
      operation: async (client, sequence) => {
        await store.put({ key: `/bench/controllers/${client}/${sequence}`, value });
      },
    });
    await store.close();
    progress(`store: ${Math.round(writes.opsPerS)} writes/s (p50 ${writes.p50Ms.toFixed(1)} ms, p99 ${writes.p99Ms.toFixed(1)} ms, ${writes.errors} errors)`);

    const createPodsPerS = BIG_REPLICAS / (createMs / 1000);
    const rollPodsPerS = BIG_REPLICAS / (rollMs / 1000);
    const figures = {
      nodes: nodeCount,
      replicas: BIG_REPLICAS,
      create_to_ready_s: Number(seconds(createMs)),
      create_pods_per_s: Math.round(createPodsPerS),
      rolling_update_s: Number(seconds(rollMs)),
      rolling_update_pods_per_s: Math.round(rollPodsPerS),
      small_deployments: SMALL_DEPLOYMENTS,
      small_deployments_ready_s: Number(seconds(smallMs)),
      deployments_per_s: Number(deploymentsPerS.toFixed(1)),
      kwok_deployments_per_s: KWOK_DEPLOYMENTS_PER_S,
      ratio_deployments_vs_kwok: Number((deploymentsPerS / KWOK_DEPLOYMENTS_PER_S).toFixed(2)),
      store_writes_per_s: Math.round(writes.opsPerS),
      store_write_p99_ms: Number(writes.p99Ms.toFixed(1)),
      store_write_errors: writes.errors,
      ratio_create_pods_vs_store_writes: Number((createPodsPerS / writes.opsPerS).toFixed(3)),
      ratio_rolling_pods_vs_store_writes: Number((rollPodsPerS / writes.opsPerS).toFixed(3)),
    };
    const row = (label: string, value: string): string => `  ${label.padEnd(48)}${value.padStart(12)}\n`;
    process.stdout.write(`\nkplane controller benchmark (${nodeCount} simulated nodes, real processes via kplane up)\n`);
    process.stdout.write(row(`${BIG_REPLICAS} replicas: create → all Running+Ready (s)`, seconds(createMs)));
    process.stdout.write(row('  pods/s', String(Math.round(createPodsPerS))));
    process.stdout.write(row(`${BIG_REPLICAS} replicas: full rolling update (s)`, seconds(rollMs)));
    process.stdout.write(row('  pods/s', String(Math.round(rollPodsPerS))));
    process.stdout.write(row(`${SMALL_DEPLOYMENTS} Deployments of ${SMALL_REPLICAS}: all ready (s)`, seconds(smallMs)));
    process.stdout.write(row('  Deployments/s', deploymentsPerS.toFixed(1)));
    process.stdout.write(row('  kwok, as its users report (Deployments/s)', String(KWOK_DEPLOYMENTS_PER_S)));
    process.stdout.write(row(`store raw writes, ${STORE_CONCURRENCY} in flight (writes/s)`, String(Math.round(writes.opsPerS))));
    process.stdout.write(row('create pods/s ÷ store writes/s', figures.ratio_create_pods_vs_store_writes.toFixed(3)));
    process.stdout.write(row('rolling pods/s ÷ store writes/s', figures.ratio_rolling_pods_vs_store_writes.toFixed(3)));
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } catch (error) {
    await diagnose(cluster);
    throw error;
  } finally {
    progress('kplane down');
    const survivors = await cluster.stop();
    if (survivors.length > 0) progress(`processes that outlived kplane down (killed): ${survivors.join(', ')}`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
