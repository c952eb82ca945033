// The node lifecycle controller against the real API pipeline (short periods on the real clock): a node
// whose Lease stops being renewed becomes Ready=Unknown and tainted unreachable:NoExecute; its pods are
// evicted after their toleration (pods tolerating it forever stay) and their ReplicaSet recreates them on
// the live node; when the Lease is renewed again the taint goes.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { LEASES, metaOf, NODES, PODS, REPLICASETS, type ApiClient, type KubeObject } from '../../src/client/index.js';
import { isBeingDeleted, isPodActive, podNodeName, statusOf } from '../../src/controllers/machinery/objects.js';
import { taintsOf, UNREACHABLE_TAINT } from '../../src/controllers/machinery/taints.js';
import { NODE_LEASE_NAMESPACE, NodeLifecycleController } from '../../src/controllers/node-lifecycle.js';
import { ReplicaSetController } from '../../src/controllers/replicaset.js';
import { adminClient, eventually, replicaSet, runControllers, sleep, testApi } from './controllers-helpers.js';

/** Renews a node's Lease every 50 ms until stopped. */
function heartbeat(client: ApiClient, node: string): { stop(): void } {
  let running = true;
  void (async () => {
    await client.create(LEASES, NODE_LEASE_NAMESPACE, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: node }, spec: { holderIdentity: node, leaseDurationSeconds: 40 } }).catch(() => undefined);
    while (running) {
      await client.patch(LEASES, NODE_LEASE_NAMESPACE, node, { spec: { renewTime: new Date().toISOString().replace('Z', '000Z') } }).catch(() => undefined);
      await sleep(50);
    }
  })();
  return { stop: () => (running = false) };
}

test('an unreachable node is tainted, its pods evicted after their toleration and recreated by their ReplicaSet; the taint goes when it returns', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const env = { client, clock: systemClock, log: silentLogger() };
  for (const name of ['n1', 'n2']) await client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  const beats = { n1: heartbeat(client, 'n1'), n2: heartbeat(client, 'n2') };
  const running = await runControllers(client, [new ReplicaSetController(env), new NodeLifecycleController({ ...env, gracePeriodMs: 1_000, defaultTolerationMs: 200, evictionsPerSecond: 100 })]);
  // A pod that tolerates unreachable nodes forever stays.
  await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'stays' }, spec: { nodeName: 'n1', tolerations: [{ key: UNREACHABLE_TAINT, operator: 'Exists', effect: 'NoExecute' }], containers: [{ name: 'c', image: 'x' }] } });
  await client.create(REPLICASETS, 'default', replicaSet('web', 4, { app: 'web' }));
  await eventually(async () => (await client.list(PODS, { namespace: 'default', labelSelector: 'app=web' })).items.length === 4, '4 pods');
  const webPods = async (): Promise<KubeObject[]> => (await client.list(PODS, { namespace: 'default', labelSelector: 'app=web' })).items;
  // Place them: two per node, as a scheduler would.
  for (const [index, pod] of (await webPods()).entries()) await client.bind('default', metaOf(pod).name ?? '', index % 2 === 0 ? 'n1' : 'n2');
  await sleep(1_500);
  t.is(taintsOf(await client.get(NODES, undefined, 'n1')).length, 0, 'a renewing node is left alone');
  beats.n1.stop();
  await eventually(async () => taintsOf(await client.get(NODES, undefined, 'n1')).some((taint) => taint.key === UNREACHABLE_TAINT && taint.effect === 'NoExecute'), 'n1 tainted', 20_000);
  const ready = (statusOf(await client.get(NODES, undefined, 'n1'))['conditions'] as { type: string; status: string }[]).find((condition) => condition.type === 'Ready');
  t.is(ready?.status, 'Unknown');
  await eventually(async () => (await webPods()).filter((pod) => podNodeName(pod) === 'n1').every(isBeingDeleted), 'pods on n1 evicted', 20_000);
  await eventually(async () => (await webPods()).filter(isPodActive).length === 4, 'replacements made', 20_000);
  t.false(isBeingDeleted(await client.get(PODS, 'default', 'stays')), 'the tolerating pod stays');
  t.is(taintsOf(await client.get(NODES, undefined, 'n2')).length, 0, 'the live node is untouched');
  beats.n1 = heartbeat(client, 'n1');
  await eventually(async () => taintsOf(await client.get(NODES, undefined, 'n1')).length === 0, 'the taint removed when n1 returns', 20_000);
  beats.n1.stop();
  beats.n2.stop();
  running.stop();
});
