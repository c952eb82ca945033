// Scheduler shards against the real API pipeline (LocalStore): FailedScheduling in kube-scheduler's
// words and a retry when a node is added (no polling); shards racing for nodes that fit exactly; and
// the binding's own refusal to overcommit (the 409 path), whoever calls it.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { Prng } from '../../src/actors/random.js';
import { ApiClient, isConflict, LocalApiTransport, EVENTS, NODES, PODS, metaOf, type KubeObject } from '../../src/client/index.js';
import { decodeLedger, LEDGER_PREFIX } from '../../src/scheduler/allocation-ledger.js';
import { parseMillis } from '../../src/scheduler/quantity.js';
import { SchedulerShard } from '../../src/scheduler/shard.js';
import { ownedParts } from '../../src/scheduler/shard-leases.js';
import { prefixEnd } from '../../src/store/index.js';
import { ADMIN, testApi, type TestApi } from './api-helpers.js';

function node(name: string, taints: KubeObject[] = []): KubeObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: { taints } };
}

async function addNode(client: ApiClient, name: string, cpu: string, taints: KubeObject[] = []): Promise<void> {
  await client.create(NODES, undefined, node(name, taints));
  await client.patch(NODES, undefined, name, { status: { allocatable: { cpu, memory: '64Gi', pods: '110' }, capacity: { cpu, memory: '64Gi', pods: '110' } } }, 'merge', 'status');
}

function pod(name: string, cpu: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu, memory: '64Mi' } } }] } };
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function shard(api: TestApi, index: number, shards: number, seed: number, backoffMs = 50): SchedulerShard {
  return new SchedulerShard({
    client: new ApiClient(new LocalApiTransport(api.handler, ADMIN)),
    clock: systemClock,
    random: new Prng(seed),
    log: silentLogger(),
    index,
    shards,
    initialBackoffMs: backoffMs,
    maxBackoffMs: backoffMs * 4,
  });
}

test('FailedScheduling says why in kube-scheduler words; the pod is retried when a node is added, not polled', async (t) => {
  const api = await testApi();
  const client = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  for (const name of ['small-1', 'small-2', 'small-3']) await addNode(client, name, '1');
  for (const name of ['tainted-1', 'tainted-2']) await addNode(client, name, '8', [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }]);
  const scheduler = shard(api, 0, 1, 1);
  await scheduler.start();
  await client.create(PODS, 'default', pod('big', '2'));
  let events: KubeObject[] = [];
  await eventually(async () => {
    events = (await client.list(EVENTS, { namespace: 'default' })).items;
    return events.length > 0;
  }, 'a FailedScheduling event');
  const event = events[0] ?? {};
  t.is(event['reason'], 'FailedScheduling');
  t.is(event['type'], 'Warning');
  t.is(event['message'], '0/5 nodes are available: 2 node(s) had untolerated taint {dedicated: db}, 3 Insufficient cpu.');
  t.like(event['involvedObject'], { kind: 'Pod', name: 'big', namespace: 'default' });
  const condition = ((await client.get(PODS, 'default', 'big'))['status'] as { conditions: { type: string; status: string; reason: string }[] }).conditions[0];
  t.like(condition, { type: 'PodScheduled', status: 'False', reason: 'Unschedulable' });
  // No polling: with a 50 ms backoff, half a second later it has still been tried once only.
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.is(scheduler.stats.unschedulable, 1);
  t.is(scheduler.queueSizes().unschedulable, 1);
  await addNode(client, 'big-1', '4');
  await eventually(async () => ((await client.get(PODS, 'default', 'big'))['spec'] as { nodeName?: string }).nodeName === 'big-1', 'the pod bound to the new node');
  scheduler.stop();
});

test('the binding refuses to overcommit: concurrent bindings for the last room, one wins, the rest get 409', async (t) => {
  const api = await testApi();
  const client = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  await addNode(client, 'n1', '1');
  for (let i = 0; i < 10; i++) await client.create(PODS, 'default', pod(`p${i}`, '500m'));
  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => client.bind('default', `p${i}`, 'n1')));
  const won = outcomes.filter((outcome) => outcome.status === 'fulfilled').length;
  t.is(won, 2, 'exactly two 500m pods fit in 1 cpu');
  for (const outcome of outcomes) if (outcome.status === 'rejected') t.true(isConflict(outcome.reason) && /does not fit on node "n1": Insufficient cpu/.test(String(outcome.reason)));
  // A bound pod cannot be bound again.
  const winner = outcomes.findIndex((outcome) => outcome.status === 'fulfilled');
  t.regex(String(await t.throwsAsync(client.bind('default', `p${winner}`, 'n1'))), /already assigned/);
  // Deleting a bound pod frees its room (the ledger drops entries of pods that are gone).
  await client.delete(PODS, 'default', `p${winner}`, { gracePeriodSeconds: 0 });
  const loser = outcomes.findIndex((outcome) => outcome.status === 'rejected');
  await client.bind('default', `p${loser}`, 'n1');
  // A finished pod frees its room too.
  const loser2 = outcomes.findIndex((outcome, i) => outcome.status === 'rejected' && i !== loser);
  const running = outcomes.findIndex((outcome, i) => outcome.status === 'fulfilled' && i !== winner);
  await client.patch(PODS, 'default', `p${running}`, { status: { phase: 'Succeeded' } }, 'merge', 'status');
  await client.bind('default', `p${loser2}`, 'n1');
  await t.throwsAsync(client.bind('default', `p${outcomes.findIndex((outcome, i) => outcome.status === 'rejected' && i !== loser && i !== loser2)}`, 'n1'));
});

for (const shards of [2, 4]) {
  test(`${shards} shards racing for 2,000 pods on nodes that fit exactly: no node overcommitted, no pod bound twice`, async (t) => {
    const api = await testApi();
    const client = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
    const nodeCount = 100;
    const podsPerNode = 20;
    for (let i = 0; i < nodeCount; i++) await addNode(client, `node-${String(i).padStart(2, '0')}`, '2'); // 20 × 100m each
    const seed = 1000 + shards;
    const schedulers = Array.from({ length: shards }, (_, index) => shard(api, index, shards, seed + index, 20));
    await Promise.all(schedulers.map((scheduler) => scheduler.start()));
    const total = nodeCount * podsPerNode;
    const creating: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) creating.push(client.create(PODS, 'default', pod(`p-${i}`, '100m')));
    await Promise.all(creating);
    const boundCount = async (): Promise<number> => (await client.listAll(PODS, { namespace: 'default', fieldSelector: 'spec.nodeName!=' })).items.length;
    await eventually(async () => (await boundCount()) === total, `all ${total} pods bound (seed ${seed})`, 60_000);

    // From the store: every node's bound pods fit its allocatable.
    const pods = (await client.listAll(PODS, { namespace: 'default' })).items;
    const perNode = new Map<string, number>();
    for (const item of pods) {
      const nodeName = (item['spec'] as { nodeName?: string }).nodeName ?? '';
      t.not(nodeName, '', `pod ${metaOf(item).name ?? ''} is bound`);
      perNode.set(nodeName, (perNode.get(nodeName) ?? 0) + parseMillis('100m'));
    }
    for (const [nodeName, millis] of perNode) t.true(millis <= 2000, `node ${nodeName} holds ${millis}m of 2000m (seed ${seed})`);
    // From the ledgers: every pod appears in exactly one node's ledger.
    const ledgers = await api.store.range({ key: LEDGER_PREFIX, rangeEnd: prefixEnd(LEDGER_PREFIX) });
    const seen = new Map<string, number>();
    for (const kv of ledgers.kvs) for (const key of decodeLedger(kv.value).keys()) seen.set(key, (seen.get(key) ?? 0) + 1);
    t.is(seen.size, total);
    t.true([...seen.values()].every((count) => count === 1), 'no pod bound twice');
    const stats = schedulers.map((scheduler) => scheduler.stats);
    t.is(stats.reduce((sum, s) => sum + s.bound, 0), total, 'each pod bound exactly once by exactly one shard');
    t.log(`seed ${seed}: binding conflicts (lost races, refused by the store txn): ${stats.map((s) => s.bindConflicts).join(', ')}`);
    for (const scheduler of schedulers) scheduler.stop();
  });
}

test('ring takeover: a dead shard’s part goes to the next live shard', (t) => {
  const liveExcept = (...dead: number[]) => (index: number): boolean => !dead.includes(index);
  t.deepEqual([...ownedParts(0, 4, liveExcept())], [0]);
  t.deepEqual([...ownedParts(2, 4, liveExcept(1))].sort(), [1, 2]);
  t.deepEqual([...ownedParts(3, 4, liveExcept(1))], [3]);
  t.deepEqual([...ownedParts(0, 4, liveExcept(2, 3))].sort(), [0, 2, 3], 'wraps around');
  t.deepEqual([...ownedParts(1, 4, liveExcept(2, 3))], [1]);
});

test('a shard that dies has its pods taken over through Leases within seconds, and gets them back when restarted', async (t) => {
  const api = await testApi();
  const client = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  for (let i = 0; i < 4; i++) await addNode(client, `n${i}`, '4');
  const leases = { leaseDurationSeconds: 1, renewIntervalMs: 200 };
  const make = (index: number): SchedulerShard =>
    new SchedulerShard({ client: new ApiClient(new LocalApiTransport(api.handler, ADMIN)), clock: systemClock, random: new Prng(index), log: silentLogger(), index, shards: 2, leases, initialBackoffMs: 20 });
  const first = make(0);
  let second = make(1);
  await Promise.all([first.start(), second.start()]);
  await eventually(() => first.ownedParts().size === 1 && second.ownedParts().size === 1, 'each shard owning only its part');
  second.stop(); // as kill -9: no more lease renewals, no goodbye
  const stoppedAt = Date.now();
  await Promise.all(Array.from({ length: 60 }, (_, i) => client.create(PODS, 'default', pod(`p${i}`, '100m'))));
  await eventually(async () => (await client.listAll(PODS, { namespace: 'default', fieldSelector: 'spec.nodeName=' })).items.length === 0, 'every pod bound by the surviving shard');
  t.true(Date.now() - stoppedAt < 15_000, 'taken over within seconds (1 s leases)');
  t.deepEqual([...first.ownedParts()].sort(), [0, 1]);
  t.is(first.stats.bound, 60);
  second = make(1);
  await second.start();
  await eventually(() => first.ownedParts().size === 1, 'the part handed back to the restarted shard');
  await client.create(PODS, 'default', pod('after', '100m'));
  await eventually(async () => ((await client.get(PODS, 'default', 'after'))['spec'] as { nodeName?: string }).nodeName !== undefined, 'a new pod bound after the restart');
  first.stop();
  second.stop();
});
