// The messages Raft replicas exchange: a discriminated union on `type`. Every message carries
// `from`, `to` and `term`. The core (core.ts) produces them in Ready.messages and consumes them in
// step(); the transport/codec outside the core moves them. isWellFormedMessage() is the boundary
// check step() applies to everything that arrives. Nothing here does I/O.
//
// Choice: proposals are NOT forwarded. A follower's propose() returns `not-leader` with a leader hint
// and the caller retries at the leader. ReadIndex requests ARE forwarded (read-index /
// read-index-response) because the answer is an index the follower can serve locally.

import { EntryType } from './types.js';
import type { Entry, ReplicaId, SnapshotMeta } from './types.js';

interface MessageBase {
  readonly from: ReplicaId;
  readonly to: ReplicaId;
  readonly term: number;
}

/** A (pre-)vote request. Pre-votes carry the term the sender would campaign in (its term + 1). */
export interface VoteRequest extends MessageBase {
  readonly type: 'vote' | 'pre-vote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  /** Set when the campaign follows a leadership transfer: receivers ignore their leader lease. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'vote-response' | 'pre-vote-response';
  readonly reject: boolean;
}

export interface AppendRequest extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends MessageBase {
  readonly type: 'append-response';
  /** On success: the last index the follower now matches. On rejection: the rejected prevIndex. */
  readonly index: number;
  readonly reject: boolean;
  /** Rejection hint for fast back-tracking: the follower's best guess of a matching index... */
  readonly hintIndex: number;
  /** ...and the term of its entry there (0 if unknown). */
  readonly hintTerm: number;
}

export interface Heartbeat extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  /** The newest pending ReadIndex request id, echoed back to confirm leadership for it. */
  readonly context: string;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'heartbeat-response';
  readonly context: string;
}

/** One chunk of an InstallSnapshot transfer; chunks are sent one at a time (stop-and-wait). */
export interface SnapshotChunk extends MessageBase {
  readonly type: 'snapshot';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly totalBytes: number;
  readonly final: boolean;
}

export interface SnapshotAck extends MessageBase {
  readonly type: 'snapshot-ack';
  readonly snapshotIndex: number;
  /** The byte offset the follower expects next. */
  readonly nextOffset: number;
  /** True when the follower lost track (missing/out-of-order chunk): restart the transfer from 0. */
  readonly reject: boolean;
}

/** Leadership transfer: campaign now, ignoring the election timeout and pre-vote. */
export interface TimeoutNow extends MessageBase {
  readonly type: 'timeout-now';
}

/** A follower forwards a ReadIndex request to its leader. */
export interface ReadIndexRequest extends MessageBase {
  readonly type: 'read-index';
  readonly requestId: string;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'read-index-response';
  readonly requestId: string;
  readonly index: number;
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotAck
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

export type MessageType = Message['type'];

/**
 * Remote input is checked here so that nothing malformed reaches the core: the right recipient,
 * non-negative integers, contiguous entries of non-decreasing terms no newer than the message.
 */
export function isWellFormedMessage(m: Message, self: ReplicaId): boolean {
  if (typeof m !== 'object' || m === null) return false;
  if (m.to !== self || !isCount(m.from) || m.from === 0 || m.from === self || !isCount(m.term)) return false;
  switch (m.type) {
    case 'vote':
    case 'pre-vote':
      return isCount(m.lastIndex) && isCount(m.lastTerm) && typeof m.transfer === 'boolean';
    case 'vote-response':
    case 'pre-vote-response':
      return typeof m.reject === 'boolean';
    case 'append': {
      if (!isCount(m.prevIndex) || !isCount(m.prevTerm) || !isCount(m.commit) || !Array.isArray(m.entries)) return false;
      let expected = m.prevIndex + 1;
      let term = m.prevTerm;
      for (const e of m.entries) {
        if (typeof e !== 'object' || e === null || e.index !== expected || !isCount(e.term) || e.term < term || e.term > m.term) return false;
        if (!(e.data instanceof Uint8Array) || (e.type !== EntryType.Normal && e.type !== EntryType.ConfChange)) return false;
        expected++;
        term = e.term;
      }
      return true;
    }
    case 'append-response':
      return isCount(m.index) && typeof m.reject === 'boolean' && isCount(m.hintIndex) && isCount(m.hintTerm);
    case 'heartbeat':
      return isCount(m.commit) && typeof m.context === 'string';
    case 'heartbeat-response':
      return typeof m.context === 'string';
    case 'snapshot':
      return (
        typeof m.meta === 'object' &&
        m.meta !== null &&
        isCount(m.meta.index) &&
        isCount(m.meta.term) &&
        isCount(m.offset) &&
        isCount(m.totalBytes) &&
        m.data instanceof Uint8Array &&
        typeof m.meta.conf === 'object' &&
        m.meta.conf !== null &&
        Array.isArray(m.meta.conf.voters) &&
        m.meta.conf.voters.length > 0
      );
    case 'snapshot-ack':
      return isCount(m.snapshotIndex) && isCount(m.nextOffset) && typeof m.reject === 'boolean';
    case 'timeout-now':
      return true;
    case 'read-index':
      return typeof m.requestId === 'string';
    case 'read-index-response':
      return typeof m.requestId === 'string' && isCount(m.index);
    default:
      return false;
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
