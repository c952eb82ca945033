// One seed of the Raft simulator. The seed draws the weather (drop, duplicate, delay and crash rates,
// how often partitions, restarts, transfers, snapshots and membership changes happen), then drives
// five replicas through a safety phase with faults, checking after every tick:
//   - at most one leader per term;
//   - no two replicas apply different entries at the same position (applied sequences are prefixes
//     of one another), which also covers "every replica applies in order" and "no committed entry lost";
// then a liveness phase: everything heals, and a new proposal must be applied by every voter within
// LIVENESS_TICKS. Pure and synchronous: the same seed gives the same run and the same digest.
import { Prng } from '../../actors/random.js';
import { ConfChangeType } from '../../raft/types.js';
import type { ConfState } from '../../raft/types.js';
import type { Message } from '../../raft/messages.js';
import { Network, encoder } from './network.js';

export const SAFETY_STEPS_DEFAULT = 250;
/** Bound for liveness after the last heal: 40 election timeouts of 10 ticks. */
export const LIVENESS_TICKS = 400;

export interface SimOptions {
  /** Voters at the start: 3 (replicas 4 and 5 begin as learners) or 5. */
  readonly nodes: 3 | 5;
  readonly steps: number;
}

export interface Weather {
  readonly dropChance: number;
  readonly duplicateChance: number;
  readonly delayChance: number;
  readonly crashChance: number;
  readonly partitionChance: number;
  readonly oneWayChance: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
}

export interface SimResult {
  readonly seed: number;
  /** The first invariant broken, with the step it broke at; undefined when the seed ran clean. */
  readonly violation: string | undefined;
  readonly violationStep: number | undefined;
  readonly weather: Weather;
  /** FNV-1a over the per-step leader and applied counts: equal digests mean identical runs. */
  readonly digest: string;
  readonly appliedEntries: number;
  /** The last events before the end of the run (for a failure report). */
  readonly recentEvents: readonly string[];
}

const RECENT_EVENTS_KEPT = 40;

function drawWeather(random: Prng): Weather {
  return {
    dropChance: random.next() * 0.1,
    duplicateChance: random.next() * 0.05,
    delayChance: random.next() * 0.1,
    crashChance: random.next() * 0.004,
    partitionChance: random.next() * 0.08,
    oneWayChance: random.next() * 0.03,
    preVote: random.chance(0.5),
    checkQuorum: random.chance(0.5),
  };
}

function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export function runSeed(seed: number, options: SimOptions): SimResult {
  const random = new Prng(seed);
  const weather = drawWeather(random);
  const ids = [1, 2, 3, 4, 5];
  const conf: ConfState =
    options.nodes === 5
      ? { voters: ids, learners: [], votersOutgoing: [], learnersNext: [] }
      : { voters: [1, 2, 3], learners: [4, 5], votersOutgoing: [], learnersNext: [] };
  const net = new Network(ids, seed, { preVote: weather.preVote, checkQuorum: weather.checkQuorum, snapshotChunkBytes: 16, maxInflightAppends: 4 }, conf);
  net.chaos = { random: random.fork(), delayChance: weather.delayChance, crashChance: weather.crashChance };
  const events: string[] = [];
  const record = (step: number, event: string): void => {
    events.push(`step ${step}: ${event}`);
    if (events.length > RECENT_EVENTS_KEPT) events.shift();
  };
  net.filter = (m: Message) => {
    if (random.chance(weather.dropChance)) return false;
    if (random.chance(weather.duplicateChance)) net.node(m.to).step(m);
    return true;
  };
  const leadersByTerm = new Map<number, number>();
  let digest = 0x811c9dc5;
  let proposals = 0;
  const finish = (violation: string | undefined, step: number | undefined): SimResult => ({
    seed,
    violation,
    violationStep: step,
    weather,
    digest: digest.toString(16).padStart(8, '0'),
    appliedEntries: Math.max(...[...net.members.values()].map((m) => m.applied.length)),
    recentEvents: [...events],
  });
  const check = (step: number): string | undefined => {
    for (const member of net.members.values()) {
      const status = member.node.status();
      if (status.role !== 'leader') continue;
      const known = leadersByTerm.get(status.term);
      if (known !== undefined && known !== member.id) return `two leaders in term ${status.term}: ${known} and ${member.id}`;
      if (known === undefined) record(step, `replica ${member.id} leads term ${status.term}`);
      leadersByTerm.set(status.term, member.id);
    }
    let longest: string[] = [];
    for (const member of net.members.values()) if (member.applied.length > longest.length) longest = member.applied;
    for (const member of net.members.values()) {
      for (let i = 0; i < member.applied.length; i++) {
        if (member.applied[i] !== longest[i]) return `replica ${member.id} applied ${member.applied[i]} at position ${i}, another replica ${longest[i]}`;
      }
    }
    return undefined;
  };

  for (let step = 0; step < options.steps; step++) {
    const roll = random.next();
    const pick = random.pick(ids);
    if (roll < weather.partitionChance) {
      net.heal();
      net.isolate(pick);
      record(step, `isolate ${pick}`);
    } else if (roll < weather.partitionChance + weather.oneWayChance) {
      const other = random.pick(ids.filter((id) => id !== pick));
      net.cut.add(`${pick}->${other}`);
      record(step, `one-way cut ${pick}->${other}`);
    } else if (roll < 0.12) {
      net.heal();
      record(step, 'heal');
    } else if (roll < 0.14) {
      net.restart(pick);
      record(step, `restart ${pick}`);
    } else if (roll < 0.16) {
      const leader = net.leader();
      if (leader !== undefined) {
        leader.node.transferLeadership(pick);
        record(step, `transfer ${leader.id}->${pick}`);
      }
    } else if (roll < 0.18) {
      const member = net.get(pick);
      const applied = member.node.status().applied;
      if (applied > member.storage.snapshot().meta.index + 3) {
        member.storage.createSnapshot(applied, member.node.status().conf, encoder.encode(JSON.stringify(member.applied)));
        member.storage.compact(applied);
        record(step, `snapshot ${pick} at ${applied}`);
      }
    } else if (roll < 0.19) {
      const leader = net.leader();
      const target = random.pick([4, 5]);
      if (leader !== undefined && leader.id !== target) {
        const isVoter = leader.node.status().conf.voters.includes(target);
        leader.node.proposeConfChange({ changes: [{ type: isVoter ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, replica: target }] });
        record(step, `conf change: ${target} to ${isVoter ? 'learner' : 'voter'}`);
      }
    } else if (roll < 0.2) {
      const leader = net.leader();
      if (leader !== undefined && leader.id !== 4 && leader.id !== 5) {
        const voters = leader.node.status().conf.voters;
        leader.node.proposeConfChange({
          changes: [4, 5].map((replica) => ({ type: voters.includes(replica) ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, replica })),
        });
        record(step, 'joint conf change: toggle 4 and 5');
      }
    } else if (roll < 0.55) {
      const leader = net.leader();
      if (leader !== undefined && leader.node.propose(encoder.encode(`s${seed}-p${proposals}`)).ok) proposals++;
    }
    net.tick(1);
    const violation = check(step);
    const leader = net.leader();
    digest = fnv1a(digest, `${step}:${leader?.id ?? 0}:${[...net.members.values()].map((m) => m.applied.length).join(',')}`);
    if (violation !== undefined) return finish(violation, step);
  }

  // Liveness: heal everything, stop the weather, and require a new proposal applied by every voter.
  net.heal();
  net.filter = () => true;
  net.chaos = undefined;
  record(options.steps, 'heal all; liveness phase');
  const voters = () => [...net.members.values()].filter((m) => m.node.status().conf.voters.includes(m.id));
  let ticks = 0;
  for (; ticks < LIVENESS_TICKS && !voters().every((m) => m.applied.includes('final')); ticks++) {
    // A proposal can be lost when leadership changes before it commits: like a client, retry.
    if (ticks % 40 === 0) net.leader()?.node.propose(encoder.encode('final'));
    net.tick(1);
    const violation = check(options.steps + ticks);
    if (violation !== undefined) return finish(violation, options.steps + ticks);
  }
  if (ticks >= LIVENESS_TICKS) {
    const missing = voters().filter((m) => !m.applied.includes('final')).map((m) => m.id);
    return finish(`liveness: the final proposal was not applied by voters ${missing.join(',')} within ${LIVENESS_TICKS} ticks of healing`, options.steps + ticks);
  }
  return finish(undefined, undefined);
}
