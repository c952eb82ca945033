// metrics.k8s.io (kubectl top) through the real pipeline: node agents' figures (simulated nodes'
// usage from requests and annotations, a real ProcessNode's processes measured from /proc) turned
// into NodeMetrics and PodMetrics; nodes that do not answer left out; bad requests as 4xx; the /proc
// parsers, and garbage summaries refused by the message validator (fast-check).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { silentLogger, systemClock, VirtualClock } from '../../src/actors/index.js';
import type { NodeStatsReader } from '../../src/api/handlers/metrics.js';
import type { ApiResponse } from '../../src/api/handlers/types.js';
import { createApiHandler, type ApiHandler } from '../../src/api/pipeline.js';
import { ApiClient, LocalApiTransport, NODES, PODS } from '../../src/client/index.js';
import { ProcessNode } from '../../src/node-agent/process.js';
import { parseMachineCpu, parseMachineMemory, parseProcessStat, ProcessUsage } from '../../src/node-agent/process-usage.js';
import { isStatsSummary, PROCESS_SAMPLE_MIN_MS, processStatsSource, SIMULATE_CPU_ANNOTATION, SIMULATE_MEMORY_ANNOTATION, simulatedPodUsage, simulatedStatsSource, type StatsSource } from '../../src/node-agent/stats.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer } from './api-helpers.js';

type Json = Record<string, unknown>;

async function get(handler: ApiHandler, path: string, method = 'GET'): Promise<ApiResponse & { body?: unknown }> {
  const [pathname, search] = path.split('?');
  return (await handler.handle({ method, path: pathname ?? '/', query: new URLSearchParams(search ?? ''), headers: { accept: 'application/json' }, user: ADMIN })) as ApiResponse & { body?: unknown };
}

const itemsOf = (response: { body?: unknown }): Json[] => ((response.body as Json | undefined)?.['items'] as Json[] | undefined) ?? [];

test('simulated usage: the annotations for the whole pod, else half the requests, never below a floor', (t) => {
  const pod = (annotations: Record<string, string>, containers: unknown[]): Json => ({ metadata: { name: 'p', namespace: 'ns', annotations }, spec: { containers } });
  const annotated = simulatedPodUsage(pod({ [SIMULATE_CPU_ANNOTATION]: '500m', [SIMULATE_MEMORY_ANNOTATION]: '128Mi' }, [{ name: 'a' }, { name: 'b' }]));
  t.deepEqual(annotated.containers, [
    { name: 'a', cpuNanoCores: 250_000_000, memoryBytes: 64 * 1024 * 1024 },
    { name: 'b', cpuNanoCores: 250_000_000, memoryBytes: 64 * 1024 * 1024 },
  ]);
  const requested = simulatedPodUsage(pod({}, [{ name: 'a', resources: { requests: { cpu: '200m', memory: '1Gi' } } }, { name: 'b' }]));
  t.deepEqual(requested.containers, [
    { name: 'a', cpuNanoCores: 100_000_000, memoryBytes: 512 * 1024 * 1024 },
    { name: 'b', cpuNanoCores: 1_000_000, memoryBytes: 4 * 1024 * 1024 },
  ]);
  // A garbage annotation is ignored, not a crash.
  t.is(simulatedPodUsage(pod({ [SIMULATE_CPU_ANNOTATION]: 'lots' }, [{ name: 'a' }])).containers[0]?.cpuNanoCores, 1_000_000);
});

test('/proc parsers: a stat line whose command holds spaces and parentheses, the machine CPU line, meminfo', (t) => {
  const stat = '4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 12345 1000000 300 18446744073709551615';
  t.deepEqual(parseProcessStat(stat), { group: 4242, ticks: 200, startTicks: 12345, residentPages: 300 });
  t.is(parseProcessStat('garbage'), undefined);
  t.deepEqual(parseMachineCpu('cpu  100 5 50 800 20 1 2 3 7 0\ncpu0 50 2 25 400 10 0 1 1 0 0\n'), { busy: 161, total: 981 });
  t.is(parseMachineCpu('intr 1 2 3'), undefined);
  t.is(parseMachineMemory('MemTotal:       1000 kB\nMemFree:  10 kB\nMemAvailable:    400 kB\n'), 600 * 1024);
  t.is(parseMachineMemory('nothing'), undefined);
  // The real /proc of this machine: this process's group is measured, and the machine has memory in use.
  const usage = new ProcessUsage(systemClock);
  t.true(usage.machineUsage().memoryBytes > 0);
  const own = [...usage.groupUsage([process.pid]).values()][0];
  t.true(own !== undefined && own.memoryBytes >= 0);
});

test('garbage stats messages are refused by the validator and never throw', (t) => {
  fc.assert(fc.property(fc.anything(), (value) => isStatsSummary(value) === false || typeof value === 'object'), { seed: 5, numRuns: 500 });
  t.false(isStatsSummary({ type: 'stats.summary', status: 200, timestampMs: 1, windowMs: 1, node: { cpuNanoCores: -1, memoryBytes: 0 }, pods: [] }));
  t.false(isStatsSummary({ type: 'stats.summary', status: 200, timestampMs: 1, windowMs: 1, node: { cpuNanoCores: 1, memoryBytes: 0 }, pods: [{ namespace: '', name: 'x', containers: [] }] }));
  t.true(isStatsSummary({ type: 'stats.summary', status: 200, timestampMs: 1, windowMs: 1, node: { cpuNanoCores: 1, memoryBytes: 0 }, pods: [{ namespace: 'a', name: 'x', containers: [{ name: 'c', cpuNanoCores: 0, memoryBytes: 9 }] }] }));
});

test('NodeMetrics and PodMetrics from simulated nodes; a node that does not answer is left out; get, labels and 4xx', async (t) => {
  const clock = new VirtualClock(Date.parse('2026-11-30T00:00:00Z'));
  const store = new LocalStore(systemClock);
  let sources: Map<string, StatsSource> = new Map();
  const reader: NodeStatsReader = {
    read: (agentNode) => {
      const source = sources.get(agentNode);
      return source === undefined ? Promise.reject(new Error('unreachable')) : source.summary();
    },
  };
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer(), nodeStats: reader, clock });
  t.teardown(() => handler.close());
  await handler.ensureSystemNamespaces();
  const admin = new ApiClient(new LocalApiTransport(handler, ADMIN));
  for (const name of ['sim-a', 'sim-b']) await admin.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { pool: name } } });
  sources = new Map([['sim-a', simulatedStatsSource(admin, 'sim-a', clock)]]); // sim-b never answers
  const running = async (name: string, node: string, labels: Record<string, string>, annotations: Record<string, string>): Promise<void> => {
    await admin.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels, annotations }, spec: { containers: [{ name: 'app', image: 'x' }] } });
    await admin.bind('default', name, node);
    await admin.patch(PODS, 'default', name, { status: { phase: 'Running' } }, 'merge', 'status');
  };
  await running('web', 'sim-a', { app: 'web' }, { [SIMULATE_CPU_ANNOTATION]: '300m', [SIMULATE_MEMORY_ANNOTATION]: '100Mi' });
  await running('db', 'sim-a', { app: 'db' }, {});
  await running('lost', 'sim-b', { app: 'web' }, {});

  const nodes = await get(handler, '/apis/metrics.k8s.io/v1beta1/nodes');
  t.is(nodes.status, 200);
  t.is((nodes.body as Json)['kind'], 'NodeMetricsList');
  t.deepEqual(itemsOf(nodes).map((item) => [(item['metadata'] as Json)['name'], item['usage'], item['window']]), [
    // 300m + 1m (db's floor) + the system's 100m; 100Mi + 4Mi + 512Mi.
    ['sim-a', { cpu: '401000000n', memory: `${(100 + 4 + 512) * 1024}Ki` }, '10s'],
  ]);
  t.is((await get(handler, '/apis/metrics.k8s.io/v1beta1/nodes/sim-b')).status, 404, 'no figures for a node that does not answer');
  t.is((await get(handler, '/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=pool%3Dsim-b')).status, 200);

  const pods = await get(handler, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb');
  t.deepEqual(itemsOf(pods).map((item) => [(item['metadata'] as Json)['name'], item['containers']]), [['web', [{ name: 'app', usage: { cpu: '300000000n', memory: `${100 * 1024}Ki` } }]]]);
  const one = await get(handler, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/db');
  t.is(one.status, 200);
  t.is((one.body as Json)['kind'], 'PodMetrics');
  t.is((await get(handler, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/lost')).status, 404);
  t.is((await get(handler, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope')).status, 404);
  t.is((await get(handler, '/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=%3D%3D%3D')).status, 400);
  t.is((await get(handler, '/apis/metrics.k8s.io/v1beta1/nodes', 'POST')).status, 405);
  t.is((await get(handler, '/apis/metrics.k8s.io/v1beta1/nodes?watch=true')).status, 405);
});

test('a real ProcessNode reports its running containers measured from /proc', async (t) => {
  const store = new LocalStore(systemClock);
  const dataDir = mkdtempSync(join(tmpdir(), 'kplane-metrics-'));
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer() });
  await handler.ensureSystemNamespaces();
  const admin = new ApiClient(new LocalApiTransport(handler, ADMIN));
  const node = new ProcessNode({
    client: new ApiClient(new LocalApiTransport(handler, { name: 'system:node:local', groups: ['system:nodes', 'system:authenticated'] })),
    clock: systemClock,
    log: silentLogger(),
    spec: { name: 'local', capacity: { cpu: '4', memory: '8Gi', pods: 110 } },
    dataDir,
  });
  t.teardown(() => {
    node.stop({ killPods: true });
    handler.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await node.start();
  await admin.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sleeper' }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'none', command: ['sh', '-c', 'sleep 30 & sleep 30'] }] } });
  await admin.bind('default', 'sleeper', 'local');
  const clock = new VirtualClock(Date.now());
  const source = processStatsSource(node, new ProcessUsage(clock), clock);
  const deadline = Date.now() + 10_000;
  let summary = await source.summary();
  while (summary.pods.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advanceSync(PROCESS_SAMPLE_MIN_MS); // reads closer together get the last figures
    summary = await source.summary();
  }
  // A read right after gets the same figures: no rate over a few milliseconds.
  t.is(await source.summary(), summary);
  t.is(summary.status, 200);
  t.true(isStatsSummary(summary));
  const [pod] = summary.pods;
  t.is(pod?.name, 'sleeper');
  // sh and its two sleeps, one process group: some resident memory.
  t.true((pod?.containers[0]?.memoryBytes ?? 0) > 0, JSON.stringify(summary.pods));
  t.true(summary.node.memoryBytes > 0);
});
