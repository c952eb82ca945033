// The MVCC key-value state machine: revisions, put/delete/range, transactions, past reads,
// limits and compaction (issue 5 §1).
import test from 'ava';
import fc from 'fast-check';
import {
  CompactedError,
  FutureRevisionError,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  StateMachine,
  prefixEnd,
  checkRequestSize,
  encodeForProposal,
  MAX_REQUEST_BYTES,
  RequestTooLargeError,
} from '../../src/store/index.js';
import { Driver, bytes, expectType, text } from './store-helpers.js';

test('each write advances the revision; create/mod revision and version per key; delete resets version', (t) => {
  const d = new Driver();
  t.is(expectType(d.put('/a', '1'), 'put').put.header.revision, 1);
  d.put('/b', '1');
  d.put('/a', '2');
  let kv = d.machine.range({ key: '/a' }).kvs[0]!;
  t.deepEqual([kv.createRevision, kv.modRevision, kv.version], [1, 3, 2]);
  const deleted = expectType(d.del('/a', undefined, true), 'deleteRange').deleteRange;
  t.is(deleted.deleted, 1);
  t.is(text(deleted.prevKvs![0]!.value), '2');
  t.is(d.machine.revision, 4);
  t.is(d.get('/a'), undefined);
  d.put('/a', '3');
  kv = d.machine.range({ key: '/a' }).kvs[0]!;
  t.deepEqual([kv.createRevision, kv.modRevision, kv.version], [5, 5, 1]);
  // Deleting nothing does not advance the revision.
  t.is(expectType(d.del('/zzz'), 'deleteRange').deleteRange.deleted, 0);
  t.is(d.machine.revision, 5);
});

test('put prevKv, ignoreValue and ignoreLease', (t) => {
  const d = new Driver();
  const lease = expectType(d.run({ type: 'leaseGrant', id: 0, ttlSeconds: 10 }), 'leaseGrant').id;
  d.put('/k', 'v1', { lease });
  const second = expectType(d.run({ type: 'put', put: { key: '/k', value: new Uint8Array(0), ignoreValue: true, ignoreLease: true, prevKv: true } }), 'put');
  t.is(text(second.put.prevKv!.value), 'v1');
  const kv = d.machine.range({ key: '/k' }).kvs[0]!;
  t.is(text(kv.value), 'v1');
  t.is(kv.lease, lease);
  t.is(kv.version, 2);
  t.is(expectType(d.run({ type: 'put', put: { key: '/missing', value: new Uint8Array(0), ignoreValue: true } }), 'error').code, 'KEY_NOT_FOUND');
  t.is(expectType(d.put('/x', 'v', { lease: 999 }), 'error').code, 'LEASE_NOT_FOUND');
});

test('range: prefix, [key, end), limit with more/count, count-only, keys-only, sort', (t) => {
  const d = new Driver();
  for (const name of ['c', 'a', 'b', 'd']) d.put(`/p/${name}`, `value-${name}`);
  d.put('/q', 'outside');
  d.put('/p/a', 'again');
  const all = d.machine.range({ key: '/p/', rangeEnd: prefixEnd('/p/') });
  t.deepEqual(all.kvs.map((kv) => kv.key), ['/p/a', '/p/b', '/p/c', '/p/d']);
  t.is(all.header.revision, 6);
  const limited = d.machine.range({ key: '/p/', rangeEnd: prefixEnd('/p/'), limit: 2 });
  t.deepEqual(limited.kvs.map((kv) => kv.key), ['/p/a', '/p/b']);
  t.true(limited.more);
  t.is(limited.count, 4);
  const between = d.machine.range({ key: '/p/b', rangeEnd: '/p/d' });
  t.deepEqual(between.kvs.map((kv) => kv.key), ['/p/b', '/p/c']);
  const countOnly = d.machine.range({ key: '/', rangeEnd: '\0', countOnly: true });
  t.is(countOnly.count, 5);
  t.is(countOnly.kvs.length, 0);
  const keysOnly = d.machine.range({ key: '/p/a', keysOnly: true });
  t.is(keysOnly.kvs[0]!.value.length, 0);
  const byMod = d.machine.range({ key: '/p/', rangeEnd: prefixEnd('/p/'), sortTarget: 'modRevision', sortOrder: 'descend', limit: 2 });
  t.deepEqual(byMod.kvs.map((kv) => kv.key), ['/p/a', '/p/d']);
  t.is(prefixEnd('a\uffff'), 'b');
  t.is(prefixEnd('\uffff'), '\0');
});

test('reads at past revisions come from history; compacted and future revisions are errors', (t) => {
  const d = new Driver();
  d.put('/k', 'v1'); // 1
  d.put('/k', 'v2'); // 2
  d.del('/k'); // 3
  d.put('/k', 'v4'); // 4
  d.put('/other', 'x'); // 5
  t.is(d.get('/k', 1), 'v1');
  t.is(d.get('/k', 2), 'v2');
  t.is(d.get('/k', 3), undefined);
  t.is(d.get('/k', 4), 'v4');
  t.is(d.machine.range({ key: '/', rangeEnd: '\0', revision: 2 }).count, 1);
  t.throws(() => d.machine.range({ key: '/k', revision: 6 }), { instanceOf: FutureRevisionError });
  expectType(d.run({ type: 'compact', revision: 3 }), 'compact');
  const error = t.throws(() => d.machine.range({ key: '/k', revision: 2 }), { instanceOf: CompactedError });
  t.is(error.compactRevision, 3);
  t.is(d.get('/k', 3), undefined);
  t.is(d.get('/k', 4), 'v4');
  t.is(expectType(d.run({ type: 'compact', revision: 2 }), 'error').code, 'COMPACTED');
  t.is(expectType(d.run({ type: 'compact', revision: 99 }), 'error').code, 'FUTURE_REVISION');
});

test('a txn gets one revision, its writes sub-revisions; compares on every target', (t) => {
  const d = new Driver();
  d.put('/a', 'x');
  const result = expectType(
    d.run({
      type: 'txn',
      txn: {
        compare: [
          { key: '/a', target: 'version', result: 'equal', value: 1 },
          { key: '/a', target: 'value', result: 'equal', value: bytes('x') },
          { key: '/a', target: 'modRevision', result: 'less', value: 2 },
          { key: '/a', target: 'createRevision', result: 'greater', value: 0 },
          { key: '/b', target: 'version', result: 'equal', value: 0 },
          { key: '/a', target: 'lease', result: 'notEqual', value: 5 },
        ],
        success: [{ put: { key: '/b', value: bytes('1') } }, { put: { key: '/c', value: bytes('2') } }, { deleteRange: { key: '/a' } }, { range: { key: '/b' } }],
        failure: [{ put: { key: '/failed', value: bytes('') } }],
      },
    }),
    'txn',
  ).txn;
  t.true(result.succeeded);
  t.is(result.header.revision, 2);
  t.is(d.machine.revision, 2);
  const range = result.responses[3];
  t.true(range !== undefined && 'range' in range && text(range.range.kvs[0]!.value) === '1');
  t.is(d.machine.range({ key: '/b' }).kvs[0]!.modRevision, 2);
  t.is(d.machine.range({ key: '/c' }).kvs[0]!.modRevision, 2);
  // Failing compare runs the failure branch.
  const failed = expectType(
    d.run({ type: 'txn', txn: { compare: [{ key: '/b', target: 'modRevision', result: 'equal', value: 1 }], success: [], failure: [{ put: { key: '/f', value: bytes('y') } }] } }),
    'txn',
  ).txn;
  t.false(failed.succeeded);
  t.is(d.get('/f'), 'y');
  // A txn whose branch has a bad op applies none of it.
  const rejected = d.run({ type: 'txn', txn: { compare: [], success: [{ put: { key: '/g', value: bytes('1') } }, { put: { key: '/h', value: bytes('1'), lease: 77 } }], failure: [] } });
  t.is(expectType(rejected, 'error').code, 'LEASE_NOT_FOUND');
  t.is(d.get('/g'), undefined);
  t.is(d.machine.revision, 3);
});

test('range compares hold for every key in the range; an empty txn does not advance the revision', (t) => {
  const d = new Driver();
  d.put('/r/1', 'a');
  d.put('/r/2', 'a');
  const ok = expectType(d.run({ type: 'txn', txn: { compare: [{ key: '/r/', rangeEnd: prefixEnd('/r/'), target: 'version', result: 'equal', value: 1 }], success: [], failure: [] } }), 'txn');
  t.true(ok.txn.succeeded);
  t.is(ok.txn.header.revision, 2);
  d.put('/r/2', 'b');
  const no = expectType(d.run({ type: 'txn', txn: { compare: [{ key: '/r/', rangeEnd: prefixEnd('/r/'), target: 'version', result: 'equal', value: 1 }], success: [], failure: [] } }), 'txn');
  t.false(no.txn.succeeded);
  t.is(d.machine.revision, 3);
});

test('delete by prefix removes every key in one revision', (t) => {
  const d = new Driver();
  for (let i = 0; i < 10; i++) d.put(`/ns/${i}`, String(i));
  d.put('/nt', 'keep');
  const result = expectType(d.del('/ns/', prefixEnd('/ns/')), 'deleteRange').deleteRange;
  t.is(result.deleted, 10);
  t.is(result.header.revision, 12);
  t.is(d.machine.range({ key: '/', rangeEnd: '\0' }).count, 1);
});

test('limits: key size, value size, request size, quota gives NO_SPACE while deletes still work', (t) => {
  const d = new Driver(new StateMachine({ quotaBytes: 1000 }));
  t.is(expectType(d.put('/' + 'k'.repeat(MAX_KEY_BYTES), 'v'), 'error').code, 'KEY_TOO_LARGE');
  t.is(expectType(d.put('/é' + 'é'.repeat(MAX_KEY_BYTES / 2), 'v'), 'error').code, 'KEY_TOO_LARGE');
  t.is(expectType(d.run({ type: 'put', put: { key: '/big', value: new Uint8Array(MAX_VALUE_BYTES + 1) } }), 'error').code, 'VALUE_TOO_LARGE');
  t.is(expectType(d.put('', 'v'), 'error').code, 'INVALID_REQUEST');
  for (let i = 0; i < 9; i++) expectType(d.put(`/k${i}`, 'x'.repeat(97)), 'put');
  const full = expectType(d.put('/k9', 'x'.repeat(200)), 'error');
  t.is(full.code, 'NO_SPACE');
  t.is(d.machine.revision, 9);
  t.is(d.machine.range({ key: '/k0' }).count, 1);
  expectType(d.del('/k0'), 'deleteRange');
  expectType(d.put('/k9', 'x'.repeat(90)), 'put');
  const huge = encodeForProposal({ nowMs: 0, body: { type: 'put', put: { key: '/x', value: new Uint8Array(MAX_REQUEST_BYTES) } } });
  t.true(huge instanceof RequestTooLargeError);
  t.is(checkRequestSize(new Uint8Array(10)), undefined);
});

test('compaction keeps the latest version of every live key, drops deleted keys, works in bounded steps', (t) => {
  const d = new Driver();
  for (let round = 0; round < 5; round++) for (let i = 0; i < 200; i++) d.put(`/k/${i}`, `${round}`);
  for (let i = 0; i < 50; i++) d.del(`/k/${i}`);
  const before = d.machine.keys.physicalRecordCount();
  t.is(before, 1050);
  const snapshotBefore = (() => {
    const copy = new StateMachine();
    copy.restore(d.machine.snapshot());
    return copy;
  })();
  expectType(d.run({ type: 'compact', revision: d.machine.revision }), 'compact');
  // Each apply does a bounded amount; finish with explicit steps and count them.
  let steps = 0;
  while (!d.machine.compactStep(10)) steps++;
  t.true(steps >= 10);
  t.is(d.machine.keys.physicalRecordCount(), 150);
  const live = d.machine.range({ key: '/k/', rangeEnd: prefixEnd('/k/') });
  t.is(live.count, 150);
  t.true(live.kvs.every((kv) => text(kv.value) === '4' && kv.version === 5));
  // Snapshots are logical: a copy restored from before physical compaction, then compacted, matches.
  snapshotBefore.apply(d.index, { nowMs: d.nowMs, body: { type: 'compact', revision: d.machine.revision } });
  t.deepEqual(snapshotBefore.snapshot(), d.machine.snapshot());
});

test('retention policy: compaction command by revision count and by command-time age', (t) => {
  const d = new Driver();
  for (let i = 0; i < 500; i++) {
    d.put('/k', String(i));
    d.advance(100);
  }
  const byCount = d.machine.compactionCommand({ retainRevisions: 100 }, d.nowMs);
  t.deepEqual(byCount?.body, { type: 'compact', revision: 400 });
  // 50 s of commands; keep the last 20 s: compact to the newest sampled revision at least 20 s old.
  const byAge = d.machine.compactionCommand({ retainMs: 20_000 }, d.nowMs);
  t.true(byAge !== undefined && byAge.body.type === 'compact');
  const target = byAge!.body.type === 'compact' ? byAge!.body.revision : 0;
  t.true(target >= 291 && target <= 301, `target ${target}`); // revision 301 was committed exactly 20 s before now
  t.is(d.machine.compactionCommand({ retainRevisions: 1000 }, d.nowMs), undefined);
  d.command(byAge!);
  t.is(d.machine.compactRevision, target);
  t.is(d.machine.compactionCommand({ retainMs: 20_000 }, d.nowMs), undefined);
});

test('the lazy sorted key index stays exact through batches of new keys, deletes and compactions', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ adds: fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 80 }), deletes: fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 20 }), compact: fc.boolean() }), { maxLength: 12 }),
      (batches) => {
        const d = new Driver(new StateMachine({ compactionKeysPerApply: 7 }));
        const live = new Set<string>();
        for (const batch of batches) {
          for (const n of batch.adds) {
            d.put(`/k/${n}`, 'v');
            live.add(`/k/${n}`);
          }
          for (const n of batch.deletes) {
            d.del(`/k/${n}`);
            live.delete(`/k/${n}`);
          }
          if (batch.compact && d.machine.revision > d.machine.compactRevision) d.run({ type: 'compact', revision: d.machine.revision });
          const keys = d.machine.range({ key: '/k/', rangeEnd: prefixEnd('/k/') }).kvs.map((kv) => kv.key);
          if (JSON.stringify(keys) !== JSON.stringify([...live].sort())) return false;
          const from = d.machine.range({ key: '/k/150', rangeEnd: '\0', countOnly: true }).count;
          if (from !== [...live].filter((k) => k >= '/k/150').length) return false;
        }
        return true;
      },
    ),
    { numRuns: 100 },
  );
  t.pass();
});

