// RaftNode: kplane's pure Raft consensus core, in etcd-raft's shape. It does no I/O and reads no
// clock: the driver feeds it ticks (tick), remote messages (step) and local requests (propose,
// readIndex, transferLeadership...), and collects what must happen in a Ready batch. The driver's
// order is fixed (docs/raft.md): persist Ready.hardState/entries/snapshot (fsync if mustSync), THEN
// send Ready.messages, THEN apply Ready.committedEntries, THEN advance(ready).
// Roles are swapped step functions (stepLeader / stepCandidate / stepFollower); quorum arithmetic is
// in quorum.ts, per-follower flow control in progress.ts, membership in confchange.ts, ReadIndex
// bookkeeping in read-only.ts and the log (stable + unstable tail) in log.ts.

import type { Random } from '../actors/random.js';
import { allReplicas, applyConfChangeTo, encodeConfChange, isJoint } from './confchange.js';
import { RaftDriverMisuseError, RaftError, invariant } from './errors.js';
import { RaftLog } from './log.js';
import { entrySizeBytes } from './memory-storage.js';
import { isWellFormedMessage } from './messages.js';
import type { AppendRequest, AppendResponse, Heartbeat, HeartbeatResponse, Message, SnapshotAck, SnapshotChunk, VoteRequest } from './messages.js';
import { Progress } from './progress.js';
import { JointConfig } from './quorum.js';
import { ReadOnlyQueue } from './read-only.js';
import { EntryType, NO_REPLICA } from './types.js';
import type { ConfChange, ConfState, Entry, HardState, LogStorage, ReplicaId, Snapshot, SnapshotMeta } from './types.js';

export interface RaftConfig {
  readonly id: ReplicaId;
  readonly storage: LogStorage;
  readonly random: Random;
  /** Base election timeout; each term's timeout is drawn from [electionTicks, 2*electionTicks). */
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  /** The last applied index on restart. */
  readonly applied?: number;
  /** Byte budget of one append message (always at least one entry). */
  readonly maxEntriesPerAppendBytes: number;
  /** Flow-control window per follower in replicate state: appends in flight... */
  readonly maxInflightAppends: number;
  /** ...and their bytes. */
  readonly maxInflightBytes: number;
  /** Proposals are refused once this many bytes are appended but not yet applied (0/absent: no limit). */
  readonly maxUncommittedBytes?: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /**
   * 'safe' confirms leadership with a heartbeat round per read. 'lease-based' answers from the
   * leader's lease alone and is only correct if clocks drift boundedly; it requires checkQuorum.
   */
  readonly readOnly: 'safe' | 'lease-based';
  readonly snapshotChunkBytes: number;
}

export type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';

export type ProposeRefusal = 'not-leader' | 'transferring' | 'too-many-uncommitted' | 'conf-change-pending' | 'invalid-conf-change';
export type ProposeResult = { ok: true } | { ok: false; reason: ProposeRefusal; leader: ReplicaId };

export interface ReadState {
  /** Serve the read once the local state machine has applied this index. */
  readonly index: number;
  readonly requestId: string;
}

export interface SoftState {
  readonly leader: ReplicaId;
  readonly role: Role;
}

export interface Ready {
  /** Present when changed. */
  readonly softState?: SoftState;
  /** Present when changed: persist before sending messages. */
  readonly hardState?: HardState;
  /** Append to stable storage (may overwrite a conflicting suffix) before sending messages. */
  readonly entries: readonly Entry[];
  /** A snapshot received from the leader: persist (storage.applySnapshot) and install in the state machine. */
  readonly snapshot?: Snapshot;
  /** Apply in order, after persisting. */
  readonly committedEntries: readonly Entry[];
  /** Send after persisting. */
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
  /** The entries or hard state must be fsynced before the messages go out. */
  readonly mustSync: boolean;
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: 'probe' | 'replicate' | 'snapshot';
  readonly learner: boolean;
  readonly inflight: number;
}

export interface RaftStatus {
  readonly id: ReplicaId;
  readonly term: number;
  readonly vote: ReplicaId;
  readonly commit: number;
  readonly applied: number;
  readonly role: Role;
  readonly leader: ReplicaId;
  readonly lastIndex: number;
  readonly conf: ConfState;
  readonly leadTransferee: ReplicaId;
  /** Remote messages dropped as malformed. */
  readonly droppedMessages: number;
  /** Only on the leader. */
  readonly progress?: ReadonlyMap<ReplicaId, ProgressStatus>;
}

/** Reads that arrive before the leader has committed an entry of its term wait here (bounded; overflow drops). */
export const MAX_READS_BEFORE_COMMIT = 1024;
/** Bytes of committed entries handed out per Ready. */
export const MAX_APPLY_BYTES_PER_READY = 64 * 1024 * 1024;

interface IncomingSnapshot {
  readonly from: ReplicaId;
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly parts: Uint8Array[];
  received: number;
}

export class RaftNode {
  readonly id: ReplicaId;
  private readonly config: RaftConfig;
  private readonly random: Random;
  private readonly log: RaftLog;

  private term = 0;
  private vote: ReplicaId = NO_REPLICA;
  private lead: ReplicaId = NO_REPLICA;
  private role: Role = 'follower';
  private readonly votes = new Map<ReplicaId, boolean>();

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  private conf: ConfState;
  private quorum: JointConfig;
  private readonly progress = new Map<ReplicaId, Progress>();
  private leadTransferee: ReplicaId = NO_REPLICA;
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private readonly readOnly = new ReadOnlyQueue();
  private readsBeforeCommit: { requestId: string; from: ReplicaId }[] = [];
  private incomingSnapshot: IncomingSnapshot | undefined = undefined;

  private messages: Message[] = [];
  private readStates: ReadState[] = [];
  private prevSoft: SoftState = { leader: NO_REPLICA, role: 'follower' };
  private prevHard: HardState;
  private pendingBroadcast = false;
  private outstanding: Ready | undefined = undefined;
  private droppedMessages = 0;

  constructor(config: RaftConfig) {
    if (!(config.id > 0)) throw new RangeError(`raft id must be positive, got ${config.id}`);
    if (!(config.heartbeatTicks > 0 && config.electionTicks > config.heartbeatTicks)) {
      throw new RangeError('raft needs 0 < heartbeatTicks < electionTicks');
    }
    if (!(config.maxInflightAppends > 0 && config.maxInflightBytes > 0 && config.maxEntriesPerAppendBytes > 0 && config.snapshotChunkBytes > 0)) {
      throw new RangeError('raft flow-control limits must be positive');
    }
    if (config.readOnly === 'lease-based' && !config.checkQuorum) {
      throw new RangeError('lease-based reads require checkQuorum');
    }
    this.id = config.id;
    this.config = config;
    this.random = config.random;
    const { hardState, conf } = config.storage.initialState();
    this.log = new RaftLog(config.storage, hardState.commit, config.applied ?? 0);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.prevHard = { term: hardState.term, vote: hardState.vote, commit: this.log.committed };
    this.conf = conf;
    this.quorum = new JointConfig(conf.voters, conf.votersOutgoing);
    this.setConf(conf);
    this.becomeFollower(this.term, NO_REPLICA);
    this.prevSoft = { leader: this.lead, role: this.role };
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  /** Starts an election now (with pre-vote if configured). */
  campaign(): void {
    this.hup(false);
  }

  step(message: Message): void {
    if (!isWellFormedMessage(message, this.id)) {
      this.droppedMessages++;
      return;
    }
    const m = message;
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'pre-vote') {
        const inLease = this.config.checkQuorum && this.lead !== NO_REPLICA && this.electionElapsed < this.config.electionTicks;
        // Leader lease: while we hear from a live leader, ignore campaigns (unless a transfer forces it).
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'pre-vote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'pre-vote-response' && !m.reject) {
        // A granted pre-vote carries the future term; the real election will raise ours.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NO_REPLICA);
      }
    } else if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // A stale leader (e.g. back from a partition) learns our term from this and steps down. Always
        // answered (as the paper's rule "reply with the current term"), not only with pre-vote or
        // check-quorum: a replica whose term rose while it was cut off, and whose own configuration
        // names only replicas that have since left, has no other way to tell the current leader, and
        // would otherwise ignore that leader forever (found by the simulator; test/unit/raft-scenarios.test.ts).
        this.send({ type: 'append-response', from: this.id, to: m.from, term: this.term, index: 0, reject: false, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'pre-vote') {
        this.send({ type: 'pre-vote-response', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'pre-vote') {
      this.handleVote(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'pre-candidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  propose(data: Uint8Array): ProposeResult {
    const refused = this.refusal();
    if (refused !== undefined) return refused;
    const limit = this.config.maxUncommittedBytes ?? 0;
    if (limit > 0 && this.uncommittedBytes > 0 && this.uncommittedBytes + data.byteLength > limit) {
      return { ok: false, reason: 'too-many-uncommitted', leader: this.lead };
    }
    this.appendEntries([{ type: EntryType.Normal, data }]);
    return { ok: true };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const refused = this.refusal();
    if (refused !== undefined) return refused;
    if (this.pendingConfIndex > this.log.applied) return { ok: false, reason: 'conf-change-pending', leader: this.lead };
    try {
      applyConfChangeTo(this.conf, change);
    } catch (err) {
      if (err instanceof RaftError && err.code === 'INVALID_CONF_CHANGE') return { ok: false, reason: 'invalid-conf-change', leader: this.lead };
      throw err;
    }
    this.appendEntries([{ type: EntryType.ConfChange, data: encodeConfChange(change) }]);
    this.pendingConfIndex = this.log.lastIndex();
    return { ok: true };
  }

  /**
   * Asks for a linearizable read point. The answer arrives in a later Ready.readStates (on this
   * replica, also when it is a follower: the request is forwarded to the leader). With no known
   * leader, or when the leader's queues are full, the request is dropped: the caller times out and
   * retries.
   */
  readIndex(requestId: string): void {
    if (this.role === 'leader') {
      this.leaderReadIndex(requestId, this.id);
    } else if (this.lead !== NO_REPLICA) {
      this.send({ type: 'read-index', from: this.id, to: this.lead, term: this.term, requestId });
    }
  }

  /**
   * On a follower: forget the leader (etcd-raft's ForgetLeader). It stays a follower in its term and
   * does not campaign, but no longer protects the leader's lease, so it grants pre-votes (and a vote
   * it has not cast this term) at once instead of after an election timeout. The driver calls it when
   * it learns the leader is gone (e.g. its process's connection dropped). A false alarm is harmless:
   * the leader's next heartbeat or append makes it known again. Ignored on other roles, and with
   * lease-based reads (a leader serving reads from its lease relies on followers refusing votes).
   */
  forgetLeader(): void {
    if (this.role !== 'follower' || this.config.readOnly === 'lease-based') return;
    this.lead = NO_REPLICA;
  }

  /** On the leader: catch `to` up, then tell it to campaign at once. Elsewhere: ignored. */
  transferLeadership(to: ReplicaId): void {
    if (this.role !== 'leader' || to === this.id) return;
    const pr = this.progress.get(to);
    if (pr === undefined || pr.learner) return;
    if (this.leadTransferee !== NO_REPLICA) {
      if (this.leadTransferee === to) return;
      this.leadTransferee = NO_REPLICA;
    }
    this.leadTransferee = to;
    this.electionElapsed = 0; // the transfer must finish within an election timeout
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppendLoop(to, true);
  }

  /** The driver applies a committed ConfChange entry: switch to the new membership. */
  applyConfChange(change: ConfChange): ConfState {
    const next = applyConfChangeTo(this.conf, change);
    this.setConf(next);
    if (this.role === 'leader') {
      if (!this.quorum.isVoter(this.id)) {
        // Removed (or demoted to learner): hand over to an up-to-date voter if there is one, step down.
        for (const id of this.quorum.voterIds()) {
          if (this.progress.get(id)?.match === this.log.lastIndex()) {
            this.sendTimeoutNow(id);
            break;
          }
        }
        this.becomeFollower(this.term, NO_REPLICA);
        return next;
      }
      if (this.leadTransferee !== NO_REPLICA && !this.quorum.isVoter(this.leadTransferee)) this.leadTransferee = NO_REPLICA;
      this.maybeCommit(); // the new quorum may already hold more
      this.pendingBroadcast = true; // new replicas start receiving the log, followers learn the commit
    }
    return next;
  }

  reportUnreachable(id: ReplicaId): void {
    if (this.role !== 'leader') return;
    const pr = this.progress.get(id);
    if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
  }

  reportSnapshot(id: ReplicaId, status: 'finished' | 'failure'): void {
    if (this.role !== 'leader') return;
    const pr = this.progress.get(id);
    if (pr === undefined || pr.state !== 'snapshot') return;
    pr.becomeProbe();
    // After a failure, wait for the next heartbeat response before probing again.
    if (status === 'failure') pr.probeSent = true;
  }

  // ---------------------------------------------------------------- Ready

  /** False while a Ready is outstanding (handed out and not yet advanced). */
  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    return (
      this.pendingBroadcast ||
      this.messages.length > 0 ||
      this.readStates.length > 0 ||
      this.lead !== this.prevSoft.leader ||
      this.role !== this.prevSoft.role ||
      this.hardChanged() ||
      this.log.unstable().length > 0 ||
      this.log.pendingSnapshot() !== undefined ||
      this.log.hasNextCommitted()
    );
  }

  /** One Ready at a time: calling ready() again before advance() is a driver bug and throws. */
  ready(): Ready {
    if (this.outstanding !== undefined) throw new RaftDriverMisuseError('ready() called again before advance()');
    this.flushBroadcast();
    const hard: HardState = { term: this.term, vote: this.vote, commit: this.log.committed };
    const hardChanged = this.hardChanged();
    const softChanged = this.lead !== this.prevSoft.leader || this.role !== this.prevSoft.role;
    const entries = [...this.log.unstable()];
    const snapshot = this.log.pendingSnapshot();
    const ready: Ready = {
      ...(softChanged ? { softState: { leader: this.lead, role: this.role } } : {}),
      ...(hardChanged ? { hardState: hard } : {}),
      entries,
      ...(snapshot !== undefined ? { snapshot } : {}),
      committedEntries: this.log.nextCommitted(MAX_APPLY_BYTES_PER_READY),
      messages: this.messages,
      readStates: this.readStates,
      mustSync: entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote,
    };
    this.messages = [];
    this.readStates = [];
    this.outstanding = ready;
    return ready;
  }

  /** The driver persisted, sent and applied `ready` (in that order). */
  advance(ready: Ready): void {
    if (ready !== this.outstanding) throw new RaftDriverMisuseError('advance() with a Ready that is not the outstanding one');
    this.outstanding = undefined;
    if (ready.softState !== undefined) this.prevSoft = ready.softState;
    if (ready.hardState !== undefined) this.prevHard = ready.hardState;
    if (ready.snapshot !== undefined) {
      this.log.stableSnapshotTo(ready.snapshot.meta.index);
      if (ready.snapshot.meta.index > this.log.applied) this.log.appliedTo(ready.snapshot.meta.index);
    }
    const lastEntry = ready.entries[ready.entries.length - 1];
    if (lastEntry !== undefined) this.log.stableTo(lastEntry.index, lastEntry.term);
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplied !== undefined) {
      this.log.appliedTo(lastApplied.index);
      if (this.role === 'leader') {
        let bytes = 0;
        for (const e of ready.committedEntries) bytes += e.data.byteLength;
        this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
      }
    }
    if (this.role === 'leader') {
      // The leader counts its own log only once it is durable.
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.stableLastIndex()) && this.maybeCommit()) this.pendingBroadcast = true;
      // Auto-leave a joint configuration once it is applied.
      if (isJoint(this.conf) && this.log.applied >= this.pendingConfIndex) {
        this.appendEntries([{ type: EntryType.ConfChange, data: encodeConfChange({ changes: [] }) }]);
        this.pendingConfIndex = this.log.lastIndex();
      }
    }
  }

  status(): RaftStatus {
    let progress: Map<ReplicaId, ProgressStatus> | undefined;
    if (this.role === 'leader') {
      progress = new Map();
      for (const [id, pr] of this.progress) {
        progress.set(id, { match: pr.match, next: pr.next, state: pr.state, learner: pr.learner, inflight: pr.inflights.count });
      }
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      commit: this.log.committed,
      applied: this.log.applied,
      role: this.role,
      leader: this.lead,
      lastIndex: this.log.lastIndex(),
      conf: this.conf,
      leadTransferee: this.leadTransferee,
      droppedMessages: this.droppedMessages,
      ...(progress !== undefined ? { progress } : {}),
    };
  }

  // ---------------------------------------------------------------- roles

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = NO_REPLICA;
    }
    this.lead = NO_REPLICA;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.config.electionTicks + this.random.int(this.config.electionTicks);
    this.leadTransferee = NO_REPLICA;
    this.votes.clear();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly.clear();
    this.readsBeforeCommit = [];
    const lastIndex = this.log.lastIndex();
    for (const [id, pr] of this.progress) {
      const fresh = new Progress(lastIndex + 1, pr.learner, this.config.maxInflightAppends, this.config.maxInflightBytes);
      if (id === this.id) fresh.match = this.log.stableLastIndex();
      this.progress.set(id, fresh);
    }
  }

  private becomeFollower(term: number, lead: ReplicaId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a pre-candidate');
    // No term change and no vote: a pre-vote round is harmless to the cluster.
    this.votes.clear();
    this.lead = NO_REPLICA;
    this.role = 'pre-candidate';
  }

  private becomeCandidate(): void {
    invariant(this.role !== 'leader', 'a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', `only a candidate can become leader (was ${this.role})`);
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    const self = this.progress.get(this.id);
    if (self !== undefined) self.becomeReplicate();
    // Conservatively assume an unapplied conf change may be in the log.
    this.pendingConfIndex = this.log.lastIndex();
    // The no-op of the new term: committing it commits everything before it (Figure 8 rule).
    this.appendEntries([{ type: EntryType.Normal, data: new Uint8Array(0) }]);
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NO_REPLICA);
        return;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      this.leadTransferee = NO_REPLICA;
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat(this.readOnly.lastRequestId());
    }
  }

  private promotable(): boolean {
    return this.quorum.isVoter(this.id);
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // A committed but unapplied conf change may change who votes: apply it first.
    if (this.log.committed > this.log.applied) {
      try {
        const pending = this.log.slice(this.log.applied + 1, this.log.committed + 1, Number.POSITIVE_INFINITY);
        if (pending.some((e) => e.type === EntryType.ConfChange)) return;
      } catch (err) {
        if (!(err instanceof RaftError && err.code === 'LOG_COMPACTED')) throw err;
      }
    }
    if (this.config.preVote && !transfer) this.startCampaign(true, false);
    else this.startCampaign(false, transfer);
  }

  private startCampaign(pre: boolean, transfer: boolean): void {
    let voteTerm: number;
    if (pre) {
      this.becomePreCandidate();
      voteTerm = this.term + 1;
    } else {
      this.becomeCandidate();
      voteTerm = this.term;
    }
    this.votes.set(this.id, true);
    if (this.quorum.voteResult(this.votes) === 'won') {
      // A single-voter group wins at once.
      if (pre) this.startCampaign(false, transfer);
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.quorum.voterIds()) {
      if (id === this.id) continue;
      this.send({ type: pre ? 'pre-vote' : 'vote', from: this.id, to: id, term: voteTerm, lastIndex, lastTerm, transfer });
    }
  }

  private handleVote(m: VoteRequest): void {
    const canVote =
      this.vote === m.from || (this.vote === NO_REPLICA && this.lead === NO_REPLICA) || (m.type === 'pre-vote' && m.term > this.term);
    const responseType = m.type === 'vote' ? 'vote-response' : 'pre-vote-response';
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send({ type: responseType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'append-response':
        this.handleAppendResponse(m);
        break;
      case 'heartbeat-response':
        this.handleHeartbeatResponse(m);
        break;
      case 'snapshot-ack':
        this.handleSnapshotAck(m);
        break;
      case 'read-index':
        if (this.progress.has(m.from)) this.leaderReadIndex(m.requestId, m.from);
        break;
      default:
        break; // stale votes, our own term's vote responses, etc.
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
        this.becomeFollower(m.term, m.from);
        this.handleAppend(m);
        break;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        break;
      case 'snapshot':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshotChunk(m);
        break;
      case 'vote-response':
      case 'pre-vote-response': {
        const expected = this.role === 'pre-candidate' ? 'pre-vote-response' : 'vote-response';
        if (m.type !== expected) break;
        this.votes.set(m.from, !m.reject);
        const result = this.quorum.voteResult(this.votes);
        if (result === 'won') {
          if (this.role === 'pre-candidate') this.startCampaign(false, false);
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, NO_REPLICA);
        }
        break;
      }
      default:
        break;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        break;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        break;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshotChunk(m);
        break;
      case 'timeout-now':
        this.hup(true);
        break;
      case 'read-index-response':
        this.readStates.push({ index: m.index, requestId: m.requestId });
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- follower side

  private handleAppend(m: AppendRequest): void {
    if (m.prevIndex < this.log.committed) {
      this.sendAppendResponse(m.from, this.log.committed, false, 0, 0);
      return;
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.sendAppendResponse(m.from, lastNew, false, 0, 0);
      return;
    }
    // Fast back-tracking: point the leader at the last entry that can possibly match.
    const hint = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    this.sendAppendResponse(m.from, m.prevIndex, true, hint.index, hint.term);
  }

  private handleHeartbeat(m: Heartbeat): void {
    if (m.commit <= this.log.lastIndex()) this.log.commitTo(m.commit);
    else this.droppedMessages++;
    this.send({ type: 'heartbeat-response', from: this.id, to: m.from, term: this.term, context: m.context });
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    if (m.meta.index <= this.log.committed) {
      // Already have it (a duplicate or a finished transfer): tell the leader where we are.
      this.incomingSnapshot = undefined;
      this.sendAppendResponse(m.from, this.log.committed, false, 0, 0);
      return;
    }
    if (m.offset === 0) {
      this.incomingSnapshot = { from: m.from, meta: m.meta, totalBytes: m.totalBytes, parts: [], received: 0 };
    }
    const incoming = this.incomingSnapshot;
    const same =
      incoming !== undefined &&
      incoming.from === m.from &&
      incoming.meta.index === m.meta.index &&
      incoming.meta.term === m.meta.term &&
      incoming.totalBytes === m.totalBytes;
    if (!same || m.offset > incoming.received || m.offset + m.data.byteLength > m.totalBytes) {
      // A missing or foreign chunk: restart the transfer from the beginning.
      this.incomingSnapshot = undefined;
      this.sendSnapshotAck(m.from, m.meta.index, 0, true);
      return;
    }
    if (m.offset < incoming.received) {
      this.sendSnapshotAck(m.from, m.meta.index, incoming.received, false); // duplicate
      return;
    }
    incoming.parts.push(m.data);
    incoming.received += m.data.byteLength;
    if (incoming.received < incoming.totalBytes) {
      this.sendSnapshotAck(m.from, m.meta.index, incoming.received, false);
      return;
    }
    this.incomingSnapshot = undefined;
    const data = new Uint8Array(incoming.totalBytes);
    let at = 0;
    for (const part of incoming.parts) {
      data.set(part, at);
      at += part.byteLength;
    }
    this.sendSnapshotAck(m.from, m.meta.index, incoming.received, false);
    if (this.restore({ meta: incoming.meta, data })) {
      this.sendAppendResponse(m.from, this.log.lastIndex(), false, 0, 0);
    } else {
      this.sendAppendResponse(m.from, this.log.committed, false, 0, 0);
    }
  }

  /** Installs a snapshot unless our log already has it; true if installed. */
  private restore(snapshot: Snapshot): boolean {
    if (snapshot.meta.index <= this.log.committed) return false;
    if (this.log.matchTerm(snapshot.meta.index, snapshot.meta.term)) {
      // Our log already contains the snapshot's last entry: just fast-forward the commit.
      this.log.commitTo(snapshot.meta.index);
      return false;
    }
    this.log.restore(snapshot);
    this.setConf(snapshot.meta.conf);
    return true;
  }

  // ---------------------------------------------------------------- leader side

  private refusal(): ProposeResult | undefined {
    if (this.role !== 'leader') return { ok: false, reason: 'not-leader', leader: this.lead };
    if (this.leadTransferee !== NO_REPLICA) return { ok: false, reason: 'transferring', leader: this.lead };
    return undefined;
  }

  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): void {
    let index = this.log.lastIndex();
    const entries: Entry[] = items.map((item) => ({ term: this.term, index: ++index, type: item.type, data: item.data }));
    for (const e of entries) this.uncommittedBytes += e.data.byteLength;
    this.log.append(entries);
    // Sent at the next ready(): proposals made in between share append messages (batching).
    this.pendingBroadcast = true;
  }

  /** Advances the commit index to what a quorum has, but only for an entry of the current term. */
  private maybeCommit(): boolean {
    const index = this.quorum.committedIndex((id) => this.progress.get(id)?.match ?? 0);
    if (!Number.isFinite(index) || index <= this.log.committed) return false;
    if (this.log.term(index) !== this.term) return false; // Figure 8: never commit older terms by counting
    const first = !this.committedInTerm();
    this.log.commitTo(index);
    if (first) {
      const waiting = this.readsBeforeCommit;
      this.readsBeforeCommit = [];
      for (const read of waiting) this.leaderReadIndex(read.requestId, read.from);
    }
    return true;
  }

  private committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private quorumActive(): boolean {
    const active = new Map<ReplicaId, boolean>();
    for (const id of this.quorum.voterIds()) {
      const pr = this.progress.get(id);
      active.set(id, id === this.id || (pr?.recentActive ?? false));
    }
    for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    return this.quorum.voteResult(active) === 'won';
  }

  private flushBroadcast(): void {
    if (!this.pendingBroadcast) return;
    this.pendingBroadcast = false;
    if (this.role !== 'leader') return;
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendAppendLoop(id, true);
    }
  }

  /** Sends one append (possibly empty), then keeps pipelining while the window allows. */
  private sendAppendLoop(to: ReplicaId, sendIfEmpty: boolean): void {
    if (this.maybeSendAppend(to, sendIfEmpty)) {
      while (this.maybeSendAppend(to, false)) {
        // pipelining: more appends while the flow-control window has room
      }
    }
  }

  /** True if a non-empty append went out in replicate state (so another may follow). */
  private maybeSendAppend(to: ReplicaId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    let entries: Entry[] | undefined;
    try {
      entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.config.maxEntriesPerAppendBytes);
    } catch (err) {
      if (!(err instanceof RaftError && err.code === 'LOG_COMPACTED')) throw err;
    }
    if (prevTerm === undefined || entries === undefined) {
      this.startSnapshot(to, pr);
      return false;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed });
    const last = entries[entries.length - 1];
    if (pr.state === 'replicate' && last !== undefined) {
      let bytes = 0;
      for (const e of entries) bytes += entrySizeBytes(e);
      pr.next = last.index + 1;
      pr.inflights.add(last.index, bytes);
      return true;
    }
    if (pr.state === 'probe') pr.probeSent = true;
    return false;
  }

  private startSnapshot(to: ReplicaId, pr: Progress): void {
    const snapshot = this.config.storage.snapshot();
    invariant(snapshot.meta.index > 0, `log compacted for ${to} but storage has no snapshot`);
    pr.becomeSnapshot(snapshot);
    this.sendSnapshotChunk(to, pr);
  }

  private sendSnapshotChunk(to: ReplicaId, pr: Progress): void {
    const transfer = pr.transfer;
    if (transfer === undefined) return;
    const { snapshot } = transfer;
    const total = snapshot.data.byteLength;
    const offset = transfer.ackedOffset;
    const data = snapshot.data.subarray(offset, Math.min(total, offset + this.config.snapshotChunkBytes));
    this.send({
      type: 'snapshot',
      from: this.id,
      to,
      term: this.term,
      meta: snapshot.meta,
      offset,
      data,
      totalBytes: total,
      final: offset + data.byteLength >= total,
    });
  }

  private handleSnapshotAck(m: SnapshotAck): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    const transfer = pr.transfer;
    if (pr.state !== 'snapshot' || transfer === undefined || transfer.snapshot.meta.index !== m.snapshotIndex) return;
    const total = transfer.snapshot.data.byteLength;
    if (m.reject) {
      transfer.ackedOffset = 0;
      this.sendSnapshotChunk(m.from, pr);
    } else if (m.nextOffset > transfer.ackedOffset && m.nextOffset <= total) {
      transfer.ackedOffset = m.nextOffset;
      if (transfer.ackedOffset < total) this.sendSnapshotChunk(m.from, pr);
    }
  }

  private handleAppendResponse(m: AppendResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    if (m.reject) {
      if (pr.state === 'snapshot') return;
      let hint = m.hintIndex;
      if (m.hintTerm > 0) hint = this.log.findConflictByTerm(m.hintIndex, m.hintTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppendLoop(m.from, true);
      }
      return;
    }
    if (m.index > this.log.lastIndex()) {
      this.droppedMessages++; // acknowledges entries we never had: bogus
      return;
    }
    if (pr.maybeUpdate(m.index)) {
      if (pr.state === 'probe') {
        pr.becomeReplicate();
      } else if (pr.state === 'snapshot' && pr.transfer !== undefined && pr.match >= pr.transfer.snapshot.meta.index) {
        pr.becomeProbe();
        pr.becomeReplicate();
      } else if (pr.state === 'replicate') {
        pr.inflights.freeLE(m.index);
      }
      if (this.maybeCommit()) this.pendingBroadcast = true;
      this.sendAppendLoop(m.from, false);
      if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return;
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirst();
    if (pr.state === 'snapshot') {
      // A lost chunk or ack stalls the stop-and-wait transfer: resend the expected chunk.
      const transfer = pr.transfer;
      if (transfer !== undefined && transfer.ackedOffset < transfer.snapshot.data.byteLength) this.sendSnapshotChunk(m.from, pr);
      else if (transfer !== undefined) {
        transfer.ackedOffset = Math.max(0, transfer.snapshot.data.byteLength - this.config.snapshotChunkBytes);
        this.sendSnapshotChunk(m.from, pr);
      }
    } else if (pr.match < this.log.lastIndex()) {
      this.sendAppendLoop(m.from, true);
    }
    if (this.config.readOnly === 'safe' && m.context !== '' && this.quorum.isVoter(m.from)) {
      const acks = this.readOnly.ack(m.from, m.context);
      if (acks === undefined) return;
      const votes = new Map<ReplicaId, boolean>();
      for (const id of acks) votes.set(id, true);
      if (this.quorum.voteResult(votes) !== 'won') return;
      for (const read of this.readOnly.release(m.context)) this.respondRead(read.requestId, read.index, read.from);
    }
  }

  private leaderReadIndex(requestId: string, from: ReplicaId): void {
    if (!this.committedInTerm()) {
      // Our commit index may lag the true one until an entry of our term commits.
      if (this.readsBeforeCommit.length < MAX_READS_BEFORE_COMMIT) this.readsBeforeCommit.push({ requestId, from });
      return;
    }
    const index = this.log.committed;
    const votes = new Map<ReplicaId, boolean>([[this.id, true]]);
    if (this.config.readOnly === 'lease-based' || this.quorum.voteResult(votes) === 'won') {
      this.respondRead(requestId, index, from);
      return;
    }
    if (!this.readOnly.add(requestId, index, from)) return;
    this.readOnly.ack(this.id, requestId);
    this.bcastHeartbeat(requestId);
  }

  private respondRead(requestId: string, index: number, from: ReplicaId): void {
    if (from === this.id) this.readStates.push({ index, requestId });
    else this.send({ type: 'read-index-response', from: this.id, to: from, term: this.term, requestId, index });
  }

  private bcastHeartbeat(context: string): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.send({ type: 'heartbeat', from: this.id, to: id, term: this.term, commit: Math.min(pr.match, this.log.committed), context });
    }
  }

  private sendTimeoutNow(to: ReplicaId): void {
    this.send({ type: 'timeout-now', from: this.id, to, term: this.term });
  }

  // ---------------------------------------------------------------- helpers

  private setConf(conf: ConfState): void {
    this.conf = conf;
    this.quorum = new JointConfig(conf.voters, conf.votersOutgoing);
    const members = allReplicas(conf);
    const learners = new Set([...conf.learners, ...conf.learnersNext]);
    for (const id of this.progress.keys()) if (!members.has(id)) this.progress.delete(id);
    const lastIndex = this.log.lastIndex();
    for (const id of members) {
      const existing = this.progress.get(id);
      if (existing !== undefined) {
        existing.learner = learners.has(id);
      } else {
        const pr = new Progress(lastIndex + 1, learners.has(id), this.config.maxInflightAppends, this.config.maxInflightBytes);
        if (id === this.id) pr.match = this.log.stableLastIndex();
        this.progress.set(id, pr);
      }
    }
  }

  private hardChanged(): boolean {
    return this.term !== this.prevHard.term || this.vote !== this.prevHard.vote || this.log.committed !== this.prevHard.commit;
  }

  private send(m: Message): void {
    this.messages.push(m);
  }

  private sendAppendResponse(to: ReplicaId, index: number, reject: boolean, hintIndex: number, hintTerm: number): void {
    this.send({ type: 'append-response', from: this.id, to, term: this.term, index, reject, hintIndex, hintTerm });
  }

  private sendSnapshotAck(to: ReplicaId, snapshotIndex: number, nextOffset: number, reject: boolean): void {
    this.send({ type: 'snapshot-ack', from: this.id, to, term: this.term, snapshotIndex, nextOffset, reject });
  }
}
