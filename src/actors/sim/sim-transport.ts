// SimTransport: the Transport of one simulated process. It hands frames to the SimNetwork and passes
// the network's events (frames, peer up, peer down) to the remoting layer exactly as WsTransport
// would, so remoting's heartbeats, incarnation checks and death watch run unchanged in simulation.
// halt() is the crash path: the transport goes silent at once and sends nothing more; close() is the
// orderly path (the process shut down): it detaches from the network so peers hear onPeerDown.
import type { NodeAddress, NodeId, Transport, TransportEvents } from '../transport.js';
import type { SimEndpoint, SimNetwork } from './sim-network.js';

export class SimTransport implements Transport, SimEndpoint {
  private events: TransportEvents | undefined;
  private closed = false;

  /** Attaches to the network at once: the process is reachable from now on. */
  constructor(
    private readonly network: SimNetwork,
    readonly local: NodeAddress,
  ) {
    network.attach(this);
  }

  get address(): NodeAddress {
    return this.local;
  }

  // ---- Transport (called by remoting) ----

  bind(events: TransportEvents): void {
    if (this.events !== undefined) throw new Error('invariant: SimTransport.bind called twice');
    this.events = events;
  }

  send(to: NodeId, frame: Uint8Array): void {
    if (this.closed) return;
    this.network.send(this, to, frame);
  }

  disconnect(peer: NodeId, reason: string): void {
    if (this.closed) return;
    this.network.disconnect(this.local.node, peer, reason);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.network.detach(this, 'closed', true);
  }

  /** The process crashed: nothing more goes out or comes in; in-flight frames are lost. */
  halt(reason: string): void {
    this.closed = true;
    this.network.detach(this, reason);
  }

  // ---- SimEndpoint (called by the network) ----

  receiveFrame(from: NodeAddress, frame: Uint8Array): void {
    if (!this.closed) this.events?.onFrame(from, frame);
  }

  peerUp(peer: NodeAddress): void {
    if (!this.closed) this.events?.onPeerUp(peer);
  }

  peerDown(peer: NodeId, reason: string): void {
    if (!this.closed) this.events?.onPeerDown(peer, reason);
  }
}
