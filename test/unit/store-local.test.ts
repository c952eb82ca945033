// LocalStore: the in-process StoreClient the API server's unit tests run against. It must keep the
// store's contract: revisions, compare-and-swap txns, errors as StoreError classes, watches from a
// past revision delivered in order, compaction, and leases that expire on the injected clock.
import test from 'ava';
import { LocalStore } from '../../src/store/local-store.js';
import { CompactedError, StoreError, prefixEnd } from '../../src/store/index.js';
import type { WatchBatch } from '../../src/store/index.js';
import { VirtualClock, flushMicrotasks } from '../../src/testing/virtual-clock.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (value: Uint8Array): string => new TextDecoder().decode(value);

test('put, range and a compare-and-swap txn keep revisions and optimistic concurrency', async (t) => {
  const store = new LocalStore(new VirtualClock());
  const first = await store.put({ key: '/registry/pods/default/a', value: bytes('v1') });
  t.is(first.header.revision, 1);
  const read = await store.range({ key: '/registry/pods/', rangeEnd: prefixEnd('/registry/pods/') });
  t.is(read.count, 1);
  t.is(text(read.kvs[0]!.value), 'v1');
  const swap = (expected: number) =>
    store.txn({
      compare: [{ key: '/registry/pods/default/a', target: 'modRevision', result: 'equal', value: expected }],
      success: [{ put: { key: '/registry/pods/default/a', value: bytes('v2') } }],
      failure: [{ range: { key: '/registry/pods/default/a' } }],
    });
  t.true((await swap(1)).succeeded);
  const stale = await swap(1);
  t.false(stale.succeeded, 'a second update from the same revision must lose');
  t.is(stale.header.revision, 2);
  await store.close();
});

test('store errors reject with StoreError codes, and a closed store is unavailable', async (t) => {
  const store = new LocalStore(new VirtualClock());
  await store.put({ key: 'k', value: bytes('1') });
  await store.put({ key: 'k', value: bytes('2') });
  await store.compact(2);
  const error = await t.throwsAsync(store.range({ key: 'k', revision: 1 }));
  t.true(error instanceof CompactedError);
  const revoke = await t.throwsAsync(store.leaseRevoke(12345));
  t.true(revoke instanceof StoreError);
  t.is((revoke as StoreError).code, 'LEASE_NOT_FOUND');
  await store.close();
  const closed = await t.throwsAsync(store.range({ key: 'k' }));
  t.is((closed as StoreError).code, 'UNAVAILABLE');
});

test('a watch from a past revision replays history, then follows new writes in order', async (t) => {
  const clock = new VirtualClock();
  const store = new LocalStore(clock);
  await store.put({ key: '/a/1', value: bytes('x') });
  await store.put({ key: '/b/1', value: bytes('ignored') });
  const batches: WatchBatch[] = [];
  const handle = await store.watch({ key: '/a/', rangeEnd: prefixEnd('/a/'), startRevision: 1 }, (batch) => batches.push(batch));
  await store.put({ key: '/a/2', value: bytes('y') });
  await store.deleteRange({ key: '/a/1' });
  clock.advanceSync(1);
  await flushMicrotasks();
  const events = batches.flatMap((batch) => batch.events.map((event) => `${event.type} ${event.kv.key}@${event.kv.modRevision}`));
  t.deepEqual(events, ['PUT /a/1@1', 'PUT /a/2@3', 'DELETE /a/1@4']);
  handle.cancel();
  await store.put({ key: '/a/3', value: bytes('z') });
  clock.advanceSync(1);
  t.is(batches.flatMap((batch) => batch.events).length, 3, 'no events after cancel');
  await store.close();
});

test('a lease expires on the injected clock and takes its keys with it', async (t) => {
  const clock = new VirtualClock();
  const store = new LocalStore(clock);
  const lease = await store.leaseGrant(5);
  await store.put({ key: '/leased', value: bytes('1'), lease: lease.id });
  clock.advanceSync(4_000);
  await flushMicrotasks();
  t.is((await store.range({ key: '/leased' })).count, 1, 'alive before its TTL');
  await store.leaseKeepAlive(lease.id);
  clock.advanceSync(4_000);
  await flushMicrotasks();
  t.is((await store.range({ key: '/leased' })).count, 1, 'the keep-alive restarted the TTL');
  clock.advanceSync(2_000);
  await flushMicrotasks();
  t.is((await store.range({ key: '/leased' })).count, 0, 'gone after the TTL');
  await store.close();
});

test('a watcher with more queued events than one batch holds receives all of them', async (t) => {
  const clock = new VirtualClock(0);
  const store = new LocalStore(clock);
  const revisions: number[] = [];
  await store.watch({ key: '/many/', rangeEnd: '/many0' }, (batch) => {
    for (const event of batch.events) revisions.push(event.kv.modRevision);
  });
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 2_500; i++) writes.push(store.put({ key: `/many/${i % 10}`, value: new Uint8Array([i & 0xff]) }));
  await Promise.all(writes);
  await clock.advance(100);
  t.is(revisions.length, 2_500);
  t.true(revisions.every((revision, index) => index === 0 || revision === (revisions[index - 1] ?? 0) + 1));
  await store.close();
});
