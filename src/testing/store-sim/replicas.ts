// The replicas of one store-simulator run: ReplicaNodes on a shared SimClock, each with its own
// SimDisk, wired through the SimNetwork. A replica can crash (its unsynced writes are lost, its
// node is closed, its pending requests fail) and restart from what its disk kept. Each node's state
// machine is hooked so that every apply and every snapshot restore is reported to the ApplyLog.
import type { Logger } from 'pino';
import type { Random } from '../../actors/random.js';
import type { Message, ReplicaId } from '../../raft/index.js';
import { prefixEnd } from '../../store/commands.js';
import { ReplicaNode } from '../../store/replica/node.js';
import type { SimClock } from './sim-clock.js';
import { ApplyLog, toHistoryEvent, type HistoryEvent } from './apply-log.js';
import { SimCrashError, SimDisk } from './disk.js';
import { SimNetwork } from './network.js';
import type { Weather } from './weather.js';

/** Raft tick (ms) and election timeout (ticks) of the simulated replicas: the production defaults. */
export const TICK_MS = 100;
export const ELECTION_TICKS = 10;
/** A replica answers a write or read that has not completed within this long with a timeout. */
export const REPLICA_REQUEST_TIMEOUT_MS = 3_000;
/** History kept (revisions): the whole run, so watches from revision 1 can always be served. */
const RETAIN_REVISIONS = 1_000_000_000;

export interface ReplicaSetOptions {
  readonly ids: readonly ReplicaId[];
  readonly clock: SimClock;
  readonly random: Random;
  readonly weather: Weather;
  readonly log: Logger;
  /** Called when a replica goes down (crash) so that watchers on it can move. */
  readonly onDown: (id: ReplicaId) => void;
  /** A disk that acknowledges fsync before the data is durable (the self-test). */
  readonly lyingDisks?: boolean;
}

interface Slot {
  readonly id: ReplicaId;
  readonly disk: SimDisk;
  node: ReplicaNode | undefined;
  incarnation: number;
}

export class ReplicaSet {
  readonly applyLog = new ApplyLog();
  readonly network: SimNetwork;
  private readonly slots = new Map<ReplicaId, Slot>();
  /** A failure of a node that was not a simulated crash (storage invariant, apply threw). */
  problem: string | undefined;
  crashes = 0;
  /** Writes not yet synced when their replica crashed (lost with it). */
  lostWrites = 0;
  /** Snapshots a running replica installed from its leader. */
  snapshotsInstalled = 0;
  /** Terms in which some replica became the leader. */
  readonly leaderTerms = new Set<number>();

  constructor(private readonly options: ReplicaSetOptions) {
    this.network = new SimNetwork(options.clock, options.random.fork(), options.weather, (to, message) => this.slots.get(to)?.node?.receive(message));
    for (const id of options.ids) {
      const disk = new SimDisk(id, options.clock, options.random.fork(), options.weather.fsyncMaxMs, options.lyingDisks === true);
      const slot: Slot = { id, disk, node: undefined, incarnation: 0 };
      this.slots.set(id, slot);
      this.start(slot);
    }
  }

  get ids(): readonly ReplicaId[] {
    return this.options.ids;
  }

  /** The running node of `id`, if it is up. */
  node(id: ReplicaId): ReplicaNode | undefined {
    return this.slots.get(id)?.node;
  }

  isUp(id: ReplicaId): boolean {
    return this.node(id) !== undefined;
  }

  running(): ReplicaId[] {
    return this.options.ids.filter((id) => this.isUp(id));
  }

  down(): ReplicaId[] {
    return this.options.ids.filter((id) => !this.isUp(id));
  }

  /** The running replica that leads the highest term, if any. */
  leader(): ReplicaId | undefined {
    let best: { id: ReplicaId; term: number } | undefined;
    for (const id of this.running()) {
      const status = this.node(id)?.status();
      if (status?.role === 'leader' && (best === undefined || status.term > best.term)) best = { id, term: status.term };
    }
    return best?.id;
  }

  /** Power loss: the disk loses its unsynced tail, the node stops; watchers on it are told. */
  async crash(id: ReplicaId): Promise<void> {
    const slot = this.slots.get(id);
    const node = slot?.node;
    if (slot === undefined || node === undefined) return;
    this.crashes++;
    slot.node = undefined;
    this.lostWrites += slot.disk.crash();
    this.options.onDown(id);
    // A killed process's sockets close at once: its peers hear of it (ReplicaNode forgets a dead leader).
    for (const other of this.slots.values()) if (other.node !== undefined) other.node.peerConnectionLost(id);
    await node.close();
  }

  /** Crashes `id` just after it issues its next write (so that write is in the unsynced tail). */
  crashAtNextWrite(id: ReplicaId, crashed: () => void): void {
    const slot = this.slots.get(id);
    if (slot === undefined || slot.node === undefined) return;
    const incarnation = slot.incarnation;
    slot.disk.onNextWrite = () => {
      if (slot.incarnation !== incarnation || slot.node === undefined) return;
      void this.crash(id);
      crashed();
    };
  }

  /** Disarms every crashAtNextWrite. */
  disarm(): void {
    for (const slot of this.slots.values()) slot.disk.onNextWrite = undefined;
  }

  restart(id: ReplicaId): void {
    const slot = this.slots.get(id);
    if (slot === undefined || slot.node !== undefined) return;
    this.start(slot);
  }

  /** Every replica's final key-value state (local, serializable), as key -> value. */
  finalState(id: ReplicaId): Map<string, string> | undefined {
    const node = this.node(id);
    if (node === undefined) return undefined;
    const state = new Map<string, string>();
    const decoder = new TextDecoder();
    const result = node.machine.range({ key: '/', rangeEnd: prefixEnd('/') });
    for (const kv of result.kvs) state.set(kv.key, decoder.decode(kv.value));
    return state;
  }

  diskProblems(): string[] {
    return [...this.slots.values()].flatMap((slot) => (slot.disk.problem === undefined ? [] : [slot.disk.problem]));
  }

  private start(slot: Slot): void {
    const { clock, weather } = this.options;
    slot.incarnation++;
    const incarnation = slot.incarnation;
    const recovered = slot.incarnation === 1 ? undefined : slot.disk.recover();
    const node = new ReplicaNode({
      id: slot.id,
      voters: this.options.ids,
      clock,
      random: this.options.random.fork(),
      log: this.options.log,
      storage: slot.disk,
      ...(recovered === undefined ? {} : { recovered }),
      outbox: (to: ReplicaId, message: Message) => {
        if (slot.incarnation === incarnation && slot.node !== undefined) this.network.send(slot.id, to, message);
      },
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      snapshotEveryEntries: weather.snapshotEveryEntries,
      snapshotCatchUpEntries: weather.snapshotCatchUpEntries,
      retention: { retainRevisions: RETAIN_REVISIONS },
      requestTimeoutMs: REPLICA_REQUEST_TIMEOUT_MS,
      onFatal: (error: unknown) => {
        if (error instanceof SimCrashError) return;
        this.problem ??= `replica ${slot.id} stopped: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
      },
    });
    this.hook(slot.id, node);
    node.onStatusChange((status) => {
      if (status.role === 'leader') this.leaderTerms.add(status.term);
    });
    this.applyLog.restored(slot.id, node.machine.appliedIndex);
    slot.node = node;
  }

  /** Reports every apply and restore of the node's state machine to the ApplyLog. */
  private hook(id: ReplicaId, node: ReplicaNode): void {
    const machine = node.machine;
    const applyEntry = machine.applyEntry.bind(machine);
    const restore = machine.restore.bind(machine);
    machine.applyEntry = (index: number, data: Uint8Array) => {
      const revisionBefore = machine.revision;
      const eventsBefore = machine.keys.eventsEnd();
      const result = applyEntry(index, data);
      const events: HistoryEvent[] = [];
      for (let position = eventsBefore; position < machine.keys.eventsEnd(); position++) {
        const event = machine.keys.eventAt(position);
        if (event !== undefined) events.push(toHistoryEvent(event));
      }
      this.applyLog.applied(id, index, data, revisionBefore, machine.revision, events);
      return result;
    };
    machine.restore = (bytes: Uint8Array) => {
      restore(bytes);
      this.snapshotsInstalled++;
      this.applyLog.restored(id, machine.appliedIndex);
    };
  }
}
