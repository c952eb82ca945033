// Leases and client sessions: leader-decided expiry through committed commands, the leader-change
// policy (checkpoint + rebase), and exactly-once retried writes with a bounded session table.
import test from 'ava';
import { StateMachine, LEASE_CHECKPOINT_INTERVAL_MS, type ApplyResult } from '../../src/store/index.js';
import { Driver, bytes, expectType } from './store-helpers.js';

test('grant, attach keys, keep-alive, time-to-live and revoke (keys deleted in one revision)', (t) => {
  const d = new Driver();
  const granted = expectType(d.run({ type: 'leaseGrant', id: 0, ttlSeconds: 10 }), 'leaseGrant');
  t.is(granted.id, 1);
  t.is(expectType(d.run({ type: 'leaseGrant', id: 1, ttlSeconds: 10 }), 'error').code, 'LEASE_EXISTS');
  t.is(expectType(d.run({ type: 'leaseGrant', id: 0, ttlSeconds: 0 }), 'error').code, 'INVALID_TTL');
  d.put('/l/a', '1', { lease: 1 });
  d.put('/l/b', '1', { lease: 1 });
  d.put('/l/c', '1', { lease: 1 });
  d.put('/l/c', '2'); // re-put without the lease detaches it
  d.del('/l/b');
  d.advance(4_000);
  t.is(d.machine.timeToLive(1, d.nowMs, true).ttlSeconds, 6);
  t.deepEqual(d.machine.timeToLive(1, d.nowMs, true).keys, ['/l/a']);
  expectType(d.run({ type: 'leaseKeepAlive', id: 1 }), 'leaseKeepAlive');
  t.is(d.machine.timeToLive(1, d.nowMs).ttlSeconds, 10);
  const revision = d.machine.revision;
  const revoked = expectType(d.run({ type: 'leaseRevoke', id: 1 }), 'leaseRevoke');
  t.is(revoked.header.revision, revision + 1);
  t.is(d.get('/l/a'), undefined);
  t.is(d.get('/l/c'), '2');
  t.is(d.machine.timeToLive(1, d.nowMs).ttlSeconds, -1);
  t.is(expectType(d.run({ type: 'leaseKeepAlive', id: 1 }), 'error').code, 'LEASE_NOT_FOUND');
});

test('the state machine never expires a lease itself; the leader asks expiredLeases and commits revokes', (t) => {
  const d = new Driver();
  d.run({ type: 'leaseGrant', id: 7, ttlSeconds: 5 });
  d.run({ type: 'leaseGrant', id: 3, ttlSeconds: 2 });
  d.put('/k', 'v', { lease: 7 });
  d.advance(60_000);
  d.put('/other', 'x'); // time passes in commands: nothing expires by itself
  t.is(d.get('/k'), 'v');
  t.deepEqual(d.machine.expiredLeases(d.nowMs), [3, 7]);
  t.deepEqual(d.machine.expiredLeases(d.nowMs, 1), [3]);
  for (const id of d.machine.expiredLeases(d.nowMs)) d.run({ type: 'leaseRevoke', id });
  t.is(d.get('/k'), undefined);
  t.deepEqual(d.machine.expiredLeases(d.nowMs), []);
});

test('leader change: remaining TTL from the last checkpoint plus one election timeout, not the full TTL', (t) => {
  const d = new Driver();
  d.run({ type: 'leaseGrant', id: 1, ttlSeconds: 60 });
  d.run({ type: 'leaseGrant', id: 2, ttlSeconds: 60 });
  d.advance(40_000);
  d.run({ type: 'leaseKeepAlive', id: 2 }); // lease 2: 60 s left as of now
  d.advance(10_000);
  d.command(d.machine.leaseCheckpointCommand(d.nowMs)); // lease 1: 10 s left, lease 2: 50 s left
  // The old leader dies; the new leader's clock is far off (it does not matter).
  const newLeaderNow = 5_000_000_000;
  const electionTimeoutMs = 1_000;
  d.command(d.machine.onBecomeLeader(newLeaderNow, electionTimeoutMs));
  t.is(d.machine.timeToLive(1, newLeaderNow).ttlSeconds, 11);
  t.is(d.machine.timeToLive(2, newLeaderNow).ttlSeconds, 51);
  t.deepEqual(d.machine.expiredLeases(newLeaderNow + 10_999), []);
  t.deepEqual(d.machine.expiredLeases(newLeaderNow + 11_000), [1]);
  t.deepEqual(d.machine.expiredLeases(newLeaderNow + 51_000), [1, 2]);
  // Without a recent checkpoint the extension is bounded by the checkpoint interval + election timeout.
  t.true(LEASE_CHECKPOINT_INTERVAL_MS + electionTimeoutMs < 60_000);
});

test('leases and their keys survive snapshot and restore', (t) => {
  const d = new Driver();
  d.run({ type: 'leaseGrant', id: 9, ttlSeconds: 30 });
  d.put('/a', '1', { lease: 9 });
  d.put('/b', '1', { lease: 9 });
  const copy = new StateMachine();
  copy.restore(d.machine.snapshot());
  t.deepEqual(copy.timeToLive(9, d.nowMs, true), d.machine.timeToLive(9, d.nowMs, true));
  copy.apply(d.index + 1, { nowMs: d.nowMs, body: { type: 'leaseRevoke', id: 9 } });
  t.is(copy.range({ key: '/', rangeEnd: '\0' }).count, 0);
});

test('sessions: a retried write applies once and returns the cached result; older sequences are STALE', (t) => {
  const d = new Driver();
  const session = { clientId: 'api-1', sequence: 1 };
  const first = d.run({ type: 'put', put: { key: '/x', value: bytes('1') } }, session);
  const retry = d.run({ type: 'put', put: { key: '/x', value: bytes('1') } }, session);
  t.deepEqual(retry, first);
  t.is(d.machine.revision, 1);
  t.is(d.machine.range({ key: '/x' }).kvs[0]!.version, 1);
  d.run({ type: 'put', put: { key: '/x', value: bytes('2') } }, { clientId: 'api-1', sequence: 2 });
  const stale = d.run({ type: 'put', put: { key: '/x', value: bytes('1') } }, session);
  t.is(expectType(stale, 'error').code, 'STALE_SEQUENCE');
  t.is(d.get('/x'), '2');
  // The table (with cached results) is in the snapshot: a restored replica dedupes the same way.
  const copy = new Driver(new StateMachine());
  copy.machine.restore(d.machine.snapshot());
  copy.index = d.index;
  copy.nowMs = d.nowMs;
  const replay = copy.run({ type: 'put', put: { key: '/x', value: bytes('2') } }, { clientId: 'api-1', sequence: 2 });
  t.is(copy.machine.revision, 2);
  t.is(expectType(replay, 'put').put.header.revision, 2);
});

test('sessions: least recently used evicted beyond the bound; idle sessions expire in command time', (t) => {
  const d = new Driver(new StateMachine({ maxClientSessions: 3, sessionIdleExpiryMs: 10_000 }));
  const put = (client: string, sequence: number): ApplyResult => d.run({ type: 'put', put: { key: `/${client}`, value: bytes(String(sequence)) } }, { clientId: client, sequence });
  put('a', 1);
  put('b', 1);
  put('c', 1);
  put('a', 2); // a is now most recently used
  put('d', 1); // evicts b
  t.is(d.machine.sessions.size(), 3);
  const beforeRevision = d.machine.revision;
  put('b', 1); // b was forgotten: applied again (documented limit)
  t.is(d.machine.revision, beforeRevision + 1);
  put('a', 2); // a still remembered: not applied
  t.is(d.machine.revision, beforeRevision + 1);
  d.advance(20_000);
  d.put('/tick', 'x');
  t.is(d.machine.sessions.size(), 0);
});

test('sessions: an error result is not cached, so a retry after the cause is gone applies once', (t) => {
  const d = new Driver(new StateMachine({ quotaBytes: 100 }));
  d.put('/fill', 'x'.repeat(80));
  const session = { clientId: 'api-2', sequence: 1 };
  const body = { type: 'put' as const, put: { key: '/new', value: bytes('y'.repeat(30)) } };
  t.is(expectType(d.run(body, session), 'error').code, 'NO_SPACE');
  d.del('/fill');
  const applied = expectType(d.run(body, session), 'put');
  t.is(applied.put.header.revision, 3);
  t.deepEqual(d.run(body, session), { type: 'put', put: applied.put });
  t.is(d.machine.revision, 3);
});
