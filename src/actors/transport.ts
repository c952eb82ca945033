// The Transport: moves opaque frames between actor-system processes ("nodes") and reports which
// peers are reachable. It never interprets what it carries: encoding, envelopes, heartbeats and
// death watch live in the remoting layer above it (src/actors/remoting.ts).
//
// Two implementations share this contract:
//   - WsTransport (src/actors/ws-transport.ts): one authenticated WebSocket per pair of processes.
//   - SimTransport (src/actors/sim/sim-transport.ts): one process on the seeded, in-memory SimNetwork
//     (src/actors/sim/sim-network.ts) with faults, partitions and crashes.
//
// Delivery is at-most-once. A real transport keeps FIFO order per sender-receiver pair; the simulated
// one may reorder or duplicate on purpose when its fault mix says so.

/**
 * A node is one actor-system process. Its id is `name@host:port` for a process that listens
 * (so a peer can dial it knowing only the id), or a bare `name` for one that only dials out.
 */
export type NodeId = string;

export interface NodeAddress {
  readonly node: NodeId;
  /** Chosen anew at every process start, so a restarted process is never taken for its predecessor. */
  readonly incarnation: string;
}

/**
 * The subject of a peer's certificate, as the transport verified it against the cluster CA (TLS mode).
 * Kubernetes reads an identity from it: CN = user name, O = groups. Absent with secret-only peers.
 */
export interface PeerCertificateSubject {
  readonly commonNames: readonly string[];
  readonly organizations: readonly string[];
}

export interface TransportEvents {
  /**
   * A frame arrived from an authenticated peer. `certificate` is the verified certificate subject of
   * the connection the frame came on (TLS mode only).
   */
  onFrame(from: NodeAddress, frame: Uint8Array, certificate?: PeerCertificateSubject): void;
  /** A peer completed the handshake (also after a reconnect, possibly with a new incarnation). */
  onPeerUp(peer: NodeAddress): void;
  /** The connection to a peer was lost or could not be made. */
  onPeerDown(peer: NodeId, reason: string): void;
}

export interface Transport {
  readonly local: NodeAddress;
  /** Registers the single receiver of events; called once by the remoting layer. */
  bind(events: TransportEvents): void;
  /**
   * Queues a frame for `to`, dialling it if there is no connection yet. Never throws for an
   * unreachable peer: the frame is dropped and onPeerDown reports it.
   */
  send(to: NodeId, frame: Uint8Array): void;
  /** Drops the connection to a peer (used when it sent something unacceptable). */
  disconnect(peer: NodeId, reason: string): void;
  /** Closes every connection and the listener. */
  close(): Promise<void>;
}
