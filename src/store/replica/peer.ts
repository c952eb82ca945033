// The Raft peer transport of a replica process: the actor at PEER_PATH that receives the Raft
// messages of the other replicas, and the RaftOutbox that sends this node's messages to theirs.
//
// Raft tolerates loss, duplication and reordering, so this is deliberately thin: a send is one
// fire-and-forget tell over the actor transport (at-most-once; each peer has its own connection and
// queue, so a slow or dead peer never holds up frames to the others), and a message that cannot be
// sent (encode error, frame too large) is logged and dropped. Incoming messages addressed to another
// replica id are dropped; the node's core checks the rest of each message's shape (isWellFormedMessage).
//
// `tapConnectionLosses` wraps the process's transport so the node also hears when a peer replica's
// connection drops (the remoting layer only logs it and waits for its heartbeat timeout): a follower
// whose leader's process died forgets that leader at once (ReplicaNode.peerConnectionLost), the same
// way RemoteStoreClient taps the transport to stop waiting on a dead replica. `keepPeersConnected`
// keeps a connection open between followers too, so that the campaign that follows is not slowed (and
// its vote split) by a first dial.
//
// Peers are looked up by id at each use (a `PeerDirectory`): the replica's address book changes when
// a membership change that adds or removes a replica is applied (membership.ts).

import { withPeerDownListener } from '../../actors/peer-down-tap.js';
import type { Logger } from 'pino';
import type { ActorSystem, Behavior, Clock, NodeId, Transport } from '../../actors/index.js';
import type { Message, ReplicaId } from '../../raft/index.js';
import type { RaftOutbox } from './engine.js';
import { ENDPOINT_PATH, PEER_PATH, type EndpointMessage, type PeerMessage, type ReplicaAddress, type StoreReply } from './protocol.js';

/** How often a replica makes sure it has a connection to every other replica (keepPeersConnected). */
export const PEER_CONNECT_INTERVAL_MS = 2_000;

export interface PeerOptions {
  readonly id: ReplicaId;
  /** Hands a received Raft message to the node (ReplicaNode.receive). */
  readonly deliver: (message: Message) => void;
}

export function peerBehavior(options: PeerOptions): Behavior<PeerMessage, void> {
  return {
    start: () => undefined,
    receive(ctx, _state, message) {
      if (message.type !== 'raft.message') return;
      const raft = message.message;
      if (raft.to !== options.id) {
        ctx.log.debug({ to: raft.to, from: raft.from }, 'raft message for another replica dropped');
        return;
      }
      options.deliver(raft);
    },
  };
}

/** Where the peers are now: the node of an id, and the replicas to keep connections to. */
export interface PeerDirectory {
  nodeOf(id: ReplicaId): NodeId | undefined;
  idOf(node: NodeId): ReplicaId | undefined;
  /** The other members of the configuration, with their nodes. */
  peers(): readonly ReplicaAddress[];
}

/** The outbox of a replica's node: each message is one tell to the destination replica's peer actor. */
export function raftOutbox(system: ActorSystem, directory: PeerDirectory, log: Logger): RaftOutbox {
  return (to: ReplicaId, message: Message) => {
    const node = directory.nodeOf(to);
    const ref = node === undefined ? undefined : system.refFor<PeerMessage>(node, PEER_PATH);
    if (ref === undefined) {
      log.warn({ to }, 'raft message to an unknown replica dropped');
      return;
    }
    try {
      system.tell(ref, { type: 'raft.message', message });
    } catch (error) {
      log.warn({ err: error, to, messageType: message.type }, 'raft message could not be sent');
    }
  };
}

/** The node id a replica listens as: `replica-<id>@<host>:<port>`. */
export function replicaNodeId(id: ReplicaId, host: string, port: number): NodeId {
  return `replica-${id}@${host}:${port}`;
}

/**
 * The transport, with every lost connection to a peer replica also reported to `onLost` (with the
 * replica's id; connections of other nodes, e.g. store clients, are not reported). Reports may repeat
 * (each failed redial is one): the receiver must be idempotent.
 */
export function tapConnectionLosses(transport: Transport, directory: Pick<PeerDirectory, 'idOf'>, onLost: (id: ReplicaId) => void): Transport {
  return withPeerDownListener(transport, (node) => {
    const id = directory.idOf(node);
    if (id !== undefined) onLost(id);
  });
}

/**
 * Keeps a connection open to every other replica, not only between leader and followers (the only
 * pairs Raft traffic flows between). Without it, two followers of a leader that died first dial each
 * other when they campaign; the dial (with the other side dialling at the same moment) takes about as
 * long as the random delay before a campaign, so both campaigns arrive together and split the vote.
 * A status ask to each peer's endpoint every PEER_CONNECT_INTERVAL_MS makes the connection (the actor
 * runtime's heartbeats then keep it up); the answer is not used. Returns a function that stops it.
 */
export function keepPeersConnected(system: ActorSystem, directory: Pick<PeerDirectory, 'peers'>, clock: Clock): () => void {
  let stopped = false;
  const touch = (): void => {
    if (stopped) return;
    for (const ref of directory.peers().map((replica) => system.refFor<EndpointMessage>(replica.node, ENDPOINT_PATH))) {
      system.ask<EndpointMessage, StoreReply>(ref, (replyTo) => ({ type: 'store.request', op: { kind: 'status' }, replyTo }), PEER_CONNECT_INTERVAL_MS).catch(() => undefined);
    }
    timer = clock.setTimer(PEER_CONNECT_INTERVAL_MS, touch);
  };
  let timer = clock.setTimer(0, touch);
  return () => {
    stopped = true;
    clock.cancelTimer(timer);
  };
}
