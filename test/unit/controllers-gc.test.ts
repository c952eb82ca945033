// The garbage collector and the namespace controller against the real API pipeline: background,
// foreground and orphan cascading deletion, dangling owner references, a Deployment's whole tree, and a
// namespace emptied and then removed.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { CONFIGMAPS, DEPLOYMENTS, isNotFound, NAMESPACES, PODS, REPLICASETS, type ApiClient, type KubeObject } from '../../src/client/index.js';
import { DeploymentController } from '../../src/controllers/deployment.js';
import { FOREGROUND_FINALIZER, GarbageCollector } from '../../src/controllers/garbage-collector.js';
import { metaOf, uidOf } from '../../src/controllers/machinery/objects.js';
import { NamespaceController } from '../../src/controllers/namespace.js';
import { ReplicaSetController } from '../../src/controllers/replicaset.js';
import { adminClient, deployment, eventually, replicaSet, runControllers, sleep, testApi, type RunningControllers } from './controllers-helpers.js';

async function setUp(): Promise<{ client: ApiClient; running: RunningControllers }> {
  const api = await testApi();
  const client = adminClient(api);
  const env = { client, clock: systemClock, log: silentLogger() };
  const running = await runControllers(client, [
    new ReplicaSetController(env),
    new DeploymentController(env),
    new GarbageCollector(env),
    new NamespaceController({ ...env, recheckMs: 50 }),
  ]);
  return { client, running };
}

async function podsOf(client: ApiClient, namespace = 'default'): Promise<KubeObject[]> {
  return (await client.list(PODS, { namespace })).items;
}

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
}

test('background deletion: the owner goes at once, then its pods', async (t) => {
  const { client, running } = await setUp();
  await client.create(REPLICASETS, 'default', replicaSet('web', 3, { app: 'web' }));
  await eventually(async () => (await podsOf(client)).length === 3, '3 pods');
  await client.delete(REPLICASETS, 'default', 'web');
  t.true(await gone(() => client.get(REPLICASETS, 'default', 'web')));
  await eventually(async () => (await podsOf(client)).length === 0, 'pods collected');
  running.stop();
});

test('foreground deletion: the owner waits for its dependents, then goes', async (t) => {
  const { client, running } = await setUp();
  await client.create(REPLICASETS, 'default', replicaSet('web', 2, { app: 'web' }));
  await eventually(async () => (await podsOf(client)).length === 2, '2 pods');
  // Bound pods wait for their node agent, so the owner visibly waits.
  await client.create({ group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false }, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
  for (const pod of await podsOf(client)) await client.bind('default', metaOf(pod).name ?? '', 'n1');
  await client.delete(REPLICASETS, 'default', 'web', { propagationPolicy: 'Foreground' });
  await eventually(async () => (await podsOf(client)).every((pod) => metaOf(pod).deletionTimestamp !== undefined), 'pods terminating');
  await sleep(100);
  const waiting = await client.get(REPLICASETS, 'default', 'web');
  t.true(metaOf(waiting).finalizers?.includes(FOREGROUND_FINALIZER), 'the owner still holds its finalizer');
  for (const pod of await podsOf(client)) await client.delete(PODS, 'default', metaOf(pod).name ?? '', { gracePeriodSeconds: 0 });
  await eventually(() => gone(() => client.get(REPLICASETS, 'default', 'web')), 'the owner removed after its pods');
  t.is((await podsOf(client)).length, 0);
  running.stop();
});

test('orphan deletion: the owner goes, its pods stay without an owner', async (t) => {
  const { client, running } = await setUp();
  await client.create(REPLICASETS, 'default', replicaSet('web', 2, { app: 'web' }));
  await eventually(async () => (await podsOf(client)).length === 2, '2 pods');
  await client.delete(REPLICASETS, 'default', 'web', { propagationPolicy: 'Orphan' });
  await eventually(() => gone(() => client.get(REPLICASETS, 'default', 'web')), 'the owner removed');
  await sleep(100);
  const pods = await podsOf(client);
  t.is(pods.length, 2);
  t.true(pods.every((pod) => (metaOf(pod).ownerReferences ?? []).length === 0));
  running.stop();
});

test('a dependent with another live owner only loses the dangling reference', async (t) => {
  const { client, running } = await setUp();
  const live = await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'live' } });
  const owners = [
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'live', uid: uidOf(live) },
    { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '00000000-0000-0000-0000-000000000000' },
  ];
  await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dependent', ownerReferences: owners } });
  await eventually(async () => (metaOf(await client.get(CONFIGMAPS, 'default', 'dependent')).ownerReferences ?? []).length === 1, 'the dangling reference removed');
  t.is(metaOf(await client.get(CONFIGMAPS, 'default', 'dependent')).ownerReferences?.[0]?.name, 'live');
  await client.delete(CONFIGMAPS, 'default', 'live');
  await eventually(() => gone(() => client.get(CONFIGMAPS, 'default', 'dependent')), 'the dependent collected with its last owner');
  running.stop();
});

test("deleting a Deployment collects its ReplicaSets and their pods", async (t) => {
  const { client, running } = await setUp();
  await client.create(DEPLOYMENTS, 'default', deployment('web', 3, { app: 'web' }));
  await eventually(async () => (await podsOf(client)).length === 3, '3 pods');
  await client.delete(DEPLOYMENTS, 'default', 'web');
  await eventually(async () => (await client.list(REPLICASETS, { namespace: 'default' })).items.length === 0 && (await podsOf(client)).length === 0, 'the whole tree collected');
  t.pass();
  running.stop();
});

test('deleting a namespace deletes its content, then the namespace', async (t) => {
  const { client, running } = await setUp();
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await client.create(CONFIGMAPS, 'team', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' } });
  await client.create(DEPLOYMENTS, 'team', deployment('web', 2, { app: 'web' }));
  await eventually(async () => (await podsOf(client, 'team')).length === 2, '2 pods in team');
  await client.delete(NAMESPACES, undefined, 'team');
  await eventually(() => gone(() => client.get(NAMESPACES, undefined, 'team')), 'the namespace removed');
  t.is((await podsOf(client, 'team')).length, 0);
  t.is((await client.list(CONFIGMAPS, { namespace: 'team' })).items.length, 0);
  t.is((await client.list(REPLICASETS, { namespace: 'team' })).items.length, 0);
  running.stop();
});

test('the API refuses an unknown propagationPolicy and turns Foreground and Orphan into finalizers', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
  await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } });
  const bad = await api.call('DELETE', '/api/v1/namespaces/default/configmaps/a', { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Sideways' });
  t.is(bad.status, 400);
  // No garbage collector runs here, so the finalizers stay for us to see.
  await client.delete(CONFIGMAPS, 'default', 'a', { propagationPolicy: 'Foreground' });
  await client.delete(CONFIGMAPS, 'default', 'b', { propagationPolicy: 'Orphan' });
  t.deepEqual(metaOf(await client.get(CONFIGMAPS, 'default', 'a')).finalizers, [FOREGROUND_FINALIZER]);
  t.deepEqual(metaOf(await client.get(CONFIGMAPS, 'default', 'b')).finalizers, ['orphan']);
  t.truthy(metaOf(await client.get(CONFIGMAPS, 'default', 'b')).deletionTimestamp);
});
