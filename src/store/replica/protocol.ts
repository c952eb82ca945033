// The messages of a store replica process, as they travel over the actor transport (CBOR frames).
//
// Two conversations:
//   - client <-> replica: a StoreClient (the API server) asks the replica's endpoint actor at
//     ENDPOINT_PATH for reads and writes, and opens watches whose batches are told to a watcher actor
//     of the client's. Every answer is a StoreReply; a replica that is not the leader answers
//     NOT_LEADER with the leader's node id, so the client follows the redirect.
//   - replica <-> replica: Raft messages, told to the peer actor at PEER_PATH.
//
// Everything arriving from the network is untrusted: the validators below check the envelope, and
// the endpoint validates each command body with the store's own validateCommand before proposing it.

import type { ActorRef, MessageProtocol, NodeId } from '../../actors/index.js';
import { isActorRef } from '../../actors/index.js';
import type { Message, ReplicaId } from '../../raft/index.js';
import type { ClientSession, CommandBody, RangeRequest } from '../commands.js';
import type { StoreErrorCode } from '../errors.js';
import type { WatchBatch, WatchRequest } from '../watch-hub.js';
import type { MembershipChange } from './membership.js';

/** The client endpoint actor of every replica process. */
export const ENDPOINT_PATH = '/user/store';
/** The Raft peer actor of every replica process. */
export const PEER_PATH = '/user/raft';

/**
 * The largest actor frame between store clients and replicas (both ends configure their transport
 * and actor system with it). Requests are bounded by the store's 1.5 MiB request limit anyway;
 * this is for responses: a large range answers in one frame (etcd bounds requests, not responses).
 * Frames between replicas carry Raft appends (bounded by the node's maxEntriesPerAppendBytes) and
 * snapshot chunks.
 */
export const STORE_MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** One replica of the group: its Raft id and the actor node (`name@host:port`) that runs it. */
export interface ReplicaAddress {
  readonly id: ReplicaId;
  readonly node: NodeId;
}

export type StoreOperation =
  | { readonly kind: 'range'; readonly request: RangeRequest; readonly serializable: boolean }
  | { readonly kind: 'write'; readonly body: CommandBody; readonly session?: ClientSession }
  | { readonly kind: 'timeToLive'; readonly id: number; readonly withKeys: boolean }
  | { readonly kind: 'status' }
  /** The replica's metrics in Prometheus text format (result: a string). */
  | { readonly kind: 'metrics' }
  /** The group's membership as this replica sees it (result: MembershipStatus, membership.ts). */
  | { readonly kind: 'membership' }
  /**
   * On the leader: add a learner, promote it, or remove a replica (result: MembershipStatus once
   * applied). Only cluster components reach the store transport (it admits holders of the cluster secret).
   */
  | { readonly kind: 'changeMembership'; readonly change: MembershipChange };

export type StoreReply =
  | { readonly type: 'store.reply'; readonly ok: true; readonly result: unknown }
  | {
      readonly type: 'store.reply';
      readonly ok: false;
      readonly code: StoreErrorCode;
      readonly message: string;
      /** NOT_LEADER: the leader's node, when known. */
      readonly leaderNode?: NodeId;
      /** COMPACTED / FUTURE_REVISION details. */
      readonly compactRevision?: number;
      readonly currentRevision?: number;
    };

export interface StoreRequest {
  readonly type: 'store.request';
  readonly op: StoreOperation;
  readonly replyTo: ActorRef<StoreReply>;
}

/** Opens a watch served from the receiving replica; batches go to `target`. */
export interface StoreWatch {
  readonly type: 'store.watch';
  /** Chosen by the client, unique per client process. */
  readonly watchId: string;
  readonly request: WatchRequest;
  readonly target: ActorRef<WatcherMessage>;
  /**
   * When set, the endpoint answers the open with a StoreReply: ok with { revision } (the replica's
   * revision at registration: a watch from startRevision 0 delivers from revision + 1), or the error
   * (e.g. COMPACTED). Without it, an error goes to `target` as store.watchError.
   */
  readonly replyTo?: ActorRef<StoreReply>;
}

export interface StoreUnwatch {
  readonly type: 'store.unwatch';
  readonly watchId: string;
  readonly target: ActorRef<WatcherMessage>;
}

export type EndpointMessage = StoreRequest | StoreWatch | StoreUnwatch;

/** What a client's watcher actor receives. A batch with `canceled`, or an error, ends the watch. */
export type WatcherMessage =
  | {
      readonly type: 'store.watchBatch';
      readonly watchId: string;
      readonly batch: WatchBatch;
      /** 1, 2, 3... per watch: the transport is at-most-once, so a client that sees a gap re-opens the watch. */
      readonly seq?: number;
    }
  | {
      readonly type: 'store.watchError';
      readonly watchId: string;
      readonly code: StoreErrorCode;
      readonly message: string;
      readonly compactRevision?: number;
    };

export interface RaftEnvelope {
  readonly type: 'raft.message';
  readonly message: Message;
}

export type PeerMessage = RaftEnvelope;

// ---- validators (envelopes only; bodies are validated where they are used) -------------------

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOperation(value: unknown): boolean {
  if (!isRecord(value)) return false;
  switch (value['kind']) {
    case 'range':
      return isRecord(value['request']) && typeof value['serializable'] === 'boolean';
    case 'write':
      return isRecord(value['body']) && (value['session'] === undefined || isRecord(value['session']));
    case 'timeToLive':
      return Number.isSafeInteger(value['id']) && typeof value['withKeys'] === 'boolean';
    case 'status':
    case 'metrics':
    case 'membership':
      return true;
    case 'changeMembership':
      return isRecord(value['change']);
    default:
      return false;
  }
}

const isWatchId = (value: unknown): boolean => typeof value === 'string' && value.length > 0 && value.length <= 128;

/** What a replica process accepts from clients and peers. */
export const REPLICA_PROTOCOL: MessageProtocol = {
  types: ['store.request', 'store.watch', 'store.unwatch', 'raft.message'],
  validators: {
    'store.request': (m) => isRecord(m) && isOperation(m['op']) && isActorRef(m['replyTo']),
    'store.watch': (m) =>
      isRecord(m) && isWatchId(m['watchId']) && isRecord(m['request']) && isActorRef(m['target']) && (m['replyTo'] === undefined || isActorRef(m['replyTo'])),
    'store.unwatch': (m) => isRecord(m) && isWatchId(m['watchId']) && isActorRef(m['target']),
    'raft.message': (m) => isRecord(m) && isRecord(m['message']) && typeof (m['message'] as Record<string, unknown>)['type'] === 'string',
  },
};

/** What a client process accepts from replicas (ask replies need no entry). */
export const CLIENT_PROTOCOL: MessageProtocol = {
  types: ['store.watchBatch', 'store.watchError'],
  validators: {
    'store.watchBatch': (m) => isRecord(m) && isWatchId(m['watchId']) && isRecord(m['batch']),
    'store.watchError': (m) => isRecord(m) && isWatchId(m['watchId']) && typeof m['code'] === 'string',
  },
};
