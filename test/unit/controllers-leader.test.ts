// Leader election over a real Lease through the API pipeline (short durations on the real clock), and the
// controller-manager actor: one of two managers leads; when the leader dies holding its Lease, the other
// takes over within the lease duration and carries on with no duplicate pods; a leader that sees its
// Lease taken stops at once and its fenced transport refuses every call.

import test from 'ava';
import { createActorSystem, Prng, silentLogger, systemClock } from '../../src/actors/index.js';
import { ApiClient, LEASES, LocalApiTransport, metaOf, PODS, REPLICASETS, type ApiAnswer, type ApiCall, type ApiTransport, type KubeObject, type WatchStream, type WireWatchEvent } from '../../src/client/index.js';
import { FencedError, FencedTransport } from '../../src/controllers/machinery/fenced-transport.js';
import { LeaderElector, leaderElectionConfig } from '../../src/controllers/machinery/leader-election.js';
import { isPodActive, specOf } from '../../src/controllers/machinery/objects.js';
import { CONTROLLER_MANAGER_SUPERVISION, controllerManager } from '../../src/controllers/manager.js';
import { ADMIN, adminClient, eventually, replicaSet, sleep, testApi } from './controllers-helpers.js';

const FAST = { leaseDurationMs: 1_200, renewDeadlineMs: 800, retryPeriodMs: 150 }; // short, with room for a loaded machine

function elector(client: ApiClient, identity: string, log: string[]): LeaderElector {
  return new LeaderElector(client, systemClock, silentLogger(), leaderElectionConfig(identity, FAST), {
    onStartedLeading: () => log.push(`${identity} leads`),
    onStoppedLeading: () => log.push(`${identity} stops`),
  });
}

test('config is validated: lease > renew deadline > retry period', (t) => {
  t.throws(() => leaderElectionConfig('a', { leaseDurationMs: 1_000, renewDeadlineMs: 1_000 }), { message: /leaseDurationMs/ });
  t.throws(() => leaderElectionConfig('a', { renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }), { message: /renewDeadlineMs/ });
  t.like(leaderElectionConfig('a'), { namespace: 'kube-system', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
});

test('one of two candidates leads; after the leader dies holding the Lease, the other takes over within the lease duration', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const log: string[] = [];
  const a = elector(client, 'a', log);
  const b = elector(client, 'b', log);
  a.start();
  await eventually(() => a.isLeader(), 'a leads');
  b.start();
  await sleep(400);
  t.false(b.isLeader(), 'b waits while a renews');
  const diedAt = Date.now();
  await a.stop(false); // a crash: the Lease is not released
  await eventually(() => b.isLeader(), 'b takes over', 20_000);
  const tookMs = Date.now() - diedAt;
  t.true(tookMs >= FAST.leaseDurationMs - FAST.retryPeriodMs, `not before the lease could expire (${tookMs} ms)`);
  // Liveness, with room for a loaded machine: well within a few lease durations.
  t.true(tookMs <= 3 * FAST.leaseDurationMs + 1_000, `soon after the lease duration (${tookMs} ms)`);
  t.deepEqual(log, ['a leads', 'a stops', 'b leads']);
  const lease = await client.get(LEASES, 'kube-system', 'kube-controller-manager');
  t.like(specOf(lease), { holderIdentity: 'b', leaseTransitions: 1 });
  await b.stop();
  t.is(specOf(await client.get(LEASES, 'kube-system', 'kube-controller-manager'))['holderIdentity'], '', 'released on a clean stop');
});

/** A transport whose calls, while `hung`, are never answered (an API server that died mid-call). */
class HangingTransport implements ApiTransport {
  hung = false;
  constructor(private readonly inner: ApiTransport) {}
  call(request: ApiCall): Promise<ApiAnswer> {
    return this.hung ? new Promise<ApiAnswer>(() => undefined) : this.inner.call(request);
  }
  watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    return this.inner.watch(request, onEvent);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

test('calls that never return do not keep a candidate stuck: it steps down, and campaigns again once answers come', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const hanging = new HangingTransport(new LocalApiTransport(api.handler, ADMIN));
  const log: string[] = [];
  const a = elector(new ApiClient(hanging), 'a', log);
  const b = elector(client, 'b', log);
  a.start();
  await eventually(() => a.isLeader(), 'a leads');
  hanging.hung = true; // every call of a from now on waits forever
  b.start();
  await eventually(() => !a.isLeader(), 'a steps down at its renew deadline', 20_000);
  await eventually(() => b.isLeader(), 'b takes over once the lease expires', 20_000);
  await b.stop(); // released: the Lease is free
  hanging.hung = false;
  // Without a bound on each attempt, a's first hung call would keep it from ever trying again.
  await eventually(() => a.isLeader(), 'a leads again', 20_000);
  t.deepEqual(log, ['a leads', 'a stops', 'b leads', 'b stops', 'a leads']);
  await a.stop();
});

test('a leader that finds its Lease taken stops at once', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const log: string[] = [];
  const a = elector(client, 'a', log);
  a.start();
  await eventually(() => a.isLeader(), 'a leads');
  const lease = await client.get(LEASES, 'kube-system', 'kube-controller-manager');
  await client.update(LEASES, { ...lease, spec: { ...specOf(lease), holderIdentity: 'intruder' } });
  await eventually(() => !a.isLeader(), 'a stops', 20_000);
  t.deepEqual(log, ['a leads', 'a stops']);
  await a.stop();
});

test('a fenced transport refuses calls and watches', async (t) => {
  const api = await testApi();
  const fenced = new FencedTransport(new LocalApiTransport(api.handler, ADMIN));
  t.is((await fenced.call({ method: 'GET', path: '/api/v1/namespaces/default/pods' })).status, 200);
  fenced.fence();
  await t.throwsAsync(fenced.call({ method: 'GET', path: '/api/v1/namespaces/default/pods' }), { instanceOf: FencedError });
  await t.throwsAsync(fenced.watch({ method: 'GET', path: '/api/v1/pods', query: 'watch=1' }, () => undefined), { instanceOf: FencedError });
});

test('controller-manager actors (every controller): the standby takes over from a dead leader and the work carries on without duplicates', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const system = createActorSystem({ node: 'cm', clock: systemClock, random: new Prng(7), log: silentLogger(), onRootFailure: (error) => t.fail(String(error)) });
  const leading = new Map<string, boolean>();
  const spawn = (identity: string) =>
    system.spawn(
      controllerManager({
        transport: new LocalApiTransport(api.handler, ADMIN),
        identity,
        leaderElection: FAST,
        keepLeaseOnStop: true,
        onLeadershipChange: (value) => leading.set(identity, value),
      }),
      { name: `manager-${identity}`, supervision: CONTROLLER_MANAGER_SUPERVISION },
    );
  const managers = { a: spawn('a'), b: spawn('b') };
  const created = new Set<string>();
  const stream = await client.watch(PODS, {}, (event) => {
    if (event.type === 'ADDED') created.add(metaOf(event.object as KubeObject).uid ?? '');
  });
  await eventually(() => [...leading.values()].filter(Boolean).length === 1, 'one leader');
  const leader = leading.get('a') === true ? 'a' : 'b';
  const standby = leader === 'a' ? 'b' : 'a';
  await client.create(REPLICASETS, 'default', replicaSet('web', 3, { app: 'web' }));
  const active = async (): Promise<number> => (await client.list(PODS, { namespace: 'default' })).items.filter(isPodActive).length;
  await eventually(async () => (await active()) === 3, '3 pods from the first leader');
  await system.stop(managers[leader]); // dies holding the Lease
  await client.patch(REPLICASETS, 'default', 'web', { spec: { replicas: 6 } });
  await eventually(() => leading.get(standby) === true, 'the standby leads', 20_000);
  await eventually(async () => (await active()) === 6, '6 pods from the new leader', 20_000);
  await sleep(300);
  t.is(await active(), 6);
  t.is(created.size, 6, 'pods ever created');
  stream.stop();
  await system.terminate();
});
