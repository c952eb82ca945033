// PriorityClasses reach the scheduler: a pod created after another but naming a high PriorityClass
// gets spec.priority from the Priority admission, and when only one of the two fits, the scheduler's
// queue (PrioritySort) binds the high-priority pod and leaves the other pending. No preemption.

import test from 'ava';
import { createActorSystem, Prng, silentLogger, systemClock, whenStarted } from '../../src/actors/index.js';
import { ApiClient, LocalApiTransport, NODES, PODS, type KubeObject } from '../../src/client/index.js';
import { PRIORITYCLASSES } from '../../src/client/resources-policy.js';
import { simulatedNodesBehavior } from '../../src/node-agent/actor.js';
import { uniformNodes } from '../../src/node-agent/simulated.js';
import { schedulerSupervisor, shardActorName } from '../../src/scheduler/actor.js';
import { ADMIN, testApi } from './api-helpers.js';
import { eventually } from './controllers-helpers.js';

function pod(name: string, priorityClassName?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { ...(priorityClassName === undefined ? {} : { priorityClassName }), containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '600m' } } }] },
  };
}

test('of two pods only one of which fits, the scheduler binds the one with the higher PriorityClass', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const system = createActorSystem({ node: 'local', clock: systemClock, random: new Prng(5), log: silentLogger(), onRootFailure: (error) => t.fail(String(error)) });
  t.teardown(async () => {
    await system.terminate();
    api.handler.close();
  });
  const nodeClient = (name: string): ApiClient => new ApiClient(new LocalApiTransport(api.handler, { name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] }));
  system.spawn(simulatedNodesBehavior({ nodes: uniformNodes('small', 1, { cpu: '1', memory: '4Gi', pods: 110 }), clientFor: nodeClient }), { name: 'nodes' });
  await eventually(async () => (await admin.list(NODES)).items.length === 1, 'the node registered');
  await admin.create(PRIORITYCLASSES, undefined, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000 });
  const low = await admin.create(PODS, 'default', pod('low'));
  const high = await admin.create(PODS, 'default', pod('high', 'high'));
  t.is((low['spec'] as KubeObject)['priority'], 0);
  t.is((high['spec'] as KubeObject)['priority'], 1000);
  const schedulerClient = (): ApiClient => new ApiClient(new LocalApiTransport(api.handler, { name: 'system:kube-scheduler', groups: ['system:authenticated'] }));
  const scheduler = system.spawn(schedulerSupervisor({ shards: 1, clientFor: schedulerClient }), { name: 'scheduler' });
  await whenStarted(system, `${scheduler.path}/${shardActorName(0)}`);
  const nodeOf = async (name: string): Promise<unknown> => ((await admin.get(PODS, 'default', name))['spec'] as KubeObject)['nodeName'];
  await eventually(async () => (await nodeOf('high')) !== undefined, 'the high-priority pod bound');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(await nodeOf('high'), (await admin.list(NODES)).items.map((node) => (node['metadata'] as KubeObject)['name'])[0]);
  t.is(await nodeOf('low'), undefined, 'the low-priority pod waits: no room, and no preemption');
});
