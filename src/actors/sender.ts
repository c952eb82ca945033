// The authenticated sender of a message that arrived from a remote peer.
//
// Remoting records, for every message it delivers to a local actor (not ask replies), which peer sent
// it and what the transport verified about that peer (in TLS mode, its certificate subject). A
// behaviour that must know who is asking (the API server's actor face authorizes each call as its
// sender) reads it with remoteSenderOf(message). The record is kept beside the message object (a
// WeakMap), never inside it, so nothing on the wire can forge it; a message told locally has none.

import type { NodeId, PeerCertificateSubject } from './transport.js';

export interface RemoteSender {
  /** The peer process the message came from (as it proved in the transport handshake). */
  readonly node: NodeId;
  readonly incarnation: string;
  /** The verified certificate subject of the connection it came on (TLS mode only). */
  readonly certificate?: PeerCertificateSubject;
}

const senders = new WeakMap<object, RemoteSender>();

/** Who sent this message over the transport; undefined for a message told within this process. */
export function remoteSenderOf(message: unknown): RemoteSender | undefined {
  return typeof message === 'object' && message !== null ? senders.get(message) : undefined;
}

/** Called by remoting only, on each freshly decoded message body before it is delivered. */
export function recordRemoteSender(message: object, sender: RemoteSender): void {
  senders.set(message, sender);
}
