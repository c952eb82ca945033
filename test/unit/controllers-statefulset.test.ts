// The StatefulSet controller against the real API pipeline: OrderedReady creation (each pod only after
// every lower one is Running and Ready) and reverse-order removal, Parallel creation, RollingUpdate from
// the highest ordinal down to the partition, and OnDelete.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { metaOf, PODS, STATEFULSETS, type ApiClient, type KubeObject } from '../../src/client/index.js';
import { isBeingDeleted, isPodReady, numberField, podPhase, specOf, statusOf } from '../../src/controllers/machinery/objects.js';
import { StatefulSetController, STATEFUL_REVISION_LABEL } from '../../src/controllers/statefulset.js';
import { adminClient, agentLoop, eventually, runControllers, sleep, testApi, type RunningControllers } from './controllers-helpers.js';

function statefulSet(replicas: number, extra: Record<string, unknown> = {}, image = 'db:1'): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: { replicas, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image }] } }, ...extra },
  };
}

async function setUp(): Promise<{ client: ApiClient; running: RunningControllers }> {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [new StatefulSetController({ client, clock: systemClock, log: silentLogger() })]);
  return { client, running };
}

/** Records, from a watch, the order of pod creations and deletions, and whether lower pods were ready at each creation. */
async function recordOrder(client: ApiClient): Promise<{ created: string[]; deleted: string[]; creationsBeforeLowerReady: string[]; stop(): void }> {
  const state = new Map<string, KubeObject>();
  const created: string[] = [];
  const deleted: string[] = [];
  const creationsBeforeLowerReady: string[] = [];
  const stream = await client.watch(PODS, { namespace: 'default' }, (event) => {
    const pod = event.object as KubeObject;
    const name = metaOf(pod).name ?? '';
    if (event.type === 'ADDED') {
      const ordinal = Number(name.split('-').at(-1));
      for (let lower = 0; lower < ordinal; lower++) {
        const below = state.get(`db-${lower}`);
        if (below === undefined || podPhase(below) !== 'Running' || !isPodReady(below) || isBeingDeleted(below)) creationsBeforeLowerReady.push(name);
      }
      created.push(name);
    }
    if (event.type === 'MODIFIED' && isBeingDeleted(pod) && !isBeingDeleted(state.get(name) ?? pod)) deleted.push(name);
    if (event.type === 'DELETED') {
      if (!isBeingDeleted(state.get(name) ?? {})) deleted.push(name);
      state.delete(name);
    } else state.set(name, pod);
  });
  return { created, deleted, creationsBeforeLowerReady, stop: () => stream.stop() };
}

const imageOf = (pod: KubeObject): string => String(((specOf(pod)['containers'] as { image?: string }[])[0] ?? {}).image);

test('OrderedReady: created in order once the previous is Running and Ready; removed in reverse order', async (t) => {
  const { client, running } = await setUp();
  const agents = agentLoop(client, 'default', 30);
  const order = await recordOrder(client);
  await client.create(STATEFULSETS, 'default', statefulSet(3));
  await eventually(async () => numberField(statusOf(await client.get(STATEFULSETS, 'default', 'db')), 'readyReplicas', 0) === 3, '3 ready', 20_000);
  t.deepEqual(order.created, ['db-0', 'db-1', 'db-2']);
  t.deepEqual(order.creationsBeforeLowerReady, []);
  const pod = await client.get(PODS, 'default', 'db-1');
  t.like(specOf(pod), { hostname: 'db-1', subdomain: 'db' });
  await client.patch(STATEFULSETS, 'default', 'db', { spec: { replicas: 1 } });
  await eventually(async () => (await client.list(PODS, { namespace: 'default' })).items.length === 1 && order.deleted.length === 2, 'scaled down to 1', 20_000);
  t.deepEqual(order.deleted, ['db-2', 'db-1']);
  order.stop();
  agents.stop();
  running.stop();
});

test('Parallel: every pod at once, without waiting for readiness', async (t) => {
  const { client, running } = await setUp();
  await client.create(STATEFULSETS, 'default', statefulSet(3, { podManagementPolicy: 'Parallel' }));
  await eventually(async () => (await client.list(PODS, { namespace: 'default' })).items.length === 3, '3 pods');
  t.true((await client.list(PODS, { namespace: 'default' })).items.every((pod) => !isPodReady(pod)), 'none was ready');
  running.stop();
});

test('RollingUpdate goes from the highest ordinal down to the partition', async (t) => {
  const { client, running } = await setUp();
  const agents = agentLoop(client, 'default', 10);
  await client.create(STATEFULSETS, 'default', statefulSet(3, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } }));
  await eventually(async () => numberField(statusOf(await client.get(STATEFULSETS, 'default', 'db')), 'readyReplicas', 0) === 3, '3 ready', 20_000);
  const order = await recordOrder(client);
  await client.patch(STATEFULSETS, 'default', 'db', { spec: { template: { spec: { containers: [{ name: 'c', image: 'db:2' }] } } } });
  /** The image version of db-0, db-1, db-2 (empty while one is missing). */
  const images = (): Promise<string[]> => Promise.all(['db-0', 'db-1', 'db-2'].map(async (name) => imageOf(await client.get(PODS, 'default', name)).replace('db:', ''))).catch(() => []);
  await eventually(async () => (await images()).join() === '1,2,2', 'ordinals 2 and 1 updated, 0 held by the partition', 20_000);
  await sleep(200);
  t.is((await images()).join(), '1,2,2');
  await eventually(() => order.deleted.length >= 2, 'both deletions seen by the watcher');
  t.deepEqual(order.deleted, ['db-2', 'db-1']);
  await client.patch(STATEFULSETS, 'default', 'db', { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } } } });
  await eventually(async () => (await images()).join() === '2,2,2', 'ordinal 0 updated', 20_000);
  await eventually(async () => {
    const status = statusOf(await client.get(STATEFULSETS, 'default', 'db'));
    return status['currentRevision'] === status['updateRevision'] && numberField(status, 'updatedReplicas', 0) === 3;
  }, 'the update revision is current');
  order.stop();
  agents.stop();
  running.stop();
});

test('OnDelete replaces a pod only when it is deleted', async (t) => {
  const { client, running } = await setUp();
  const agents = agentLoop(client, 'default', 0);
  await client.create(STATEFULSETS, 'default', statefulSet(2, { updateStrategy: { type: 'OnDelete' } }));
  await eventually(async () => numberField(statusOf(await client.get(STATEFULSETS, 'default', 'db')), 'readyReplicas', 0) === 2, '2 ready', 20_000);
  const before = metaOf(await client.get(PODS, 'default', 'db-1')).labels?.[STATEFUL_REVISION_LABEL];
  await client.patch(STATEFULSETS, 'default', 'db', { spec: { template: { spec: { containers: [{ name: 'c', image: 'db:2' }] } } } });
  await sleep(300);
  t.is(imageOf(await client.get(PODS, 'default', 'db-1')), 'db:1', 'untouched until deleted');
  await client.delete(PODS, 'default', 'db-1', { gracePeriodSeconds: 0 });
  await eventually(async () => {
    const pod = await client.get(PODS, 'default', 'db-1').catch(() => undefined);
    return pod !== undefined && imageOf(pod) === 'db:2';
  }, 'db-1 recreated at the new revision', 20_000);
  t.not(metaOf(await client.get(PODS, 'default', 'db-1')).labels?.[STATEFUL_REVISION_LABEL], before);
  t.is(imageOf(await client.get(PODS, 'default', 'db-0')), 'db:1');
  agents.stop();
  running.stop();
});
