// Simulated node agents on the real API pipeline: nodes register with capacity, labels, taints and a
// Ready condition; leases in kube-node-lease are renewed every 10 s of the injected clock; bound pods
// go Pending → Running → Ready on schedule, fail on cue, and are removed after a graceful delete;
// with a scheduler shard, a batch of pods ends up running.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { Prng } from '../../src/actors/random.js';
import { VirtualClock } from '../../src/actors/sim/virtual-clock.js';
import { ApiClient, isNotFound, LEASES, LocalApiTransport, NODES, PODS, type KubeObject } from '../../src/client/index.js';
import { NODE_LEASE_NAMESPACE, podSubnetOf, SimulatedNodePool, uniformNodes } from '../../src/node-agent/simulated.js';
import { SchedulerShard } from '../../src/scheduler/shard.js';
import { nodeRestriction } from '../../src/api/auth/node-restriction.js';
import { createApiHandler } from '../../src/api/pipeline.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer, testApi, type TestApi } from './api-helpers.js';

const START_MS = Date.parse('2026-01-01T00:00:00Z');

function nodeClient(api: TestApi) {
  return (name: string): ApiClient => new ApiClient(new LocalApiTransport(api.handler, { name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] }));
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function podObject(name: string, annotations: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, annotations }, spec: { containers: [{ name: 'app', image: 'i', resources: { requests: { cpu: '100m' } } }] } };
}

interface PodView {
  readonly phase?: string;
  readonly conditions?: { type: string; status: string }[];
  readonly containerStatuses?: { state: { terminated?: { exitCode: number } } }[];
}

async function statusOf(client: ApiClient, name: string): Promise<PodView> {
  return ((await client.get(PODS, 'default', name))['status'] ?? {}) as PodView;
}

const ready = (status: PodView): string | undefined => status.conditions?.find((condition) => condition.type === 'Ready')?.status;

test('simulated nodes register and renew their leases every 10 s of the injected clock', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const clock = new VirtualClock(START_MS);
  const specs = uniformNodes('sim', 3, { cpu: '4', memory: '8Gi', pods: 110 }, { zone: 'z1' });
  const pool = new SimulatedNodePool([...specs, { name: 'gpu', capacity: { cpu: '8', memory: '16Gi', pods: 10 }, taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] }], { clientFor: nodeClient(api), clock, log: silentLogger() });
  await pool.start();
  const nodes = (await admin.list(NODES)).items;
  t.deepEqual(nodes.map((node) => (node['metadata'] as { name: string }).name).sort(), ['gpu', 'sim-0', 'sim-1', 'sim-2']);
  const sim0 = await admin.get(NODES, undefined, 'sim-0');
  t.like(sim0, { metadata: { labels: { zone: 'z1', 'kubernetes.io/hostname': 'sim-0' } }, status: { allocatable: { cpu: '4', memory: '8Gi', pods: '110' } } });
  t.like((sim0['status'] as { conditions: KubeObject[] }).conditions.find((condition) => condition['type'] === 'Ready'), { status: 'True' });
  t.like(await admin.get(NODES, undefined, 'gpu'), { spec: { taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] } });
  const renewTime = async (): Promise<string> => ((await admin.get(LEASES, NODE_LEASE_NAMESPACE, 'sim-1'))['spec'] as { renewTime: string }).renewTime;
  t.like(await admin.get(LEASES, NODE_LEASE_NAMESPACE, 'sim-1'), { spec: { holderIdentity: 'sim-1', leaseDurationSeconds: 40 } });
  t.is(await renewTime(), '2026-01-01T00:00:00.000000Z');
  await clock.advance(9_999);
  await sleep(50);
  t.is(await renewTime(), '2026-01-01T00:00:00.000000Z', 'not renewed before 10 s');
  await clock.advance(1);
  await eventually(async () => (await renewTime()) === '2026-01-01T00:00:10.000000Z', 'the renewal at 10 s');
  await clock.advance(10_000);
  await eventually(async () => (await renewTime()) === '2026-01-01T00:00:20.000000Z', 'the renewal at 20 s');
  pool.stop();
});

test('bound pods go Pending → Running → Ready on the clock, fail on cue, and are removed after a graceful delete', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const clock = new VirtualClock(START_MS);
  const pool = new SimulatedNodePool(uniformNodes('sim', 2, { cpu: '4', memory: '8Gi', pods: 110 }), { clientFor: nodeClient(api), clock, log: silentLogger(), startDelayMs: 1_000, readyDelayMs: 2_000 });
  await pool.start();
  await admin.create(PODS, 'default', podObject('web'));
  await admin.create(PODS, 'default', podObject('doomed', { 'kplane.io/simulate': 'fail' }));
  await admin.create(PODS, 'default', podObject('other'));
  await admin.bind('default', 'web', 'sim-0');
  await admin.bind('default', 'doomed', 'sim-1');
  await sleep(100); // the agents hear of the bindings; virtual time has not moved
  t.is((await statusOf(admin, 'web')).phase, 'Pending');
  t.is((await statusOf(admin, 'other')).phase, 'Pending', 'an unbound pod is nobody’s');
  await clock.advance(1_000);
  await eventually(async () => (await statusOf(admin, 'web')).phase === 'Running', 'web running');
  t.is(ready(await statusOf(admin, 'web')), 'False');
  await eventually(async () => (await statusOf(admin, 'doomed')).phase === 'Failed', 'doomed failed');
  t.is((await statusOf(admin, 'doomed')).containerStatuses?.[0]?.state.terminated?.exitCode, 1);
  await clock.advance(1_999);
  await sleep(50);
  t.is(ready(await statusOf(admin, 'web')), 'False', 'not ready before its delay');
  await clock.advance(1);
  await eventually(async () => ready(await statusOf(admin, 'web')) === 'True', 'web ready');
  // A cue on a running pod ends it too.
  await admin.patch(PODS, 'default', 'web', { metadata: { annotations: { 'kplane.io/simulate': 'succeed' } } });
  await eventually(async () => (await statusOf(admin, 'web')).phase === 'Succeeded', 'web succeeded on cue');
  // Graceful delete: the agent marks containers terminated and removes the pod with grace 0.
  await admin.create(PODS, 'default', podObject('short'));
  await admin.bind('default', 'short', 'sim-1');
  await sleep(50);
  await clock.advance(1_000);
  await eventually(async () => (await statusOf(admin, 'short')).phase === 'Running', 'short running');
  await admin.delete(PODS, 'default', 'short');
  await eventually(async () => {
    try {
      await admin.get(PODS, 'default', 'short');
      return false;
    } catch (error) {
      return isNotFound(error);
    }
  }, 'the pod removed by its node');
  t.is(pool.nodes[1]?.stats.removed, 1);
  pool.stop();
});

test('a scheduler shard and simulated nodes: every pod ends up running on a node that has room', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const pool = new SimulatedNodePool(uniformNodes('sim', 10, { cpu: '1', memory: '4Gi', pods: 110 }), { clientFor: nodeClient(api), clock: systemClock, log: silentLogger() });
  await pool.start();
  const scheduler = new SchedulerShard({ client: new ApiClient(new LocalApiTransport(api.handler, ADMIN)), clock: systemClock, random: new Prng(7), log: silentLogger(), index: 0, shards: 1 });
  await scheduler.start();
  await Promise.all(Array.from({ length: 100 }, (_, i) => admin.create(PODS, 'default', podObject(`p${i}`))));
  await eventually(async () => (await admin.list(PODS, { namespace: 'default', fieldSelector: 'status.phase=Running' })).items.length === 100, '100 running pods');
  const perNode = new Map<string, number>();
  for (const pod of (await admin.list(PODS, { namespace: 'default' })).items) {
    const node = (pod['spec'] as { nodeName: string }).nodeName;
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  t.deepEqual([...perNode.values()], Array.from({ length: 10 }, () => 10), 'ten 100m pods per 1-cpu node');
  scheduler.stop();
  pool.stop();
});

test('simulated nodes do all their writes within NodeRestriction (their own Node, Lease, and pods)', async (t) => {
  const store = new LocalStore(systemClock);
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer(), admission: [nodeRestriction] });
  await handler.ensureSystemNamespaces();
  const admin = new ApiClient(new LocalApiTransport(handler, ADMIN));
  const clientFor = (name: string): ApiClient => new ApiClient(new LocalApiTransport(handler, { name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] }));
  const pool = new SimulatedNodePool(uniformNodes('sim', 2, { cpu: '4', memory: '8Gi', pods: 110 }), { clientFor, clock: systemClock, log: silentLogger() });
  await pool.start();
  await admin.create(PODS, 'default', podObject('p'));
  await admin.bind('default', 'p', 'sim-1');
  await eventually(async () => ready(await statusOf(admin, 'p')) === 'True', 'the pod ready under NodeRestriction');
  await admin.delete(PODS, 'default', 'p');
  await eventually(async () => {
    try {
      await admin.get(PODS, 'default', 'p');
      return false;
    } catch (error) {
      return isNotFound(error);
    }
  }, 'the pod removed by its node under NodeRestriction');
  // The restriction is real: sim-0 may not touch sim-1's Node.
  await t.throwsAsync(clientFor('sim-0').patch(NODES, undefined, 'sim-1', { metadata: { labels: { stolen: 'yes' } } }), { message: /403/ });
  pool.stop();
});

test('a pool sharing one pod watch dispatches each pod to its node', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const pool = new SimulatedNodePool(uniformNodes('sim', 5, { cpu: '4', memory: '8Gi', pods: 110 }), { clientFor: nodeClient(api), clock: systemClock, log: silentLogger(), sharedWatchClient: admin });
  await pool.start();
  for (let i = 0; i < 10; i++) {
    await admin.create(PODS, 'default', podObject(`p${i}`));
    await admin.bind('default', `p${i}`, `sim-${i % 5}`);
  }
  await eventually(async () => (await admin.list(PODS, { namespace: 'default', fieldSelector: 'status.phase=Running' })).items.length === 10, 'ten running pods');
  await eventually(async () => pool.nodes.every((node) => node.stats.ready === 2), 'two ready pods per node');
  t.pass();
  pool.stop();
});

test('status writes refused with 429 (a busy API server) are retried until they land', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const clock = new VirtualClock(START_MS);
  let refusals = 3;
  // The real pipeline behind a transport that answers 429 to the first status patches, as an API
  // server past its in-flight limit does.
  const busyClient = (name: string): ApiClient => {
    const transport = new LocalApiTransport(api.handler, { name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] });
    const call = transport.call.bind(transport);
    transport.call = async (request) => {
      if (request.method === 'PATCH' && request.path.includes('/pods/') && request.path.endsWith('/status') && refusals > 0) {
        refusals--;
        return { status: 429, body: { kind: 'Status', status: 'Failure', reason: 'TooManyRequests', code: 429, message: 'too many requests' } };
      }
      return call(request);
    };
    return new ApiClient(transport);
  };
  const pool = new SimulatedNodePool(uniformNodes('sim', 1, { cpu: '4', memory: '8Gi', pods: 110 }), { clientFor: busyClient, clock, log: silentLogger(), startDelayMs: 0, readyDelayMs: 0 });
  await pool.start();
  await admin.create(PODS, 'default', podObject('web'));
  await admin.bind('default', 'web', 'sim-0');
  for (let i = 0; i < 50 && ready(await statusOf(admin, 'web')) !== 'True'; i++) {
    await sleep(10);
    await clock.advance(500);
  }
  t.is(refusals, 0);
  t.is((await statusOf(admin, 'web')).phase, 'Running');
  t.is(ready(await statusOf(admin, 'web')), 'True');
  pool.stop();
});

test('a restarted pool adopts its running pods as they are: Ready stays True, no status is rewritten', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const clock = new VirtualClock(START_MS);
  const specs = uniformNodes('sim', 1, { cpu: '4', memory: '8Gi', pods: 110 });
  const first = new SimulatedNodePool(specs, { clientFor: nodeClient(api), clock, log: silentLogger(), startDelayMs: 0, readyDelayMs: 0 });
  await first.start();
  await admin.create(PODS, 'default', podObject('steady'));
  await admin.bind('default', 'steady', 'sim-0');
  for (let i = 0; i < 50 && ready(await statusOf(admin, 'steady')) !== 'True'; i++) {
    await sleep(10);
    await clock.advance(100);
  }
  t.is(ready(await statusOf(admin, 'steady')), 'True');
  first.stop();
  const before = (await admin.get(PODS, 'default', 'steady'))['metadata'] as { resourceVersion: string };
  const second = new SimulatedNodePool(specs, { clientFor: nodeClient(api), clock, log: silentLogger(), startDelayMs: 0, readyDelayMs: 1_000 });
  await second.start();
  await sleep(100);
  await clock.advance(2_000);
  await sleep(50);
  const after = (await admin.get(PODS, 'default', 'steady'))['metadata'] as { resourceVersion: string };
  t.is(after.resourceVersion, before.resourceVersion, 'the adopted pod was not started again');
  t.is(ready(await statusOf(admin, 'steady')), 'True');
  t.is(second.nodes[0]?.stats.started, 0);
  second.stop();
});

test('a simulated pod meant to finish ends as its command says: sleep N, exit K, OnFailure restarts', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const clock = new VirtualClock(START_MS);
  const pool = new SimulatedNodePool(uniformNodes('sim', 1, { cpu: '4', memory: '8Gi', pods: 110 }), { clientFor: nodeClient(api), clock, log: silentLogger() });
  await pool.start();
  const finite = (name: string, restartPolicy: string, command: string[]): KubeObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { restartPolicy, containers: [{ name: 'app', image: 'busybox', command }] } });
  await admin.create(PODS, 'default', finite('sleeper', 'Never', ['sh', '-c', 'sleep 5']));
  await admin.create(PODS, 'default', finite('failer', 'Never', ['sh', '-c', 'sleep 1; exit 3']));
  await admin.create(PODS, 'default', finite('retrier', 'OnFailure', ['false']));
  await admin.create(PODS, 'default', { ...finite('server', 'Always', ['sleep', '1']) });
  for (const name of ['sleeper', 'failer', 'retrier', 'server']) await admin.bind('default', name, 'sim-0');
  await sleep(100); // the agent hears of the bindings
  await clock.advance(0);
  await eventually(async () => (await statusOf(admin, 'sleeper')).phase === 'Running', 'sleeper running');
  await clock.advance(1_000);
  await eventually(async () => (await statusOf(admin, 'failer')).phase === 'Failed', 'failer failed after 1 s');
  t.is((await statusOf(admin, 'failer')).containerStatuses?.[0]?.state.terminated?.exitCode, 3);
  t.is((await statusOf(admin, 'sleeper')).phase, 'Running', 'sleeper still sleeping');
  await clock.advance(4_000);
  await eventually(async () => (await statusOf(admin, 'sleeper')).phase === 'Succeeded', 'sleeper succeeded after 5 s');
  const retrier = (await admin.get(PODS, 'default', 'retrier'))['status'] as { phase?: string; containerStatuses?: { restartCount: number }[] };
  t.is(retrier.phase, 'Running', 'an OnFailure pod restarts instead of failing');
  t.true((retrier.containerStatuses?.[0]?.restartCount ?? 0) >= 1);
  t.is((await statusOf(admin, 'server')).phase, 'Running', 'restartPolicy Always runs until deleted');
  pool.stop();
});

test('pod subnets come from node names: one /24 per node, different across the nodes of a pool and of other pools', (t) => {
  const names = Array.from({ length: 40 }, (_, index) => `sim-${1 + (index % 4)}-${1 + Math.floor(index / 4)}`);
  const subnets = names.map(podSubnetOf);
  t.is(new Set(subnets).size, names.length);
  for (const subnet of subnets) t.regex(subnet, /^10\.(1[2-9]\d|2[0-5]\d)\.\d{1,3}$/);
  t.is(podSubnetOf('sim-1-1'), podSubnetOf('sim-1-1'), 'stable across restarts');
});
