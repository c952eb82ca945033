// Shared helpers for the actor runtime tests: systems on a VirtualClock, recording behaviours, and an
// in-memory loopback Transport (deliveries go through clock.defer, so they run in virtual time).
import { silentLogger } from '../../src/actors/logger.js';
import { Prng } from '../../src/actors/random.js';
import { createActorSystem, type ActorSystem, type ActorSystemEnv, type SystemOptions } from '../../src/actors/system.js';
import type { Behavior, Signal } from '../../src/actors/behavior.js';
import type { MessageProtocol } from '../../src/actors/protocol.js';
import type { NodeAddress, NodeId, Transport, TransportEvents } from '../../src/actors/transport.js';
import { VirtualClock } from '../../src/testing/virtual-clock.js';

export interface TestSystem {
  readonly clock: VirtualClock;
  readonly system: ActorSystem;
  readonly rootFailures: unknown[];
}

export function makeSystem(options: SystemOptions = {}, env: Partial<ActorSystemEnv> = {}, clock = new VirtualClock()): TestSystem {
  const rootFailures: unknown[] = [];
  const system = createActorSystem(
    { node: 'local', incarnation: 'inc-1', clock, random: new Prng(1), log: silentLogger(), onRootFailure: (error) => rootFailures.push(error), ...env },
    options,
  );
  return { clock, system, rootFailures };
}

export type TestMessage = { readonly type: string; readonly [field: string]: unknown };

/** A behaviour that records every message (and signal) it receives. */
export function recorder(received: Array<TestMessage | Signal>): Behavior<TestMessage, void> {
  return {
    start: () => undefined,
    receive: (_ctx, _state, message) => {
      received.push(message);
    },
  };
}

/** Connects LoopbackTransports by node id; `reachable` false drops everything to and from a node. */
export class LoopbackNetwork {
  readonly transports = new Map<NodeId, LoopbackTransport>();
  constructor(readonly clock: VirtualClock) {}

  add(node: NodeId, incarnation: string): LoopbackTransport {
    const transport = new LoopbackTransport(this, { node, incarnation });
    this.transports.set(node, transport);
    return transport;
  }
}

export class LoopbackTransport implements Transport {
  events: TransportEvents | undefined;
  reachable = true;
  readonly disconnects: Array<{ peer: NodeId; reason: string }> = [];
  readonly sent: Array<{ to: NodeId; frame: Uint8Array }> = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly network: LoopbackNetwork,
    public local: NodeAddress,
  ) {}

  bind(events: TransportEvents): void {
    this.events = events;
  }

  send(to: NodeId, frame: Uint8Array): void {
    this.sent.push({ to, frame });
    const target = this.network.transports.get(to);
    if (target === undefined || !this.reachable || !target.reachable) return;
    const from = this.local;
    const copy = frame.slice();
    this.network.clock.defer(() => {
      if (!this.reachable || !target.reachable) return;
      // Like a real connection, both ends learn each other's address when it is first used.
      this.noteUp(target.local);
      target.receive(from, copy);
    });
  }

  /** Hands a frame to the bound events as if `from` had sent it (first contact reports peer up). */
  receive(from: NodeAddress, frame: Uint8Array): void {
    this.noteUp(from);
    this.events?.onFrame(from, frame);
  }

  private noteUp(peer: NodeAddress): void {
    const key = `${peer.node}/${peer.incarnation}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.events?.onPeerUp(peer);
  }

  disconnect(peer: NodeId, reason: string): void {
    this.disconnects.push({ peer, reason });
  }

  async close(): Promise<void> {
    this.reachable = false;
  }
}

export const TEST_PROTOCOL: MessageProtocol = { types: ['echo', 'echoed', 'ping', 'note'] };
