// `npm run bench:scheduler`: scheduler shards placing pending pods, in one process, over the real API
// pipeline on an in-process LocalStore (no network, no Raft: the replicated store and the actor
// transport are measured by bench:store and bench:actors). Shape as kube-scheduler's scheduler_perf
// SchedulingBasic: NODES nodes, PODS pending pods created while the shards run; for shards 1, 2 and 4:
// pods bound per second and p50/p99 from creation to binding. Beside it, in the same run, the
// store's raw write ceiling (LocalStore txns of pod-sized values, the same concurrency) and
// kube-scheduler's published CI floor for the shape (5,000 nodes / 10,000 pods: 680 pods/s).
// Prints progress on stderr, a table on stdout, and ends with ONE line holding a JSON object.

import { performance } from 'node:perf_hooks';
import { Prng, silentLogger, systemClock } from '../src/actors/index.js';
import { createApiHandler } from '../src/api/pipeline.js';
import type { Authorizer } from '../src/api/auth-types.js';
import { ApiClient, LocalApiTransport, metaOf, NODES, PODS, type KubeObject } from '../src/client/index.js';
import { SchedulerShard } from '../src/scheduler/shard.js';
import { LocalStore } from '../src/store/local-store.js';

const NODES_COUNT = Number(process.env['BENCH_NODES'] ?? 1_000);
const PODS_COUNT = Number(process.env['BENCH_PODS'] ?? 10_000);
const SHARD_COUNTS = [1, 2, 4];
const CREATE_CONCURRENCY = 64;
const STORE_WRITES = 20_000;
const KUBE_SCHEDULER_CI_FLOOR_PODS_PER_S = 680;
const ADMIN = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };
const allowAll: Authorizer = { authorize: () => ({ allowed: true, reason: '' }) };

const progress = (line: string): void => {
  process.stderr.write(`[bench:scheduler] ${line}\n`);
};

async function inParallel(count: number, concurrency: number, work: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function podObject(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'bench' } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] } };
}

/** Raw store write ceiling: txns putting pod-sized values, CREATE_CONCURRENCY at a time. */
async function storeWritesPerS(): Promise<number> {
  const store = new LocalStore(systemClock);
  const value = new TextEncoder().encode(JSON.stringify({ ...podObject('x'), status: { conditions: [{ type: 'PodScheduled', status: 'True' }] }, pad: 'x'.repeat(400) }));
  const started = performance.now();
  await inParallel(STORE_WRITES, CREATE_CONCURRENCY, async (i) => {
    const key = `/registry/pods/default/w-${i}`;
    await store.txn({ compare: [{ key, target: 'modRevision', result: 'equal', value: 0 }], success: [{ put: { key, value } }], failure: [] });
  });
  const perS = STORE_WRITES / ((performance.now() - started) / 1000);
  await store.close();
  return perS;
}

interface RunFigures {
  readonly shards: number;
  readonly podsPerS: number;
  readonly latencyMsP50: number;
  readonly latencyMsP99: number;
  readonly bindConflicts: number;
}

async function run(shards: number): Promise<RunFigures> {
  const store = new LocalStore(systemClock);
  const handler = createApiHandler({ store, authorizer: allowAll, watchCache: true });
  await handler.ensureSystemNamespaces();
  const admin = new ApiClient(new LocalApiTransport(handler, ADMIN));
  const resources = { cpu: '32', memory: '256Gi', pods: '110' };
  await inParallel(NODES_COUNT, CREATE_CONCURRENCY, async (i) => {
    const name = `node-${i}`;
    await admin.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
    await admin.patch(NODES, undefined, name, { status: { capacity: resources, allocatable: resources } }, 'merge', 'status');
  });
  const schedulers = Array.from(
    { length: shards },
    (_, index) => new SchedulerShard({ client: new ApiClient(new LocalApiTransport(handler, ADMIN)), clock: systemClock, random: new Prng(index + 1), log: silentLogger(), index, shards }),
  );
  await Promise.all(schedulers.map((scheduler) => scheduler.start()));

  const createdAt = new Map<string, number>();
  const latencies: number[] = [];
  let lastBoundAt = 0;
  let allBound: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allBound = resolve));
  const watch = await admin.watch(PODS, { namespace: 'default' }, (event) => {
    if (event.type !== 'MODIFIED') return;
    const object = event.object as KubeObject;
    const name = metaOf(object).name ?? '';
    const created = createdAt.get(name);
    if (created === undefined || (object['spec'] as { nodeName?: string }).nodeName === undefined) return;
    createdAt.delete(name);
    lastBoundAt = performance.now();
    latencies.push(lastBoundAt - created);
    if (latencies.length === PODS_COUNT) allBound();
  });
  const started = performance.now();
  await inParallel(PODS_COUNT, CREATE_CONCURRENCY, async (i) => {
    const name = `pod-${i}`;
    createdAt.set(name, performance.now());
    await admin.create(PODS, 'default', podObject(name));
  });
  progress(`shards=${shards}: ${PODS_COUNT} pods created in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  await done;
  watch.stop();
  for (const scheduler of schedulers) scheduler.stop();
  await store.close();
  latencies.sort((a, b) => a - b);
  return {
    shards,
    podsPerS: PODS_COUNT / ((lastBoundAt - started) / 1000),
    latencyMsP50: percentile(latencies, 50),
    latencyMsP99: percentile(latencies, 99),
    bindConflicts: schedulers.reduce((sum, scheduler) => sum + scheduler.stats.bindConflicts, 0),
  };
}

progress(`store write ceiling: ${STORE_WRITES} txns`);
const ceiling = await storeWritesPerS();
const runs: RunFigures[] = [];
for (const shards of SHARD_COUNTS) {
  progress(`shards=${shards}: ${NODES_COUNT} nodes, ${PODS_COUNT} pods`);
  runs.push(await run(shards));
}
const figures: Record<string, number> = {
  nodes: NODES_COUNT,
  pods: PODS_COUNT,
  store_writes_per_s: Math.round(ceiling),
  kube_scheduler_ci_floor_pods_per_s: KUBE_SCHEDULER_CI_FLOOR_PODS_PER_S,
};
for (const figure of runs) {
  figures[`shards_${figure.shards}_pods_per_s`] = Math.round(figure.podsPerS);
  figures[`shards_${figure.shards}_latency_ms_p50`] = Math.round(figure.latencyMsP50);
  figures[`shards_${figure.shards}_latency_ms_p99`] = Math.round(figure.latencyMsP99);
  figures[`shards_${figure.shards}_bind_conflicts`] = figure.bindConflicts;
  figures[`shards_${figure.shards}_ratio_vs_store_writes`] = Number((figure.podsPerS / ceiling).toFixed(3));
  figures[`shards_${figure.shards}_ratio_vs_kube_floor`] = Number((figure.podsPerS / KUBE_SCHEDULER_CI_FLOOR_PODS_PER_S).toFixed(3));
}
process.stdout.write(`\nkplane scheduler benchmark (${NODES_COUNT} nodes, ${PODS_COUNT} pods, in-process API over LocalStore)\n`);
process.stdout.write(`  store raw write ceiling (txn/s)        ${Math.round(ceiling).toLocaleString('en-US').padStart(10)}\n`);
process.stdout.write(`  kube-scheduler CI floor (pods/s)       ${String(KUBE_SCHEDULER_CI_FLOOR_PODS_PER_S).padStart(10)}\n`);
for (const figure of runs) {
  process.stdout.write(
    `  shards=${figure.shards}: ${Math.round(figure.podsPerS).toLocaleString('en-US').padStart(7)} pods/s  p50 ${Math.round(figure.latencyMsP50)} ms  p99 ${Math.round(figure.latencyMsP99)} ms  ` +
      `conflicts ${figure.bindConflicts}  ×store ${(figure.podsPerS / ceiling).toFixed(3)}  ×kube ${(figure.podsPerS / KUBE_SCHEDULER_CI_FLOOR_PODS_PER_S).toFixed(2)}\n`,
  );
}
process.stdout.write(`${JSON.stringify(figures)}\n`);
process.exit(0);
