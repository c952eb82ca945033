// RaftNode.forgetLeader (etcd-raft's ForgetLeader), with pre-vote and check-quorum on: a follower that
// forgets its leader stays a follower in its term and does not campaign, but grants pre-votes at once;
// so when the followers of a dead leader forget it, one of them is elected without waiting out an
// election timeout (and without the forgetting, the same campaign is refused: the control). A false
// alarm (the leader is alive) disrupts nothing. Ignored on a leader and with lease-based reads.
// Deterministic, in ticks, on the in-memory network of src/testing/raft-sim/network.ts.

import test from 'ava';
import { NO_REPLICA } from '../../src/raft/index.js';
import { Network } from '../../src/testing/raft-sim/network.js';

const GUARDED = { preVote: true, checkQuorum: true } as const;

/** A 3-replica group with replica 1 elected and every follower following it. */
function groupLedBy1(seed: number, tweak: Partial<{ readOnly: 'safe' | 'lease-based' }> = {}): Network {
  const net = new Network([1, 2, 3], seed, { ...GUARDED, ...tweak });
  net.get(1).node.campaign();
  net.pump();
  net.tick(1); // a heartbeat round: the followers know the leader
  return net;
}

test('forgetLeader on a follower: leader unknown, still a follower in the same term, no campaign', (t) => {
  const net = groupLedBy1(11);
  const follower = net.node(2);
  const before = follower.status();
  t.is(before.leader, 1);
  follower.forgetLeader();
  const after = follower.status();
  t.is(after.role, 'follower');
  t.is(after.term, before.term);
  t.is(after.leader, NO_REPLICA);
  t.true(follower.hasReady(), 'the change of leader is reported in a Ready (soft state)');
  net.pump();
  t.is(follower.status().term, before.term, 'it did not campaign');
});

test('followers that forget a dead leader elect one of them at once, without an election timeout', (t) => {
  const net = groupLedBy1(12);
  const term = net.node(1).status().term;
  net.isolate(1); // the leader's process died
  net.node(2).forgetLeader();
  net.node(3).forgetLeader();
  net.node(2).campaign();
  net.pump(); // no tick: only messages
  t.is(net.node(2).status().role, 'leader');
  t.is(net.node(2).status().term, term + 1);
  t.is(net.node(3).status().leader, 2);
});

test('control: without forgetLeader the same campaign is refused (the other follower protects the leader lease)', (t) => {
  const net = groupLedBy1(12);
  const term = net.node(1).status().term;
  net.isolate(1);
  net.node(2).campaign();
  net.pump();
  t.not(net.node(2).status().role, 'leader');
  t.is(net.node(3).status().leader, 1, 'replica 3 still believes in the old leader');
  t.is(net.node(3).status().term, term);
});

test('a false alarm is harmless: the live leader keeps its term and the forgetful follower follows it again', (t) => {
  const net = groupLedBy1(13);
  const term = net.node(1).status().term;
  net.node(2).forgetLeader();
  net.node(2).campaign(); // refused: replica 3 and the leader still hear a live leader
  net.pump();
  t.is(net.node(1).status().role, 'leader');
  t.is(net.node(1).status().term, term);
  net.tick(1); // the leader's heartbeat
  t.is(net.node(2).status().role, 'follower');
  t.is(net.node(2).status().leader, 1);
  t.is(net.node(2).status().term, term);
});

test('forgetLeader is ignored on a leader and with lease-based reads', (t) => {
  const net = groupLedBy1(14);
  net.node(1).forgetLeader();
  t.is(net.node(1).status().role, 'leader');
  t.is(net.node(1).status().leader, 1);

  const leased = groupLedBy1(15, { readOnly: 'lease-based' });
  leased.node(2).forgetLeader();
  t.is(leased.node(2).status().leader, 1, 'a lease-based leader relies on followers refusing votes');
});
