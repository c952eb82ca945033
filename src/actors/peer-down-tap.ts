// A Transport wrapper that also tells its owner when a peer's connection drops. The remoting layer
// only logs a dropped connection and waits for its heartbeat timeout before declaring the peer
// unreachable; a store client (stop waiting on a dead replica) and a store replica (forget a dead
// leader) want to know at once, since a kill -9 closes the socket immediately.

import type { NodeId, Transport } from './transport.js';

export function withPeerDownListener(transport: Transport, onPeerDown: (node: NodeId) => void): Transport {
  return {
    get local() {
      return transport.local;
    },
    bind: (events) =>
      transport.bind({
        onFrame: (from, frame, certificate) => events.onFrame(from, frame, certificate),
        onPeerUp: (peer) => events.onPeerUp(peer),
        onPeerDown: (peer, reason) => {
          events.onPeerDown(peer, reason);
          onPeerDown(peer);
        },
      }),
    send: (to, frame) => transport.send(to, frame),
    disconnect: (peer, reason) => transport.disconnect(peer, reason),
    close: () => transport.close(),
  };
}
