// Claims of the Raft paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm"), one per test, in the style of etcd-raft's raft_paper_test.go: each drives RaftNodes
// by hand or through the in-test Network and checks exactly one rule.

import test from 'ava';
import { Prng } from '../../src/actors/random.js';
import { RaftNode } from '../../src/raft/core.js';
import { MemoryLogStorage } from '../../src/raft/memory-storage.js';
import type { Message } from '../../src/raft/messages.js';
import { EntryType } from '../../src/raft/types.js';
import type { Entry } from '../../src/raft/types.js';
import { Network, baseConfig, encoder } from '../../src/testing/raft-sim/network.js';

const conf3 = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [] };

function lone(id: number, seed = 7, entries: Entry[] = [], term = 0): { node: RaftNode; storage: MemoryLogStorage } {
  const storage = new MemoryLogStorage(conf3);
  storage.append(entries);
  storage.setHardState({ term, vote: 0, commit: 0 });
  return { node: new RaftNode({ id, storage, random: new Prng(seed), ...baseConfig() }), storage };
}

function entry(index: number, term: number, text = ''): Entry {
  return { index, term, type: EntryType.Normal, data: encoder.encode(text) };
}

function drain(node: RaftNode): Message[] {
  if (!node.hasReady()) return [];
  const ready = node.ready();
  node.advance(ready);
  return [...ready.messages];
}

test('§5.1: a replica that sees a higher term adopts it and becomes a follower', (t) => {
  for (const role of ['follower', 'candidate', 'leader'] as const) {
    const net = new Network([1, 2, 3], 3);
    const node = net.node(1);
    if (role !== 'follower') {
      net.isolate(1);
      node.campaign();
      net.pump();
      if (role === 'leader') {
        net.heal();
        net.tick(1, [1]);
        // become leader by delivering votes
        const votes: Message[] = [2, 3].map((from) => ({ type: 'vote-response', from, to: 1, term: node.status().term, reject: false }));
        for (const v of votes) node.step(v);
      }
    }
    t.is(node.status().role, role, `set up as ${role}`);
    const higher = node.status().term + 5;
    node.step({ type: 'append', from: 2, to: 1, term: higher, prevIndex: 0, prevTerm: 0, entries: [], commit: 0 });
    t.is(node.status().term, higher);
    t.is(node.status().role, 'follower');
    t.is(node.status().leader, 2);
  }
});

test('§5.1: a message with a stale term is rejected', (t) => {
  const { node } = lone(1, 7, [], 5);
  node.step({ type: 'append', from: 2, to: 1, term: 3, prevIndex: 0, prevTerm: 0, entries: [entry(1, 3, 'x')], commit: 1 });
  t.is(node.status().lastIndex, 0, 'stale append not applied');
  t.is(node.status().term, 5);
});

test('§5.2: a follower that hears nothing for an election timeout starts an election: term+1, votes for itself, asks everyone', (t) => {
  const { node } = lone(1);
  let messages: Message[] = [];
  for (let i = 0; i < 20 && node.status().role === 'follower'; i++) node.tick();
  t.is(node.status().role, 'candidate');
  t.is(node.status().term, 1);
  t.is(node.status().vote, 1);
  messages = drain(node);
  const votes = messages.filter((m) => m.type === 'vote');
  t.deepEqual(votes.map((m) => m.to).sort(), [2, 3]);
  for (const v of votes) if (v.type === 'vote') t.is(v.term, 1);
});

test('§5.2: election timeouts are randomized in [electionTicks, 2*electionTicks)', (t) => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 60; seed++) {
    const { node } = lone(1, seed);
    let ticks = 0;
    while (node.status().role === 'follower') {
      node.tick();
      ticks++;
    }
    t.true(ticks >= 10 && ticks < 20, `timeout ${ticks} out of range (seed ${seed})`);
    seen.add(ticks);
  }
  t.true(seen.size >= 5, `only ${seen.size} distinct timeouts`);
});

test('§5.2: a candidate that receives votes from a majority becomes leader and the others follow', (t) => {
  const net = new Network([1, 2, 3, 4, 5], 11);
  const leader = net.electLeader();
  const term = leader.node.status().term;
  let leaders = 0;
  for (const member of net.members.values()) {
    const s = member.node.status();
    t.is(s.term, term);
    t.is(s.leader, leader.id);
    if (s.role === 'leader') leaders++;
  }
  t.is(leaders, 1);
});

test('§5.2: a replica grants at most one vote per term, first come first served', (t) => {
  const { node } = lone(1);
  node.step({ type: 'vote', from: 2, to: 1, term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
  node.step({ type: 'vote', from: 3, to: 1, term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
  node.step({ type: 'vote', from: 2, to: 1, term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
  const responses = drain(node).filter((m) => m.type === 'vote-response');
  t.deepEqual(
    responses.map((m) => (m.type === 'vote-response' ? [m.to, m.reject] : [])),
    [
      [2, false],
      [3, true],
      [2, false],
    ],
  );
  t.is(node.status().vote, 2);
});

test('§5.2: a candidate whose votes split times out and starts a new election in a higher term', (t) => {
  const { node } = lone(1);
  for (let i = 0; i < 20 && node.status().role === 'follower'; i++) node.tick();
  t.is(node.status().term, 1);
  for (let i = 0; i < 20 && node.status().term === 1; i++) node.tick();
  t.is(node.status().term, 2);
  t.is(node.status().role, 'candidate');
});

test('§5.4.1: a vote is refused to a candidate whose log is less up to date', (t) => {
  const { node } = lone(1, 7, [entry(1, 1), entry(2, 2)], 2);
  node.step({ type: 'vote', from: 2, to: 1, term: 3, lastIndex: 5, lastTerm: 1, transfer: false }); // older last term
  node.step({ type: 'vote', from: 3, to: 1, term: 4, lastIndex: 1, lastTerm: 2, transfer: false }); // same term, shorter
  const responses = drain(node).filter((m) => m.type === 'vote-response');
  t.true(responses.length === 2 && responses.every((m) => m.type === 'vote-response' && m.reject));
  node.step({ type: 'vote', from: 2, to: 1, term: 5, lastIndex: 2, lastTerm: 2, transfer: false });
  const granted = drain(node).find((m) => m.type === 'vote-response');
  t.true(granted?.type === 'vote-response' && !granted.reject);
});

test('§5.3: a new leader appends a no-op of its term and commits it once a majority has it', (t) => {
  const net = new Network([1, 2, 3], 5);
  const leader = net.electLeader();
  const s = leader.node.status();
  t.is(s.lastIndex, 1);
  t.is(s.commit, 1);
  const noop = leader.storage.entries(1, 2, 1 << 20)[0];
  t.is(noop?.term, s.term);
  t.is(noop?.data.byteLength, 0);
});

test('§5.3: an entry is committed once replicated on a majority, and followers learn the commit index', (t) => {
  const net = new Network([1, 2, 3, 4, 5], 9);
  const leader = net.electLeader();
  const others = [...net.members.keys()].filter((id) => id !== leader.id);
  // Only two followers get the entry: leader + 2 = majority of 5.
  net.cut.add(`${leader.id}->${others[0]}`);
  net.cut.add(`${leader.id}->${others[1]}`);
  t.true(net.propose(leader.id, 'a'));
  t.is(leader.node.status().commit, 2);
  t.deepEqual(leader.applied, ['a']);
  net.tick(1);
  t.deepEqual(net.get(others[2] as number).applied, ['a']);
  // With only one follower reachable nothing more commits.
  net.cut.add(`${leader.id}->${others[2]}`);
  t.true(net.propose(leader.id, 'b'));
  net.tick(3);
  t.is(leader.node.status().commit, 2);
});

test('§5.3: log matching: a follower with conflicting entries is made identical to the leader', (t) => {
  const net = new Network([1, 2, 3], 21);
  const leader = net.electLeader();
  for (let i = 0; i < 5; i++) net.propose(leader.id, `v${i}`);
  // Isolate the leader and let it accept entries nobody else sees.
  net.isolate(leader.id);
  for (let i = 0; i < 4; i++) leader.node.propose(encoder.encode(`lost${i}`));
  net.pump();
  const rest = [...net.members.keys()].filter((id) => id !== leader.id);
  let next = net.leader();
  for (let i = 0; i < 100 && (next === undefined || next.id === leader.id); i++) {
    net.tick(1, rest);
    next = [...net.members.values()].find((m) => m.id !== leader.id && m.node.status().role === 'leader');
  }
  t.truthy(next);
  for (let i = 0; i < 3; i++) net.propose((next as { id: number }).id, `w${i}`);
  net.heal();
  net.tick(5);
  const logs = [...net.members.values()].map((m) => m.storage.entries(1, m.storage.lastIndex() + 1, Infinity).map((e) => `${e.term}/${e.index}`).join(','));
  t.is(new Set(logs).size, 1, logs.join('\n'));
  t.false(leader.applied.some((x) => x.startsWith('lost')));
  t.deepEqual(leader.applied, ['v0', 'v1', 'v2', 'v3', 'v4', 'w0', 'w1', 'w2']);
});

test('§5.3: a follower rejects an append whose previous entry does not match and hints where to retry', (t) => {
  const { node } = lone(1, 7, [entry(1, 1), entry(2, 1), entry(3, 2), entry(4, 2)], 2);
  node.step({ type: 'append', from: 2, to: 1, term: 3, prevIndex: 6, prevTerm: 3, entries: [], commit: 0 });
  const rejection = drain(node).find((m) => m.type === 'append-response');
  t.true(rejection?.type === 'append-response' && rejection.reject);
  if (rejection?.type === 'append-response') {
    t.is(rejection.index, 6);
    // Our last entry with term <= 3 is index 4 (term 2).
    t.is(rejection.hintIndex, 4);
    t.is(rejection.hintTerm, 2);
  }
});

test('§5.4.2: a leader never commits an entry of an earlier term by counting replicas', (t) => {
  // Leader of term 3 has entry (2, term 2) replicated on a majority: still not committed...
  const conf = conf3;
  const storage = new MemoryLogStorage(conf);
  storage.append([entry(1, 1), entry(2, 2)]);
  storage.setHardState({ term: 2, vote: 0, commit: 1 });
  const node = new RaftNode({ id: 1, storage, random: new Prng(1), ...baseConfig() });
  node.campaign();
  node.step({ type: 'vote-response', from: 2, to: 1, term: 3, reject: false });
  t.is(node.status().role, 'leader');
  const ready = node.ready();
  storage.append(ready.entries);
  node.advance(ready);
  node.step({ type: 'append-response', from: 2, to: 1, term: 3, index: 2, reject: false, hintIndex: 0, hintTerm: 0 });
  t.is(node.status().commit, 1, 'entry of term 2 not committed by counting');
  // ...until the no-op of term 3 (index 3) reaches the majority; then both commit.
  node.step({ type: 'append-response', from: 2, to: 1, term: 3, index: 3, reject: false, hintIndex: 0, hintTerm: 0 });
  t.is(node.status().commit, 3);
});
