// A small randomized safety check of the core through the in-test Network (the full simulator with
// crashes and delays lives in src/testing/raft-sim/): message loss and duplication, partitions,
// crashes that lose an unpersisted Ready, restarts, leadership transfers, snapshots with compaction
// and membership changes (single and joint), over many
// seeds. Checked: at most one leader per term, and every replica's applied sequence is a prefix of
// the longest one (no two replicas apply different entries at the same position).

import test from 'ava';
import { Prng } from '../../src/actors/random.js';
import { ConfChangeType } from '../../src/raft/types.js';
import type { Message } from '../../src/raft/messages.js';
import { Network, encoder } from './raft-network.js';

const SEEDS = Number(process.env['RAFT_RANDOM_SEEDS'] ?? 150);
const STEPS = 250;
const LIVENESS_TICKS = 400;
const stats = { applied: 0, snapshots: 0, confChanges: 0, joint: 0 };

function runSeed(seed: number): string | undefined {
  const random = new Prng(seed);
  const ids = [1, 2, 3, 4, 5];
  const net = new Network(ids, seed, { preVote: random.chance(0.5), checkQuorum: random.chance(0.5), snapshotChunkBytes: 16, maxInflightAppends: 4 });
  net.chaos = { random: random.fork(), delayChance: 0.05, crashChance: 0.002 };
  const leadersByTerm = new Map<number, number>();
  let proposals = 0;
  net.filter = (m: Message) => {
    if (random.chance(0.05)) return false;
    if (random.chance(0.03)) net.node(m.to).step(m); // duplicate
    return true;
  };
  for (let step = 0; step < STEPS; step++) {
    const roll = random.next();
    if (roll < 0.04) {
      net.heal();
      const a = random.pick(ids);
      net.isolate(a);
    } else if (roll < 0.1) {
      net.heal();
    } else if (roll < 0.12) {
      // A clean restart (crashes that lose a Ready happen inside the network's chaos).
      net.restart(random.pick(ids));
    } else if (roll < 0.14) {
      const leader = net.leader();
      if (leader !== undefined) leader.node.transferLeadership(random.pick(ids));
    } else if (roll < 0.16) {
      const member = net.get(random.pick(ids));
      const applied = member.node.status().applied;
      if (applied > member.storage.snapshot().meta.index + 3) {
        member.storage.createSnapshot(applied, member.node.status().conf, encoder.encode(JSON.stringify(member.applied)));
        member.storage.compact(applied);
      }
    } else if (roll < 0.17) {
      const leader = net.leader();
      const target = random.pick([4, 5]);
      if (leader !== undefined && leader.id !== target) {
        const isVoter = leader.node.status().conf.voters.includes(target);
        leader.node.proposeConfChange({ changes: [{ type: isVoter ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, replica: target }] });
      }
    } else if (roll < 0.18) {
      // Joint consensus: toggle both 4 and 5 at once (enter joint, auto-leave).
      const leader = net.leader();
      if (leader !== undefined && leader.id !== 4 && leader.id !== 5) {
        const voters = leader.node.status().conf.voters;
        leader.node.proposeConfChange({
          changes: [4, 5].map((replica) => ({ type: voters.includes(replica) ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, replica })),
        });
      }
    } else if (roll < 0.5) {
      const leader = net.leader();
      if (leader !== undefined && leader.node.propose(encoder.encode(`s${seed}-p${proposals}`)).ok) proposals++;
    }
    net.tick(1);
    for (const member of net.members.values()) {
      const s = member.node.status();
      if (s.role !== 'leader') continue;
      const known = leadersByTerm.get(s.term);
      if (known !== undefined && known !== member.id) return `two leaders in term ${s.term}: ${known} and ${member.id}`;
      leadersByTerm.set(s.term, member.id);
    }
    let longest: string[] = [];
    for (const member of net.members.values()) if (member.applied.length > longest.length) longest = member.applied;
    for (const member of net.members.values()) {
      for (let i = 0; i < member.applied.length; i++) {
        if (member.applied[i] !== longest[i]) return `replica ${member.id} applied ${member.applied[i]} at ${i}, another ${longest[i]}`;
      }
    }
  }
  // Liveness after healing: a leader appears and a new proposal commits everywhere reachable.
  net.heal();
  net.filter = () => true;
  net.chaos = undefined;
  net.electLeader(400);
  // A proposal can be lost when leadership changes before it commits: like a client, retry.
  const voters = () => [...net.members.values()].filter((m) => m.node.status().conf.voters.includes(m.id));
  let ticks = 0;
  for (; ticks < LIVENESS_TICKS && !voters().every((m) => m.applied.includes('final')); ticks++) {
    if (ticks % 40 === 0) net.leader()?.node.propose(encoder.encode('final'));
    net.tick(1);
  }
  if (ticks >= LIVENESS_TICKS) {
    const missing = voters().filter((m) => !m.applied.includes('final'));
    return `final proposal not applied within ${LIVENESS_TICKS} ticks of healing on ${missing.map((m) => JSON.stringify(m.node.status())).join(' ')}`;
  }
  stats.applied += Math.max(...[...net.members.values()].map((m) => m.applied.length));
  stats.snapshots += [...net.members.values()].filter((m) => m.storage.snapshot().meta.index > 0).length;
  stats.joint += Math.max(...[...net.members.values()].map((m) => m.appliedEntries.filter((e) => e.type === 1 && e.data.byteLength <= 2).length));
  stats.confChanges += Math.max(...[...net.members.values()].map((m) => m.appliedEntries.filter((e) => e.type === 1).length));
  return undefined;
}

test(`randomized safety over ${SEEDS} seeds: one leader per term, identical applied prefixes, liveness after healing`, (t) => {
  const failures: string[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    let problem: string | undefined;
    try {
      problem = runSeed(seed);
    } catch (err) {
      problem = `threw ${(err as Error).stack ?? String(err)}`;
    }
    if (problem !== undefined) failures.push(`seed ${seed}: ${problem}`);
    if (failures.length >= 3) break;
  }
  t.log(`seeds=${SEEDS} applied=${stats.applied} replicas-with-snapshot=${stats.snapshots} conf-changes=${stats.confChanges} joint-left=${stats.joint}`);
  t.deepEqual(failures, []);
});
