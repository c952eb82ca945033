// The Raft peer transport of a replica process: the actor at PEER_PATH that receives the Raft
// messages of the other replicas, and the RaftOutbox that sends this node's messages to theirs.
//
// Raft tolerates loss, duplication and reordering, so this is deliberately thin: a send is one
// fire-and-forget tell over the actor transport (at-most-once; each peer has its own connection and
// queue, so a slow or dead peer never holds up frames to the others), and a message that cannot be
// sent (encode error, frame too large) is logged and dropped. Incoming messages addressed to another
// replica id are dropped; the node's core checks the rest of each message's shape (isWellFormedMessage).

import type { Logger } from 'pino';
import type { ActorSystem, Behavior, NodeId } from '../../actors/index.js';
import type { Message, ReplicaId } from '../../raft/index.js';
import type { RaftOutbox } from './engine.js';
import { PEER_PATH, type PeerMessage, type ReplicaAddress } from './protocol.js';

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

/** The outbox of a replica's node: each message is one tell to the destination replica's peer actor. */
export function raftOutbox(system: ActorSystem, replicas: readonly ReplicaAddress[], log: Logger): RaftOutbox {
  const peerRefs = new Map(replicas.map((replica) => [replica.id, system.refFor<PeerMessage>(replica.node, PEER_PATH)]));
  return (to: ReplicaId, message: Message) => {
    const ref = peerRefs.get(to);
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
