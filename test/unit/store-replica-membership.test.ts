// ReplicaNode membership changes on a virtual clock (docs/decisions/0009-store-membership.md): a
// replica joins a running group as a learner (caught up through the log, or through a snapshot that
// carries the address book), is promoted once caught up, and replicas are removed, the leader too;
// one change at a time; the address book follows the applied changes on every replica and survives
// a restart from a snapshot.

import test from 'ava';
import { Prng, silentLogger } from '../../src/actors/index.js';
import type { DurableState } from '../../src/raft/durable-storage.js';
import { decodeConfChange, encodeConfChange, type Entry, type HardState, type Message, type ReplicaId, type Snapshot } from '../../src/raft/index.js';
import { StoreError } from '../../src/store/errors.js';
import { unwrapSnapshot, wrapSnapshot, type MembershipStatus } from '../../src/store/replica/membership.js';
import { ReplicaNode, type ReplicaStorage } from '../../src/store/replica/node.js';
import { VirtualClock } from '../../src/testing/virtual-clock.js';

class MemoryStorage implements ReplicaStorage {
  entries: Entry[] = [];
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  snapshot: Snapshot | undefined;
  persist(entries: readonly Entry[], hardState?: HardState): Promise<void> {
    const first = entries[0];
    if (first !== undefined) this.entries = [...this.entries.filter((entry) => entry.index < first.index), ...entries];
    if (hardState !== undefined) this.hardState = hardState;
    return Promise.resolve();
  }
  saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.snapshot = snapshot;
    this.entries = this.entries.filter((entry) => entry.index > snapshot.meta.index);
    return Promise.resolve();
  }
  recovered(): DurableState {
    return { hardState: this.hardState, entries: [...this.entries], snapshot: this.snapshot, tornTailTruncated: undefined };
  }
}

const BOOTSTRAP: readonly ReplicaId[] = [1, 2, 3];
const nodeName = (id: ReplicaId): string => `store-${id}@127.0.0.1:${7100 + id}`;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface GroupOptions {
  readonly snapshotEveryEntries?: number;
  readonly snapshotCatchUpEntries?: number;
}

class Group {
  readonly clock = new VirtualClock(1_700_000_000_000);
  readonly nodes = new Map<ReplicaId, ReplicaNode>();
  readonly storages = new Map<ReplicaId, MemoryStorage>();
  readonly down = new Set<ReplicaId>();
  /** Every Raft message sent to each replica, by its sender's view of the recipient's address. */
  readonly dialed = new Map<ReplicaId, string>();

  constructor(
    private readonly seed: number,
    private readonly options: GroupOptions = {},
  ) {
    for (const id of BOOTSTRAP) this.start(id);
  }

  /** Starts replica `id` (bootstrap voters 1-3; a higher id is a newcomer with no data, or restarts from its storage). */
  start(id: ReplicaId, restart = false): ReplicaNode {
    const storage = restart ? (this.storages.get(id) ?? new MemoryStorage()) : new MemoryStorage();
    this.storages.set(id, storage);
    const known = BOOTSTRAP.includes(id) ? BOOTSTRAP : [...BOOTSTRAP, id];
    const node: ReplicaNode = new ReplicaNode({
      id,
      voters: BOOTSTRAP,
      addresses: new Map(known.map((known) => [known, nodeName(known)])),
      clock: this.clock,
      random: new Prng(this.seed * 10 + id),
      log: silentLogger(),
      storage,
      ...(restart ? { recovered: storage.recovered() } : {}),
      // Like the process's outbox: a message goes only where the sender's address book says the replica is.
      outbox: (to: ReplicaId, message: Message) => {
        if (this.down.has(id) || this.down.has(to) || node.addressOf(to) !== nodeName(to)) return;
        this.clock.setTimer(1, () => {
          if (!this.down.has(to)) this.nodes.get(to)?.receive(message);
        });
      },
      ...this.options,
    });
    this.nodes.set(id, node);
    return node;
  }

  async stop(id: ReplicaId): Promise<void> {
    this.down.add(id);
    await this.nodes.get(id)?.close();
  }

  leader(): ReplicaNode {
    const leaders = [...this.nodes.values()].filter((node) => !this.down.has(node.status().id) && node.status().role === 'leader');
    const newest = leaders.sort((a, b) => b.status().term - a.status().term)[0];
    if (newest === undefined) throw new Error(`no leader (seed ${this.seed})`);
    return newest;
  }

  async settle<T>(promise: Promise<T>, maxMs = 20_000): Promise<T> {
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
    for (let elapsed = 0; !done && elapsed < maxMs; elapsed += 10) await this.clock.advance(10);
    if (!done) throw new Error(`not settled within ${maxMs} simulated ms (seed ${this.seed})`);
    if (failure !== undefined) throw failure;
    return value as T;
  }

  async until(condition: () => boolean, maxMs = 20_000): Promise<void> {
    for (let elapsed = 0; !condition(); elapsed += 10) {
      if (elapsed > maxMs) throw new Error(`condition not met within ${maxMs} simulated ms (seed ${this.seed})`);
      await this.clock.advance(10);
    }
  }

  async elect(): Promise<ReplicaNode> {
    await this.until(() => [...this.nodes.values()].some((node) => !this.down.has(node.status().id) && node.status().role === 'leader'));
    return this.leader();
  }

  async put(key: string, value: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.settle((await this.elect()).write({ type: 'put', put: { key, value: encoder.encode(value) } }));
        return;
      } catch (error) {
        if (attempt > 20) throw error;
      }
    }
  }

  /** A membership change at the leader, retried while refused as retryable (pending, not caught up, leader change). */
  async change(change: Parameters<ReplicaNode['changeMembership']>[0]): Promise<MembershipStatus> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.settle((await this.elect()).changeMembership(change));
      } catch (error) {
        if (!(error instanceof StoreError && error.retryable) || attempt > 200) throw error;
        await this.clock.advance(50);
      }
    }
  }

  async read(node: ReplicaNode, key: string): Promise<string | undefined> {
    const result = await this.settle(node.range({ key }, { serializable: true }));
    const kv = result.kvs[0];
    return kv === undefined ? undefined : decoder.decode(kv.value);
  }
}

const voters = (status: MembershipStatus): ReplicaId[] => status.members.filter((member) => member.role === 'voter').map((member) => member.id);
const learners = (status: MembershipStatus): ReplicaId[] => status.members.filter((member) => member.role === 'learner').map((member) => member.id);

test('a replica joins as a learner, catches up through the log, is promoted; the address book reaches every replica', async (t) => {
  const g = new Group(1);
  for (let i = 0; i < 20; i++) await g.put(`before-${i}`, `v${i}`);
  const newcomer = g.start(4);
  t.deepEqual(newcomer.status().role, 'follower');
  const added = await g.change({ action: 'add-learner', id: 4, node: nodeName(4) });
  t.deepEqual(learners(added), [4], 'seed 1');
  await g.until(() => newcomer.machine.appliedIndex >= g.leader().status().commitIndex);
  t.is(await g.read(newcomer, 'before-7'), 'v7');
  const promoted = await g.change({ action: 'promote', id: 4 });
  t.deepEqual(voters(promoted), [1, 2, 3, 4]);
  await g.put('after', 'yes');
  await g.until(() => newcomer.membership().members.length === 4 && newcomer.machine.appliedIndex >= g.leader().status().commitIndex);
  t.is(await g.read(newcomer, 'after'), 'yes');
  for (const id of [1, 2, 3, 4]) t.is(g.nodes.get(id)?.addressOf(4), nodeName(4), `replica ${id} knows store-4's address`);
  t.deepEqual(voters(newcomer.membership()), [1, 2, 3, 4]);
});

test('one change at a time; a lagging learner is not promoted; bad requests are refused', async (t) => {
  const g = new Group(2);
  await g.put('a', '1');
  g.start(5);
  const leader = await g.elect();
  const first = leader.changeMembership({ action: 'add-learner', id: 5, node: nodeName(5) });
  const second = leader.changeMembership({ action: 'remove', id: 2 });
  const refusal = await t.throwsAsync(second);
  t.is((refusal as StoreError).code, 'CONF_CHANGE_PENDING');
  await g.settle(first);
  await t.throwsAsync(g.settle(leader.changeMembership({ action: 'add-learner', id: 5, node: nodeName(5) })), { message: /already a learner/ });
  await t.throwsAsync(g.settle(leader.changeMembership({ action: 'promote', id: 6 })), { message: /not a learner/ });
  await t.throwsAsync(g.settle(leader.changeMembership({ action: 'add-learner', id: 6 })), { message: /node/ });
  const follower = [...g.nodes.values()].find((node) => node.status().role === 'follower' && node.status().id <= 3);
  const notLeader = await t.throwsAsync(g.settle(follower?.changeMembership({ action: 'remove', id: 1 }) ?? Promise.reject(new Error('no follower'))));
  t.is((notLeader as StoreError).code, 'NOT_LEADER');
  // The learner falls behind: no promotion until it has caught up.
  await g.stop(5);
  for (let i = 0; i < 80; i++) await g.put(`k${i}`, 'x');
  const lagging = await t.throwsAsync(g.settle(g.leader().changeMembership({ action: 'promote', id: 5 })));
  t.is((lagging as StoreError).code, 'NOT_CAUGHT_UP');
});

test('a newcomer catches up from a snapshot carrying the address book; a replica restarted from a snapshot keeps it', async (t) => {
  const g = new Group(3, { snapshotEveryEntries: 20, snapshotCatchUpEntries: 5 });
  g.start(4);
  await g.change({ action: 'add-learner', id: 4, node: nodeName(4) });
  await g.change({ action: 'promote', id: 4 });
  for (let i = 0; i < 60; i++) await g.put(`k${i}`, `v${i}`);
  // store-5 joins after the log was compacted: it needs the leader's snapshot.
  const newcomer = g.start(5);
  await g.change({ action: 'add-learner', id: 5, node: nodeName(5) });
  await g.until(() => newcomer.machine.appliedIndex >= g.leader().status().commitIndex);
  t.is(await g.read(newcomer, 'k42'), 'v42');
  t.truthy(g.storages.get(5)?.snapshot, 'store-5 installed the leader\'s snapshot');
  t.is(newcomer.addressOf(4), nodeName(4), 'the snapshot told the newcomer where store-4 is');
  const promoted = await g.change({ action: 'promote', id: 5 });
  t.deepEqual(voters(promoted), [1, 2, 3, 4, 5]);
  // Replica 1 restarts from its own snapshot with a start list that does not name 4 and 5.
  for (let i = 0; i < 30; i++) await g.put(`m${i}`, 'x');
  const snapshot = g.storages.get(1)?.snapshot;
  t.truthy(snapshot);
  t.is(unwrapSnapshot(snapshot?.data ?? new Uint8Array()).book?.get(5), nodeName(5));
  await g.stop(1);
  g.down.delete(1);
  const restarted = g.start(1, true);
  t.is(restarted.addressOf(5), nodeName(5));
  t.deepEqual(voters(restarted.membership()), [1, 2, 3, 4, 5]);
});

test('5 voters survive the loss of two originals; removing replicas (the leader too) keeps every acknowledged write', async (t) => {
  const g = new Group(4);
  for (const id of [4, 5]) {
    g.start(id);
    await g.change({ action: 'add-learner', id, node: nodeName(id) });
    await g.change({ action: 'promote', id });
  }
  for (let i = 0; i < 10; i++) await g.put(`k${i}`, `v${i}`);
  const leaderId = g.leader().status().id;
  const originalsDown = BOOTSTRAP.filter((id) => id !== leaderId).slice(0, 2);
  for (const id of originalsDown) await g.stop(id);
  await g.put('while-two-down', 'ok');
  // Remove the leader: it hands over and the group (4 voters, 2 down... so 3 of 4 needed) goes on.
  for (const id of originalsDown) {
    g.down.delete(id);
    g.start(id, true);
  }
  const removed = await g.change({ action: 'remove', id: leaderId });
  t.false(voters(removed).includes(leaderId));
  await g.until(() => {
    try {
      return g.leader().status().id !== leaderId;
    } catch {
      return false;
    }
  });
  await g.put('after-removal', 'ok');
  const survivor = g.leader();
  t.deepEqual(voters(survivor.membership()).length, 4);
  for (let i = 0; i < 10; i++) t.is(await g.read(survivor, `k${i}`), `v${i}`);
  t.is(await g.read(survivor, 'while-two-down'), 'ok');
  t.is(survivor.addressOf(leaderId), undefined, 'the removed replica left the address book');
});

test('a ConfChange context survives encoding; entries without one keep the old form; snapshots without a book still restore', (t) => {
  const withContext = { changes: [{ type: 1, replica: 4 }], context: nodeName(4) };
  t.deepEqual(decodeConfChange(encodeConfChange(withContext)), withContext);
  const plain = { changes: [{ type: 2, replica: 3 }] };
  t.is(decoder.decode(encodeConfChange(plain)), '[[2,3]]');
  t.deepEqual(decodeConfChange(encodeConfChange(plain)), plain);
  t.throws(() => decodeConfChange(encoder.encode('{"changes":[[1,4]],"context":7}')), { message: /context/ });
  const machine = encoder.encode('state machine bytes');
  t.deepEqual(unwrapSnapshot(machine), { machine });
  const wrapped = unwrapSnapshot(wrapSnapshot(new Map([[4, nodeName(4)]]), machine));
  t.deepEqual([...(wrapped.book ?? [])], [[4, nodeName(4)]]);
  t.deepEqual(decoder.decode(wrapped.machine), 'state machine bytes');
});
