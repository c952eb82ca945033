// ReplicaNode.peerConnectionLost on a virtual clock (three replicas wired directly, in-memory storage):
// when the leader's process dies and both followers hear its connection drop, a new leader is elected
// within a few ticks, far below the election timeout (1-2 s with 100 ms ticks); without the report
// nobody is elected in that time (the control). A report about a live leader (a false alarm) changes
// neither the leader nor its term, and a report on the leader itself, or about a follower, is ignored.

import test from 'ava';
import { Prng, silentLogger } from '../../src/actors/index.js';
import type { Entry, HardState, Message, ReplicaId, Snapshot } from '../../src/raft/index.js';
import { ReplicaNode, type ReplicaStorage } from '../../src/store/replica/node.js';
import { VirtualClock } from '../../src/testing/virtual-clock.js';

const IDS: readonly ReplicaId[] = [1, 2, 3];
/** Well below the election timeout (1,000-2,000 ms) and above two ticks plus the message delays. */
const FAST_FAILOVER_MS = 400;

const memoryStorage: ReplicaStorage = {
  persist: (_entries: readonly Entry[], _hardState?: HardState) => Promise.resolve(),
  saveSnapshot: (_snapshot: Snapshot) => Promise.resolve(),
};

interface Group {
  readonly clock: VirtualClock;
  readonly nodes: Map<ReplicaId, ReplicaNode>;
  readonly down: Set<ReplicaId>;
  /** The live leader of the highest term, if any. */
  leader(): ReplicaNode | undefined;
}

async function electedGroup(seed: number): Promise<Group> {
  const clock = new VirtualClock(1_700_000_000_000);
  const nodes = new Map<ReplicaId, ReplicaNode>();
  const down = new Set<ReplicaId>();
  for (const id of IDS) {
    nodes.set(
      id,
      new ReplicaNode({
        id,
        voters: IDS,
        clock,
        random: new Prng(seed * 10 + id),
        log: silentLogger(),
        storage: memoryStorage,
        outbox: (to: ReplicaId, message: Message) => {
          if (down.has(id) || down.has(to)) return;
          // A killed replica's messages in flight are lost too (a process's connection closes after the
          // bytes it carries, so nothing arrives after the drop is noticed).
          clock.setTimer(1, () => {
            if (!down.has(to) && !down.has(id)) nodes.get(to)?.receive(message);
          });
        },
      }),
    );
  }
  const leader = (): ReplicaNode | undefined =>
    [...nodes.values()].filter((node) => !down.has(node.status().id) && node.status().role === 'leader').sort((a, b) => b.status().term - a.status().term)[0];
  await clock.advance(5_000);
  if (leader() === undefined) throw new Error(`seed ${seed}: no leader elected`);
  return { clock, nodes, down, leader };
}

function followersOf(group: Group, leaderId: ReplicaId): ReplicaNode[] {
  return [...group.nodes.values()].filter((node) => node.status().id !== leaderId);
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`seed ${seed}: followers that hear the leader's connection drop elect a new leader within ${FAST_FAILOVER_MS} ms`, async (t) => {
    const group = await electedGroup(seed);
    const old = group.leader()?.status();
    if (old === undefined) return t.fail(`seed ${seed}: no leader`);
    group.down.add(old.id); // kill -9
    for (const follower of followersOf(group, old.id)) follower.peerConnectionLost(old.id);
    await group.clock.advance(FAST_FAILOVER_MS);
    const next = group.leader()?.status();
    t.not(next, undefined, `seed ${seed}: no new leader within ${FAST_FAILOVER_MS} ms`);
    t.not(next?.id, old.id);
    t.true((next?.term ?? 0) > old.term, `seed ${seed}`);
  });
}

test(`control: without the report no leader is elected within ${FAST_FAILOVER_MS} ms`, async (t) => {
  const group = await electedGroup(1);
  const old = group.leader()?.status();
  if (old === undefined) return t.fail('no leader');
  group.down.add(old.id);
  await group.clock.advance(FAST_FAILOVER_MS);
  t.is(group.leader(), undefined);
});

test('a false alarm about a live leader changes neither the leader nor its term', async (t) => {
  const group = await electedGroup(2);
  const old = group.leader()?.status();
  if (old === undefined) return t.fail('no leader');
  const [one] = followersOf(group, old.id);
  one?.peerConnectionLost(old.id);
  await group.clock.advance(3_000);
  t.is(group.leader()?.status().id, old.id);
  t.is(group.leader()?.status().term, old.term);
  t.is(one?.status().leader, old.id, 'the follower follows the live leader again');
});

test('reports on the leader itself, or about a follower, are ignored', async (t) => {
  const group = await electedGroup(3);
  const old = group.leader();
  if (old === undefined) return t.fail('no leader');
  const { id, term } = old.status();
  const followers = followersOf(group, id);
  for (const follower of followers) old.peerConnectionLost(follower.status().id);
  const [one, other] = followers;
  if (one !== undefined && other !== undefined) one.peerConnectionLost(other.status().id);
  await group.clock.advance(3_000);
  t.is(group.leader()?.status().id, id);
  t.is(group.leader()?.status().term, term);
});
