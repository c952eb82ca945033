// The pod garbage collector against the real API pipeline, on a virtual clock: a pod bound to a node
// that does not exist is deleted only after the quarantine (and marked Failed first); a Terminating
// pod whose node was deleted goes; one on an out-of-service node goes; terminated pods beyond the
// threshold go oldest first; pods on live nodes stay.

import test from 'ava';
import { silentLogger } from '../../src/actors/index.js';
import { VirtualClock } from '../../src/actors/sim/index.js';
import { isNotFound, NODES, PODS, type ApiClient, type KubeObject } from '../../src/client/index.js';
import { OUT_OF_SERVICE_TAINT, PodGarbageCollector } from '../../src/controllers/pod-gc.js';
import { isBeingDeleted } from '../../src/controllers/machinery/objects.js';
import { adminClient, eventually, runControllers, sleep, testApi } from './controllers-helpers.js';

async function exists(client: ApiClient, name: string): Promise<boolean> {
  try {
    await client.get(PODS, 'default', name);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

async function boundPod(client: ApiClient, name: string, node: string, phase = 'Running'): Promise<void> {
  await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: node, containers: [{ name: 'c', image: 'x' }] } });
  await client.patch(PODS, 'default', name, { status: { phase } }, 'merge', 'status');
}

const readyNode = (name: string, extra: KubeObject = {}): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] }, ...extra });

test('orphaned pods wait out the quarantine, then are marked Failed and deleted; pods on live nodes stay', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const clock = new VirtualClock(Date.parse('2026-11-30T00:00:00Z'));
  await client.create(NODES, undefined, readyNode('live'));
  await boundPod(client, 'orphan', 'never-was');
  await boundPod(client, 'kept', 'live');
  let failedSeen = false;
  const watch = await client.watch(PODS, { namespace: 'default' }, (event) => {
    const pod = event.object as { metadata?: { name?: string }; status?: { phase?: string; conditions?: { type?: string; reason?: string }[] } };
    if (pod.metadata?.name === 'orphan' && pod.status?.phase === 'Failed' && pod.status.conditions?.some((condition) => condition.type === 'DisruptionTarget' && condition.reason === 'DeletionByPodGC')) failedSeen = true;
  });
  const running = await runControllers(client, [new PodGarbageCollector({ client, clock, log: silentLogger(), orphanQuarantineMs: 40_000 })], clock);
  try {
    await sleep(300);
    clock.advanceSync(39_000);
    await sleep(300);
    t.true(await exists(client, 'orphan'), 'still in quarantine');
    clock.advanceSync(2_000);
    await eventually(async () => !(await exists(client, 'orphan')), 'the orphan deleted after the quarantine');
    t.true(failedSeen, 'marked Failed with DisruptionTarget (DeletionByPodGC) before the delete');
    t.true(await exists(client, 'kept'));
  } finally {
    watch.stop();
    running.stop();
    api.handler.close();
  }
});

test('a Terminating pod whose node is deleted, and one on an out-of-service node, are deleted at once', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const clock = new VirtualClock(Date.parse('2026-11-30T00:00:00Z'));
  await client.create(NODES, undefined, readyNode('doomed'));
  await client.create(NODES, undefined, readyNode('broken'));
  await client.create(NODES, undefined, readyNode('healthy'));
  for (const [pod, node] of [['on-doomed', 'doomed'], ['on-broken', 'broken'], ['on-healthy', 'healthy']] as const) {
    await boundPod(client, pod, node);
    await client.delete(PODS, 'default', pod, { gracePeriodSeconds: 30 });
    t.true(isBeingDeleted(await client.get(PODS, 'default', pod)), `${pod} is Terminating, waiting for its node agent`);
  }
  const running = await runControllers(client, [new PodGarbageCollector({ client, clock, log: silentLogger(), orphanQuarantineMs: 0 })], clock);
  try {
    await client.delete(NODES, undefined, 'doomed');
    await client.patch(NODES, undefined, 'broken', { spec: { taints: [{ key: OUT_OF_SERVICE_TAINT, value: 'nodeshutdown', effect: 'NoExecute' }] } });
    await client.patch(NODES, undefined, 'broken', { status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }, 'merge', 'status');
    await eventually(async () => !(await exists(client, 'on-doomed')), 'the pod of the deleted node');
    await eventually(async () => !(await exists(client, 'on-broken')), 'the pod of the out-of-service node');
    await sleep(300);
    t.true(await exists(client, 'on-healthy'), 'a Terminating pod on a healthy node waits for its agent');
  } finally {
    running.stop();
    api.handler.close();
  }
});

test('terminated pods beyond the threshold are deleted, oldest first', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const clock = new VirtualClock(Date.parse('2026-11-30T00:00:00Z'));
  await client.create(NODES, undefined, readyNode('n'));
  // Creation timestamps have one-second resolution: a second between pods orders them.
  for (const [index, name] of ['done-1', 'done-2', 'done-3', 'done-4'].entries()) {
    await boundPod(client, name, 'n', index % 2 === 0 ? 'Succeeded' : 'Failed');
    if (index < 3) await sleep(1_050);
  }
  await boundPod(client, 'running', 'n');
  const running = await runControllers(client, [new PodGarbageCollector({ client, clock, log: silentLogger(), terminatedThreshold: 2 })], clock);
  try {
    await eventually(async () => !(await exists(client, 'done-1')) && !(await exists(client, 'done-2')), 'the two oldest terminated pods');
    t.true(await exists(client, 'done-3'));
    t.true(await exists(client, 'done-4'));
    t.true(await exists(client, 'running'));
  } finally {
    running.stop();
    api.handler.close();
  }
});
