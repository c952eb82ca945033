// The simulated network: an in-memory, seeded stand-in for the WebSocket mesh between actor-system
// processes, for deterministic simulation (one Node process, one virtual clock, one seed).
//
// Model:
//   - Endpoints (one per live simulated process, see sim-transport.ts) are attached by node id.
//   - A connection joins two endpoints, like one WebSocket per pair. It is dialled by the first send
//     between them; the dial needs the target attached and both directions open (a handshake is a
//     round trip). Each end is told onPeerUp: the dialler at once (deferred), the other end just
//     before the first frame reaches it. A failed dial drops the frame and tells the sender
//     onPeerDown, deferred, as a real transport does.
//   - Each frame on a link (one direction of a pair) meets that link's fault mix, drawn from the seed:
//     drop, duplicate (the copy takes its own delay), delay in [delayMinMs, delayMaxMs], and
//     hold-back (the frame waits an extra 1..reorderDelayMaxMs, so later frames overtake it). Frames
//     that are not held back keep FIFO order on their link, as a WebSocket would.
//   - Partitions are per direction: cut(a, b) loses every frame from a to b, including those in
//     flight, and leaves b to a open; partition(groupA, groupB) cuts both ways; isolate(node) cuts a
//     node off from everyone, also from nodes attached later. A partition does not close
//     connections (a real one does not either): the failure detector above has to notice the silence.
//   - detach closes the node's connections and the peers are told onPeerDown. After a crash, frames
//     in flight to or from the node are lost; after an orderly close, those it sent still arrive.
//   - At most IN_FLIGHT_FRAMES_PER_LINK_MAX frames are in flight per link; more are dropped (overflow).
// Every event goes to the SimTrace. The network never interprets frames; an optional describer (the
// world passes one that decodes remoting frames) only annotates trace lines.
import { ActorConfigError } from '../errors.js';
import type { Clock } from '../clock.js';
import type { Random } from '../random.js';
import type { NodeAddress, NodeId } from '../transport.js';
import type { SimTrace } from './sim-trace.js';

/**
 * Frames in flight on one link at most (a socket's backlog bound, as in ws-transport.ts); a frame
 * beyond it is dropped and traced as an overflow.
 */
export const IN_FLIGHT_FRAMES_PER_LINK_MAX = 10_000;

/** The fault mix of one link (one direction between two nodes). */
export interface LinkFaults {
  /** Chance that a frame is lost. */
  readonly dropChance: number;
  /** Chance that a frame is delivered twice (the copy gets its own delay). */
  readonly duplicateChance: number;
  /** Chance that a frame is held back an extra 1..reorderDelayMaxMs, so that later frames overtake it. */
  readonly reorderChance: number;
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
  readonly reorderDelayMaxMs: number;
}

/** A clean link: every frame arrives, in order, 1 ms later. */
export const NO_FAULTS: LinkFaults = {
  dropChance: 0,
  duplicateChance: 0,
  reorderChance: 0,
  delayMinMs: 1,
  delayMaxMs: 1,
  reorderDelayMaxMs: 20,
};

/** The worst weather drawLinkFaults may draw. */
export interface FaultLimits {
  readonly dropChanceMax: number;
  readonly duplicateChanceMax: number;
  readonly reorderChanceMax: number;
  readonly delayMaxMs: number;
}

export const FAULT_LIMITS_DEFAULT: FaultLimits = { dropChanceMax: 0.1, duplicateChanceMax: 0.05, reorderChanceMax: 0.1, delayMaxMs: 50 };

/** Draws a fault mix from the seed, so that seeds differ in weather as well as in order. */
export function drawLinkFaults(random: Random, limits: FaultLimits = FAULT_LIMITS_DEFAULT): LinkFaults {
  const delayMinMs = random.between(0, Math.floor(limits.delayMaxMs / 4));
  const delayMaxMs = random.between(delayMinMs, limits.delayMaxMs);
  return validateFaults({
    dropChance: random.next() * limits.dropChanceMax,
    duplicateChance: random.next() * limits.duplicateChanceMax,
    reorderChance: random.next() * limits.reorderChanceMax,
    delayMinMs,
    delayMaxMs,
    reorderDelayMaxMs: Math.max(1, 2 * delayMaxMs),
  });
}

/** Refuses an unusable fault mix, naming the field. */
export function validateFaults(faults: LinkFaults): LinkFaults {
  for (const field of ['dropChance', 'duplicateChance', 'reorderChance'] as const) {
    const value = faults[field];
    if (!(value >= 0 && value <= 1)) throw new ActorConfigError(`link faults: ${field} must be in [0, 1], got ${value}`);
  }
  for (const field of ['delayMinMs', 'delayMaxMs', 'reorderDelayMaxMs'] as const) {
    const value = faults[field];
    if (!(Number.isInteger(value) && value >= 0)) throw new ActorConfigError(`link faults: ${field} must be a non-negative integer, got ${value}`);
  }
  if (faults.delayMinMs > faults.delayMaxMs) throw new ActorConfigError(`link faults: delayMinMs (${faults.delayMinMs}) exceeds delayMaxMs (${faults.delayMaxMs})`);
  if (faults.reorderChance > 0 && faults.reorderDelayMaxMs < 1) throw new ActorConfigError('link faults: reorderDelayMaxMs must be >= 1 when reorderChance > 0');
  return faults;
}

/** One attached process, as the network sees it (SimTransport implements it). */
export interface SimEndpoint {
  readonly address: NodeAddress;
  receiveFrame(from: NodeAddress, frame: Uint8Array): void;
  peerUp(peer: NodeAddress): void;
  peerDown(peer: NodeId, reason: string): void;
}

export type FrameDescriber = (frame: Uint8Array) => string;

export interface SimNetworkOptions {
  /** The one clock of the simulation (a VirtualClock); frames travel on its timers. */
  readonly clock: Clock;
  /** The network's own random stream (fault draws and delays). */
  readonly random: Random;
  readonly trace: SimTrace;
  /** The fault mix of every link without its own (default NO_FAULTS). */
  readonly faults?: LinkFaults;
  /** Annotates frame lines in the trace (default: length and a content hash). */
  readonly describeFrame?: FrameDescriber;
}

interface Connection {
  readonly id: number;
  readonly ends: readonly [SimEndpoint, SimEndpoint];
  /** Ends that have been told onPeerUp for this connection. */
  readonly upReported: Set<SimEndpoint>;
  /** Set when an end closed it in an orderly way: what that end sent before still arrives. */
  closedBy: SimEndpoint | undefined;
}

interface LinkState {
  faults: LinkFaults | undefined;
  /** The latest due time of an in-order frame: later in-order frames are not due before it. */
  fifoDueMs: number;
  sentSequence: number;
  highestDeliveredSequence: number;
  inFlight: number;
}

interface InFlight {
  readonly id: number;
  readonly connection: Connection;
  readonly from: SimEndpoint;
  readonly to: SimEndpoint;
  readonly frame: Uint8Array;
  readonly sequence: number;
}

/** FNV-1a over the bytes: a cheap content fingerprint for trace lines. */
export function fingerprint(bytes: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

function describeBytes(frame: Uint8Array): string {
  return `len=${frame.length} h=${fingerprint(frame)}`;
}

function pairKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}

export class SimNetwork {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly trace: SimTrace;
  private readonly describeFrame: FrameDescriber;
  private defaultFaults: LinkFaults;
  private readonly endpoints = new Map<NodeId, SimEndpoint>();
  private readonly connections = new Map<string, Connection>();
  private readonly links = new Map<string, LinkState>();
  private readonly cuts = new Set<string>();
  private readonly isolated = new Set<NodeId>();
  private nextFrameId = 1;
  private nextConnectionId = 1;

  constructor(options: SimNetworkOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.trace = options.trace;
    this.defaultFaults = validateFaults(options.faults ?? NO_FAULTS);
    this.describeFrame = options.describeFrame ?? describeBytes;
  }

  // ---- processes ----

  attach(endpoint: SimEndpoint): void {
    const node = endpoint.address.node;
    if (this.endpoints.has(node)) throw new ActorConfigError(`sim network: ${node} is already attached (detach it first)`);
    this.endpoints.set(node, endpoint);
  }

  /**
   * Takes a process off the network: its connections close and frames in flight to it are lost.
   * Frames in flight from it are lost too (a crash), unless `orderly` (a close: like a WebSocket
   * close, what was sent before it still arrives).
   */
  detach(endpoint: SimEndpoint, reason: string, orderly = false): void {
    const node = endpoint.address.node;
    if (this.endpoints.get(node) !== endpoint) return;
    this.endpoints.delete(node);
    for (const connection of [...this.connections.values()]) {
      if (!connection.ends.includes(endpoint)) continue;
      if (orderly) connection.closedBy = endpoint;
      this.closeConnection(connection, reason);
    }
  }

  isAttached(node: NodeId): boolean {
    return this.endpoints.has(node);
  }

  // ---- frames ----

  /** Sends a frame from an attached endpoint; never throws for an unreachable peer. */
  send(from: SimEndpoint, to: NodeId, frame: Uint8Array): void {
    const fromNode = from.address.node;
    if (this.endpoints.get(fromNode) !== from) return; // a detached process sends nothing
    const id = this.nextFrameId++;
    const bytes = frame.slice(); // the sender may reuse its buffer
    this.trace.record('send', `${fromNode}->${to} #${id} ${this.describeFrame(bytes)}`);
    const connection = this.connections.get(pairKey(fromNode, to)) ?? this.dial(from, to);
    if (connection === undefined) {
      this.trace.record('drop', `${fromNode}->${to} #${id} unreachable`, 'unreachable');
      return;
    }
    if (this.isCut(fromNode, to)) {
      this.trace.record('drop', `${fromNode}->${to} #${id} partition`, 'partition');
      return;
    }
    const link = this.link(fromNode, to);
    if (link.inFlight >= IN_FLIGHT_FRAMES_PER_LINK_MAX) {
      this.trace.record('drop', `${fromNode}->${to} #${id} overflow`, 'overflow');
      return;
    }
    const faults = link.faults ?? this.defaultFaults;
    if (this.random.chance(faults.dropChance)) {
      this.trace.record('drop', `${fromNode}->${to} #${id} fault`, 'fault');
      return;
    }
    // The dialled end learns of the connection when a frame first reaches it, or when it first uses it.
    if (!connection.upReported.has(from)) this.clock.defer(() => this.reportUp(connection, from));
    const target = connection.ends[0] === from ? connection.ends[1] : connection.ends[0];
    const flight: InFlight = { id, connection, from, to: target, frame: bytes, sequence: ++link.sentSequence };
    this.schedule(flight, link, faults, true);
    if (this.random.chance(faults.duplicateChance)) {
      this.trace.record('duplicate', `${fromNode}->${to} #${id}`);
      this.schedule(flight, link, faults, false);
    }
  }

  /** Closes the connection between two nodes (a peer refused what it got); both ends hear onPeerDown. */
  disconnect(from: NodeId, peer: NodeId, reason: string): void {
    const connection = this.connections.get(pairKey(from, peer));
    if (connection !== undefined) this.closeConnection(connection, reason);
  }

  // ---- weather ----

  /** Sets the fault mix of every link that has none of its own. */
  setFaults(faults: LinkFaults): void {
    this.defaultFaults = validateFaults(faults);
    this.trace.record('faults', `* ${formatFaults(faults)}`);
  }

  /** Sets (or with undefined, clears) the fault mix of the link from -> to. */
  setLinkFaults(from: NodeId, to: NodeId, faults: LinkFaults | undefined): void {
    this.link(from, to).faults = faults === undefined ? undefined : validateFaults(faults);
    this.trace.record('faults', `${from}->${to} ${faults === undefined ? 'default' : formatFaults(faults)}`);
  }

  /** One-way partition: frames from `from` to `to` are lost (also those in flight); to -> from stays open. */
  cut(from: NodeId, to: NodeId): void {
    this.cuts.add(linkKey(from, to));
    this.trace.record('cut', `${from}->${to}`);
  }

  /** Reopens one direction cut by cut() or partition(). */
  mend(from: NodeId, to: NodeId): void {
    this.cuts.delete(linkKey(from, to));
    this.trace.record('heal', `${from}->${to}`);
  }

  /** Symmetric partition: nothing passes between a node of `side` and a node of `otherSide`. */
  partition(side: readonly NodeId[], otherSide: readonly NodeId[]): void {
    for (const a of side) {
      for (const b of otherSide) {
        if (a === b) continue;
        this.cuts.add(linkKey(a, b));
        this.cuts.add(linkKey(b, a));
      }
    }
    this.trace.record('partition', `[${side.join(',')}] | [${otherSide.join(',')}]`);
  }

  /** Cuts a node off from every other node, including nodes attached later. */
  isolate(node: NodeId): void {
    this.isolated.add(node);
    this.trace.record('partition', `isolate ${node}`);
  }

  /** Removes every cut, partition and isolation (fault mixes stay). */
  heal(): void {
    this.cuts.clear();
    this.isolated.clear();
    this.trace.record('heal', '*');
  }

  isCut(from: NodeId, to: NodeId): boolean {
    return this.isolated.has(from) || this.isolated.has(to) || this.cuts.has(linkKey(from, to));
  }

  // ---- internals ----

  private link(from: NodeId, to: NodeId): LinkState {
    const key = linkKey(from, to);
    let link = this.links.get(key);
    if (link === undefined) {
      link = { faults: undefined, fifoDueMs: 0, sentSequence: 0, highestDeliveredSequence: 0, inFlight: 0 };
      this.links.set(key, link);
    }
    return link;
  }

  private dial(from: SimEndpoint, to: NodeId): Connection | undefined {
    const fromNode = from.address.node;
    const target = this.endpoints.get(to);
    if (target === undefined || this.isCut(fromNode, to) || this.isCut(to, fromNode)) {
      const reason = target === undefined ? 'could not connect: no such process' : 'could not connect: partition';
      this.clock.defer(() => {
        if (this.endpoints.get(fromNode) !== from) return;
        this.trace.record('peer-down', `${fromNode} about ${to}: ${reason}`);
        from.peerDown(to, reason);
      });
      return undefined;
    }
    const connection: Connection = { id: this.nextConnectionId++, ends: [from, target], upReported: new Set(), closedBy: undefined };
    this.connections.set(pairKey(fromNode, to), connection);
    this.trace.record('connect', `${fromNode}->${to} c${connection.id} ${from.address.incarnation} ${target.address.incarnation}`);
    return connection;
  }

  private reportUp(connection: Connection, end: SimEndpoint): void {
    if (!this.isOpen(connection) || connection.upReported.has(end)) return;
    connection.upReported.add(end);
    const other = connection.ends[0] === end ? connection.ends[1] : connection.ends[0];
    this.trace.record('peer-up', `${end.address.node} sees ${other.address.node}/${other.address.incarnation} c${connection.id}`);
    end.peerUp(other.address);
  }

  private isOpen(connection: Connection): boolean {
    const [a, b] = connection.ends;
    return this.connections.get(pairKey(a.address.node, b.address.node)) === connection;
  }

  private schedule(flight: InFlight, link: LinkState, faults: LinkFaults, inOrder: boolean): void {
    const now = this.clock.now();
    let dueMs = now + this.random.between(faults.delayMinMs, faults.delayMaxMs);
    if (inOrder && this.random.chance(faults.reorderChance)) {
      dueMs += this.random.between(1, faults.reorderDelayMaxMs);
      this.trace.record('hold', `${flight.from.address.node}->${flight.to.address.node} #${flight.id} until ${dueMs}`);
    } else if (inOrder) {
      dueMs = Math.max(dueMs, link.fifoDueMs);
      link.fifoDueMs = dueMs;
    }
    link.inFlight++;
    this.clock.setTimer(dueMs - now, () => {
      link.inFlight--;
      this.deliver(flight, link);
    });
  }

  private deliver(flight: InFlight, link: LinkState): void {
    const fromNode = flight.from.address.node;
    const toNode = flight.to.address.node;
    const route = `${fromNode}->${toNode} #${flight.id}`;
    const draining = flight.connection.closedBy === flight.from && this.endpoints.get(toNode) === flight.to;
    if (!this.isOpen(flight.connection) && !draining) {
      this.trace.record('drop', `${route} connection closed`, 'closed');
      return;
    }
    if (this.isCut(fromNode, toNode)) {
      this.trace.record('drop', `${route} partition`, 'partition');
      return;
    }
    if (!draining) this.reportUp(flight.connection, flight.to);
    const outOfOrder = flight.sequence < link.highestDeliveredSequence;
    link.highestDeliveredSequence = Math.max(link.highestDeliveredSequence, flight.sequence);
    this.trace.record('deliver', outOfOrder ? `${route} out-of-order` : route, outOfOrder ? 'out-of-order' : 'in-order');
    flight.to.receiveFrame(flight.from.address, flight.frame);
  }

  private closeConnection(connection: Connection, reason: string): void {
    if (!this.isOpen(connection)) return;
    const [a, b] = connection.ends;
    this.connections.delete(pairKey(a.address.node, b.address.node));
    this.trace.record('disconnect', `${a.address.node}-${b.address.node} c${connection.id} ${reason}`);
    for (const [end, other] of [
      [a, b],
      [b, a],
    ] as const) {
      this.clock.defer(() => {
        if (this.endpoints.get(end.address.node) !== end) return; // the end itself is gone
        this.trace.record('peer-down', `${end.address.node} about ${other.address.node}: ${reason}`);
        end.peerDown(other.address.node, reason);
      });
    }
  }
}

function formatFaults(faults: LinkFaults): string {
  return `drop=${faults.dropChance} dup=${faults.duplicateChance} reorder=${faults.reorderChance} delay=${faults.delayMinMs}..${faults.delayMaxMs} hold<=${faults.reorderDelayMaxMs}`;
}
