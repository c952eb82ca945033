// ReplicaNode on a virtual clock: three replicas wired directly (no network faults, in-memory storage).
// The randomized fault runs are in test/sim; this file checks the node's own duties: writes answered
// once applied (by a leader whose own fsync is slow too), NOT_LEADER from followers, linearizable reads
// on any replica (sharing ReadIndex rounds), watches, snapshots and catch-up, lease expiry decided by the leader, and a leader change that keeps every acknowledged write.

import test from 'ava';
import { Prng, silentLogger } from '../../src/actors/index.js';
import type { Entry, HardState, Message, ReplicaId, Snapshot } from '../../src/raft/index.js';
import type { PutResult } from '../../src/store/commands.js';
import { NotLeaderError } from '../../src/store/errors.js';
import { ReplicaNode, type ReplicaStorage } from '../../src/store/replica/node.js';
import type { WatchBatch } from '../../src/store/watch-hub.js';
import { VirtualClock } from '../../src/testing/virtual-clock.js';

class MemoryStorage implements ReplicaStorage {
  persisted = 0;
  snapshots: Snapshot[] = [];
  /** While set, persists of entries wait (a slow fsync) until `release()`. */
  hold = false;
  private held: (() => void)[] = [];
  persist(entries: readonly Entry[], _hardState?: HardState): Promise<void> {
    this.persisted += entries.length;
    if (!this.hold || entries.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.held.push(resolve));
  }
  get heldCount(): number {
    return this.held.length;
  }
  release(): void {
    this.hold = false;
    for (const resolve of this.held.splice(0)) resolve();
  }
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshots.push(snapshot);
    return Promise.resolve();
  }
}

interface Group {
  readonly clock: VirtualClock;
  readonly nodes: Map<ReplicaId, ReplicaNode>;
  readonly storages: Map<ReplicaId, MemoryStorage>;
  readonly down: Set<ReplicaId>;
  run(ms: number): Promise<void>;
  leader(): ReplicaNode;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function group(seed: number, options: { snapshotEveryEntries?: number; snapshotCatchUpEntries?: number } = {}): Group {
  const clock = new VirtualClock(1_700_000_000_000);
  const nodes = new Map<ReplicaId, ReplicaNode>();
  const storages = new Map<ReplicaId, MemoryStorage>();
  const down = new Set<ReplicaId>();
  const ids = [1, 2, 3];
  for (const id of ids) {
    const storage = new MemoryStorage();
    storages.set(id, storage);
    nodes.set(
      id,
      new ReplicaNode({
        id,
        voters: ids,
        clock,
        random: new Prng(seed * 10 + id),
        log: silentLogger(),
        storage,
        outbox: (to: ReplicaId, message: Message) => {
          if (down.has(id) || down.has(to)) return;
          clock.setTimer(1, () => {
            if (!down.has(to)) nodes.get(to)?.receive(message);
          });
        },
        ...options,
      }),
    );
  }
  return {
    clock,
    nodes,
    storages,
    down,
    run: (ms) => clock.advance(ms),
    leader() {
      const leaders = [...nodes.values()].filter((node) => !down.has(node.status().id) && node.status().role === 'leader');
      const newest = leaders.sort((a, b) => b.status().term - a.status().term)[0];
      if (newest === undefined) throw new Error('no leader');
      return newest;
    },
  };
}

async function settle<T>(g: Group, promise: Promise<T>, maxMs = 10_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let failure: unknown;
  promise.then(
    (v) => {
      done = true;
      value = v;
    },
    (e: unknown) => {
      done = true;
      failure = e;
    },
  );
  for (let elapsed = 0; !done && elapsed < maxMs; elapsed += 10) await g.run(10);
  if (!done) throw new Error(`not settled within ${maxMs} simulated ms`);
  if (failure !== undefined) throw failure;
  return value as T;
}

async function put(g: Group, node: ReplicaNode, key: string, value: string): Promise<PutResult> {
  const result = await settle(g, node.write({ type: 'put', put: { key, value: encoder.encode(value) } }));
  if (result.type !== 'put') throw new Error(`expected a put result, got ${result.type}`);
  return result.put;
}

test('a leader is elected; writes are answered once applied on every replica; followers refuse writes naming the leader', async (t) => {
  const g = group(1);
  await g.run(3_000);
  const leader = g.leader();
  const first = await put(g, leader, '/a', 'one');
  const second = await put(g, leader, '/b', 'two');
  t.true(second.header.revision === first.header.revision + 1);
  await g.run(500);
  for (const node of g.nodes.values()) t.is(node.machine.revision, second.header.revision);

  const follower = [...g.nodes.values()].find((node) => node !== leader) as ReplicaNode;
  const refused = await t.throwsAsync(settle(g, follower.write({ type: 'put', put: { key: '/c', value: encoder.encode('x') } })));
  t.true(refused instanceof NotLeaderError);
  t.is((refused as NotLeaderError).leader, leader.status().id);
});

test('a leader answers writes its followers made durable while its own fsync is still running', async (t) => {
  const g = group(7);
  await g.run(3_000);
  const leader = g.leader();
  const storage = g.storages.get(leader.status().id) as MemoryStorage;
  storage.hold = true;
  const result = await put(g, leader, '/slow-leader-disk', 'one');
  t.true(storage.heldCount > 0, "the leader's own persist is still held");
  t.true(leader.metrics.earlyAppliedEntries > 0);
  storage.release();
  const next = await put(g, leader, '/after', 'two');
  t.is(next.header.revision, result.header.revision + 1);
  await g.run(500);
  for (const node of g.nodes.values()) t.is(node.machine.revision, next.header.revision);
});

test('linearizable reads arriving together share ReadIndex rounds', async (t) => {
  const g = group(8);
  await g.run(3_000);
  const leader = g.leader();
  await put(g, leader, '/r', 'v');
  const roundsBefore = leader.metrics.readRounds;
  const reads = await settle(g, Promise.all(Array.from({ length: 50 }, () => leader.range({ key: '/r' }))));
  t.true(reads.every((read) => decoder.decode(read.kvs[0]?.value) === 'v'));
  t.true(leader.metrics.readRounds - roundsBefore <= 2, `${leader.metrics.readRounds - roundsBefore} rounds for 50 reads`);
});

test('linearizable reads on a follower see every write acknowledged before them', async (t) => {
  const g = group(2);
  await g.run(3_000);
  const leader = g.leader();
  const follower = [...g.nodes.values()].find((node) => node !== leader) as ReplicaNode;
  for (let i = 0; i < 20; i++) {
    await put(g, leader, '/k', `v${i}`);
    const read = await settle(g, follower.range({ key: '/k' }));
    t.is(decoder.decode(read.kvs[0]?.value), `v${i}`);
  }
});

test('after the leader is cut off, a new leader keeps every acknowledged write and takes new ones', async (t) => {
  const g = group(3);
  await g.run(3_000);
  const old = g.leader();
  for (let i = 0; i < 10; i++) await put(g, old, `/key/${i}`, `${i}`);
  g.down.add(old.status().id);
  await g.run(5_000);
  const next = g.leader();
  t.not(next.status().id, old.status().id);
  await put(g, next, '/after', 'yes');
  const all = await settle(g, next.range({ key: '/key/', rangeEnd: '/key0' }));
  t.is(all.count, 10);
});

test('watches deliver events in revision order from a past revision', async (t) => {
  const g = group(4);
  await g.run(3_000);
  const leader = g.leader();
  const first = await put(g, leader, '/w/1', 'a');
  await put(g, leader, '/w/2', 'b');
  const follower = [...g.nodes.values()].find((node) => node !== leader) as ReplicaNode;
  const seen: number[] = [];
  follower.watch({ key: '/w/', rangeEnd: '/w0', startRevision: first.header.revision }, (batch: WatchBatch) => {
    for (const event of batch.events) seen.push(event.kv.modRevision);
  });
  await put(g, leader, '/w/3', 'c');
  await g.run(1_000);
  t.deepEqual(seen, [first.header.revision, first.header.revision + 1, first.header.revision + 2]);
});

test('snapshots are taken every N entries and a replica that was away is caught up by one', async (t) => {
  const g = group(5, { snapshotEveryEntries: 50, snapshotCatchUpEntries: 10 });
  await g.run(3_000);
  const leader = g.leader();
  const away = [...g.nodes.values()].find((node) => node !== leader) as ReplicaNode;
  g.down.add(away.status().id);
  for (let i = 0; i < 200; i++) await put(g, leader, `/s/${i % 7}`, `${i}`);
  t.true((g.storages.get(leader.status().id)?.snapshots.length ?? 0) >= 2);
  g.down.delete(away.status().id);
  await g.run(5_000);
  t.is(away.machine.revision, leader.machine.revision);
  t.true((g.storages.get(away.status().id)?.snapshots.length ?? 0) >= 1, 'the lagging replica installed a snapshot');
});

test('a lease expires on the leader clock: its keys are deleted through the log on every replica', async (t) => {
  const g = group(6);
  await g.run(3_000);
  const leader = g.leader();
  const granted = await settle(g, leader.write({ type: 'leaseGrant', id: 0, ttlSeconds: 2 }));
  if (granted.type !== 'leaseGrant') throw new Error('no lease');
  await settle(g, leader.write({ type: 'put', put: { key: '/lease/key', value: encoder.encode('x'), lease: granted.id } }));
  await g.run(1_000);
  t.is((await settle(g, leader.range({ key: '/lease/key' }))).count, 1);
  await g.run(3_000);
  for (const node of g.nodes.values()) t.is((await settle(g, node.range({ key: '/lease/key' }, { serializable: true }))).count, 0);
});
