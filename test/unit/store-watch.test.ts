// The watch hub: ordered, exactly-once delivery from a start revision (replayed from history),
// filters, prevKv, progress, compacted errors and the bounded queue with 'slow' cancellation.
import test from 'ava';
import { CompactedError, WATCHER_MAX_PENDING_EVENTS, WatchNotFoundError, prefixEnd, type WatchBatch, type WatchEvent } from '../../src/store/index.js';
import { Driver, text } from './store-helpers.js';

function drain(d: Driver, watchId: number, maxEvents = 1000): { events: WatchEvent[]; last: WatchBatch } {
  const events: WatchEvent[] = [];
  for (;;) {
    const batch = d.machine.watches.take(watchId, maxEvents);
    events.push(...batch.events);
    if (batch.events.length === 0 || batch.canceled !== undefined) return { events, last: batch };
  }
}

test('live events arrive in revision order with prevKv, filtered by prefix; onReady signals', (t) => {
  const d = new Driver();
  const ready: number[] = [];
  d.machine.watches.onReady = (id) => ready.push(id);
  const id = d.machine.watches.watch({ key: '/p/', rangeEnd: prefixEnd('/p/'), prevKv: true });
  d.put('/p/a', '1');
  d.put('/q', 'x');
  d.put('/p/a', '2');
  d.del('/p/a');
  t.deepEqual(ready, [id]);
  const { events } = drain(d, id);
  t.deepEqual(events.map((e) => [e.type, e.kv.key, e.kv.modRevision]), [
    ['PUT', '/p/a', 1],
    ['PUT', '/p/a', 3],
    ['DELETE', '/p/a', 4],
  ]);
  t.is(events[0]!.prevKv, undefined);
  t.is(text(events[1]!.prevKv!.value), '1');
  t.is(text(events[2]!.prevKv!.value), '2');
});

test('a start revision in the past replays history, then continues live, exactly once', (t) => {
  const d = new Driver();
  for (let i = 1; i <= 50; i++) d.put(`/k/${i % 7}`, String(i));
  const id = d.machine.watches.watch({ key: '/k/', rangeEnd: prefixEnd('/k/'), startRevision: 10 });
  const first = drain(d, id, 7);
  for (let i = 51; i <= 60; i++) d.put(`/k/${i % 7}`, String(i));
  const second = drain(d, id, 3);
  const revisions = [...first.events, ...second.events].map((e) => e.kv.modRevision);
  t.deepEqual(revisions, Array.from({ length: 51 }, (_, i) => i + 10));
});

test('a single key watch and a txn: all events of a revision come in one batch', (t) => {
  const d = new Driver();
  const id = d.machine.watches.watch({ key: '/', rangeEnd: '\0' });
  d.run({ type: 'txn', txn: { compare: [], success: Array.from({ length: 5 }, (_, i) => ({ put: { key: `/t/${i}`, value: new Uint8Array([i]) } })), failure: [] } });
  d.put('/after', 'x');
  const batch = d.machine.watches.take(id, 2);
  t.is(batch.events.length, 5);
  t.true(batch.events.every((e) => e.kv.modRevision === 1));
  t.is(d.machine.watches.take(id, 2).events[0]!.kv.key, '/after');
  const single = d.machine.watches.watch({ key: '/t/3', startRevision: 1 });
  t.deepEqual(drain(d, single).events.map((e) => e.kv.key), ['/t/3']);
});

test('watching from a compacted revision is a CompactedError with the compact revision; catch-up past compaction cancels', (t) => {
  const d = new Driver();
  for (let i = 0; i < 20; i++) d.put('/k', String(i));
  const catching = d.machine.watches.watch({ key: '/k', startRevision: 2 });
  t.is(d.machine.watches.take(catching, 3).events.length, 3);
  d.run({ type: 'compact', revision: 10 });
  while (!d.machine.compactStep(100));
  const error = t.throws(() => d.machine.watches.watch({ key: '/k', startRevision: 10 }), { instanceOf: CompactedError });
  t.is(error.compactRevision, 10);
  const batch = d.machine.watches.take(catching);
  t.is(batch.canceled?.reason, 'compacted');
  t.is(batch.canceled?.compactRevision, 10);
  t.is(batch.canceled?.lastRevision, 4);
  t.throws(() => d.machine.watches.take(catching), { instanceOf: WatchNotFoundError });
  const ok = d.machine.watches.watch({ key: '/k', startRevision: 11 });
  t.is(drain(d, ok).events.length, 10);
});

test('progress: idle watchers get the current revision', (t) => {
  const d = new Driver();
  const idle = d.machine.watches.watch({ key: '/idle' });
  const busy = d.machine.watches.watch({ key: '/busy' });
  d.put('/busy', '1');
  d.put('/other', '1');
  const progress = d.machine.watches.progress();
  t.is(progress.revision, 2);
  t.deepEqual(progress.idleWatchIds, [idle]);
  t.false(d.machine.watches.isIdle(busy));
  const empty = d.machine.watches.take(idle);
  t.is(empty.events.length, 0);
  t.is(empty.revision, 2);
});

test('a slow watcher is cancelled with reason slow and resumes from lastRevision + 1 without loss or duplicates', (t) => {
  const d = new Driver();
  const id = d.machine.watches.watch({ key: '/s/', rangeEnd: prefixEnd('/s/') });
  const seen: number[] = [];
  const total = WATCHER_MAX_PENDING_EVENTS + 500;
  for (let i = 1; i <= 100; i++) d.put(`/s/${i}`, 'v');
  for (const e of d.machine.watches.take(id, 60).events) seen.push(e.kv.modRevision);
  for (let i = 101; i <= total; i++) d.put(`/s/${i % 1000}`, 'v');
  t.is(d.machine.watches.size(), 0, 'the watcher was dropped, its queue freed');
  const batch = d.machine.watches.take(id);
  t.is(batch.canceled?.reason, 'slow');
  const last = batch.canceled!.lastRevision;
  t.is(last, 60);
  const resumed = d.machine.watches.watch({ key: '/s/', rangeEnd: prefixEnd('/s/'), startRevision: last + 1 });
  for (const e of drain(d, resumed, 4000).events) seen.push(e.kv.modRevision);
  t.deepEqual(seen, Array.from({ length: total }, (_, i) => i + 1));
});

test('a restore cancels watchers with reason restored', (t) => {
  const d = new Driver();
  const id = d.machine.watches.watch({ key: '/x' });
  d.put('/x', '1');
  d.machine.restore(d.machine.snapshot());
  t.is(d.machine.watches.take(id).canceled?.reason, 'restored');
});

test('one revision larger than the bound (a big delete by prefix) does not cancel a watcher', (t) => {
  const d = new Driver();
  const count = WATCHER_MAX_PENDING_EVENTS + 10;
  d.run({ type: 'txn', txn: { compare: [], success: Array.from({ length: 1000 }, (_, i) => ({ put: { key: `/big/${i}`, value: new Uint8Array(1) } })), failure: [] } });
  for (let i = 1000; i < count; i += 1000) {
    d.run({ type: 'txn', txn: { compare: [], success: Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ put: { key: `/big/${i + j}`, value: new Uint8Array(1) } })), failure: [] } });
  }
  const id = d.machine.watches.watch({ key: '/big/', rangeEnd: prefixEnd('/big/') });
  d.del('/big/', prefixEnd('/big/'));
  const batch = d.machine.watches.take(id, 10);
  t.is(batch.canceled, undefined);
  t.is(batch.events.length, count);
  t.true(batch.events.every((e) => e.type === 'DELETE'));
});

test('a start revision in the future waits for it', (t) => {
  const d = new Driver();
  d.put('/f', '1');
  const id = d.machine.watches.watch({ key: '/f', startRevision: 3 });
  d.put('/f', '2');
  d.put('/f', '3');
  t.deepEqual(drain(d, id).events.map((e) => e.kv.modRevision), [3]);
});

