// One run of the seeded Raft simulator. A seed draws its weather and fault plan (faults.ts: partitions,
// one-way cuts, crashes at named driver points that lose what was not fsynced, snapshots, leadership
// transfers, membership changes), then five replicas (3 voters + 2 learners, or 5 voters) go through
// a safety phase of `steps` ticks with proposals, message drops, duplicates, delays and reordering,
// with every invariant checked as the driver works and at the end of every step (invariants.ts);
// then a liveness phase: everything heals and a new proposal must be applied by every voter of the
// leader's configuration within LIVENESS_TICKS. Pure and synchronous: the same seed and the same plan
// give the same run, the same trace and the same digest.

import { Prng } from '../../actors/random.js';
import type { Random } from '../../actors/random.js';
import type { Ready } from '../../raft/core.js';
import type { Message } from '../../raft/messages.js';
import { ConfChangeType } from '../../raft/types.js';
import type { ConfChangeSingle, ConfState, Entry, ReplicaId, Snapshot } from '../../raft/types.js';
import { REPLICA_IDS, describeEvent, planFaults } from './faults.js';
import type { FaultEvent, FaultPlan, MembershipOp, Weather } from './faults.js';
import { SafetyChecker } from './invariants.js';
import type { Violation } from './invariants.js';
import { Network, encoder } from './network.js';
import type { Member, NetworkObserver } from './network.js';
import type { Breakage } from './breakage.js';

export const SAFETY_STEPS_DEFAULT = 250;
/**
 * Liveness bound after the last heal. An election takes at most 2 * electionTicks = 20 ticks once
 * messages flow, a replica that raised its term in a partition can force one more election, a
 * leadership transfer in flight is abandoned after one election timeout, and the final proposal is
 * retried every LIVENESS_RETRY_TICKS in case a leader change lost it. The worst seen in 20,000 seeds
 * is 161 ticks (the CLI prints it); 300 leaves room, yet is tight enough to catch a cluster that churns.
 */
export const LIVENESS_TICKS = 300;
const LIVENESS_RETRY_TICKS = 40;
/** Chance per step that the leader gets a proposal. */
const PROPOSE_CHANCE = 0.35;
const RECENT_EVENTS_KEPT = 40;
/**
 * Membership changes never leave fewer voters than this. With two voters, one that slept through
 * the change keeps campaigning in its old configuration without ever asking the other, and (without
 * pre-vote) the pair can duel for many terms: a liveness hazard of Raft itself, which operators avoid
 * by never running two voters.
 */
const MIN_VOTERS = 3;

export interface SimOptions {
  /** Voters at the start: 3 (replicas 4 and 5 begin as learners) or 5. */
  readonly nodes: 3 | 5;
  readonly steps: number;
  /** A deliberate bug (the self-test, breakage.ts); absent in real runs. */
  readonly broken?: Breakage;
  /** Check durability before sending directly (default true); off to prove the end-to-end checks. */
  readonly durabilityCheck?: boolean;
}

export interface SimResult {
  readonly seed: number;
  /** The first invariant broken; undefined when the seed ran clean. */
  readonly violation: string | undefined;
  readonly violationKind: Violation['kind'] | undefined;
  readonly violationStep: number | undefined;
  readonly weather: Weather;
  readonly plan: FaultPlan;
  /** FNV-1a over the per-step leader and applied counts: equal digests mean identical runs. */
  readonly digest: string;
  readonly appliedEntries: number;
  /** Ticks from the heal to the final proposal applied everywhere (undefined if not reached). */
  readonly livenessTicks: number | undefined;
  /** Everything that happened, one line per event, up to the violation. */
  readonly trace: readonly string[];
  /** The last events of the trace (for a short failure report). */
  readonly recentEvents: readonly string[];
}

function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Runs `seed` with the fault plan the seed draws. */
export function runSeed(seed: number, options: SimOptions): SimResult {
  return runPlan(seed, options, planFaults(seed, options.steps));
}

/** Runs `seed` with a given fault plan (the seed's own, a shrunk one, or one read from the command line). */
export function runPlan(seed: number, options: SimOptions, plan: FaultPlan): SimResult {
  return new SimRun(seed, options, plan).run();
}

class SimRun {
  private readonly net: Network;
  private readonly checker: SafetyChecker;
  private readonly trace: string[] = [];
  private readonly workload: Random;
  private readonly messages: Random;
  private readonly removed = new Set<ReplicaId>();
  private step = 0;
  private digest = 0x811c9dc5;
  private proposals = 0;
  private thrown: Violation | undefined = undefined;

  constructor(
    private readonly seed: number,
    private readonly options: SimOptions,
    private readonly plan: FaultPlan,
  ) {
    // Streams of their own (the Network forks the replicas' streams from `seed` itself).
    const root = new Prng(seed ^ 0x3c6e_f372);
    this.workload = root.fork();
    this.messages = root.fork();
    const weather = plan.weather;
    const conf: ConfState =
      options.nodes === 5
        ? { voters: [...REPLICA_IDS], learners: [], votersOutgoing: [], learnersNext: [] }
        : { voters: [1, 2, 3], learners: [4, 5], votersOutgoing: [], learnersNext: [] };
    this.net = new Network(REPLICA_IDS, seed, { preVote: weather.preVote, checkQuorum: weather.checkQuorum, snapshotChunkBytes: 16, maxInflightAppends: 4, maxEntriesPerAppendBytes: weather.appendBytes }, conf);
    this.net.chaos = { random: root.fork(), delayChance: weather.delayChance };
    this.net.tornWrites = root.fork();
    if (options.broken !== undefined) this.net.broken = options.broken;
    this.checker = new SafetyChecker(options.durabilityCheck ?? true);
    this.checker.note = (line) => this.record(line);
    this.net.observer = this.tracingObserver();
    this.net.filter = (m: Message) => {
      if (this.messages.chance(weather.dropChance)) return false;
      if (this.messages.chance(weather.duplicateChance)) this.net.node(m.to).step(m);
      return true;
    };
  }

  private record(event: string): void {
    this.trace.push(`step ${this.step}: ${event}`);
  }

  /** The checker, plus trace lines for crashes. */
  private tracingObserver(): NetworkObserver {
    const checker = this.checker;
    return {
      writing: (member: Member, ready: Ready) => checker.writing(member, ready),
      written: (member: Member, ready: Ready) => checker.written(member, ready),
      sending: (member: Member, messages: readonly Message[]) => checker.sending(member, messages),
      applying: (member: Member, entry: Entry) => checker.applying(member, entry),
      installed: (member: Member, snapshot: Snapshot) => checker.installed(member, snapshot),
      restarted: (member: Member, lostWrites: number) => {
        const hard = member.disk.hardState();
        this.record(`replica ${member.id} crashed (lost ${lostWrites} unsynced writes) and restarted at term ${hard.term} vote ${hard.vote} commit ${hard.commit}, log ${member.storage.firstIndex()}..${member.storage.lastIndex()}`);
      },
    };
  }

  run(): SimResult {
    const byStep = new Map<number, FaultEvent[]>();
    for (const event of this.plan.events) {
      const list = byStep.get(event.step) ?? [];
      list.push(event);
      byStep.set(event.step, list);
    }
    try {
      for (; this.step < this.options.steps; this.step++) {
        this.checker.step = this.step;
        for (const event of byStep.get(this.step) ?? []) this.inject(event);
        if (this.workload.chance(PROPOSE_CHANCE)) {
          const leader = this.net.leader();
          if (leader !== undefined && leader.node.propose(encoder.encode(`s${this.seed}-p${this.proposals}`)).ok) this.proposals++;
        }
        this.net.tick(1);
        this.endStep();
        if (this.checker.violation !== undefined) return this.finish(undefined);
      }
      return this.finish(this.liveness());
    } catch (error) {
      this.thrown = { kind: 'core-threw', message: `core-threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` };
      return this.finish(undefined);
    }
  }

  private endStep(): void {
    this.checker.endStep(this.net);
    this.stopRemoved();
    const leader = this.net.leader();
    this.digest = fnv1a(this.digest, `${this.step}:${leader?.id ?? 0}:${[...this.net.members.values()].map((m) => m.applied.length).join(',')}`);
  }

  /** Shuts down replicas whose removal the leader has applied (as an operator would). */
  private stopRemoved(): void {
    if (this.removed.size === 0) return;
    const leader = this.net.leader();
    if (leader === undefined) return;
    const conf = leader.node.status().conf;
    for (const id of this.removed) {
      if (this.net.stopped.has(id) || inConf(conf, id)) continue;
      this.net.stop(id);
      this.record(`replica ${id} shut down: its removal is applied`);
    }
  }

  private inject(event: FaultEvent): void {
    const net = this.net;
    const running = (id: ReplicaId): boolean => !net.stopped.has(id);
    switch (event.kind) {
      case 'isolate':
        net.heal();
        net.isolate(event.replica);
        break;
      case 'split':
        net.heal();
        net.partition([...event.minority], REPLICA_IDS.filter((id) => !event.minority.includes(id)));
        break;
      case 'cut':
        net.cut.add(`${event.from}->${event.to}`);
        break;
      case 'heal':
        net.heal();
        break;
      case 'crash':
        if (!running(event.replica)) return;
        if (event.point === 'idle') net.crash(event.replica);
        else net.armCrash(event.replica, event.point);
        break;
      case 'snapshot': {
        if (!running(event.replica)) return;
        const at = net.snapshot(event.replica);
        this.record(at === undefined ? `snapshot ${event.replica}: nothing new applied` : `snapshot ${event.replica} at ${at}, log compacted`);
        return;
      }
      case 'transfer': {
        const leader = net.leader();
        if (leader === undefined || leader.id === event.to) return;
        leader.node.transferLeadership(event.to);
        this.record(`leader ${leader.id}: transfer leadership to ${event.to}`);
        return;
      }
      case 'membership':
        this.changeMembership(event.op, event.pick);
        return;
    }
    this.record(describeEvent(event));
  }

  private changeMembership(op: MembershipOp, pick: number): void {
    const leader = this.net.leader();
    if (leader === undefined) return;
    const conf = leader.node.status().conf;
    if (conf.votersOutgoing.length > 0) return; // joint: wait for the auto-leave
    const usable = REPLICA_IDS.filter((id) => !this.removed.has(id) && !this.net.stopped.has(id));
    const voters = conf.voters.filter((id) => usable.includes(id));
    const learners = conf.learners.filter((id) => usable.includes(id));
    const outsiders = usable.filter((id) => !inConf(conf, id));
    const choose = (from: readonly ReplicaId[], index = 0): ReplicaId | undefined => (from.length === 0 ? undefined : from[(pick + index) % from.length]);
    let changes: ConfChangeSingle[] | undefined;
    const learner = choose(learners);
    const voter = choose(voters);
    switch (op) {
      case 'add-learner': {
        const id = choose(outsiders);
        if (id !== undefined) changes = [{ type: ConfChangeType.AddLearner, replica: id }];
        break;
      }
      case 'promote':
        if (learner !== undefined) changes = [{ type: ConfChangeType.AddVoter, replica: learner }];
        break;
      case 'demote':
        if (voter !== undefined && conf.voters.length > MIN_VOTERS) changes = [{ type: ConfChangeType.AddLearner, replica: voter }];
        break;
      case 'remove': {
        const id = choose([...voters, ...learners]);
        if (id !== undefined && (!conf.voters.includes(id) || conf.voters.length > MIN_VOTERS)) changes = [{ type: ConfChangeType.RemoveReplica, replica: id }];
        break;
      }
      case 'replace':
        // Joint consensus: promote a learner and demote (even pick) or remove (odd pick) a voter at once.
        if (learner !== undefined && voter !== undefined) {
          changes = [
            { type: ConfChangeType.AddVoter, replica: learner },
            { type: pick % 2 === 0 ? ConfChangeType.AddLearner : ConfChangeType.RemoveReplica, replica: voter },
          ];
        }
        break;
      case 'toggle-two': {
        const members = [...voters, ...learners];
        const a = choose(members);
        const b = choose(members, 1);
        if (a === undefined || b === undefined || a === b) break;
        const toggled = [a, b].map((id) => ({ type: conf.voters.includes(id) ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, replica: id }));
        const votersAfter = conf.voters.length + toggled.filter((c) => c.type === ConfChangeType.AddVoter).length - toggled.filter((c) => c.type === ConfChangeType.AddLearner).length;
        if (votersAfter >= MIN_VOTERS) changes = toggled;
        break;
      }
    }
    if (changes === undefined) return;
    const result = leader.node.proposeConfChange({ changes });
    const text = changes.map((c) => `${c.type === ConfChangeType.AddVoter ? 'voter' : c.type === ConfChangeType.AddLearner ? 'learner' : 'remove'} ${c.replica}`).join(' + ');
    this.record(`leader ${leader.id}: membership ${op}: ${text}${result.ok ? '' : ` (refused: ${result.reason})`}`);
    if (result.ok) for (const c of changes) if (c.type === ConfChangeType.RemoveReplica) this.removed.add(c.replica);
  }

  /** Heals everything and returns the ticks until the final proposal is applied everywhere (or undefined). */
  private liveness(): number | undefined {
    const net = this.net;
    net.heal();
    net.filter = () => true;
    net.chaos = undefined;
    net.disarmCrashes();
    this.record('heal all, calm network: liveness phase');
    for (let ticks = 0; ticks < LIVENESS_TICKS; ticks++) {
      this.step = this.options.steps + ticks;
      this.checker.step = this.step;
      if (ticks % LIVENESS_RETRY_TICKS === 0) net.leader()?.node.propose(encoder.encode('final'));
      net.tick(1);
      this.endStep();
      if (this.checker.violation !== undefined) return undefined;
      if (this.finalAppliedEverywhere()) return ticks + 1;
    }
    return undefined;
  }

  private finalAppliedEverywhere(): boolean {
    const leader = this.net.leader();
    if (leader === undefined || !leader.applied.includes('final')) return false;
    return leader.node.status().conf.voters.every((id) => this.net.get(id).applied.includes('final'));
  }

  private finish(livenessTicks: number | undefined): SimResult {
    let violation = this.thrown ?? this.checker.violation;
    const atStep = violation === undefined ? undefined : this.step;
    if (violation === undefined && livenessTicks === undefined) {
      const leader = this.net.leader();
      const waiting = leader === undefined ? 'no leader' : `voters ${leader.node.status().conf.voters.filter((id) => !this.net.get(id).applied.includes('final')).join(',')} without it`;
      violation = { kind: 'liveness', message: `liveness: the final proposal was not applied within ${LIVENESS_TICKS} ticks of healing (${waiting})` };
    }
    if (violation !== undefined) this.record(`VIOLATION ${violation.message.split('\n')[0] ?? ''}`);
    return {
      seed: this.seed,
      violation: violation?.message,
      violationKind: violation?.kind,
      violationStep: violation === undefined ? undefined : (atStep ?? this.step),
      weather: this.plan.weather,
      plan: this.plan,
      digest: this.digest.toString(16).padStart(8, '0'),
      appliedEntries: Math.max(...[...this.net.members.values()].map((m) => m.applied.length)),
      livenessTicks,
      trace: this.trace,
      recentEvents: this.trace.slice(-RECENT_EVENTS_KEPT),
    };
  }
}

function inConf(conf: ConfState, id: ReplicaId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id) || conf.votersOutgoing.includes(id) || conf.learnersNext.includes(id);
}
