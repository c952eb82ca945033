// The controller machinery on a virtual clock: the work queue (dedup, one worker per key, N workers,
// per-key exponential backoff, the token bucket, requeue-after), expectations, label selectors, the
// rolling-update arithmetic (rounding, both-zero rule, the strict surge count), and the template hash.

import test from 'ava';
import { silentLogger } from '../../src/actors/index.js';
import { nextNewSetReplicas, nextOldSetReplicas, podTemplateHash, proportionalReplicas, rollingLimits, type RolloutState } from '../../src/controllers/deployment-plan.js';
import { Expectations } from '../../src/controllers/machinery/expectations.js';
import { selectorMatches, selectorToString } from '../../src/controllers/machinery/labels.js';
import { KeyBackoff, TokenBucket } from '../../src/controllers/machinery/rate-limit.js';
import { DONE, requeueAfter } from '../../src/controllers/machinery/reconcile.js';
import { WorkQueue } from '../../src/controllers/machinery/work-queue.js';
import { flushMicrotasks, VirtualClock } from '../../src/testing/virtual-clock.js';

test('the queue handles a key added many times once, and never one key on two workers', async (t) => {
  const clock = new VirtualClock();
  const queue = new WorkQueue({ clock, log: silentLogger(), workers: 4 });
  const handled: string[] = [];
  let inHand = 0;
  let mostInHandForA = 0;
  const release: (() => void)[] = [];
  // Added before the workers start: each key once.
  queue.add('a');
  queue.add('b');
  queue.add('b');
  queue.add('a');
  queue.run(async (key) => {
    handled.push(key);
    if (key === 'a') {
      inHand += 1;
      mostInHandForA = Math.max(mostInHandForA, inHand);
      await new Promise<void>((resolve) => release.push(resolve));
      inHand -= 1;
    }
    return DONE;
  });
  await flushMicrotasks();
  queue.add('a'); // while 'a' is in hand: handled again afterwards, not alongside
  queue.add('a');
  await flushMicrotasks();
  t.deepEqual(handled, ['a', 'b']);
  release.shift()?.();
  await flushMicrotasks();
  t.deepEqual(handled, ['a', 'b', 'a']);
  release.shift()?.();
  await queue.whenIdle();
  t.is(mostInHandForA, 1);
});

test('failures back off exponentially per key; success forgets; requeue-after waits on the clock', async (t) => {
  const clock = new VirtualClock();
  const queue = new WorkQueue({ clock, log: silentLogger(), bucketBurst: 1_000 });
  const times: number[] = [];
  let calls = 0;
  queue.run(async () => {
    times.push(clock.now());
    calls += 1;
    if (calls <= 4) throw new Error('not yet');
    if (calls === 5) return requeueAfter(1_000);
    return DONE;
  });
  queue.add('k');
  await clock.advance(5_000);
  t.deepEqual(times, [0, 5, 15, 35, 75, 1075]);
  t.is(queue.failuresOf('k'), 0);
});

test('backoff is capped and the bucket limits overall retries', (t) => {
  const backoff = new KeyBackoff(5, 1_000_000);
  const delays = Array.from({ length: 30 }, () => backoff.next('x'));
  t.is(delays[0], 5);
  t.is(delays[1], 10);
  t.is(delays.at(-1), 1_000_000);
  const clock = new VirtualClock();
  const bucket = new TokenBucket(clock, 10, 2);
  t.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 100, 200]);
});

test('expectations hold until observed or timed out; deletions count once per pod', (t) => {
  const clock = new VirtualClock();
  const expectations = new Expectations(clock, 1_000);
  t.true(expectations.satisfied('rs'));
  expectations.expectCreations('rs', 2);
  expectations.creationObserved('rs');
  t.false(expectations.satisfied('rs'));
  expectations.creationObserved('rs');
  t.true(expectations.satisfied('rs'));
  expectations.expectDeletions('rs', ['ns/p1']);
  expectations.deletionObserved('rs', 'ns/p2');
  t.false(expectations.satisfied('rs'));
  clock.advanceSync(1_001);
  t.true(expectations.satisfied('rs'), 'timed out');
});

test('label selectors: matchLabels and every operator', (t) => {
  const selector = { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In' as const, values: ['a', 'b'] }, { key: 'old', operator: 'DoesNotExist' as const }] };
  t.true(selectorMatches(selector, { app: 'web', tier: 'a' }));
  t.false(selectorMatches(selector, { app: 'web', tier: 'c' }));
  t.false(selectorMatches(selector, { app: 'web', tier: 'a', old: '1' }));
  t.true(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['1'] }] }, {}));
  t.false(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'Exists' }] }, {}));
  t.is(selectorToString(selector), 'app=web,tier in (a,b),!old');
});

test('maxSurge rounds up, maxUnavailable down, and both zero means one unavailable', (t) => {
  t.deepEqual(rollingLimits(10, '25%', '25%'), { maxSurge: 3, maxUnavailable: 2 });
  t.deepEqual(rollingLimits(1, '25%', '25%'), { maxSurge: 1, maxUnavailable: 0 });
  t.deepEqual(rollingLimits(3, 0, '10%'), { maxSurge: 0, maxUnavailable: 1 });
  t.deepEqual(rollingLimits(4, undefined, undefined), { maxSurge: 1, maxUnavailable: 1 });
});

test('the new set grows only into room left by terminating pods too (invariant 5, stricter than upstream)', (t) => {
  const state: RolloutState = {
    replicas: 4,
    limits: { maxSurge: 1, maxUnavailable: 1 },
    newSet: { name: 'new', desired: 1, activePods: 1, availablePods: 1 },
    oldSets: [{ name: 'old', desired: 3, activePods: 3, availablePods: 3 }],
    terminatingPods: 1,
  };
  t.is(nextNewSetReplicas(state), 1, 'no room: 1 + 3 + 1 terminating = 5');
  t.is(nextNewSetReplicas({ ...state, terminatingPods: 0 }), 2);
  // Old pods above the set's desired count (not yet deleted) occupy places as well.
  t.is(nextNewSetReplicas({ ...state, terminatingPods: 0, oldSets: [{ name: 'old', desired: 2, activePods: 3, availablePods: 3 }] }), 2);
});

test('old sets shrink unhealthy places first, and never below the available minimum', (t) => {
  const state: RolloutState = {
    replicas: 4,
    limits: { maxSurge: 1, maxUnavailable: 1 },
    newSet: { name: 'new', desired: 1, activePods: 1, availablePods: 0 },
    oldSets: [{ name: 'old', desired: 4, activePods: 4, availablePods: 3 }],
    terminatingPods: 0,
  };
  // 5 desired − 3 minimum − 1 new unavailable = 1: the one unhealthy old place.
  t.deepEqual([...nextOldSetReplicas(state)], [['old', 3]]);
  const healthy = { ...state, newSet: { name: 'new', desired: 1, activePods: 1, availablePods: 1 }, oldSets: [{ name: 'old', desired: 4, activePods: 4, availablePods: 4 }] };
  t.deepEqual([...nextOldSetReplicas(healthy)], [['old', 2]]);
});

test('a scaling event mid-rollout is spread over the active sets in proportion to their sizes (Kubernetes\' arithmetic)', (t) => {
  const limits = { maxSurge: 3, maxUnavailable: 0 };
  // 10 replicas, surge 3: old 10 (available), new 3 (not ready). Scaled to 20: 23 places, 10 more.
  const sets = [
    { name: 'old', desired: 10, maxReplicasBefore: 13, activePods: 10, availablePods: 10 },
    { name: 'new', desired: 3, maxReplicasBefore: 13, activePods: 3, availablePods: 0 },
  ];
  const up = proportionalReplicas({ replicas: 20, limits, sets, statusReplicas: 13, committed: 13 });
  t.deepEqual(Object.fromEntries(up), { old: 18, new: 5 }, 'round(10·23/13) = 18, round(3·23/13) = 5');
  // Terminating pods leave less room: growth stops at replicas + maxSurge counting every pod.
  const capped = proportionalReplicas({ replicas: 20, limits, sets, statusReplicas: 13, committed: 16 });
  t.is([...capped.values()].reduce((a, b) => a + b, 0), 20, 'only 7 more (3 terminating pods hold places)');
  // Back down to 5: 8 places, 15 fewer; the larger set shrinks first.
  const grown = [
    { name: 'old', desired: 18, maxReplicasBefore: 23, activePods: 18, availablePods: 18 },
    { name: 'new', desired: 5, maxReplicasBefore: 23, activePods: 5, availablePods: 0 },
  ];
  const down = proportionalReplicas({ replicas: 5, limits, sets: grown, statusReplicas: 23, committed: 23 });
  t.deepEqual(Object.fromEntries(down), { old: 6, new: 2 }, 'round(18·8/23) = 6, round(5·8/23) = 2');
  // Leftovers go to the largest set; to zero, every set goes to zero.
  const thirds = [
    { name: 'a', desired: 1, maxReplicasBefore: 3, activePods: 1, availablePods: 1 },
    { name: 'b', desired: 1, maxReplicasBefore: 3, activePods: 1, availablePods: 1 },
    { name: 'c', desired: 1, maxReplicasBefore: 3, activePods: 1, availablePods: 1 },
  ];
  const four = proportionalReplicas({ replicas: 4, limits: { maxSurge: 0, maxUnavailable: 1 }, sets: thirds, statusReplicas: 3, committed: 3 });
  t.deepEqual(Object.fromEntries(four), { a: 1, b: 1, c: 2 }, 'equal sizes: the newest grows');
  const zero = proportionalReplicas({ replicas: 0, limits: { maxSurge: 0, maxUnavailable: 0 }, sets: grown, statusReplicas: 23, committed: 23 });
  t.deepEqual(Object.fromEntries(zero), { old: 0, new: 0 });
  // No change of size: nothing moves.
  t.deepEqual(Object.fromEntries(proportionalReplicas({ replicas: 10, limits, sets, statusReplicas: 13, committed: 13 })), { old: 10, new: 3 });
});

test('a proportional shrink keeps the available minimum, taking unavailable places instead (invariant 5)', (t) => {
  // 10 replicas, surge 0, unavailable 5: old 5 available, new 5 not ready. Scaled to 4 (maxUnavailable 1):
  // Kubernetes gives old 2 and new 2, leaving 2 available of the 3 needed.
  const sets = [
    { name: 'old', desired: 5, maxReplicasBefore: 10, activePods: 5, availablePods: 5 },
    { name: 'new', desired: 5, maxReplicasBefore: 10, activePods: 5, availablePods: 0 },
  ];
  const down = proportionalReplicas({ replicas: 4, limits: rollingLimits(4, 0, '25%'), sets, statusReplicas: 10, committed: 10 });
  t.deepEqual(Object.fromEntries(down), { old: 3, new: 1 });
  t.is((down.get('old') ?? 0) + (down.get('new') ?? 0), 4);
});

test('a scaling event leaves no place to fill while surplus pods elsewhere already fill the new bound', (t) => {
  // 6 → 5 (maxSurge 50% = 3): 8 places, as many as desired; but old still runs 6 of its 5 and new has made
  // only 1 of its 3: making 2 more would mean 9 pods. One unfilled place of new goes.
  const sets = [
    { name: 'old', desired: 5, maxReplicasBefore: 9, activePods: 6, availablePods: 6 },
    { name: 'new', desired: 3, maxReplicasBefore: 9, activePods: 1, availablePods: 0 },
  ];
  const sizes = proportionalReplicas({ replicas: 5, limits: rollingLimits(5, '50%', '25%'), sets, statusReplicas: 7, committed: 9 });
  t.deepEqual(Object.fromEntries(sizes), { old: 5, new: 2 });
});

test('the pod-template hash is stable, DNS-safe and moved by the collision count', (t) => {
  const template = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
  const reordered = { spec: { containers: [{ image: 'nginx', name: 'c' }] }, metadata: { labels: { app: 'web' } } };
  t.is(podTemplateHash(template, 0), podTemplateHash(reordered, 0));
  t.not(podTemplateHash(template, 0), podTemplateHash(template, 1));
  t.regex(podTemplateHash(template, 0), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  // `kubectl rollout undo` sends the old template back with Go's `creationTimestamp: null`: the same template.
  const fromKubectl = { metadata: { creationTimestamp: null, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
  t.is(podTemplateHash(fromKubectl, 0), podTemplateHash(template, 0));
});

test('the event recorder writes an Event and counts repeats of it', async (t) => {
  const { adminClient, testApi } = await import('./controllers-helpers.js');
  const { EventRecorder } = await import('../../src/controllers/machinery/event-recorder.js');
  const { EVENTS, REPLICASETS } = await import('../../src/client/index.js');
  const api = await testApi();
  const client = adminClient(api);
  const clock = new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const recorder = new EventRecorder(client, 'replicaset-controller', clock, silentLogger());
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web', namespace: 'default', uid: 'u1' } };
  await recorder.record(REPLICASETS, owner, 'Normal', 'SuccessfulCreate', 'Created pod: web-1');
  await recorder.record(REPLICASETS, owner, 'Normal', 'SuccessfulCreate', 'Created pod: web-1');
  await recorder.record(REPLICASETS, owner, 'Warning', 'FailedCreate', 'quota');
  const events = (await client.list(EVENTS, { namespace: 'default' })).items;
  t.is(events.length, 2);
  const created = events.find((event) => event['reason'] === 'SuccessfulCreate');
  t.like(created, { count: 2, type: 'Normal', involvedObject: { kind: 'ReplicaSet', name: 'web', uid: 'u1' }, source: { component: 'replicaset-controller' } });
});

test('the informer factory resyncs: every cached object is handed to the handlers again', async (t) => {
  const { adminClient, testApi } = await import('./controllers-helpers.js');
  const { SharedInformerFactory } = await import('../../src/controllers/machinery/informer-factory.js');
  const { CONFIGMAPS } = await import('../../src/client/index.js');
  const { systemClock } = await import('../../src/actors/index.js');
  const api = await testApi();
  const client = adminClient(api);
  await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
  const factory = new SharedInformerFactory(client, { clock: systemClock, log: silentLogger(), resyncPeriodMs: 50 });
  let resyncs = 0;
  factory.informerFor(CONFIGMAPS).addHandlers({ onUpdate: (previous, object) => (resyncs += previous === object ? 1 : 0) });
  factory.start();
  await factory.whenSynced();
  await new Promise((resolve) => setTimeout(resolve, 180));
  factory.stop();
  t.true(resyncs >= 2, `resyncs: ${resyncs}`);
});
