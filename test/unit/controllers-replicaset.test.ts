// The ReplicaSet controller against the real API pipeline: scaling up and down, adopting orphans and
// releasing pods that stop matching, deleting not-ready pods first, and no duplicate pods with a slow
// watch (expectations) or across a controller restart.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { ApiClient, LocalApiTransport, metaOf, PODS, REPLICASETS, type KubeObject } from '../../src/client/index.js';
import { controllerRefOf, isPodActive, numberField, statusOf, uidOf } from '../../src/controllers/machinery/objects.js';
import { ReplicaSetController } from '../../src/controllers/replicaset.js';
import { ADMIN, adminClient, eventually, markReady, replicaSet, runControllers, sleep, SlowWatchTransport, testApi } from './controllers-helpers.js';

async function activePods(client: ApiClient, selector = 'app=web'): Promise<KubeObject[]> {
  return (await client.list(PODS, { namespace: 'default', labelSelector: selector })).items.filter(isPodActive);
}

/** Counts every pod ever created (distinct uids), from a watch. */
async function countCreations(client: ApiClient): Promise<{ readonly count: () => number; stop(): void }> {
  const seen = new Set<string>();
  const stream = await client.watch(PODS, {}, (event) => {
    if (event.type === 'ADDED') seen.add(metaOf(event.object as KubeObject).uid ?? '');
  });
  return { count: () => seen.size, stop: () => stream.stop() };
}

function rsController(client: ApiClient): ReplicaSetController {
  return new ReplicaSetController({ client, clock: systemClock, log: silentLogger() });
}

test('scales up and down, owning its pods, and reports status', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [rsController(client)]);
  const created = await client.create(REPLICASETS, 'default', replicaSet('web', 3, { app: 'web' }));
  await eventually(async () => (await activePods(client)).length === 3, '3 pods');
  for (const pod of await activePods(client)) t.is(controllerRefOf(pod)?.uid, uidOf(created));
  await client.patch(REPLICASETS, 'default', 'web', { spec: { replicas: 1 } });
  await eventually(async () => (await activePods(client)).length === 1, '1 pod');
  await client.patch(REPLICASETS, 'default', 'web', { spec: { replicas: 4 } });
  await eventually(async () => (await activePods(client)).length === 4, '4 pods');
  for (const pod of await activePods(client)) await markReady(client, 'default', metaOf(pod).name ?? '');
  await eventually(async () => {
    const status = statusOf(await client.get(REPLICASETS, 'default', 'web'));
    return numberField(status, 'replicas', -1) === 4 && numberField(status, 'readyReplicas', -1) === 4 && numberField(status, 'availableReplicas', -1) === 4 && numberField(status, 'observedGeneration', -1) === 3;
  }, 'status 4/4/4 at generation 3');
  t.is((await activePods(client)).length, 4);
  running.stop();
});

test('adopts a matching orphan and releases a pod whose labels stop matching', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'orphan', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const running = await runControllers(client, [rsController(client)]);
  const created = await client.create(REPLICASETS, 'default', replicaSet('web', 2, { app: 'web' }));
  await eventually(async () => (await activePods(client)).length === 2 && controllerRefOf(await client.get(PODS, 'default', 'orphan'))?.uid === uidOf(created), 'orphan adopted, 2 pods');
  await client.patch(PODS, 'default', 'orphan', { metadata: { labels: { app: 'other' } } });
  await eventually(async () => controllerRefOf(await client.get(PODS, 'default', 'orphan')) === undefined && (await activePods(client)).length === 2, 'released and replaced');
  t.is((await activePods(client, 'app=other')).length, 1);
  running.stop();
});

test('scaling down deletes a not-ready pod before ready ones', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [rsController(client)]);
  await client.create(REPLICASETS, 'default', replicaSet('web', 3, { app: 'web' }));
  await eventually(async () => (await activePods(client)).length === 3, '3 pods');
  const pods = await activePods(client);
  const [first, second, third] = pods.map((pod) => metaOf(pod).name ?? '');
  await markReady(client, 'default', first ?? '');
  await markReady(client, 'default', third ?? '');
  await client.patch(REPLICASETS, 'default', 'web', { spec: { replicas: 2 } });
  await eventually(async () => (await activePods(client)).length === 2, '2 pods');
  t.deepEqual((await activePods(client)).map((pod) => metaOf(pod).name).sort(), [first, third].sort());
  t.truthy(second);
  running.stop();
});

test('a slow pod watch does not make it create duplicates (expectations)', async (t) => {
  const api = await testApi();
  const admin = adminClient(api);
  const slow = new ApiClient(new SlowWatchTransport(new LocalApiTransport(api.handler, ADMIN), 150, '/pods'));
  const controller = rsController(slow);
  const running = await runControllers(slow, [controller]);
  const creations = await countCreations(admin);
  await admin.create(REPLICASETS, 'default', replicaSet('web', 5, { app: 'web' }));
  await eventually(async () => (await activePods(admin)).length >= 5, '5 pods');
  // Poke the ReplicaSet while the cache still lags: its own status write and a label change re-queue it.
  await admin.patch(REPLICASETS, 'default', 'web', { metadata: { labels: { touched: 'yes' } } });
  await sleep(600);
  t.is((await activePods(admin)).length, 5);
  t.is(creations.count(), 5, 'pods ever created');
  creations.stop();
  running.stop();
});

test('a restarted controller does not create duplicates', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const first = await runControllers(client, [rsController(client)]);
  const creations = await countCreations(client);
  await client.create(REPLICASETS, 'default', replicaSet('web', 20, { app: 'web' }));
  await eventually(async () => (await activePods(client)).length >= 1, 'the first pods');
  first.stop();
  const second = await runControllers(client, [rsController(client)]);
  await eventually(async () => (await activePods(client)).length === 20, '20 pods');
  await sleep(300);
  t.is((await activePods(client)).length, 20);
  t.is(creations.count(), 20, 'pods ever created');
  creations.stop();
  second.stop();
});

test('minReadySeconds: ready pods count as available only after it, without another event', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [rsController(client)]);
  const set = replicaSet('web', 2, { app: 'web' });
  await client.create(REPLICASETS, 'default', { ...set, spec: { ...(set['spec'] as object), minReadySeconds: 2 } }); // timestamps have whole seconds: 2 s is at least 1 s after Ready
  await eventually(async () => (await activePods(client)).length === 2, '2 pods');
  for (const pod of await activePods(client)) await markReady(client, 'default', metaOf(pod).name ?? '');
  const status = async (): Promise<{ readonly ready: number; readonly available: number }> => {
    const read = statusOf(await client.get(REPLICASETS, 'default', 'web'));
    return { ready: numberField(read, 'readyReplicas', 0), available: numberField(read, 'availableReplicas', 0) };
  };
  await eventually(async () => (await status()).ready === 2, '2 ready');
  t.is((await status()).available, 0, 'not yet available');
  await eventually(async () => (await status()).available === 2, '2 available after minReadySeconds', 20_000);
  running.stop();
});
