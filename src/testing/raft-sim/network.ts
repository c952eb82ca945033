// A deterministic, synchronous network and driver for several RaftNodes, each with a MemoryLogStorage
// (what the core reads), a SimDisk beneath it (what survives a crash: synced vs written-but-not-synced)
// and a list-of-strings state machine, driven in ticks. It follows the driver order
// (write -> fsync if mustSync -> send -> apply -> advance) and lets a caller drop, cut, duplicate,
// delay and reorder messages, crash a replica at a named point of that order (losing what was not
// synced) and restart it from its disk, and stop replicas removed from the group. Used by the Raft
// unit tests and by the seeded simulator (run.ts, `npm run sim`), which observes every Ready through
// a NetworkObserver to check invariants as they happen.

import { Prng } from '../../actors/random.js';
import type { Random } from '../../actors/random.js';
import { decodeConfChange } from '../../raft/confchange.js';
import { RaftNode } from '../../raft/core.js';
import type { RaftConfig, Ready, ReadState } from '../../raft/core.js';
import { MemoryLogStorage } from '../../raft/memory-storage.js';
import type { Message } from '../../raft/messages.js';
import { EntryType } from '../../raft/types.js';
import type { ConfState, Entry, ReplicaId, Snapshot } from '../../raft/types.js';
import { commitOldTerms } from './breakage.js';
import type { Breakage } from './breakage.js';
import { SimDisk } from './disk.js';

export const encoder = new TextEncoder();
/** Far above any healthy pump (a few hundred messages); reaching it means replicas are looping. */
export const MAX_MESSAGES_PER_PUMP = 200_000;
const decoder = new TextDecoder();

export interface Member {
  readonly id: ReplicaId;
  node: RaftNode;
  /** The log the core reads: everything written, synced or not (replaced on a crash). */
  storage: MemoryLogStorage;
  /** What a crash leaves behind. */
  readonly disk: SimDisk;
  /** The state machine: the data of every applied normal, non-empty entry. */
  applied: string[];
  appliedEntries: Entry[];
  readStates: ReadState[];
}

export type Tweak = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

/**
 * Where in the driver's order a replica crashes: before writing the Ready, after writing it but before
 * the fsync, after the fsync but before sending, after sending but before applying, after applying but
 * before advance(). Named after the real driver's crash points (src/raft/crash-points.ts).
 */
export type CrashPoint = 'before-write' | 'after-write' | 'after-sync' | 'after-send' | 'after-apply';
export const CRASH_POINTS: readonly CrashPoint[] = ['before-write', 'after-write', 'after-sync', 'after-send', 'after-apply'];

/** Sees every step of the driver, as it happens (the simulator's invariant checker). */
export interface NetworkObserver {
  /** Before the Ready's snapshot, entries and hard state are written. */
  writing(member: Member, ready: Ready): void;
  /** After the Ready's snapshot, entries and hard state were written to the member's storage. */
  written(member: Member, ready: Ready): void;
  /** The Ready's messages are about to leave (after the fsync). */
  sending(member: Member, messages: readonly Message[]): void;
  /** A committed entry handed to the state machine (before it is applied). */
  applying(member: Member, entry: Entry): void;
  /** A snapshot installed in the state machine (from the leader, or from disk at a restart). */
  installed(member: Member, snapshot: Snapshot): void;
  /** The member crashed and was rebuilt from its disk. */
  restarted(member: Member, lostWrites: number): void;
}

export function baseConfig(tweak: Tweak = {}): Omit<RaftConfig, 'id' | 'storage' | 'random'> {
  return {
    electionTicks: 10,
    heartbeatTicks: 1,
    maxEntriesPerAppendBytes: 1024 * 1024,
    maxInflightAppends: 256,
    maxInflightBytes: 16 * 1024 * 1024,
    preVote: false,
    checkQuorum: false,
    readOnly: 'safe',
    snapshotChunkBytes: 64 * 1024,
    ...tweak,
  };
}

export class Network {
  readonly members = new Map<ReplicaId, Member>();
  /** Links "from->to" that drop every message. */
  readonly cut = new Set<string>();
  /** Replicas shut down for good (removed from the group): they neither tick nor receive. */
  readonly stopped = new Set<ReplicaId>();
  /** Return false to drop a message; may also record it. */
  filter: (m: Message) => boolean = () => true;
  /** Messages handed to a replica so far. */
  deliveredCount = 0;
  /** When set: messages are delivered in shuffled order and some are held back to the next tick. */
  chaos: { random: Random; delayChance: number } | undefined = undefined;
  observer: NetworkObserver | undefined = undefined;
  /** A deliberate bug, for the simulator's self-test (breakage.ts). */
  broken: Breakage | undefined = undefined;
  /** Decides how much of an unsynced tail survives a crash (none when undefined). */
  tornWrites: Random | undefined = undefined;
  private readonly armedCrashes = new Map<ReplicaId, CrashPoint>();
  private late: Message[] = [];
  private readonly random: Prng;

  constructor(
    ids: readonly ReplicaId[],
    readonly seed = 1,
    readonly tweak: Tweak = {},
    conf: ConfState = { voters: [...ids], learners: [], votersOutgoing: [], learnersNext: [] },
  ) {
    this.random = new Prng(seed);
    for (const id of ids) this.add(id, conf);
  }

  /** Adds a replica with its own fresh storage and disk holding `conf` as its initial membership. */
  add(id: ReplicaId, conf: ConfState): Member {
    const storage = new MemoryLogStorage(conf);
    const disk = new SimDisk(conf);
    const member: Member = { id, storage, disk, node: this.makeNode(id, storage), applied: [], appliedEntries: [], readStates: [] };
    this.members.set(id, member);
    return member;
  }

  makeNode(id: ReplicaId, storage: MemoryLogStorage, applied = 0): RaftNode {
    const node = new RaftNode({ id, storage, random: this.random.fork(), ...baseConfig(this.tweak), applied });
    if (this.broken === 'commit-old-terms') commitOldTerms(node);
    return node;
  }

  get(id: ReplicaId): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  node(id: ReplicaId): RaftNode {
    return this.get(id).node;
  }

  /** Members still running. */
  running(): Member[] {
    return [...this.members.values()].filter((m) => !this.stopped.has(m.id));
  }

  isolate(id: ReplicaId): void {
    for (const other of this.members.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  partition(...groups: ReplicaId[][]): void {
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut.add(`${x}->${y}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Ticks every node `ticks` times, pumping messages to quiescence after each tick. */
  tick(ticks = 1, only?: readonly ReplicaId[]): void {
    for (let i = 0; i < ticks; i++) {
      for (const member of this.running()) if (only === undefined || only.includes(member.id)) member.node.tick();
      const late = this.late;
      this.late = [];
      for (const m of late) this.deliver(m);
      this.pump();
    }
  }

  /**
   * Processes Ready batches and delivers messages until nothing is left to do. Bounded: a pump that
   * neither quiesces within `maxRounds` nor stays under MAX_MESSAGES_PER_PUMP is a bug (a storm), and throws.
   */
  pump(maxRounds = 10_000): void {
    let messages = 0;
    for (let round = 0; round < maxRounds; round++) {
      const outbox: Message[] = [];
      let busy = false;
      for (const member of this.running()) {
        if (member.node.hasReady()) busy = true;
        for (const m of this.drive(member)) outbox.push(m); // (no spread: a message storm must not overflow the stack)
      }
      if (!busy) return;
      messages += outbox.length;
      if (messages > MAX_MESSAGES_PER_PUMP) throw new Error(`message storm: over ${MAX_MESSAGES_PER_PUMP} messages in one pump (seed ${this.seed})`);
      const chaos = this.chaos;
      if (chaos !== undefined) {
        for (let i = outbox.length - 1; i > 0; i--) {
          const j = chaos.random.int(i + 1);
          [outbox[i], outbox[j]] = [outbox[j] as Message, outbox[i] as Message];
        }
      }
      for (const m of outbox) {
        if (chaos !== undefined && chaos.random.chance(chaos.delayChance)) this.late.push(m);
        else this.deliver(m);
      }
    }
    throw new Error(`network did not quiesce in ${maxRounds} rounds (seed ${this.seed})`);
  }

  /** The next Ready of `id` crashes at `point` (the member then restarts from its disk). */
  armCrash(id: ReplicaId, point: CrashPoint): void {
    this.armedCrashes.set(id, point);
  }

  disarmCrashes(): void {
    this.armedCrashes.clear();
  }

  /** Runs one Ready of `member` through the driver's order and returns its outgoing messages. */
  drive(member: Member): Message[] {
    const node = member.node;
    if (!node.hasReady()) return [];
    const ready = node.ready();
    const crashAt = this.armedCrashes.get(member.id);
    if (crashAt !== undefined) this.armedCrashes.delete(member.id);
    if (crashAt === 'before-write') return this.crashReturning(member, []);
    // 1. write (the core's storage and the disk's unsynced tail), then fsync if the Ready needs it
    const mustSync = this.mustSync(member, ready);
    this.observer?.writing(member, ready);
    if (ready.snapshot !== undefined) {
      member.storage.applySnapshot(ready.snapshot);
      member.disk.write({ kind: 'snapshot', snapshot: ready.snapshot });
      this.observer?.installed(member, ready.snapshot);
      member.applied = decodeStateMachine(ready.snapshot);
    }
    member.storage.append(ready.entries);
    for (const entry of ready.entries) member.disk.write({ kind: 'entry', entry });
    if (ready.hardState !== undefined) {
      member.storage.setHardState(ready.hardState);
      member.disk.write({ kind: 'hard-state', hardState: ready.hardState });
    }
    this.observer?.written(member, ready);
    if (crashAt === 'after-write') return this.crashReturning(member, []);
    if (mustSync) member.disk.sync();
    if (crashAt === 'after-sync') return this.crashReturning(member, []);
    // 2. send (returned)
    const messages = [...ready.messages];
    this.observer?.sending(member, messages);
    if (crashAt === 'after-send') return this.crashReturning(member, messages);
    // 3. apply
    for (const entry of ready.committedEntries) {
      this.observer?.applying(member, entry);
      member.appliedEntries.push(entry);
      if (entry.type === EntryType.ConfChange) {
        const conf = node.applyConfChange(decodeConfChange(entry.data));
        member.storage.setConfState(conf);
      } else if (entry.data.byteLength > 0) {
        member.applied.push(decoder.decode(entry.data));
      }
    }
    member.readStates.push(...ready.readStates);
    if (crashAt === 'after-apply') return this.crashReturning(member, messages);
    // 4. advance
    node.advance(ready);
    return messages;
  }

  private mustSync(member: Member, ready: Ready): boolean {
    if (this.broken !== 'vote-not-synced' && this.broken !== 'entries-not-synced') return ready.mustSync;
    const before = member.storage.initialState().hardState;
    const termOrVote = ready.hardState !== undefined && (ready.hardState.term !== before.term || ready.hardState.vote !== before.vote);
    if (this.broken === 'vote-not-synced') return ready.entries.length > 0 || ready.snapshot !== undefined;
    return ready.snapshot !== undefined || termOrVote;
  }

  private crashReturning(member: Member, messages: Message[]): Message[] {
    this.crash(member.id);
    return messages;
  }

  deliver(m: Message): void {
    if (this.cut.has(`${m.from}->${m.to}`)) return;
    if (this.stopped.has(m.to) || this.stopped.has(m.from)) return;
    if (!this.filter(m)) return;
    const target = this.members.get(m.to);
    if (target === undefined) return;
    this.deliveredCount++;
    target.node.step(m);
  }

  /** The running leader with the highest term, if any. */
  leader(): Member | undefined {
    let best: Member | undefined;
    for (const member of this.running()) {
      const s = member.node.status();
      if (s.role === 'leader' && (best === undefined || s.term > best.node.status().term)) best = member;
    }
    return best;
  }

  /** Ticks until some node is leader (throws after `limit` ticks). */
  electLeader(limit = 200): Member {
    for (let i = 0; i < limit; i++) {
      const leader = this.leader();
      if (leader !== undefined && this.allFollow(leader.id)) return leader;
      this.tick();
    }
    throw new Error(`no leader within ${limit} ticks (seed ${this.seed})`);
  }

  private allFollow(id: ReplicaId): boolean {
    const term = this.node(id).status().term;
    for (const member of this.running()) {
      if (member.id === id || this.cut.has(`${id}->${member.id}`)) continue;
      const s = member.node.status();
      if (!s.conf.voters.includes(member.id) && !s.conf.learners.includes(member.id)) continue;
      if (s.term !== term || s.leader !== id) return false;
    }
    return true;
  }

  propose(id: ReplicaId, text: string): boolean {
    const result = this.node(id).propose(encoder.encode(text));
    this.pump();
    return result.ok;
  }

  /** A state-machine snapshot at the member's applied index, durable at once, then log compaction. */
  snapshot(id: ReplicaId): number | undefined {
    const member = this.get(id);
    const status = member.node.status();
    const data = encoder.encode(JSON.stringify(member.applied));
    if (!member.disk.saveSnapshot(status.applied, status.conf, data)) return undefined;
    member.storage.createSnapshot(status.applied, status.conf, data);
    member.storage.compact(status.applied);
    return status.applied;
  }

  /** Restarts a member from its storage after a clean shutdown (everything written was synced). */
  restart(id: ReplicaId): void {
    this.get(id).disk.sync();
    this.crash(id);
  }

  /**
   * Power loss and restart: the member's unsynced writes are lost (but a prefix drawn from
   * `tornWrites` may survive), and the core is rebuilt from what its disk holds.
   */
  crash(id: ReplicaId): void {
    const member = this.get(id);
    this.armedCrashes.delete(id);
    const lost = member.disk.crash(this.tornWrites);
    member.storage = member.disk.restore();
    const snapshot = member.storage.snapshot();
    member.node = this.makeNode(id, member.storage, snapshot.meta.index);
    member.applied = decodeStateMachine(snapshot);
    member.readStates = [];
    this.observer?.installed(member, snapshot);
    this.observer?.restarted(member, lost);
  }

  /** Shuts a replica down for good (it was removed from the group). */
  stop(id: ReplicaId): void {
    this.stopped.add(id);
    this.armedCrashes.delete(id);
  }
}

function decodeStateMachine(snapshot: Snapshot): string[] {
  return snapshot.data.byteLength > 0 ? (JSON.parse(decoder.decode(snapshot.data)) as string[]) : [];
}
