// ReplicaNode: one store replica's consensus half. It drives the Raft core's Ready loop (persist,
// send, apply, advance; applying committed entries while the new ones are being persisted, see
// handleReady and applyCommittedEarly), applies committed commands to the MVCC state machine, and implements
// ReplicaEngine for the client endpoint: writes become proposals answered when applied, linearizable
// reads wait for a ReadIndex round, watches are served from the local state machine.
//
// It does no network I/O and reads time only from the injected clock, so the same class runs in a
// replica process (DurableStorage, systemClock, the actor transport behind `outbox`) and in the
// deterministic simulator (in-memory storage, a virtual clock, a seeded network).
//
// The leader's duties beyond Raft live here too: it rebases lease deadlines when it takes over,
// checkpoints them, revokes expired leases, and proposes compactions under the retention policy.
//
// Membership (membership.ts, docs/decisions/0009-store-membership.md): the leader adds a replica as a
// learner, promotes it once caught up, or removes one, one change at a time (changeMembership); the
// address book (replica id -> actor node) changes with the applied ConfChange and travels in snapshots.
//
// Faster failover: the process tells the node when a peer's connection drops (peerConnectionLost); a
// follower of that peer forgets its leader and campaigns within two ticks (docs/decisions/0006).

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import type { NodeId } from '../../actors/index.js';
import type { Random } from '../../actors/random.js';
import { restoreMemoryLogStorage, type DurableState } from '../../raft/durable-storage.js';
import {
  decodeConfChange,
  EntryType,
  MemoryLogStorage,
  NO_REPLICA,
  RaftNode,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type RaftConfig,
  type Ready,
  type ReplicaId,
  type Snapshot,
} from '../../raft/index.js';
import type { ApplyResult, ClientSession, Command, CommandBody, RangeRequest, RangeResult } from '../commands.js';
import { encodeForProposal } from '../commands.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from '../compaction.js';
import { NotLeaderError, StoreError, StoreTimeoutError, UnavailableError } from '../errors.js';
import { applyToAddressBook, confChangeFor, PROMOTE_MAX_LAG, refuseChange, unwrapSnapshot, wrapSnapshot, type MembershipChange, type MembershipStatus, type MemberStatus } from './membership.js';
import { LEASE_CHECKPOINT_INTERVAL_MS } from '../leases.js';
import { StateMachine, type StateMachineOptions, type TimeToLive } from '../state-machine.js';
import type { WatchBatch, WatchRequest } from '../watch-hub.js';
import type { EngineWatch, RaftOutbox, ReplicaEngine, ReplicaStatus } from './engine.js';
import { ReplicaMetrics } from './metrics.js';

/** Where a replica's Raft state is made durable. DurableStorage (src/raft) is the real one. */
export interface ReplicaStorage {
  /**
   * Resolves once entries and hard state are synced to stable storage. `sync` false (only the commit
   * index changed): resolves once written in order with the rest; it need not be synced yet.
   */
  persist(entries: readonly Entry[], hardState?: HardState, sync?: boolean): Promise<void>;
  /** Writes the snapshot durably and drops the log it covers. */
  saveSnapshot(snapshot: Snapshot): Promise<void>;
}

export interface ReplicaNodeOptions {
  readonly id: ReplicaId;
  /**
   * The group's bootstrap voters: its configuration at log index 0, the same on every replica for the
   * group's whole life (used when the replica has no snapshot yet). A replica that joins a running
   * group is not among them: it is a bystander until the ConfChange that adds it is applied.
   */
  readonly voters: readonly ReplicaId[];
  /** The addresses known at start (`--replicas`); the replicated address book overlays them. */
  readonly addresses?: ReadonlyMap<ReplicaId, NodeId>;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly storage: ReplicaStorage;
  /** What storage recovered at start; absent: a fresh replica. */
  readonly recovered?: DurableState;
  readonly outbox: RaftOutbox;
  /** Milliseconds per Raft tick (default 100). */
  readonly tickMs?: number;
  /** Election timeout in ticks (default 10: 1-2 s with 100 ms ticks). */
  readonly electionTicks?: number;
  readonly heartbeatTicks?: number;
  /** Take a snapshot after this many applied entries (default 10,000). */
  readonly snapshotEveryEntries?: number;
  /** Entries kept in the log behind a snapshot, for slow followers (default 5,000). */
  readonly snapshotCatchUpEntries?: number;
  readonly retention?: RetentionPolicy;
  readonly stateMachine?: StateMachineOptions;
  /** A linearizable read or a write waits this long at most (default 5,000 ms). */
  readonly requestTimeoutMs?: number;
  /** Called when storage fails: the replica cannot go on (default: logs it and rethrows later). */
  readonly onFatal?: (error: unknown) => void;
}

interface PendingWrite {
  readonly index: number;
  readonly term: number;
  readonly resolve: (result: ApplyResult) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

interface PendingRead {
  readonly serve: () => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
  /** Set once a ReadIndex round answered for this read. */
  index?: number;
}

/** How often the leader looks for expired leases and compaction work. */
const HOUSEKEEPING_INTERVAL_MS = 500;
/** A leader's own revoke or compaction is proposed again after this long if it has not taken effect. */
const INTERNAL_RETRY_MS = 2_000;
/** A follower that lost its leader's connection campaigns within this many ticks (at a random point). */
const FORGET_CAMPAIGN_TICKS = 2;
/** ReadIndex rounds in flight at once (more reads wait for the next round). */
const READ_ROUNDS_IN_FLIGHT = 1;
/** Keys of physical compaction done per housekeeping round. */
const COMPACT_STEP_KEYS = 10_000;

export class ReplicaNode implements ReplicaEngine {
  readonly machine: StateMachine;
  readonly metrics = new ReplicaMetrics();
  private readonly raft: RaftNode;
  private readonly memory: MemoryLogStorage;
  private readonly options: ReplicaNodeOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly tickMs: number;
  private readonly electionTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly snapshotEvery: number;
  private readonly catchUpEntries: number;
  private readonly retention: RetentionPolicy;

  private conf: ConfState;
  /** Replica id -> actor node: the start list overlaid by snapshots and applied ConfChanges. */
  private readonly addressBook: Map<ReplicaId, NodeId>;
  private statusValue: ReplicaStatus;
  private readonly statusListeners: ((status: ReplicaStatus) => void)[] = [];
  private readonly pendingWrites = new Map<number, PendingWrite>();
  /** Reads waiting for a ReadIndex round to start. */
  private readsToStart: PendingRead[] = [];
  /** Reads in a round, by its request id. */
  private readonly readRounds = new Map<string, { reads: PendingRead[]; readonly startedMs: number }>();
  /** Reads whose index is known, waiting for apply to reach it (in arrival order). */
  private readsToServe: PendingRead[] = [];
  private nextReadRound = 1;

  private readonly watchListeners = new Map<number, (batch: WatchBatch) => void>();
  private readonly readyWatches = new Set<number>();
  private watchDrainScheduled = false;

  private processing = false;
  /** A drain of Readys is deferred to the end of the current turn (see process). */
  private drainScheduled = false;
  /** The leader's Ready whose entries are being persisted, and its term (see applyCommittedEarly). */
  private persisting: { readonly ready: Ready; readonly term: number } | undefined;
  private processAgain = false;
  private closed = false;
  private tickTimer: TimerHandle | undefined;
  private housekeepingTimer: TimerHandle | undefined;
  /** A campaign scheduled after losing the leader's connection (peerConnectionLost). */
  private forgetCampaignTimer: TimerHandle | undefined;
  private snapshotIndex = 0;
  private snapshotting = false;
  private lastCheckpointMs = 0;
  /** When the leader last proposed revokes / a compaction (a lost proposal is simply made again later). */
  private revokesProposedAtMs = Number.NEGATIVE_INFINITY;
  private compactionProposedAtMs = Number.NEGATIVE_INFINITY;

  constructor(options: ReplicaNodeOptions) {
    this.options = options;
    this.clock = options.clock;
    this.log = options.log;
    this.tickMs = options.tickMs ?? 100;
    const electionTicks = options.electionTicks ?? 10;
    this.electionTimeoutMs = electionTicks * this.tickMs;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.snapshotEvery = options.snapshotEveryEntries ?? 10_000;
    this.catchUpEntries = options.snapshotCatchUpEntries ?? 5_000;
    this.retention = options.retention ?? DEFAULT_RETENTION;
    this.machine = new StateMachine(options.stateMachine ?? {});

    const bootstrap: ConfState = { voters: [...options.voters], learners: [], votersOutgoing: [], learnersNext: [] };
    this.memory = options.recovered === undefined ? new MemoryLogStorage(bootstrap) : restoreMemoryLogStorage(options.recovered, bootstrap);
    this.addressBook = new Map(options.addresses ?? []);
    const snapshot = options.recovered?.snapshot;
    if (snapshot !== undefined) {
      this.restoreSnapshotData(snapshot.data);
      this.snapshotIndex = snapshot.meta.index;
    }
    this.conf = this.memory.initialState().conf;

    const config: RaftConfig = {
      id: options.id,
      storage: this.memory,
      random: options.random,
      electionTicks,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      applied: snapshot?.meta.index ?? 0,
      maxEntriesPerAppendBytes: 1024 * 1024,
      maxInflightAppends: 256,
      maxInflightBytes: 32 * 1024 * 1024,
      maxUncommittedBytes: 64 * 1024 * 1024,
      preVote: true,
      checkQuorum: true,
      readOnly: 'safe',
      snapshotChunkBytes: 512 * 1024,
    };
    this.raft = new RaftNode(config);
    this.statusValue = this.currentStatus();

    this.machine.watches.onReady = (watchId) => {
      this.readyWatches.add(watchId);
      this.scheduleWatchDrain();
    };
    this.scheduleTick();
    this.housekeepingTimer = this.clock.setTimer(HOUSEKEEPING_INTERVAL_MS, () => this.housekeeping());
    if (options.recovered?.tornTailTruncated !== undefined) {
      this.log.warn({ tornTail: options.recovered.tornTailTruncated }, 'the WAL had a torn tail; it was truncated');
    }
    this.log.info({ replica: options.id, voters: options.voters, appliedIndex: this.machine.appliedIndex }, 'replica started');
  }

  // ---- ReplicaEngine ---------------------------------------------------------------------------

  status(): ReplicaStatus {
    return this.statusValue;
  }

  onStatusChange(listener: (status: ReplicaStatus) => void): void {
    this.statusListeners.push(listener);
  }

  write(body: CommandBody, session?: ClientSession): Promise<ApplyResult> {
    const command: Command = session === undefined ? { nowMs: this.clock.now(), body } : { nowMs: this.clock.now(), session, body };
    return this.propose(command);
  }

  range(request: RangeRequest, options: { readonly serializable?: boolean } = {}): Promise<RangeResult> {
    if (options.serializable === true) return this.settle(() => this.machine.range(request));
    return this.linearizable(() => this.machine.range(request));
  }

  timeToLive(id: number, withKeys: boolean): Promise<TimeToLive> {
    return this.linearizable(() => this.machine.timeToLive(id, this.clock.now(), withKeys));
  }

  watch(request: WatchRequest, onBatch: (batch: WatchBatch) => void): EngineWatch {
    if (this.closed) throw new UnavailableError('replica is closed');
    const watchId = this.machine.watches.watch(request);
    this.watchListeners.set(watchId, onBatch);
    if (this.readyWatches.has(watchId)) this.scheduleWatchDrain();
    return {
      cancel: () => {
        if (!this.watchListeners.delete(watchId)) return;
        this.readyWatches.delete(watchId);
        this.machine.watches.cancel(watchId);
      },
    };
  }

  // ---- from the peer transport -----------------------------------------------------------------

  /** A Raft message from a peer. */
  receive(message: Message): void {
    if (this.closed) return;
    this.raft.step(message);
    if (message.type === 'append-response' && this.persisting !== undefined) this.applyCommittedEarly(this.persisting);
    this.process();
  }

  /**
   * The connection to replica `id`'s process dropped (a kill -9 closes it at once). If this replica is
   * a follower of `id`, it forgets its leader (so it grants pre-votes now, not after the leader's lease
   * runs out) and campaigns after a random delay below FORGET_CAMPAIGN_TICKS ticks if no leader has
   * appeared by then: the other follower saw the same drop and grants the pre-vote; the random delay
   * makes it unlikely that both campaign at once and split the vote. A false alarm is harmless: a
   * replica still hearing the leader refuses the pre-vote, and the leader's next heartbeat is followed.
   */
  peerConnectionLost(id: ReplicaId): void {
    if (this.closed) return;
    const raft = this.raft.status();
    if (raft.role !== 'follower' || raft.leader !== id) return;
    this.raft.forgetLeader();
    this.log.info({ leader: id, term: raft.term }, 'lost the connection to the leader; forgot it');
    this.process();
    if (this.forgetCampaignTimer !== undefined) return;
    const delayMs = Math.floor(this.options.random.next() * FORGET_CAMPAIGN_TICKS * this.tickMs);
    this.forgetCampaignTimer = this.clock.setTimer(delayMs, () => {
      this.forgetCampaignTimer = undefined;
      if (this.closed) return;
      const now = this.raft.status();
      if (now.role !== 'follower' || now.leader !== NO_REPLICA) return;
      this.raft.campaign();
      this.process();
    });
  }

  // ---- membership --------------------------------------------------------------------------------

  /** The actor node of replica `id`, from the address book. */
  addressOf(id: ReplicaId): NodeId | undefined {
    return this.addressBook.get(id);
  }

  /** Every known address (members and not). */
  addresses(): ReadonlyMap<ReplicaId, NodeId> {
    return this.addressBook;
  }

  /** The members of the configuration this replica has applied. */
  memberIds(): ReplicaId[] {
    return [...new Set([...this.conf.voters, ...this.conf.votersOutgoing, ...this.conf.learners, ...this.conf.learnersNext])];
  }

  membership(): MembershipStatus {
    const raft = this.raft.status();
    const voters = new Set([...this.conf.voters, ...this.conf.votersOutgoing]);
    const members: MemberStatus[] = this.memberIds()
      .sort((a, b) => a - b)
      .map((id) => {
        const node = this.addressBook.get(id);
        const match = raft.progress?.get(id)?.match;
        return { id, role: voters.has(id) ? 'voter' : 'learner', ...(node === undefined ? {} : { node }), ...(match === undefined ? {} : { match }) };
      });
    return {
      replica: raft.id,
      leader: raft.leader,
      commitIndex: raft.commit,
      members,
      addresses: [...this.addressBook.entries()].sort(([a], [b]) => a - b).map(([id, node]) => ({ id, node })),
    };
  }

  /**
   * On the leader: proposes one membership change and resolves with the membership once it is applied
   * here. Refused (StoreError) while another change is in flight, for a learner not yet within
   * PROMOTE_MAX_LAG entries of the commit index, and for changes the configuration does not allow.
   * Removing the leader itself is allowed: the core hands leadership to an up-to-date voter once applied.
   */
  changeMembership(change: MembershipChange): Promise<MembershipStatus> {
    if (this.closed) return Promise.reject(new UnavailableError('replica is closed'));
    const raft = this.raft.status();
    if (raft.role !== 'leader') return Promise.reject(new NotLeaderError(raft.leader, 'membership changes go to the leader'));
    const refused = refuseChange(this.conf, change);
    if (refused !== undefined) return Promise.reject(refused);
    if (change.action === 'promote') {
      const match = raft.progress?.get(change.id)?.match ?? 0;
      if (match + PROMOTE_MAX_LAG < raft.commit) {
        return Promise.reject(new StoreError('NOT_CAUGHT_UP', `learner ${change.id} is at index ${match}, the commit index is ${raft.commit}: not caught up yet`, true));
      }
    }
    const proposed = this.raft.proposeConfChange(confChangeFor(change));
    if (!proposed.ok) {
      if (proposed.reason === 'conf-change-pending') return Promise.reject(new StoreError('CONF_CHANGE_PENDING', 'another membership change is being applied; try again', true));
      if (proposed.reason === 'invalid-conf-change') return Promise.reject(new StoreError('INVALID_REQUEST', 'the configuration does not allow this change', false));
      return Promise.reject(new NotLeaderError(proposed.leader, `membership change refused: ${proposed.reason}`));
    }
    this.log.info({ change }, 'membership change proposed');
    const { lastIndex, term } = this.raft.status();
    return new Promise<MembershipStatus>((resolve, reject) => {
      const timer = this.clock.setTimer(this.requestTimeoutMs, () => {
        if (this.pendingWrites.get(lastIndex)?.timer !== timer) return;
        this.pendingWrites.delete(lastIndex);
        reject(new StoreTimeoutError('the membership change was not applied in time; it may still be'));
      });
      this.pendingWrites.set(lastIndex, { index: lastIndex, term, timer, reject, resolve: () => resolve(this.membership()) });
      this.process();
    });
  }

  /** The leader hands leadership to `to` (used by tests and by a replica leaving the group). */
  transferLeadership(to: ReplicaId): void {
    this.raft.transferLeadership(to);
    this.process();
  }

  /** Stops timers and fails every waiting request; storage is the caller's to close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.tickTimer !== undefined) this.clock.cancelTimer(this.tickTimer);
    if (this.housekeepingTimer !== undefined) this.clock.cancelTimer(this.housekeepingTimer);
    if (this.forgetCampaignTimer !== undefined) this.clock.cancelTimer(this.forgetCampaignTimer);
    this.failAll(new UnavailableError('replica is closing'));
    this.machine.watches.cancelAll('canceled');
    this.watchListeners.clear();
    // Let an in-flight persist finish so the storage is not closed under it.
    while (this.processing) await new Promise<void>((resolve) => this.clock.setTimer(5, resolve));
  }

  // ---- proposals and reads ---------------------------------------------------------------------

  private propose(command: Command): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(new UnavailableError('replica is closed'));
    const encoded = encodeForProposal(command);
    if (encoded instanceof StoreError) return Promise.reject(encoded);
    const proposed = this.raft.propose(encoded);
    if (!proposed.ok) {
      const reason = proposed.reason === 'not-leader' ? 'not the leader' : `proposal refused: ${proposed.reason}`;
      return Promise.reject(new NotLeaderError(proposed.leader, reason));
    }
    const { lastIndex, term } = this.raft.status();
    this.metrics.proposalsPending = this.pendingWrites.size + 1;
    const promise = new Promise<ApplyResult>((resolve, reject) => {
      const timer = this.clock.setTimer(this.requestTimeoutMs, () => {
        if (this.pendingWrites.get(lastIndex)?.timer !== timer) return;
        this.pendingWrites.delete(lastIndex);
        reject(new StoreTimeoutError(`write at index ${lastIndex} not applied within ${this.requestTimeoutMs} ms`));
      });
      this.pendingWrites.set(lastIndex, { index: lastIndex, term, resolve, reject, timer });
    });
    this.process();
    return promise;
  }

  private settle<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new UnavailableError('replica is closed'));
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Runs `work` once this replica has applied everything committed when the read arrived. */
  private linearizable<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new UnavailableError('replica is closed'));
    return new Promise<T>((resolve, reject) => {
      const read: PendingRead = {
        serve: () => {
          this.clock.cancelTimer(read.timer);
          try {
            resolve(work());
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        },
        reject: (error) => {
          this.clock.cancelTimer(read.timer);
          reject(error);
        },
        timer: this.clock.setTimer(this.requestTimeoutMs, () => {
          this.dropRead(read);
          reject(new UnavailableError(`no read index within ${this.requestTimeoutMs} ms (leader ${this.statusValue.leader})`));
        }),
      };
      this.readsToStart.push(read);
      this.process();
    });
  }

  private dropRead(read: PendingRead): void {
    this.readsToStart = this.readsToStart.filter((one) => one !== read);
    this.readsToServe = this.readsToServe.filter((one) => one !== read);
    for (const [id, round] of this.readRounds) {
      round.reads = round.reads.filter((one) => one !== read);
      if (round.reads.length === 0) this.readRounds.delete(id);
    }
  }

  /**
   * One ReadIndex round covers every read that arrived since the last round started. One round at a
   * time (as etcd does): reads arriving meanwhile share the next one, so that under load a round
   * (a heartbeat to every follower and a quorum of answers) serves many reads, not one each.
   */
  private startReadRound(): void {
    if (this.readsToStart.length === 0) return;
    if (this.statusValue.leader === NO_REPLICA) return; // wait for a leader (or the read's timeout)
    if (this.readRounds.size >= READ_ROUNDS_IN_FLIGHT) return; // started again when the round answers
    const requestId = `${this.options.id}-${this.nextReadRound++}`;
    this.readRounds.set(requestId, { reads: this.readsToStart, startedMs: this.clock.now() });
    this.readsToStart = [];
    this.metrics.readRounds++;
    this.raft.readIndex(requestId);
  }

  /** A round lost on the way (a dropped message, a leader change) is started again with later reads. */
  private retryStaleReadRounds(): void {
    const staleBefore = this.clock.now() - this.electionTimeoutMs;
    for (const [id, round] of this.readRounds) {
      if (round.startedMs > staleBefore) continue;
      this.readRounds.delete(id);
      this.readsToStart.push(...round.reads);
    }
  }

  private serveReads(): void {
    if (this.readsToServe.length === 0) return;
    const applied = this.machine.appliedIndex;
    const waiting: PendingRead[] = [];
    for (const read of this.readsToServe) {
      if ((read.index ?? Number.POSITIVE_INFINITY) <= applied) read.serve();
      else waiting.push(read);
    }
    this.readsToServe = waiting;
  }

  // ---- the Ready loop --------------------------------------------------------------------------

  private scheduleTick(): void {
    this.tickTimer = this.clock.setTimer(this.tickMs, () => {
      if (this.closed) return;
      this.raft.tick();
      this.retryStaleReadRounds();
      this.process();
      this.scheduleTick();
    });
  }

  /**
   * Handles Readys until the core has none; re-entrant calls during a persist run it again after.
   * The drain starts after the current turn (clock.defer), not at once: the requests and Raft
   * messages of one incoming batch are all stepped first and share one Ready, one append message per
   * follower and one fsync, instead of the first of them going alone.
   */
  private process(): void {
    if (this.closed) return;
    this.startReadRound();
    if (this.processing) {
      this.processAgain = true;
      return;
    }
    if (this.drainScheduled || !this.raft.hasReady()) return;
    this.drainScheduled = true;
    this.clock.defer(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    if (this.closed || this.processing || !this.raft.hasReady()) return;
    this.processing = true;
    void this.drainReadys().then(
      () => {
        this.processing = false;
        if (this.processAgain) {
          this.processAgain = false;
          this.process();
        }
      },
      (error: unknown) => {
        this.processing = false;
        this.fatal(error);
      },
    );
  }

  private async drainReadys(): Promise<void> {
    while (!this.closed && this.raft.hasReady()) {
      const ready = this.raft.ready();
      await this.handleReady(ready);
      this.raft.advance(ready);
      this.startReadRound();
      this.afterAdvance();
    }
  }

  private async handleReady(ready: Ready): Promise<void> {
    // A leader may send its appends while it persists them (Raft thesis 10.2.1): it counts its own
    // log only once durable. Everything else (votes above all) goes out after the persist.
    const leaderNow = this.statusValue.role === 'leader' && ready.softState === undefined;
    this.metrics.readys++;
    this.metrics.messagesSent += ready.messages.length;
    const early = leaderNow ? ready.messages : [];
    for (const message of early) this.options.outbox(message.to, message);

    // Committed entries are durable on a quorum already, so they are applied (and their writes and
    // reads answered) while this Ready's own entries are being synced, as etcd does: a write then
    // waits for one fsync round, not for the next batch's fsync as well. A snapshot or a membership
    // change is applied after the persist, in the core's plain order.
    const applyWhilePersisting = ready.snapshot === undefined && !ready.committedEntries.some((entry) => entry.type === EntryType.ConfChange);
    if (applyWhilePersisting) this.applyCommitted(ready);

    if (ready.snapshot !== undefined) await this.installSnapshot(ready.snapshot);
    if (ready.entries.length > 0 || ready.hardState !== undefined) {
      // Without mustSync only the commit index changed: it is written (in order, awaited, so no two
      // persists are ever in flight) but not fsync'd; losing it loses a commit index that the
      // replica learns again from its leader (etcd-raft's MustSync).
      const started = this.clock.now();
      if (leaderNow && ready.mustSync) this.persisting = { ready, term: this.statusValue.term };
      try {
        await this.options.storage.persist(ready.entries, ready.hardState, ready.mustSync);
      } finally {
        this.persisting = undefined;
      }
      if (ready.mustSync) {
        this.metrics.persists++;
        this.metrics.persistedEntries += ready.entries.length;
        this.metrics.observeFsync(this.clock.now() - started, this.log);
      }
      this.memory.append(ready.entries);
      if (ready.hardState !== undefined) this.memory.setHardState(ready.hardState);
    }
    if (!leaderNow) for (const message of ready.messages) this.options.outbox(message.to, message);

    if (!applyWhilePersisting) this.applyCommitted(ready);
    if (ready.softState !== undefined) this.onSoftState(ready.softState.leader, ready.softState.role === 'leader');
    this.serveReads();
  }

  /**
   * A leader waiting on its own fsync: the followers' acks may already have committed entries of the
   * Ready being persisted (a quorum without the leader: Raft thesis 10.2.1), but the core hands them
   * out only in the next Ready, after this persist. They are applied now, and their writes answered,
   * so that a slow fsync on the leader does not delay writes the followers made durable; the next
   * Ready's committedEntries then skip them (applyEntry ignores indexes already applied).
   * Only while the node leads in the term of that Ready: a leader never overwrites its own log, so
   * the entries it holds at indexes up to its commit index are the committed ones. Entries are taken
   * from the persisted log (MemoryLogStorage) or from the Ready in flight; a membership change stops
   * the early apply (it is applied in the core's order).
   */
  private applyCommittedEarly(persisting: { readonly ready: Ready; readonly term: number }): void {
    const raft = this.raft.status();
    if (raft.role !== 'leader' || raft.term !== persisting.term) return;
    const inFlight = persisting.ready.entries;
    const firstInFlight = inFlight[0]?.index ?? Number.POSITIVE_INFINITY;
    const commit = Math.min(raft.commit, inFlight[inFlight.length - 1]?.index ?? this.memory.lastIndex());
    let index = this.machine.appliedIndex + 1;
    if (index > commit) return;
    const started = this.clock.now();
    let applied = 0;
    for (; index <= commit; index++) {
      const entry = index >= firstInFlight ? inFlight[index - firstInFlight] : this.persistedEntry(index);
      if (entry === undefined || entry.index !== index || entry.type === EntryType.ConfChange) break;
      this.applyEntry(entry);
      applied++;
    }
    if (applied === 0) return;
    this.metrics.appliedEntries += applied;
    this.metrics.earlyAppliedEntries += applied;
    this.metrics.observeApply(this.clock.now() - started);
    this.serveReads();
  }

  /** The entry at `index` of the persisted log, if it holds it. */
  private persistedEntry(index: number): Entry | undefined {
    if (index < this.memory.firstIndex() || index > this.memory.lastIndex()) return undefined;
    return this.memory.entries(index, index + 1, Number.POSITIVE_INFINITY)[0];
  }

  /** Applies the Ready's committed entries, then serves the reads its ReadIndex rounds released. */
  private applyCommitted(ready: Ready): void {
    if (ready.committedEntries.length > 0) {
      const started = this.clock.now();
      const before = this.machine.appliedIndex;
      for (const entry of ready.committedEntries) this.applyEntry(entry);
      this.metrics.appliedEntries += this.machine.appliedIndex - before;
      this.metrics.observeApply(this.clock.now() - started);
    }
    for (const state of ready.readStates) {
      const round = this.readRounds.get(state.requestId);
      if (round === undefined) continue;
      this.readRounds.delete(state.requestId);
      for (const read of round.reads) {
        read.index = state.index;
        this.readsToServe.push(read);
      }
    }
    this.serveReads();
    if (ready.readStates.length > 0) this.startReadRound();
  }

  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    await this.options.storage.saveSnapshot(snapshot);
    this.memory.applySnapshot(snapshot);
    this.restoreSnapshotData(snapshot.data);
    this.snapshotIndex = snapshot.meta.index;
    this.conf = snapshot.meta.conf;
    this.log.info({ index: snapshot.meta.index, term: snapshot.meta.term }, 'installed a snapshot from the leader');
  }

  /** Restores the state machine and the address book a snapshot carries (an old snapshot has no book). */
  private restoreSnapshotData(data: Uint8Array): void {
    const { book, machine } = unwrapSnapshot(data);
    this.machine.restore(machine);
    if (book === undefined) return;
    for (const [id, node] of book) this.addressBook.set(id, node);
  }

  private applyEntry(entry: Entry): void {
    if (entry.index <= this.machine.appliedIndex) return; // already in the restored snapshot
    let result: ApplyResult | undefined;
    if (entry.type === EntryType.ConfChange) {
      const change = decodeConfChange(entry.data);
      this.conf = this.raft.applyConfChange(change);
      applyToAddressBook(this.addressBook, change);
      this.memory.setConfState(this.conf);
      result = this.machine.applyEntry(entry.index, new Uint8Array(0));
      this.log.info({ conf: this.conf, index: entry.index, ...(change.context === undefined ? {} : { address: change.context }) }, 'membership changed');
    } else {
      result = this.machine.applyEntry(entry.index, entry.data);
    }
    const pending = this.pendingWrites.get(entry.index);
    if (pending === undefined) return;
    this.pendingWrites.delete(entry.index);
    this.clock.cancelTimer(pending.timer);
    if (pending.term === entry.term) pending.resolve(result);
    else pending.reject(new NotLeaderError(this.statusValue.leader, `write at index ${entry.index} was replaced by a newer leader's entry`));
    this.metrics.proposalsPending = this.pendingWrites.size;
  }

  private onSoftState(leader: ReplicaId, isLeader: boolean): void {
    const wasLeader = this.statusValue.role === 'leader';
    if (leader !== this.statusValue.leader) this.metrics.leaderChanges++;
    if (wasLeader && !isLeader) {
      const error = new NotLeaderError(leader, 'lost leadership before the write was applied');
      for (const pending of this.pendingWrites.values()) {
        this.clock.cancelTimer(pending.timer);
        pending.reject(error);
      }
      this.pendingWrites.clear();
    }
    if (isLeader && !wasLeader) {
      this.log.info({ term: this.raft.status().term }, 'became the leader');
      // Lease deadlines resume from their checkpointed remaining time, plus an election timeout of grace.
      const rebase = this.machine.onBecomeLeader(this.clock.now(), this.electionTimeoutMs);
      this.proposeInternal(rebase);
      this.lastCheckpointMs = this.clock.now();
    }
  }

  private afterAdvance(): void {
    const next = this.currentStatus();
    const before = this.statusValue;
    this.statusValue = next;
    if (next.leader !== before.leader || next.role !== before.role || next.term !== before.term) {
      for (const listener of this.statusListeners) listener(next);
      // A round in flight under the old leader may never answer: its reads go in a new round (a
      // later read index is still linearizable). Reads waiting for a leader can start now.
      for (const round of this.readRounds.values()) this.readsToStart.push(...round.reads);
      this.readRounds.clear();
      this.startReadRound();
    }
    this.maybeSnapshot();
  }

  private currentStatus(): ReplicaStatus {
    const raft = this.raft.status();
    return {
      id: raft.id,
      term: raft.term,
      role: raft.role,
      leader: raft.leader,
      commitIndex: raft.commit,
      appliedIndex: this.machine.appliedIndex,
      revision: this.machine.revision,
    };
  }

  // ---- snapshots -------------------------------------------------------------------------------

  private maybeSnapshot(): void {
    const applied = this.machine.appliedIndex;
    if (this.snapshotting || applied - this.snapshotIndex < this.snapshotEvery) return;
    this.snapshotting = true;
    const snapshot = this.memory.createSnapshot(applied, this.conf, wrapSnapshot(this.addressBook, this.machine.snapshot()));
    this.snapshotIndex = applied;
    void this.options.storage.saveSnapshot(snapshot).then(
      () => {
        this.snapshotting = false;
        const compactTo = snapshot.meta.index - this.catchUpEntries;
        if (compactTo > this.memory.firstIndex()) this.memory.compact(compactTo);
        this.log.info({ index: snapshot.meta.index, bytes: snapshot.data.byteLength }, 'snapshot saved');
      },
      (error: unknown) => {
        this.snapshotting = false;
        this.fatal(error);
      },
    );
  }

  // ---- leader housekeeping: leases and compaction ------------------------------------------------

  private housekeeping(): void {
    if (this.closed) return;
    this.housekeepingTimer = this.clock.setTimer(HOUSEKEEPING_INTERVAL_MS, () => this.housekeeping());
    this.machine.compactStep(COMPACT_STEP_KEYS);
    if (this.statusValue.role !== 'leader') return;
    const nowMs = this.clock.now();
    // Revokes are re-proposed only after a pause: a revoke of a lease already gone is a harmless error.
    if (nowMs - this.revokesProposedAtMs >= INTERNAL_RETRY_MS) {
      const expired = this.machine.expiredLeases(nowMs, 100);
      if (expired.length > 0) this.revokesProposedAtMs = nowMs;
      for (const id of expired) this.proposeInternal({ nowMs, body: { type: 'leaseRevoke', id } });
    }
    if (nowMs - this.lastCheckpointMs >= LEASE_CHECKPOINT_INTERVAL_MS) {
      this.lastCheckpointMs = nowMs;
      this.proposeInternal(this.machine.leaseCheckpointCommand(nowMs));
    }
    if (nowMs - this.compactionProposedAtMs >= INTERNAL_RETRY_MS) {
      const compaction = this.machine.compactionCommand(this.retention, nowMs);
      if (compaction !== undefined) {
        this.compactionProposedAtMs = nowMs;
        this.proposeInternal(compaction);
      }
    }
  }

  /** A leader's own command: its result is not awaited (a lost one is proposed again later). */
  private proposeInternal(command: Command): void {
    const encoded = encodeForProposal(command);
    if (encoded instanceof StoreError) {
      this.log.error({ err: encoded, type: command.body.type }, 'internal command refused');
      return;
    }
    if (this.raft.propose(encoded).ok) this.process();
  }

  // ---- watches ---------------------------------------------------------------------------------

  private scheduleWatchDrain(): void {
    if (this.watchDrainScheduled) return;
    this.watchDrainScheduled = true;
    this.clock.defer(() => {
      this.watchDrainScheduled = false;
      const ids = [...this.readyWatches];
      this.readyWatches.clear();
      for (const watchId of ids) {
        const listener = this.watchListeners.get(watchId);
        if (listener === undefined) continue;
        const batch = this.machine.watches.take(watchId);
        if (batch.canceled !== undefined) this.watchListeners.delete(watchId);
        if (batch.events.length > 0 || batch.canceled !== undefined) listener(batch);
      }
    });
  }

  // ---- failure -----------------------------------------------------------------------------------

  private failAll(error: Error): void {
    for (const pending of this.pendingWrites.values()) {
      this.clock.cancelTimer(pending.timer);
      pending.reject(error);
    }
    this.pendingWrites.clear();
    const reads = [...this.readsToStart, ...this.readsToServe, ...[...this.readRounds.values()].flatMap((round) => round.reads)];
    this.readsToStart = [];
    this.readsToServe = [];
    this.readRounds.clear();
    for (const read of reads) read.reject(error);
  }

  private fatal(error: unknown): void {
    this.log.fatal({ err: error }, 'replica storage failed; the replica stops');
    this.closed = true;
    if (this.tickTimer !== undefined) this.clock.cancelTimer(this.tickTimer);
    if (this.housekeepingTimer !== undefined) this.clock.cancelTimer(this.housekeepingTimer);
    this.failAll(new UnavailableError('replica storage failed'));
    if (this.options.onFatal !== undefined) this.options.onFatal(error);
    else throw error;
  }
}
