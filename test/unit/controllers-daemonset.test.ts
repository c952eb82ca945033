// The DaemonSet controller against the real API pipeline: one pod per matching node (nodeSelector and
// taints), pods following nodes as they come and go, and a rolling template update that replaces pods
// one node at a time.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { DAEMONSETS, metaOf, NODES, PODS, type ApiClient, type KubeObject } from '../../src/client/index.js';
import { DaemonSetController } from '../../src/controllers/daemonset.js';
import { isBeingDeleted, isPodAvailable, isPodPresent, isPodReady, numberField, podNodeName, specOf, statusOf } from '../../src/controllers/machinery/objects.js';
import { adminClient, agentLoop, eventually, runControllers, testApi } from './controllers-helpers.js';

function node(name: string, labels: Record<string, string> = {}, taints: unknown[] = []): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels }, spec: { taints } };
}

function daemonSet(image: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent' },
    spec: {
      selector: { matchLabels: { app: 'agent' } },
      template: { metadata: { labels: { app: 'agent' } }, spec: { nodeSelector: { role: 'worker' }, containers: [{ name: 'c', image }] } },
    },
  };
}

async function livePods(client: ApiClient): Promise<KubeObject[]> {
  return (await client.list(PODS, { namespace: 'default' })).items.filter((pod) => isPodPresent(pod) && !isBeingDeleted(pod));
}

test('one pod per matching node, following nodes as they come and go', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [new DaemonSetController({ client, clock: systemClock, log: silentLogger() })]);
  const agents = agentLoop(client);
  await client.create(NODES, undefined, node('w1', { role: 'worker' }));
  await client.create(NODES, undefined, node('w2', { role: 'worker' }));
  await client.create(NODES, undefined, node('db', { role: 'database' }));
  await client.create(NODES, undefined, node('tainted', { role: 'worker' }, [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }]));
  await client.create(DAEMONSETS, 'default', daemonSet('agent:1'));
  const nodesWithPods = async (): Promise<string[]> => (await livePods(client)).map((pod) => podNodeName(pod) ?? '').sort();
  await eventually(async () => (await nodesWithPods()).join() === 'w1,w2', 'pods on w1 and w2');
  await client.create(NODES, undefined, node('w3', { role: 'worker' }));
  await eventually(async () => (await nodesWithPods()).join() === 'w1,w2,w3', 'a pod on the new node');
  await client.delete(NODES, undefined, 'w1');
  await eventually(async () => (await nodesWithPods()).join() === 'w2,w3', 'the pod of the removed node gone');
  await eventually(async () => {
    const status = statusOf(await client.get(DAEMONSETS, 'default', 'agent'));
    return numberField(status, 'desiredNumberScheduled', -1) === 2 && numberField(status, 'numberReady', -1) === 2 && numberField(status, 'numberMisscheduled', -1) === 0;
  }, 'status 2 desired, 2 ready');
  t.pass();
  agents.stop();
  running.stop();
});

test('a template update replaces pods one node at a time', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [new DaemonSetController({ client, clock: systemClock, log: silentLogger() })]);
  const agents = agentLoop(client);
  for (const name of ['w1', 'w2', 'w3', 'w4']) await client.create(NODES, undefined, node(name, { role: 'worker' }));
  await client.create(DAEMONSETS, 'default', daemonSet('agent:1'));
  await eventually(async () => (await livePods(client)).filter((pod) => isPodAvailable(pod, 0, Date.now())).length === 4, '4 ready pods');
  let leastAvailable = 4;
  const watching = setInterval(() => {
    void livePods(client).then((pods) => {
      leastAvailable = Math.min(leastAvailable, pods.filter((pod) => isPodAvailable(pod, 0, Date.now())).length);
    });
  }, 5);
  const imageOf = (pod: KubeObject): string => String(((specOf(pod)['containers'] as { image?: string }[])[0] ?? {}).image);
  await client.patch(DAEMONSETS, 'default', 'agent', { spec: { template: { spec: { containers: [{ name: 'c', image: 'agent:2' }] } } } });
  await eventually(async () => {
    const pods = await livePods(client);
    return pods.length === 4 && pods.every((pod) => imageOf(pod) === 'agent:2' && isPodReady(pod));
  }, 'every node on the new template', 20_000);
  clearInterval(watching);
  t.true(leastAvailable >= 3, `at most one node without an available pod (least ${leastAvailable})`);
  agents.stop();
  running.stop();
});

test('a taint added to a node: NoSchedule keeps the running pod (no new one is made), NoExecute removes it; unschedulable is tolerated', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [new DaemonSetController({ client, clock: systemClock, log: silentLogger() })]);
  const agents = agentLoop(client);
  for (const name of ['w1', 'w2', 'w3']) await client.create(NODES, undefined, node(name, { role: 'worker' }));
  await client.create(DAEMONSETS, 'default', daemonSet('agent:1'));
  const nodesWithPods = async (): Promise<string[]> => (await livePods(client)).map((pod) => podNodeName(pod) ?? '').sort();
  await eventually(async () => (await nodesWithPods()).join() === 'w1,w2,w3', 'a pod on each node');
  const status = async (): Promise<KubeObject> => statusOf(await client.get(DAEMONSETS, 'default', 'agent'));

  // As Kubernetes (NodeShouldRunDaemonPod): an untolerated NoSchedule taint keeps new pods out, not the running one.
  await client.patch(NODES, undefined, 'w1', { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } });
  await eventually(async () => numberField(await status(), 'desiredNumberScheduled', -1) === 2, 'w1 no longer desired');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(await nodesWithPods(), ['w1', 'w2', 'w3'], 'the pod on w1 keeps running');
  t.like(await status(), { desiredNumberScheduled: 2, currentNumberScheduled: 2, numberMisscheduled: 1 });
  // Deleted there, it is not made again.
  const onW1 = (await livePods(client)).find((pod) => podNodeName(pod) === 'w1');
  await client.delete(PODS, 'default', metaOf(onW1 ?? {}).name ?? '', { gracePeriodSeconds: 0 });
  await eventually(async () => (await nodesWithPods()).join() === 'w2,w3', 'the deleted pod gone');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.deepEqual(await nodesWithPods(), ['w2', 'w3'], 'no new pod on the NoSchedule-tainted node');

  // An untolerated NoExecute taint removes the running pod.
  await client.patch(NODES, undefined, 'w2', { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoExecute' }] } });
  await eventually(async () => (await nodesWithPods()).join() === 'w3', 'the pod on the NoExecute-tainted node removed');

  // Cordoned (unschedulable): DaemonSet pods tolerate it; a pod there stays and one is made again if deleted.
  await client.patch(NODES, undefined, 'w3', { spec: { unschedulable: true, taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } });
  const onW3 = (await livePods(client)).find((pod) => podNodeName(pod) === 'w3');
  await client.delete(PODS, 'default', metaOf(onW3 ?? {}).name ?? '', { gracePeriodSeconds: 0 });
  await eventually(async () => (await livePods(client)).some((pod) => podNodeName(pod) === 'w3' && metaOf(pod).uid !== metaOf(onW3 ?? {}).uid), 'a new pod on the cordoned node');
  agents.stop();
  running.stop();
});
