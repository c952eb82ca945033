// The store as real replica processes (3 on loopback, src/testing/replica-cluster.ts) through
// RemoteStoreClient: the KV surface and watches; kill -9 of the leader (writes continue, no
// acknowledged write lost, a watch spans it with no gap and no duplicate); kill of a follower (it
// catches up after restart); a full-cluster kill -9 and restart (data kept: the WAL is fsync'd);
// garbage and wrong-shaped messages to a replica (error replies or a disconnect; it keeps serving).
// Serial: each test starts its own cluster, and timings are what they are on shared cores: the
// tests wait for outcomes with generous deadlines and never assert speed.
import test, { type ExecutionContext } from 'ava';
import { pino } from 'pino';
import { systemClock } from '../../src/actors/clock.js';
import { createActorSystem, Prng, type ActorSystem } from '../../src/actors/index.js';
import { WsTransport } from '../../src/actors/ws-transport.js';
import type { RemoteStoreClient } from '../../src/store/client/remote-store-client.js';
import { prefixEnd, type RangeResult } from '../../src/store/commands.js';
import { CompactedError, StoreError } from '../../src/store/errors.js';
import { CLIENT_PROTOCOL, ENDPOINT_PATH, PEER_PATH, type EndpointMessage, type PeerMessage, type StoreReply } from '../../src/store/replica/protocol.js';
import type { WatchBatch } from '../../src/store/watch-hub.js';
import { ReplicaCluster } from '../../src/testing/replica-cluster.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string): Uint8Array => encoder.encode(text);
const text = (value: Uint8Array): string => decoder.decode(value);

async function startCluster(t: ExecutionContext): Promise<ReplicaCluster> {
  const cluster = await ReplicaCluster.start();
  t.teardown(() => cluster.stopAll());
  return cluster;
}

async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return condition();
}

interface WriteLog {
  /** key -> revision of acknowledged puts. */
  readonly acked: Map<string, number>;
  /** Outcome unknown (TIMEOUT): may or may not have applied. */
  readonly unknown: Set<string>;
  /** Refused with UNAVAILABLE: must not have applied. */
  readonly refused: Set<string>;
  ackTimes: number[];
}

/** `writers` loops putting distinct keys under `prefix` until stop() resolves; each key is written once. */
function startWriters(client: RemoteStoreClient, prefix: string, writers: number): { log: WriteLog; stop: () => Promise<void> } {
  const log: WriteLog = { acked: new Map(), unknown: new Set(), refused: new Set(), ackTimes: [] };
  let stopping = false;
  const loops = Array.from({ length: writers }, async (_, writer) => {
    for (let i = 0; !stopping; i++) {
      const key = `${prefix}${writer}/${String(i).padStart(5, '0')}`;
      try {
        const result = await client.put({ key, value: bytes(`${writer}-${i}`) });
        log.acked.set(key, result.header.revision);
        log.ackTimes.push(Date.now());
      } catch (error) {
        if (error instanceof StoreError && error.code === 'TIMEOUT') log.unknown.add(key);
        else if (error instanceof StoreError && error.code === 'UNAVAILABLE') log.refused.add(key);
        else throw error;
      }
    }
  });
  return {
    log,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** Every acknowledged write is there with its value and revision; refused ones are absent. */
function checkWrites(t: ExecutionContext, log: WriteLog, stored: RangeResult): void {
  const byKey = new Map(stored.kvs.map((kv) => [kv.key, kv]));
  let lost = 0;
  for (const [key, revision] of log.acked) {
    const kv = byKey.get(key);
    if (kv === undefined || kv.modRevision !== revision || text(kv.value) !== `${key.split('/').at(-2) ?? ''}-${Number(key.split('/').at(-1))}`) lost++;
  }
  t.is(lost, 0, `${lost} acknowledged writes lost or changed`);
  const appliedRefused = [...log.refused].filter((key) => byKey.has(key));
  t.deepEqual(appliedRefused, [], 'a write refused as UNAVAILABLE was applied');
  const unexpected = stored.kvs.filter((kv) => !log.acked.has(kv.key) && !log.unknown.has(kv.key));
  t.deepEqual(unexpected.map((kv) => kv.key), [], 'keys nobody wrote (or whose write was refused)');
}

test.serial('put, range, delete, txn, leases, compaction and watches through RemoteStoreClient', async (t) => {
  const cluster = await startCluster(t);
  const client = await cluster.client();

  const first = await client.put({ key: '/a/1', value: bytes('one') });
  await client.put({ key: '/a/2', value: bytes('two') });
  const updated = await client.put({ key: '/a/1', value: bytes('uno'), prevKv: true });
  t.is(text(updated.prevKv?.value ?? new Uint8Array()), 'one');
  t.is(updated.header.revision, first.header.revision + 2);

  const all = await client.range({ key: '/a/', rangeEnd: prefixEnd('/a/') });
  t.deepEqual(all.kvs.map((kv) => [kv.key, text(kv.value), kv.version]), [['/a/1', 'uno', 2], ['/a/2', 'two', 1]]);
  const serializable = await client.range({ key: '/a/2' }, { serializable: true });
  t.true(serializable.kvs.length <= 1);
  const past = await client.range({ key: '/a/1', revision: first.header.revision });
  t.is(text(past.kvs[0]?.value ?? new Uint8Array()), 'one');

  // A watch from a past revision replays, then goes live, with prevKv.
  const batches: WatchBatch[] = [];
  const handle = await client.watch({ key: '/a/', rangeEnd: prefixEnd('/a/'), startRevision: first.header.revision, prevKv: true }, (batch) => batches.push(batch));

  const modRevision = updated.header.revision;
  const won = await client.txn({
    compare: [{ key: '/a/1', target: 'modRevision', result: 'equal', value: modRevision }],
    success: [{ put: { key: '/a/1', value: bytes('eins') } }, { range: { key: '/a/2' } }],
    failure: [],
  });
  t.true(won.succeeded);
  const lost = await client.txn({ compare: [{ key: '/a/1', target: 'modRevision', result: 'equal', value: modRevision }], success: [{ put: { key: '/a/1', value: bytes('x') } }], failure: [{ range: { key: '/a/1' } }] });
  t.false(lost.succeeded);
  const deleted = await client.deleteRange({ key: '/a/2', prevKv: true });
  t.is(deleted.deleted, 1);

  const events = (): Array<[string, string, number]> => batches.flatMap((batch) => batch.events.map((event): [string, string, number] => [event.type, event.kv.key, event.kv.modRevision]));
  t.true(await waitFor(() => events().length === 5), JSON.stringify(events()));
  t.deepEqual(events().map(([type, key]) => `${type} ${key}`), ['PUT /a/1', 'PUT /a/2', 'PUT /a/1', 'PUT /a/1', 'DELETE /a/2']);
  const revisions = events().map(([, , revision]) => revision);
  t.deepEqual(revisions, [...revisions].sort((a, b) => a - b));
  handle.cancel();

  // Leases: keys attached to a revoked lease go away.
  const lease = await client.leaseGrant(30);
  await client.put({ key: '/lease/k', value: bytes('v'), lease: lease.id });
  const kept = await client.leaseKeepAlive(lease.id);
  t.is(kept.ttlSeconds, 30);
  const ttl = await client.leaseTimeToLive(lease.id, true);
  t.deepEqual(ttl.keys, ['/lease/k']);
  await client.leaseRevoke(lease.id);
  t.is((await client.range({ key: '/lease/k' })).kvs.length, 0);

  // Compaction: reads and watches below it fail with CompactedError.
  const now = (await client.range({ key: '/a/1' })).header.revision;
  await client.compact(now);
  await t.throwsAsync(client.range({ key: '/a/1', revision: first.header.revision }), { instanceOf: CompactedError });
  await t.throwsAsync(client.watch({ key: '/a/1', startRevision: first.header.revision }, () => undefined), { instanceOf: CompactedError });
  // Application errors come back with their codes.
  const error = await client.leaseRevoke(987_654).catch((caught: unknown) => caught);
  t.is((error as StoreError).code, 'LEASE_NOT_FOUND');

  // A response larger than the actor runtime's default 4 MiB frame still arrives.
  const large = new Uint8Array(1_200_000).fill(7);
  for (let i = 0; i < 5; i++) await client.put({ key: `/large/${i}`, value: large });
  const bulk = await client.range({ key: '/large/', rangeEnd: prefixEnd('/large/') });
  t.deepEqual(bulk.kvs.map((kv) => kv.value.length), [1_200_000, 1_200_000, 1_200_000, 1_200_000, 1_200_000]);

  // Over the 1.5 MiB request limit: refused at once, not retried.
  const tooBig = await client.put({ key: '/big', value: new Uint8Array(5 * 1024 * 1024) }).catch((caught: unknown) => caught);
  t.is((tooBig as StoreError).code, 'REQUEST_TOO_LARGE');

  // Metrics, per replica, in Prometheus text format.
  const metrics = await client.metrics(cluster.nodeOf(await cluster.leaderId()));
  t.regex(metrics, /kplane_store_wal_fsync_duration_seconds_count [1-9]/);

  // SIGTERM is an orderly stop: exit 0.
  t.deepEqual(await cluster.kill(3, 'SIGTERM'), { code: 0, signal: null });
});

test.serial('kill -9 of the leader: writes continue after re-election and no acknowledged write is lost', async (t) => {
  const cluster = await startCluster(t);
  const client = await cluster.client();
  const leader = await cluster.leaderId();
  const writers = startWriters(client, '/w/', 8);
  t.true(await waitFor(() => writers.log.acked.size >= 40), cluster.allLogs());
  const killedAt = Date.now();
  await cluster.kill(leader, 'SIGKILL');
  const ackedAtKill = writers.log.acked.size;
  t.true(await waitFor(() => writers.log.acked.size >= ackedAtKill + 80, 20_000), `no progress after the kill\n${cluster.allLogs()}`);
  await writers.stop();
  const firstAckAfter = writers.log.ackTimes.find((time) => time > killedAt);
  t.log(`acked ${writers.log.acked.size} (unknown ${writers.log.unknown.size}, refused ${writers.log.refused.size}); first ack ${firstAckAfter === undefined ? '?' : firstAckAfter - killedAt} ms after the kill`);
  const newLeader = await cluster.leaderId();
  t.not(newLeader, leader);

  checkWrites(t, writers.log, await client.range({ key: '/w/', rangeEnd: prefixEnd('/w/') }));

  // The old leader comes back as a follower and catches up.
  await cluster.restart(leader);
  const target = (await client.range({ key: '/w/', countOnly: true })).header.revision;
  t.true(await waitFor(async () => ((await client.status(cluster.nodeOf(leader)).catch(() => undefined))?.revision ?? 0) >= target), cluster.logs(leader));
});

test.serial('a watch spans a kill of its replica (the leader) with no gap and no duplicate', async (t) => {
  const cluster = await startCluster(t);
  const client = await cluster.client();
  await client.put({ key: '/warmup', value: bytes('x') }); // learn the leader: the watch is opened there
  const leader = await cluster.leaderId();
  t.is(client.leaderNode, cluster.nodeOf(leader));

  const seen: Array<{ key: string; revision: number }> = [];
  const cancels: WatchBatch[] = [];
  await client.watch({ key: '/x/', rangeEnd: prefixEnd('/x/') }, (batch) => {
    for (const event of batch.events) seen.push({ key: event.kv.key, revision: event.kv.modRevision });
    if (batch.canceled !== undefined) cancels.push(batch);
  });
  const writers = startWriters(client, '/x/', 4);
  t.true(await waitFor(() => writers.log.acked.size >= 30), cluster.allLogs());
  await cluster.kill(leader, 'SIGKILL');
  const ackedAtKill = writers.log.acked.size;
  t.true(await waitFor(() => writers.log.acked.size >= ackedAtKill + 40, 20_000), cluster.allLogs());
  await writers.stop();

  const stored = await client.range({ key: '/x/', rangeEnd: prefixEnd('/x/') });
  checkWrites(t, writers.log, stored);
  // Every stored key was written once, so the watch must show exactly one PUT per stored key.
  t.true(await waitFor(() => seen.length >= stored.kvs.length), `watch saw ${seen.length} of ${stored.kvs.length}`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const revisions = seen.map((event) => event.revision);
  t.deepEqual(revisions, [...new Set(revisions)].sort((a, b) => a - b), 'events in strictly increasing revision order (no duplicate)');
  t.deepEqual(
    seen.map((event) => `${event.key}@${event.revision}`).sort(),
    stored.kvs.map((kv) => `${kv.key}@${kv.modRevision}`).sort(),
    'the watch saw exactly the stored writes (no gap)',
  );
  t.deepEqual(cancels, [], 'the caller saw no cancel');
});

test.serial('kill -9 of a follower: writes continue; restarted, it catches up', async (t) => {
  const cluster = await startCluster(t);
  const client = await cluster.client();
  const leader = await cluster.leaderId();
  const follower = cluster.replicas.map((replica) => replica.id).find((id) => id !== leader) ?? 0;
  await client.put({ key: '/f/before', value: bytes('1') });
  await cluster.kill(follower, 'SIGKILL');
  const writers = startWriters(client, '/f/w/', 4);
  t.true(await waitFor(() => writers.log.acked.size >= 60), cluster.allLogs());
  await writers.stop();
  t.is(writers.log.unknown.size + writers.log.refused.size, 0, 'a follower loss is invisible to writers');
  t.is(await cluster.leaderId(), leader, 'the leader kept its role');
  await cluster.restart(follower);
  const target = (await client.range({ key: '/f/', countOnly: true })).header.revision;
  t.true(await waitFor(async () => ((await client.status(cluster.nodeOf(follower)).catch(() => undefined))?.revision ?? 0) >= target), cluster.logs(follower));
  checkWrites(t, writers.log, await client.range({ key: '/f/w/', rangeEnd: prefixEnd('/f/w/') }));
});

test.serial('a full-cluster kill -9 and restart keeps every acknowledged write', async (t) => {
  const cluster = await startCluster(t);
  const client = await cluster.client();
  const writers = startWriters(client, '/r/', 8);
  t.true(await waitFor(() => writers.log.acked.size >= 100), cluster.allLogs());
  await writers.stop();
  const txn = await client.txn({ compare: [{ key: '/r/txn', target: 'version', result: 'equal', value: 0 }], success: [{ put: { key: '/r/txn', value: bytes('t') } }], failure: [] });
  t.true(txn.succeeded);
  const revisionBefore = txn.header.revision;

  await Promise.all(cluster.replicas.map((replica) => cluster.kill(replica.id, 'SIGKILL')));
  await Promise.all(cluster.replicas.map((replica) => cluster.restart(replica.id)));
  await cluster.leaderId();

  const after = await cluster.client();
  const stored = await after.range({ key: '/r/', rangeEnd: prefixEnd('/r/') });
  t.true(stored.header.revision >= revisionBefore);
  const withoutTxn = { ...stored, kvs: stored.kvs.filter((kv) => kv.key !== '/r/txn') };
  checkWrites(t, writers.log, withoutTxn);
  t.is(stored.kvs.find((kv) => kv.key === '/r/txn')?.modRevision, revisionBefore);
  const next = await after.put({ key: '/r/next', value: bytes('n') });
  t.true(next.header.revision > revisionBefore);
});

async function rawSystem(t: ExecutionContext, secret: string): Promise<ActorSystem> {
  const log = pino({ level: 'silent' });
  const transport = new WsTransport({ node: `garbage-${process.pid}`, incarnation: `garbage-${Date.now()}`, secret, log, clock: systemClock, reconnectBackoffMinMs: 20, reconnectBackoffMaxMs: 300 });
  const system = createActorSystem(
    { node: transport.local.node, incarnation: transport.local.incarnation, clock: systemClock, random: new Prng(7), log, transport, protocol: CLIENT_PROTOCOL },
    { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1_000 },
  );
  t.teardown(async () => {
    await system.terminate();
    await transport.close();
  });
  return system;
}

test.serial('garbage to a replica gets error replies or a disconnect, and the replica keeps serving', async (t) => {
  const cluster = await startCluster(t);
  const client = await cluster.client();
  await client.put({ key: '/g/ok', value: bytes('1') });
  const leader = await cluster.leaderId();
  const follower = cluster.replicas.map((replica) => replica.id).find((id) => id !== leader) ?? 0;
  const system = await rawSystem(t, cluster.secret);
  const endpoint = system.refFor<EndpointMessage>(cluster.nodeOf(leader), ENDPOINT_PATH);
  const ask = (make: (replyTo: never) => unknown): Promise<StoreReply> => system.ask<EndpointMessage, StoreReply>(endpoint, make as never, 3_000);

  // Well-formed envelopes with bad bodies: error replies.
  const badPut = await ask((replyTo) => ({ type: 'store.request', op: { kind: 'write', body: { type: 'put', put: { key: 5, value: 'x' } } }, replyTo }));
  t.like(badPut, { ok: false, code: 'BAD_COMMAND' });
  const badBody = await ask((replyTo) => ({ type: 'store.request', op: { kind: 'write', body: { type: 'nonsense' }, session: { clientId: '', sequence: -1 } }, replyTo }));
  t.like(badBody, { ok: false, code: 'BAD_COMMAND' });
  const badRange = await ask((replyTo) => ({ type: 'store.request', op: { kind: 'range', request: { key: { nested: true }, limit: 'all' }, serializable: false }, replyTo }));
  t.like(badRange, { ok: false, code: 'INVALID_REQUEST' });
  const badWatch = await ask((replyTo) => ({ type: 'store.watch', watchId: 'w1', request: { key: 7, startRevision: -3 }, target: replyTo, replyTo }));
  t.like(badWatch, { ok: false, code: 'INVALID_REQUEST' });

  // A follower redirects to the leader's node.
  const redirected = await system.ask<EndpointMessage, StoreReply>(
    system.refFor(cluster.nodeOf(follower), ENDPOINT_PATH),
    (replyTo) => ({ type: 'store.request', op: { kind: 'write', body: { type: 'put', put: { key: '/g/r', value: bytes('r') } } }, replyTo }),
    3_000,
  );
  t.like(redirected, { ok: false, code: 'NOT_LEADER', leaderNode: cluster.nodeOf(leader) });

  // Garbage Raft messages to the peer actor: dropped by the core's checks.
  const peer = system.refFor<PeerMessage>(cluster.nodeOf(leader), PEER_PATH);
  system.tell(peer, { type: 'raft.message', message: { type: 'append', from: 'x', to: leader, term: -1 } as never });
  system.tell(peer, { type: 'raft.message', message: { type: 'vote', from: follower, to: 99, term: 1e9 } as never });
  system.tell(peer, { type: 'raft.message', message: { type: 'heartbeat', from: follower, to: leader, term: Number.NaN, commit: 'x', context: 5 } as never });

  // Wrong envelope shapes fail the replica's protocol validators: the connection is dropped, no reply.
  await t.throwsAsync(ask((replyTo) => ({ type: 'store.request', op: 'everything', replyTo })), { message: /no reply/ });
  system.tell(endpoint, { type: 'store.nonsense' } as never);

  // The replica still serves, and the leader is unchanged by any of it.
  const after = await client.put({ key: '/g/after', value: bytes('2') });
  t.true(after.header.revision > 0);
  t.is((await client.range({ key: '/g/', rangeEnd: prefixEnd('/g/') })).kvs.length, 2);
  t.is(await cluster.leaderId(), leader);
  t.true(cluster.replicas.every((replica) => cluster.isRunning(replica.id)));
});
