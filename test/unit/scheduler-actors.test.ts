// The scheduler and the simulated node agents as supervised actors in one actor system: shards
// (each under the scheduler supervisor, each with its own API client) place pods on simulated nodes,
// and a shard answers a stats request with its counters and the parts it owns.

import test from 'ava';
import { createActorSystem, Prng, silentLogger, systemClock, whenStarted } from '../../src/actors/index.js';
import { ApiClient, LocalApiTransport, PODS } from '../../src/client/index.js';
import { simulatedNodesBehavior } from '../../src/node-agent/actor.js';
import { uniformNodes } from '../../src/node-agent/simulated.js';
import { schedulerSupervisor, shardActorName, type ShardMessage, type ShardStatsReply } from '../../src/scheduler/actor.js';
import { ADMIN, testApi } from './api-helpers.js';

test('scheduler shard actors and a simulated-nodes actor run pods to Running', async (t) => {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const failures: unknown[] = [];
  const system = createActorSystem({ node: 'local', clock: systemClock, random: new Prng(3), log: silentLogger(), onRootFailure: (error) => failures.push(error) });
  const nodeClient = (name: string): ApiClient => new ApiClient(new LocalApiTransport(api.handler, { name: `system:node:${name}`, groups: ['system:nodes', 'system:authenticated'] }));
  const schedulerClient = (): ApiClient => new ApiClient(new LocalApiTransport(api.handler, { name: 'system:kube-scheduler', groups: ['system:authenticated'] }));
  system.spawn(simulatedNodesBehavior({ nodes: uniformNodes('sim', 4, { cpu: '2', memory: '4Gi', pods: 110 }), clientFor: nodeClient }), { name: 'nodes' });
  const scheduler = system.spawn(schedulerSupervisor({ shards: 2, clientFor: schedulerClient }), { name: 'scheduler' });
  await whenStarted(system, `${scheduler.path}/${shardActorName(1)}`);
  await Promise.all(Array.from({ length: 40 }, (_, i) => admin.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p${i}` }, spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu: '200m' } } }] } })));
  const deadline = Date.now() + 15_000;
  let running = 0;
  while (Date.now() < deadline) {
    running = (await admin.list(PODS, { namespace: 'default', fieldSelector: 'status.phase=Running' })).items.length;
    if (running === 40) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.is(running, 40);
  const replies: ShardStatsReply[] = [];
  for (const index of [0, 1]) {
    const shard = system.refFor<ShardMessage>('local', `${scheduler.path}/${shardActorName(index)}`);
    replies.push(await system.ask<ShardMessage, ShardStatsReply>(shard, (replyTo) => ({ type: 'stats', replyTo }), 5_000));
  }
  t.is(replies.reduce((sum, reply) => sum + reply.stats.bound, 0), 40);
  t.deepEqual(failures, []);
  await system.terminate();
});
