// Targeted Raft scenarios from issue 4: Figure 8, a stale leader in a minority, snapshot catch-up
// in chunks, leadership transfer to a lagging node, a removed leader stepping down, pre-vote,
// check-quorum, ReadIndex, learners, flow control and joint consensus; and the simulated disk: a vote
// survives a power loss (with a broken-driver control), an unsynced entry is lost and was never
// acknowledged; and a replica whose configuration was replaced while it was cut off rejoins. All in
// ticks, deterministic.

import test from 'ava';
import { ConfChangeType, EntryType } from '../../src/raft/types.js';
import type { Message } from '../../src/raft/messages.js';
import { Network, encoder } from '../../src/testing/raft-sim/network.js';
import type { Member } from '../../src/testing/raft-sim/network.js';

function otherIds(net: Network, id: number): number[] {
  return [...net.members.keys()].filter((x) => x !== id);
}

function waitFor(net: Network, condition: () => boolean, limit = 300, only?: number[]): boolean {
  for (let i = 0; i < limit; i++) {
    if (condition()) return true;
    net.tick(1, only);
  }
  return condition();
}

function leaderAmong(net: Network, ids: number[]): Member | undefined {
  let best: Member | undefined;
  for (const id of ids) {
    const m = net.get(id);
    if (m.node.status().role === 'leader' && (best === undefined || m.node.status().term > best.node.status().term)) best = m;
  }
  return best;
}

test('Figure 8: an entry of an old term replicated to a majority is not committed, and may be overwritten safely', (t) => {
  const net = new Network([1, 2, 3, 4, 5], 8);
  const s1 = net.get(1);
  const s5 = net.get(5);
  // (a) S1 leads term A and replicates index 2 only to S2.
  s1.node.campaign();
  net.pump();
  t.is(s1.node.status().role, 'leader');
  const termA = s1.node.status().term;
  net.partition([1, 2], [3, 4, 5]);
  net.propose(1, 'from-s1');
  t.is(net.get(2).storage.lastIndex(), 2);
  // (b) S1 crashes; S5 is elected by S3, S4 and itself and accepts a different entry at index 2.
  net.heal();
  net.isolate(1);
  net.isolate(2);
  net.filter = (m) => !(m.from === 5 && m.type === 'append'); // S5's entries reach nobody
  s5.node.campaign();
  net.pump();
  t.is(s5.node.status().role, 'leader');
  net.isolate(5);
  net.propose(5, 'from-s5');
  net.filter = () => true;
  // (c) S1 restarts and is elected (by S2, S3) in a later term; it replicates its term-A entry to S3.
  net.heal();
  net.isolate(4);
  net.isolate(5);
  net.restart(1);
  net.filter = (m) => !(m.from === 1 && m.to === 3 && m.type === 'append'); // S3 gets only what we hand it
  for (let i = 0; i < 3 && net.get(1).node.status().role !== 'leader'; i++) {
    net.get(1).node.campaign();
    net.pump();
  }
  const leader1 = net.get(1).node;
  t.is(leader1.status().role, 'leader');
  const termC = leader1.status().term;
  t.true(termC > termA + 1);
  net.partition([1, 2], [3], [4], [5]);
  net.pump();
  net.filter = () => true;
  net.get(3).node.step({
    type: 'append', from: 1, to: 3, term: termC, prevIndex: 1, prevTerm: termA,
    entries: net.get(1).storage.entries(2, 3, Infinity), commit: 1,
  });
  for (const m of net.drive(net.get(3))) leader1.step(m);
  t.is(net.get(3).storage.term(2), termA, 'the term-A entry is now on S1, S2 and S3: a majority');
  t.is(leader1.status().progress?.get(3)?.match, 2);
  t.true(leader1.status().commit < 2, 'but it is not committed: it is not of the current term');
  // (d) S1 crashes again; S5 is elected by S3 and S4 and overwrites index 2: safe, since nobody applied it.
  net.heal();
  net.isolate(1);
  net.restart(5); // S5 crashed in (c); it restarts as a follower with its log
  for (let i = 0; i < 3 && s5.node.status().role !== 'leader'; i++) {
    s5.node.campaign();
    net.pump();
  }
  t.is(s5.node.status().role, 'leader');
  net.tick(3, [2, 3, 4, 5]);
  for (const id of [2, 3, 4, 5]) {
    t.false(net.get(id).applied.includes('from-s1'), `S${id} never applied the uncommitted entry`);
    t.true(net.get(id).applied.includes('from-s5'), `S${id} applied S5's entry`);
  }
  net.heal();
  net.tick(3);
  t.deepEqual(net.get(1).applied, net.get(5).applied);
});

test('a stale leader in a minority cannot commit, and its entries are discarded on rejoin', (t) => {
  const net = new Network([1, 2, 3, 4, 5], 13);
  const old = net.electLeader();
  net.propose(old.id, 'before');
  const rest = otherIds(net, old.id);
  const buddy = rest[0] as number;
  net.partition([old.id, buddy], rest.slice(1));
  t.true(old.node.propose(encoder.encode('stale')).ok);
  net.tick(30, [old.id, buddy]);
  t.is(old.node.status().commit, 2, 'the minority leader commits nothing new');
  t.deepEqual(old.applied, ['before']);
  t.true(waitFor(net, () => leaderAmong(net, rest.slice(1)) !== undefined, 300, rest.slice(1)));
  const fresh = leaderAmong(net, rest.slice(1)) as Member;
  net.propose(fresh.id, 'majority');
  net.heal();
  net.tick(10);
  for (const m of net.members.values()) t.deepEqual(m.applied, ['before', 'majority'], `replica ${m.id}`);
});

test('a follower far behind is caught up by a chunked snapshot', (t) => {
  const net = new Network([1, 2, 3], 17, { snapshotChunkBytes: 7 });
  const leader = net.electLeader();
  const lagging = otherIds(net, leader.id)[0] as number;
  net.isolate(lagging);
  for (let i = 0; i < 20; i++) net.propose(leader.id, `e${i}`);
  // The leader snapshots its state machine and compacts its log.
  const applied = leader.node.status().applied;
  leader.storage.createSnapshot(applied, leader.node.status().conf, encoder.encode(JSON.stringify(leader.applied)));
  leader.storage.compact(applied);
  const chunks: Message[] = [];
  net.filter = (m) => {
    if (m.type === 'snapshot') chunks.push(m);
    return true;
  };
  net.heal();
  net.tick(5);
  t.true(chunks.length > 3, `sent in ${chunks.length} chunks`);
  t.deepEqual(net.get(lagging).applied, leader.applied);
  t.is(net.get(lagging).storage.snapshot().meta.index, applied);
  // Replication continues normally after the snapshot.
  net.propose(leader.id, 'after');
  net.tick(1);
  t.deepEqual(net.get(lagging).applied.at(-1), 'after');
  t.is(leader.node.status().progress?.get(lagging)?.state, 'replicate');
});

test('a snapshot transfer survives lost, duplicated and reordered chunks by restarting', (t) => {
  const net = new Network([1, 2, 3], 19, { snapshotChunkBytes: 5 });
  const leader = net.electLeader();
  const lagging = otherIds(net, leader.id)[0] as number;
  net.isolate(lagging);
  for (let i = 0; i < 10; i++) net.propose(leader.id, `entry-${i}`);
  const applied = leader.node.status().applied;
  leader.storage.createSnapshot(applied, leader.node.status().conf, encoder.encode(JSON.stringify(leader.applied)));
  leader.storage.compact(applied);
  let seen = 0;
  let held: Message | undefined;
  let restarts = 0;
  net.filter = (m) => {
    if (m.type === 'snapshot-ack' && m.reject) restarts++;
    if (m.type !== 'snapshot') return true;
    seen++;
    if (seen === 3) return false; // lost: the leader resends it on the next heartbeat response
    if (seen === 4 && m.type === 'snapshot') {
      // A chunk from beyond a gap (as if one in between was lost in a pipelined sender): restart.
      net.get(lagging).node.step({ ...m, offset: m.offset + 5 });
    }
    if (seen === 5) {
      held = m; // delayed: delivered later, out of order
      return false;
    }
    if (seen === 8 && held !== undefined) {
      net.get(lagging).node.step(held); // stale chunk arrives late
      net.get(lagging).node.step(m); // and a duplicate
    }
    return true;
  };
  net.heal();
  t.true(waitFor(net, () => net.get(lagging).applied.length === leader.applied.length, 100));
  t.deepEqual(net.get(lagging).applied, leader.applied);
  t.true(restarts >= 1, 'a gap in the chunks restarted the transfer');
  t.true(seen > Math.ceil(JSON.stringify(leader.applied).length / 5), 'more chunks than one clean pass');
});

test('leadership transfer to a lagging follower catches it up first, refusing proposals meanwhile', (t) => {
  const net = new Network([1, 2, 3], 23);
  const leader = net.electLeader();
  const target = otherIds(net, leader.id)[0] as number;
  net.isolate(target);
  for (let i = 0; i < 5; i++) net.propose(leader.id, `p${i}`);
  net.heal();
  const sentTimeoutNowAt: number[] = [];
  net.filter = (m) => {
    if (m.type === 'timeout-now') sentTimeoutNowAt.push(net.get(m.to).node.status().lastIndex);
    return true;
  };
  leader.node.transferLeadership(target);
  const refused = leader.node.propose(encoder.encode('during'));
  t.deepEqual(refused, { ok: false, reason: 'transferring', leader: leader.id });
  net.pump();
  net.tick(2);
  t.is(net.get(target).node.status().role, 'leader');
  t.is(leader.node.status().role, 'follower');
  t.deepEqual(sentTimeoutNowAt, [leader.node.status().lastIndex - 1], 'TimeoutNow only after the target caught up');
  t.deepEqual(net.get(target).applied, ['p0', 'p1', 'p2', 'p3', 'p4']);
});

test('a leadership transfer to an unreachable node is abandoned after an election timeout', (t) => {
  const net = new Network([1, 2, 3], 29);
  const leader = net.electLeader();
  const target = otherIds(net, leader.id)[0] as number;
  net.isolate(target);
  leader.node.transferLeadership(target);
  t.false(leader.node.propose(encoder.encode('x')).ok);
  net.tick(11, otherIds(net, target));
  t.is(leader.node.status().role, 'leader');
  t.true(leader.node.propose(encoder.encode('y')).ok);
});

test('a leader removed from the configuration steps down once the change is applied', (t) => {
  const net = new Network([1, 2, 3], 31);
  const leader = net.electLeader();
  t.true(leader.node.proposeConfChange({ changes: [{ type: ConfChangeType.RemoveReplica, replica: leader.id }] }).ok);
  net.pump();
  t.not(leader.node.status().role, 'leader');
  t.deepEqual([...leader.node.status().conf.voters].sort(), otherIds(net, leader.id));
  const rest = otherIds(net, leader.id);
  t.true(waitFor(net, () => leaderAmong(net, rest) !== undefined, 100));
  const fresh = leaderAmong(net, rest) as Member;
  net.propose(fresh.id, 'after-removal');
  net.tick(3);
  for (const id of rest) t.deepEqual(net.get(id).applied, ['after-removal']);
  // The removed replica never campaigns again.
  const term = leader.node.status().term;
  net.isolate(leader.id);
  net.tick(50, [leader.id]);
  t.is(leader.node.status().role, 'follower');
  t.is(leader.node.status().term, term);
});

test('pre-vote: a partitioned node does not raise its term and does not disrupt the leader on rejoin', (t) => {
  const net = new Network([1, 2, 3], 37, { preVote: true });
  const leader = net.electLeader();
  const loner = otherIds(net, leader.id)[0] as number;
  const term = leader.node.status().term;
  net.isolate(loner);
  net.tick(100);
  t.is(net.get(loner).node.status().term, term, 'pre-vote rounds do not bump the term');
  net.heal();
  net.tick(20);
  t.is(leader.node.status().role, 'leader');
  t.is(leader.node.status().term, term);
  t.is(net.get(loner).node.status().leader, leader.id);
});

test('without pre-vote the same rejoin does disrupt the term (control for the test above)', (t) => {
  const net = new Network([1, 2, 3], 37, { preVote: false });
  const leader = net.electLeader();
  const loner = otherIds(net, leader.id)[0] as number;
  const term = leader.node.status().term;
  net.isolate(loner);
  net.tick(100);
  t.true(net.get(loner).node.status().term > term);
  net.heal();
  net.tick(20);
  t.true(net.leader()!.node.status().term > term);
});

test('check-quorum: a leader that cannot hear a quorum steps down within an election timeout', (t) => {
  const net = new Network([1, 2, 3], 41, { checkQuorum: true });
  const leader = net.electLeader();
  net.isolate(leader.id);
  net.tick(10, [leader.id]);
  net.tick(10, [leader.id]);
  t.is(leader.node.status().role, 'follower');
});

test('check-quorum: followers with a live leader ignore vote requests (leader lease)', (t) => {
  const net = new Network([1, 2, 3], 43, { checkQuorum: true });
  const leader = net.electLeader();
  const follower = otherIds(net, leader.id)[0] as number;
  const term = leader.node.status().term;
  const other = otherIds(net, leader.id)[1] as number;
  const plain = { type: 'vote', from: follower, to: other, term: term + 5, lastIndex: 100, lastTerm: term + 4 } as const;
  net.node(other).step({ ...plain, transfer: false });
  t.is(net.node(other).status().term, term, 'a campaign inside the lease is ignored');
  t.is(net.node(other).status().leader, leader.id);
  // A campaign that follows a leadership transfer (TimeoutNow) may break the lease.
  net.node(other).step({ ...plain, transfer: true });
  t.is(net.node(other).status().term, term + 5);
  t.is(net.node(other).status().vote, follower);
});

test('ReadIndex returns the commit index only after a quorum answers a heartbeat round', (t) => {
  const net = new Network([1, 2, 3], 47);
  const leader = net.electLeader();
  net.propose(leader.id, 'x');
  const followers = otherIds(net, leader.id);
  net.isolate(leader.id);
  leader.node.readIndex('r1');
  net.pump();
  t.deepEqual(leader.readStates, [], 'no answer without heartbeat acks');
  net.cut.delete(`${leader.id}->${followers[0]}`);
  net.cut.delete(`${followers[0]}->${leader.id}`);
  net.tick(1, [leader.id]);
  t.deepEqual(leader.readStates, [{ index: leader.node.status().commit, requestId: 'r1' }]);
  // A follower's request is forwarded and answered with the leader's commit index.
  net.heal();
  net.node(followers[1] as number).readIndex('r2');
  net.pump();
  t.deepEqual(net.get(followers[1] as number).readStates, [{ index: leader.node.status().commit, requestId: 'r2' }]);
});

test('ReadIndex on a new leader waits for the first commit of its term', (t) => {
  const net = new Network([1, 2, 3], 53);
  const old = net.electLeader();
  const others = otherIds(net, old.id);
  net.isolate(old.id);
  const next = net.get(others[0] as number);
  net.filter = (m) => !(m.from === next.id && m.type === 'append'); // its no-op cannot commit yet
  next.node.campaign();
  net.pump();
  t.is(next.node.status().role, 'leader');
  next.node.readIndex('early');
  net.tick(3, others);
  t.deepEqual(next.readStates, [], 'not answered before an entry of the new term commits');
  t.true(next.node.status().commit < next.node.status().lastIndex);
  net.filter = () => true;
  net.tick(2, others);
  t.is(next.readStates.length, 1);
  t.is(next.readStates[0]?.index, next.node.status().lastIndex);
});

test('learners receive the log but never vote or campaign, and can be promoted', (t) => {
  const conf = { voters: [1, 2], learners: [3], votersOutgoing: [], learnersNext: [] };
  const net = new Network([1, 2, 3], 59, {}, conf);
  const leader = net.electLeader();
  net.propose(leader.id, 'a');
  net.tick(1);
  t.deepEqual(net.get(3).applied, ['a']);
  // The learner never campaigns, however long it waits alone.
  net.isolate(3);
  net.tick(100, [3]);
  t.is(net.node(3).status().role, 'follower');
  // With the other voter down, the learner's acks do not make a quorum.
  net.heal();
  const other = leader.id === 1 ? 2 : 1;
  net.isolate(other);
  net.propose(leader.id, 'b');
  net.tick(3, [leader.id, 3]);
  t.is(net.get(3).storage.lastIndex(), leader.node.status().lastIndex, 'learner has the entry');
  t.false(leader.applied.includes('b'), 'but it does not count');
  net.heal();
  net.tick(2);
  t.true(leader.node.proposeConfChange({ changes: [{ type: ConfChangeType.AddVoter, replica: 3 }] }).ok);
  net.pump();
  net.tick(2);
  t.deepEqual([...net.node(3).status().conf.voters].sort(), [1, 2, 3]);
});

test('flow control: inflight appends per follower are bounded by count and bytes', (t) => {
  for (const tweak of [{ maxInflightAppends: 3 }, { maxInflightBytes: 200 }]) {
    const net = new Network([1, 2, 3], 61, { maxEntriesPerAppendBytes: 60, ...tweak });
    const leader = net.electLeader();
    const follower = otherIds(net, leader.id)[0] as number;
    // Hold the follower's acks so the window fills up.
    net.cut.add(`${follower}->${leader.id}`);
    const appendsSent: Message[] = [];
    net.filter = (m) => {
      if (m.type === 'append' && m.to === follower && m.entries.length > 0) appendsSent.push(m);
      return true;
    };
    for (let i = 0; i < 30; i++) leader.node.propose(encoder.encode(`payload-${i}`));
    net.pump();
    const progress = leader.node.status().progress?.get(follower);
    t.truthy(progress);
    if ('maxInflightAppends' in tweak) {
      t.is(appendsSent.length, 3);
      t.is(progress?.inflight, 3);
    } else {
      const bytes = appendsSent.reduce((sum, m) => sum + (m.type === 'append' ? m.entries.reduce((s, e) => s + e.data.byteLength + 16, 0) : 0), 0);
      t.true(bytes >= 200 && bytes < 200 + 60, `inflight bytes ${bytes}`);
    }
    // Batching: several proposals share an append (up to the byte budget).
    t.true(appendsSent.every((m) => m.type === 'append' && m.entries.length >= 1));
    t.true(appendsSent.some((m) => m.type === 'append' && m.entries.length > 1));
    // Once acks flow again, everything is delivered.
    net.heal();
    net.tick(5);
    t.is(net.get(follower).applied.length, 30);
  }
});

test('fast back-tracking: a follower with a long divergent tail is repaired in a few round trips', (t) => {
  const net = new Network([1, 2, 3], 67);
  const leader = net.electLeader();
  net.isolate(leader.id);
  for (let i = 0; i < 50; i++) leader.node.propose(encoder.encode(`junk${i}`));
  net.pump();
  const rest = otherIds(net, leader.id);
  t.true(waitFor(net, () => leaderAmong(net, rest) !== undefined, 300, rest));
  const fresh = leaderAmong(net, rest) as Member;
  for (let i = 0; i < 5; i++) net.propose(fresh.id, `good${i}`);
  let rejections = 0;
  net.filter = (m) => {
    if (m.type === 'append-response' && m.reject && m.from === leader.id) rejections++;
    return true;
  };
  net.heal();
  net.tick(5);
  t.deepEqual(leader.applied, ['good0', 'good1', 'good2', 'good3', 'good4']);
  t.true(rejections <= 3, `${rejections} rejections`);
});

test('joint consensus: replacing two voters at once goes through a joint configuration and leaves it automatically', (t) => {
  const net = new Network([1, 2, 3], 71);
  const leader = net.electLeader();
  // New replicas start from the same bootstrap membership (they learn the rest from the log).
  const bootstrap = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [] };
  net.add(4, bootstrap);
  net.add(5, bootstrap);
  const removed = otherIds(net, leader.id).filter((id) => id <= 3);
  const seenJoint: boolean[] = [];
  const result = leader.node.proposeConfChange({
    changes: [
      { type: ConfChangeType.AddVoter, replica: 4 },
      { type: ConfChangeType.AddVoter, replica: 5 },
      { type: ConfChangeType.RemoveReplica, replica: removed[0] as number },
      { type: ConfChangeType.RemoveReplica, replica: removed[1] as number },
    ],
  });
  t.true(result.ok);
  t.deepEqual(leader.node.proposeConfChange({ changes: [{ type: ConfChangeType.AddVoter, replica: 6 }] }), {
    ok: false,
    reason: 'conf-change-pending',
    leader: leader.id,
  });
  for (let i = 0; i < 10; i++) {
    net.tick(1);
    seenJoint.push(leader.node.status().conf.votersOutgoing.length > 0);
  }
  t.true(seenJoint.includes(true) || leader.appliedEntries.filter((e) => e.type === EntryType.ConfChange).length === 2);
  t.is(leader.appliedEntries.filter((e) => e.type === EntryType.ConfChange).length, 2, 'enter joint + auto-leave');
  const conf = leader.node.status().conf;
  t.deepEqual([...conf.voters].sort(), [leader.id, 4, 5].sort());
  t.deepEqual(conf.votersOutgoing, []);
  // The new configuration works without the removed replicas.
  for (const id of removed) net.isolate(id);
  net.propose(leader.id, 'new-conf');
  net.tick(2);
  t.deepEqual(net.get(4).applied, ['new-conf']);
  t.deepEqual(net.get(5).applied, ['new-conf']);
});

test('too many uncommitted bytes: proposals are refused until entries apply', (t) => {
  const net = new Network([1, 2, 3], 73, { maxUncommittedBytes: 100 });
  const leader = net.electLeader();
  net.isolate(leader.id);
  let refused = 0;
  for (let i = 0; i < 20; i++) if (!leader.node.propose(new Uint8Array(30)).ok) refused++;
  t.is(refused, 17, 'the first proposal always fits, then 30+30+30 bytes, then the limit');
  net.heal();
  net.tick(3);
  t.true(leader.node.propose(new Uint8Array(30)).ok);
});

test('a follower refuses proposals with a leader hint (no forwarding)', (t) => {
  const net = new Network([1, 2, 3], 79);
  const leader = net.electLeader();
  const follower = otherIds(net, leader.id)[0] as number;
  t.deepEqual(net.node(follower).propose(encoder.encode('x')), { ok: false, reason: 'not-leader', leader: leader.id });
});

test('votes and terms survive a power loss: the vote is fsynced before it is sent (control: a driver that skips that fsync votes twice)', (t) => {
  const voteTwice = (broken: boolean): boolean => {
    const net = new Network([1, 2, 3], 91);
    if (broken) net.broken = 'vote-not-synced';
    const voter = net.get(1);
    voter.node.step({ type: 'vote', from: 2, to: 1, term: 4, lastIndex: 0, lastTerm: 0, transfer: false });
    const granted = net.drive(voter).find((m) => m.type === 'vote-response');
    t.true(granted?.type === 'vote-response' && !granted.reject);
    if (!broken) t.deepEqual(voter.disk.hardState(), { term: 4, vote: 2, commit: 0 }, 'on disk before the grant leaves');
    net.crash(1); // power loss: everything not fsynced is gone
    if (!broken) t.is(voter.node.status().term, 4);
    voter.node.step({ type: 'vote', from: 3, to: 1, term: 4, lastIndex: 0, lastTerm: 0, transfer: false });
    const second = net.drive(voter).find((m) => m.type === 'vote-response');
    return second?.type === 'vote-response' && !second.reject;
  };
  t.false(voteTwice(false), 'a correct driver does not vote twice in term 4');
  t.true(voteTwice(true), 'the broken driver does: the test can fail');
});

test('a crash between write and fsync loses the appended entries, which were never acknowledged; the follower catches up after restart', (t) => {
  const net = new Network([1, 2, 3], 92);
  const leader = net.electLeader();
  const [f1, f2] = otherIds(net, leader.id) as [number, number];
  const follower = net.get(f1);
  const index = leader.node.status().lastIndex + 1;
  let crashed: { lostWrites: number; diskLastIndex: number } | undefined;
  let ackedBeforeCrash = false;
  const ignore = (): void => {};
  net.observer = {
    writing: ignore,
    written: ignore,
    applying: ignore,
    installed: ignore,
    sending: (member, messages) => {
      if (member.id === f1 && crashed === undefined) ackedBeforeCrash ||= messages.some((m) => m.type === 'append-response' && !m.reject && m.index >= index);
    },
    restarted: (member, lostWrites) => {
      crashed = { lostWrites, diskLastIndex: member.disk.lastIndex() };
    },
  };
  net.armCrash(f1, 'after-write');
  t.true(net.propose(leader.id, 'x'));
  t.truthy(crashed, 'the follower crashed at its next Ready');
  t.true((crashed?.lostWrites ?? 0) >= 1, 'the written entry was not synced, and is lost');
  t.true((crashed?.diskLastIndex ?? index) < index, 'the restarted follower reads only what was synced');
  t.false(ackedBeforeCrash, 'the lost entry was never acknowledged');
  t.true(net.get(f2).applied.includes('x'), 'the leader commits with the other follower');
  t.true(waitFor(net, () => follower.applied.includes('x')), 'the restarted follower catches up');
});

test('a replica cut off while its whole configuration was replaced rejoins: it answers the leader\'s lower-term append with its term, the leader steps down, and the next election includes it (without pre-vote or check-quorum)', (t) => {
  const net = new Network([1, 2, 3, 4, 5], 93, {}, { voters: [1, 2, 3], learners: [4, 5], votersOutgoing: [], learnersNext: [] });
  net.node(1).campaign();
  net.pump();
  t.is(net.node(1).status().role, 'leader');
  net.isolate(3);
  net.tick(100); // 3 campaigns alone (no pre-vote): its term climbs far above the leader's
  const applied = (id: number, voters: number[]): boolean => {
    const conf = net.node(id).status().conf;
    return conf.votersOutgoing.length === 0 && voters.every((v) => conf.voters.includes(v)) && conf.voters.length === voters.length;
  };
  t.true(net.node(1).proposeConfChange({ changes: [{ type: ConfChangeType.AddVoter, replica: 4 }, { type: ConfChangeType.RemoveReplica, replica: 2 }] }).ok);
  t.true(waitFor(net, () => applied(1, [1, 3, 4])));
  net.stop(2);
  t.true(net.node(1).proposeConfChange({ changes: [{ type: ConfChangeType.AddVoter, replica: 5 }, { type: ConfChangeType.RemoveReplica, replica: 1 }] }).ok);
  t.true(waitFor(net, () => applied(4, [3, 4, 5]) && net.leader() !== undefined && net.leader()?.id !== 1));
  net.stop(1);
  // 3 still believes in voters {1,2,3}, both gone: its campaigns reach nobody, and its term is the highest.
  t.deepEqual(net.node(3).status().conf.voters, [1, 2, 3]);
  t.true(net.node(3).status().term > (net.leader()?.node.status().term ?? 0));
  net.heal();
  t.true(waitFor(net, () => {
    const leader = net.leader();
    return leader !== undefined && leader.node.status().term >= net.node(3).status().term && net.node(3).status().leader === leader.id;
  }), 'a leader at 3\'s term or above, followed by 3');
  const leader = net.leader() as Member;
  t.true(net.propose(leader.id, 'after'));
  t.true(waitFor(net, () => net.get(3).applied.includes('after')), '3 is caught up');
  t.deepEqual(net.node(3).status().conf.voters, [3, 4, 5]);
});
