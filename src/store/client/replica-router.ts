// Routing of one client request to the replica group: leader discovery, redirects and retries.
//
// A call starts at the replica believed to lead (any replica at first) and retries until it gets an
// answer or its deadline passes:
//   - NOT_LEADER with a leader hint: go there (at once the first time, after a short backoff when
//     hints keep bouncing, e.g. during an election); without a hint: the next replica, after a backoff.
//   - no answer within the attempt timeout, or the replica reported down (`nodeDown`: its connection
//     was lost, or a death watch of its endpoint ended): the next replica, after a backoff. A replica
//     reported down gets a short attempt timeout until it answers again.
//   - UNAVAILABLE / TIMEOUT from a replica: the next replica.
//   - any other error is the answer (rejected with the matching StoreError).
// The replica that answers a leader-routed call is remembered as the leader.
// The list of replicas can change (`updateReplicas`: the client learns the group's membership).
// Past the deadline: StoreTimeoutError if a write may have applied (an attempt timed out, or a
// replica answered NOT_LEADER / UNAVAILABLE / TIMEOUT after it may have proposed it), else
// UnavailableError (nothing can have applied). Retries of a write reuse its session (the caller's
// op carries it), so the state machine applies it at most once.

import type { Logger } from 'pino';
import type { ActorSystem, Clock, NodeId } from '../../actors/index.js';
import { AskTimeoutError, FrameTooLargeError, MessageEncodeError } from '../../actors/index.js';
import { CompactedError, FutureRevisionError, StoreError, StoreTimeoutError, UnavailableError, toStoreError } from '../errors.js';
import { ENDPOINT_PATH, type EndpointMessage, type StoreOperation, type StoreReply } from '../replica/protocol.js';

export const BACKOFF_MIN_MS = 20;
export const BACKOFF_MAX_MS = 100;
/** Ask timeout for a replica the failure detector reported down and that has not answered since. */
export const SUSPECT_ATTEMPT_MS = 250;

export interface RouterOptions {
  readonly system: ActorSystem;
  readonly replicas: readonly NodeId[];
  readonly clock: Clock;
  readonly log: Logger;
  /** One ask's timeout. */
  readonly attemptTimeoutMs: number;
}

export interface CallOptions {
  /** Absolute time (clock ms) after which the call gives up. */
  readonly deadlineMs: number;
  /** The operation changes state: timeouts make the outcome unknown. */
  readonly write: boolean;
  /** Any replica may answer (serializable reads, status): no leader routing. */
  readonly anyReplica?: boolean;
  /** Ask this replica first (default: the believed leader). */
  readonly preferNode?: NodeId;
  /** Only this replica (no retries elsewhere): for per-replica status. */
  readonly onlyNode?: NodeId;
  /** The revision a read asked for, for error details. */
  readonly revision?: number;
}

type AttemptOutcome =
  | { readonly kind: 'reply'; readonly reply: StoreReply }
  | { readonly kind: 'no-answer'; readonly reason: string; readonly maybeApplied: boolean }
  /** The request cannot be sent at all (too large, not encodable): no retry can help. */
  | { readonly kind: 'unsendable'; readonly error: StoreError };

export class ReplicaRouter {
  private leaderIndex = 0;
  /** Per replica, the abort callbacks of the asks in flight to it. */
  private readonly aborts = new Map<NodeId, Set<() => void>>();
  private readonly suspects = new Set<NodeId>();
  private closed = false;
  private replicaList: NodeId[];

  constructor(private readonly options: RouterOptions) {
    if (options.replicas.length === 0) throw new RangeError('a store client needs at least one replica');
    this.replicaList = [...options.replicas];
  }

  /**
   * Replaces the replica list (a membership change added or removed replicas); the believed leader
   * stays the same node if it is still listed. An empty list is ignored. Returns the nodes added.
   */
  updateReplicas(nodes: readonly NodeId[]): NodeId[] {
    if (nodes.length === 0) return [];
    const leader = this.leaderNode;
    const added = nodes.filter((node) => !this.replicaList.includes(node));
    this.replicaList = [...new Set(nodes)];
    const index = this.replicaList.indexOf(leader);
    this.leaderIndex = index < 0 ? 0 : index;
    return added;
  }

  /** The replica currently believed to lead. */
  get leaderNode(): NodeId {
    return this.nodeAt(this.leaderIndex);
  }

  get replicas(): readonly NodeId[] {
    return this.replicaList;
  }

  /** How long to wait for one answer from `node` (short while it is suspected dead). */
  attemptTimeoutFor(node: NodeId): number {
    return this.suspects.has(node) ? Math.min(SUSPECT_ATTEMPT_MS, this.options.attemptTimeoutMs) : this.options.attemptTimeoutMs;
  }

  /** A replica answered: it is no longer suspected. */
  nodeAnswered(node: NodeId): void {
    this.suspects.delete(node);
  }

  /**
   * The connection to `node` was lost, or the failure detector declared it dead: asks in flight to it
   * are abandoned at once (their request or reply may be lost), and it is suspect until it answers.
   */
  nodeDown(node: NodeId): void {
    this.suspects.add(node);
    const aborts = this.aborts.get(node);
    this.aborts.delete(node);
    for (const abort of aborts ?? []) abort();
  }

  close(): void {
    this.closed = true;
    for (const node of [...this.aborts.keys()]) this.nodeDown(node);
  }

  /** The next replica after `node` in the list. */
  nextNode(node: NodeId): NodeId {
    const index = this.replicaList.indexOf(node);
    return this.nodeAt(index < 0 ? 0 : index + 1);
  }

  async call(op: StoreOperation, call: CallOptions): Promise<unknown> {
    const { clock } = this.options;
    let index = this.indexOf(call.onlyNode ?? call.preferNode) ?? this.leaderIndex;
    let maybeApplied = false;
    let lastProblem = 'no replica answered';
    let backoffMs = BACKOFF_MIN_MS;
    let hintsFollowed = 0;
    const retryElsewhere = async (nextIndex: number): Promise<void> => {
      index = call.onlyNode === undefined ? nextIndex : index;
      await this.sleep(Math.min(backoffMs, Math.max(0, call.deadlineMs - clock.now())));
      backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
    };
    for (;;) {
      if (this.closed) throw maybeApplied ? new StoreTimeoutError('the store client closed; the write may have applied') : new UnavailableError('the store client is closed');
      const remaining = call.deadlineMs - clock.now();
      if (remaining <= 0) {
        throw maybeApplied ? new StoreTimeoutError(`no answer before the deadline (${lastProblem}); the write may have applied`) : new UnavailableError(lastProblem);
      }
      const node = this.nodeAt(index);
      const attemptMs = this.attemptTimeoutFor(node);
      const outcome = await this.attempt(node, op, Math.min(attemptMs, remaining), call.write);
      if (outcome.kind === 'unsendable') throw outcome.error;
      if (outcome.kind === 'no-answer') {
        maybeApplied ||= outcome.maybeApplied;
        lastProblem = `${node}: ${outcome.reason}`;
        await retryElsewhere(index + 1);
        continue;
      }
      const reply = outcome.reply;
      this.nodeAnswered(node);
      if (reply.ok) {
        if (call.anyReplica !== true && call.onlyNode === undefined) this.leaderIndex = index;
        return reply.result;
      }
      switch (reply.code) {
        case 'NOT_LEADER': {
          // The replica may have proposed the write before losing leadership.
          maybeApplied ||= call.write;
          lastProblem = `${node}: ${reply.message}`;
          const hinted = this.indexOf(reply.leaderNode);
          if (hinted !== undefined && hinted !== index && call.onlyNode === undefined) {
            this.leaderIndex = hinted;
            index = hinted;
            hintsFollowed += 1;
            if (hintsFollowed > 1) await retryElsewhere(hinted);
            continue;
          }
          await retryElsewhere(index + 1);
          continue;
        }
        case 'UNAVAILABLE':
        case 'TIMEOUT':
          maybeApplied ||= call.write;
          lastProblem = `${node}: ${reply.message}`;
          await retryElsewhere(index + 1);
          continue;
        default:
          throw replyError(reply, call.revision);
      }
    }
  }

  private attempt(node: NodeId, op: StoreOperation, timeoutMs: number, write: boolean): Promise<AttemptOutcome> {
    const { system } = this.options;
    return new Promise<AttemptOutcome>((resolve) => {
      let aborts = this.aborts.get(node);
      if (aborts === undefined) {
        aborts = new Set();
        this.aborts.set(node, aborts);
      }
      const registered = aborts;
      const finish = (outcome: AttemptOutcome): void => {
        registered.delete(abort);
        resolve(outcome);
      };
      // The failure detector declared the replica dead: stop waiting for this ask.
      const abort = (): void => finish({ kind: 'no-answer', reason: 'replica unreachable', maybeApplied: write });
      registered.add(abort);
      system.ask<EndpointMessage, StoreReply>(system.refFor(node, ENDPOINT_PATH), (replyTo) => ({ type: 'store.request', op, replyTo }), timeoutMs).then(
        (reply) => finish({ kind: 'reply', reply }),
        (error: unknown) => finish(askFailure(error, write)),
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => this.options.clock.setTimer(ms, resolve));
  }

  private nodeAt(index: number): NodeId {
    const replicas = this.replicaList;
    const node = replicas[((index % replicas.length) + replicas.length) % replicas.length];
    if (node === undefined) throw new RangeError('no replicas');
    return node;
  }

  private indexOf(node: NodeId | undefined): number | undefined {
    if (node === undefined) return undefined;
    const index = this.replicaList.indexOf(node);
    return index < 0 ? undefined : index;
  }
}

/** What a rejected ask means for the call. */
function askFailure(error: unknown, write: boolean): AttemptOutcome {
  if (error instanceof FrameTooLargeError) return { kind: 'unsendable', error: new StoreError('REQUEST_TOO_LARGE', `request too large to send: ${error.message}`, false) };
  if (error instanceof MessageEncodeError) return { kind: 'unsendable', error: new StoreError('INVALID_REQUEST', `request cannot be encoded: ${error.message}`, false) };
  return {
    kind: 'no-answer',
    reason: error instanceof Error ? error.message : String(error),
    // A timed-out ask may have reached the replica; a refused one (e.g. no transport) did not.
    maybeApplied: write && error instanceof AskTimeoutError,
  };
}

/** The StoreError a failed reply stands for (CompactedError / FutureRevisionError keep their details). */
export function replyError(reply: Extract<StoreReply, { ok: false }>, revision?: number): StoreError {
  if (reply.code === 'COMPACTED' && reply.compactRevision !== undefined) return new CompactedError(revision ?? reply.compactRevision, reply.compactRevision);
  if (reply.code === 'FUTURE_REVISION' && reply.currentRevision !== undefined) return new FutureRevisionError(revision ?? reply.currentRevision, reply.currentRevision);
  return toStoreError(reply.code, reply.message);
}
