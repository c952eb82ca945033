// A deterministic, synchronous network and driver for several RaftNodes, each with a MemoryLogStorage
// and a list-of-strings state machine, driven in ticks. It follows the driver order
// (persist -> send -> apply -> advance) and lets a caller drop, cut, duplicate, delay and reorder
// messages, and crash a replica before it persists a Ready. Used by the Raft unit tests and by the
// seeded simulator (run.ts, `npm run sim`).

import { Prng } from '../../actors/random.js';
import type { Random } from '../../actors/random.js';
import { decodeConfChange } from '../../raft/confchange.js';
import { RaftNode } from '../../raft/core.js';
import type { RaftConfig, ReadState } from '../../raft/core.js';
import { MemoryLogStorage } from '../../raft/memory-storage.js';
import type { Message } from '../../raft/messages.js';
import { EntryType } from '../../raft/types.js';
import type { ConfState, Entry, ReplicaId } from '../../raft/types.js';

export const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface Member {
  readonly id: ReplicaId;
  node: RaftNode;
  readonly storage: MemoryLogStorage;
  /** The state machine: the data of every applied normal, non-empty entry. */
  applied: string[];
  appliedEntries: Entry[];
  readStates: ReadState[];
}

export type Tweak = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

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
  /** Return false to drop a message; may also record it. */
  filter: (m: Message) => boolean = () => true;
  readonly delivered: Message[] = [];
  /** When set: messages are delivered in shuffled order and some are held back to a later tick. */
  /** crashChance: a replica crashes before persisting a Ready (losing it) and restarts from storage. */
  chaos: { random: Random; delayChance: number; crashChance: number } | undefined = undefined;
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

  /** Adds a replica with its own fresh storage holding `conf` as its initial membership. */
  add(id: ReplicaId, conf: ConfState): Member {
    const storage = new MemoryLogStorage(conf);
    const member: Member = { id, storage, node: this.makeNode(id, storage), applied: [], appliedEntries: [], readStates: [] };
    this.members.set(id, member);
    return member;
  }

  makeNode(id: ReplicaId, storage: MemoryLogStorage, applied = 0): RaftNode {
    return new RaftNode({ id, storage, random: this.random.fork(), ...baseConfig(this.tweak), applied });
  }

  get(id: ReplicaId): Member {
    const member = this.members.get(id);
    if (member === undefined) throw new Error(`no member ${id}`);
    return member;
  }

  node(id: ReplicaId): RaftNode {
    return this.get(id).node;
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
      for (const member of this.members.values()) if (only === undefined || only.includes(member.id)) member.node.tick();
      const late = this.late;
      this.late = [];
      for (const m of late) this.deliver(m);
      this.pump();
    }
  }

  /** Processes Ready batches and delivers messages until nothing is left to do. */
  pump(maxRounds = 10_000): void {
    for (let round = 0; round < maxRounds; round++) {
      const outbox: Message[] = [];
      let busy = false;
      for (const member of this.members.values()) {
        if (member.node.hasReady()) busy = true;
        outbox.push(...this.drive(member));
      }
      if (!busy) return;
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

  /** Runs one Ready of `member` through the driver's order and returns its outgoing messages. */
  drive(member: Member): Message[] {
    const node = member.node;
    if (!node.hasReady()) return [];
    const ready = node.ready();
    if (this.chaos !== undefined && this.chaos.random.chance(this.chaos.crashChance)) {
      this.restart(member.id); // the Ready was neither persisted nor sent
      return [];
    }
    // 1. persist
    if (ready.snapshot !== undefined) {
      member.storage.applySnapshot(ready.snapshot);
      member.applied = JSON.parse(decoder.decode(ready.snapshot.data)) as string[];
    }
    member.storage.append(ready.entries);
    if (ready.hardState !== undefined) member.storage.setHardState(ready.hardState);
    // 2. send (returned), 3. apply
    for (const entry of ready.committedEntries) {
      member.appliedEntries.push(entry);
      if (entry.type === EntryType.ConfChange) {
        const conf = node.applyConfChange(decodeConfChange(entry.data));
        member.storage.setConfState(conf);
      } else if (entry.data.byteLength > 0) {
        member.applied.push(decoder.decode(entry.data));
      }
    }
    member.readStates.push(...ready.readStates);
    // 4. advance
    node.advance(ready);
    return [...ready.messages];
  }

  deliver(m: Message): void {
    if (this.cut.has(`${m.from}->${m.to}`)) return;
    if (!this.filter(m)) return;
    const target = this.members.get(m.to);
    if (target === undefined) return;
    this.delivered.push(m);
    target.node.step(m);
  }

  /** The leader with the highest term, if any. */
  leader(): Member | undefined {
    let best: Member | undefined;
    for (const member of this.members.values()) {
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
    for (const member of this.members.values()) {
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

  /** Restarts a member from its storage (a crash after everything was persisted). */
  restart(id: ReplicaId): void {
    const member = this.get(id);
    // The state machine comes back from the snapshot, so the membership must be the snapshot's too:
    // conf changes after it are applied again as their entries are re-applied.
    member.storage.setConfState(member.storage.snapshot().meta.conf);
    member.node = this.makeNode(id, member.storage, member.storage.snapshot().meta.index);
    member.applied = JSON.parse(decoder.decode(member.storage.snapshot().data.byteLength > 0 ? member.storage.snapshot().data : encoder.encode('[]'))) as string[];
  }
}
