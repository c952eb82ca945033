// The scheduling queue: order, backoff on the injected clock, unschedulable pods retried on events
// (never by polling), and an event during a pod's cycle sending it to backoff instead.

import test from 'ava';
import { VirtualClock } from '../../src/actors/sim/virtual-clock.js';
import { toPodInfo, type PodInfo } from '../../src/scheduler/model.js';
import { SchedulingQueue } from '../../src/scheduler/queue.js';

function info(name: string, priority = 0, created = '2026-01-01T00:00:00Z'): PodInfo {
  return toPodInfo({ metadata: { name, namespace: 'default', creationTimestamp: created }, spec: { priority, containers: [{ name: 'c', image: 'i' }] } });
}

function queue(clock: VirtualClock): SchedulingQueue {
  return new SchedulingQueue({
    clock,
    compare: (a, b) => b.priority - a.priority || (a.creationTimestamp < b.creationTimestamp ? -1 : a.creationTimestamp > b.creationTimestamp ? 1 : 0),
    initialBackoffMs: 1_000,
    maxBackoffMs: 10_000,
  });
}

test('active pods pop by priority, then creation time', (t) => {
  const q = queue(new VirtualClock());
  q.addOrUpdate(info('late', 0, '2026-01-01T00:00:09Z'));
  q.addOrUpdate(info('early', 0, '2026-01-01T00:00:01Z'));
  q.addOrUpdate(info('urgent', 100, '2026-01-01T00:00:05Z'));
  t.deepEqual([q.pop(), q.pop(), q.pop(), q.pop()].map((popped) => popped?.info.name), ['urgent', 'early', 'late', undefined]);
});

test('an unschedulable pod waits for an event, not a timer; then respects its backoff', (t) => {
  const clock = new VirtualClock();
  const q = queue(clock);
  q.addOrUpdate(info('p'));
  const first = q.pop();
  if (first === undefined) return t.fail();
  q.requeueUnschedulable(first);
  clock.advanceSync(60_000);
  t.is(q.pop(), undefined, 'no polling: a minute later it is still waiting');
  t.is(q.sizes().unschedulable, 1);
  // A status-only update (same spec and labels) does not count as an event.
  q.addOrUpdate(info('p'));
  t.is(q.sizes().unschedulable, 1);
  q.moveAllUnschedulable();
  t.is(q.pop()?.info.name, 'p', 'its 1 s backoff is long over: active at once');
  const second = { info: info('p'), attempts: 2, cycle: 2 };
  q.requeueUnschedulable(second);
  q.moveAllUnschedulable();
  t.is(q.pop(), undefined, 'just failed its second attempt: backing off 2 s');
  clock.advanceSync(1_999);
  t.is(q.pop(), undefined);
  clock.advanceSync(1);
  t.is(q.pop()?.attempts, 3);
});

test('an event during the cycle sends the failed pod to backoff rather than unschedulable', (t) => {
  const clock = new VirtualClock();
  const q = queue(clock);
  q.addOrUpdate(info('p'));
  const popped = q.pop();
  if (popped === undefined) return t.fail();
  q.moveAllUnschedulable(); // a node was added while the pod was being scheduled
  q.requeueUnschedulable(popped);
  t.is(q.sizes().backoff, 1);
  clock.advanceSync(1_000);
  t.is(q.pop()?.info.name, 'p');
});

test('backoff doubles per attempt up to the maximum; deleted pods leave', (t) => {
  const q = queue(new VirtualClock());
  t.deepEqual([1, 2, 3, 4, 5, 6, 50].map((attempts) => q.backoffMs(attempts)), [1_000, 2_000, 4_000, 8_000, 10_000, 10_000, 10_000]);
  q.addOrUpdate(info('gone'));
  q.delete('default/gone');
  t.is(q.pop(), undefined);
});
