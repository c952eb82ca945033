// Remoting: sits between an actor system and a Transport. It turns sends, watches and Terminated
// notices into frames (codec.ts), checks everything that arrives, and runs the failure detector.
//
// Rules:
//   - A frame that does not decode, has an unknown kind, or carries a message whose `type` is not in
//     the MessageProtocol (or fails its validator) => transport.disconnect(peer), logged and counted,
//     nothing delivered. Replies to asks (/temp paths) may have any type but must be objects.
//     Nothing that arrives ever throws past onFrame.
//   - Every peer we talk to gets a heartbeat each heartbeatIntervalMs; any frame from it counts as a
//     sign of life. A peer silent for heartbeatTimeoutMs is unreachable: watchers of its actors get
//     Terminated 'unreachable' and it is forgotten. A peer that shows up with a new incarnation
//     replaced its predecessor: watchers of the old one's actors get Terminated 'stopped'.
//   - A message to a ref whose incarnation is not the peer's live one is a dead letter.
//   - Each message delivered to a local actor carries its authenticated sender (node, incarnation, and
//     the verified certificate subject in TLS mode) beside it: see sender.ts.
//   - Delivery is at-most-once, FIFO per sender-receiver pair when the transport is FIFO. The
//     transport coalesces the frames of one turn into one write (see ws-transport.ts).
import type { Logger } from 'pino';
import type { TerminationReason } from './behavior.js';
import type { Clock, TimerHandle } from './clock.js';
import { decodeFrame, encodeFrame, isPlainObject, MAX_FRAME_BYTES, type Frame, type MessageBody } from './codec.js';
import { MessageEncodeError } from './errors.js';
import { ProtocolChecker, type MessageProtocol } from './protocol.js';
import { TEMP_PATH_PREFIX, type ActorRef } from './ref.js';
import { recordRemoteSender } from './sender.js';
import type { NodeAddress, NodeId, PeerCertificateSubject, Transport } from './transport.js';

export const HEARTBEAT_INTERVAL_MS_DEFAULT = 1_000;
export const HEARTBEAT_TIMEOUT_MS_DEFAULT = 5_000;

/** What remoting needs from its actor system. */
export interface RemotingHost {
  readonly address: NodeAddress;
  readonly clock: Clock;
  readonly log: Logger;
  /** Delivers a message that arrived from a peer to a local actor or ask (dead-lettering as needed). */
  deliverFromRemote(to: ActorRef, body: MessageBody): void;
  /** Registers a remote watcher on a local actor; false when there is no such live actor. */
  addRemoteWatcher(targetPath: string, targetIncarnation: string, watcher: ActorRef): boolean;
  removeRemoteWatcher(targetPath: string, watcher: ActorRef): void;
  /** Forgets remote watchers on `node` (all, or those of other incarnations than `keepIncarnation`). */
  dropWatchersFrom(node: NodeId, keepIncarnation: string | undefined): void;
  /** Gives a Terminated signal to a local watcher. */
  deliverTerminated(watcher: ActorRef, target: ActorRef, reason: TerminationReason): void;
  deadLetter(to: ActorRef, message: unknown, reason: string): void;
  countFrameIn(): void;
  countFrameOut(): void;
  countFrameRejected(): void;
  countPeerUnreachable(): void;
}

export interface RemotingOptions {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly maxFrameBytes?: number;
}

interface PeerState {
  /** Undefined until the peer has been heard from. */
  incarnation: string | undefined;
  lastHeardMs: number;
}

interface RemoteWatch {
  readonly watcher: ActorRef;
  readonly target: ActorRef;
  /** The peer incarnation the watch is bound to ("" until the peer is first heard from). */
  incarnation: string;
}

function watchKey(targetPath: string, watcherPath: string): string {
  return `${targetPath}\u0000${watcherPath}`;
}

export class Remoting {
  private readonly peers = new Map<NodeId, PeerState>();
  private readonly watches = new Map<NodeId, Map<string, RemoteWatch>>();
  private readonly checker: ProtocolChecker;
  private readonly maxFrameBytes: number;
  private readonly heartbeatFrame: Uint8Array;
  private heartbeatTimer: TimerHandle | undefined;
  private closed = false;

  constructor(
    private readonly host: RemotingHost,
    private readonly transport: Transport,
    protocol: MessageProtocol | undefined,
    private readonly options: RemotingOptions,
  ) {
    if (!(options.heartbeatIntervalMs > 0 && options.heartbeatTimeoutMs > options.heartbeatIntervalMs)) {
      throw new RangeError('remoting needs 0 < heartbeatIntervalMs < heartbeatTimeoutMs');
    }
    this.checker = new ProtocolChecker(protocol);
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.heartbeatFrame = encodeFrame({ kind: 'heartbeat' });
    transport.bind({
      onFrame: (from, frame, certificate) => this.onFrame(from, frame, certificate),
      onPeerUp: (peer) => this.onPeerUp(peer),
      onPeerDown: (peer, reason) => this.host.log.debug({ peer, reason }, 'peer connection down'),
    });
    this.armHeartbeat();
  }

  // ---- outgoing ----

  /** Sends a message to a remote actor. Throws MessageEncodeError / FrameTooLargeError to the caller. */
  send(to: ActorRef, body: unknown): void {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new MessageEncodeError(`a message must be an object, got ${typeof body}`);
    const peer = this.peerFor(to.node);
    if (to.incarnation !== '' && peer.incarnation !== undefined && peer.incarnation !== to.incarnation) {
      this.host.deadLetter(to, body, 'stale incarnation');
      return;
    }
    const frame = encodeFrame({ kind: 'message', to: to.path, incarnation: to.incarnation, body: body as MessageBody }, this.maxFrameBytes);
    this.sendFrame(to.node, frame);
  }

  watch(watcher: ActorRef, target: ActorRef): void {
    const peer = this.peerFor(target.node);
    if (target.incarnation !== '' && peer.incarnation !== undefined && peer.incarnation !== target.incarnation) {
      this.host.deliverTerminated(watcher, target, 'stopped');
      return;
    }
    let byKey = this.watches.get(target.node);
    if (byKey === undefined) {
      byKey = new Map();
      this.watches.set(target.node, byKey);
    }
    byKey.set(watchKey(target.path, watcher.path), { watcher, target, incarnation: target.incarnation !== '' ? target.incarnation : (peer.incarnation ?? '') });
    this.sendFrame(target.node, encodeFrame({ kind: 'watch', target: target.path, incarnation: target.incarnation, watcher: watcher.path }));
  }

  unwatch(watcher: ActorRef, target: ActorRef): void {
    const byKey = this.watches.get(target.node);
    if (byKey?.delete(watchKey(target.path, watcher.path)) !== true) return;
    this.sendFrame(target.node, encodeFrame({ kind: 'unwatch', target: target.path, watcher: watcher.path }));
  }

  /** Tells a remote watcher that a local actor it watched is gone. */
  sendTerminated(watcher: ActorRef, target: ActorRef, reason: TerminationReason): void {
    if (!this.peers.has(watcher.node)) return; // the watcher's process is gone already
    this.sendFrame(watcher.node, encodeFrame({ kind: 'terminated', target: target.path, watcher: watcher.path, reason: reason === 'failed' ? 'failed' : 'stopped' }));
  }

  close(): void {
    this.closed = true;
    if (this.heartbeatTimer !== undefined) this.host.clock.cancelTimer(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }

  private sendFrame(node: NodeId, frame: Uint8Array): void {
    if (this.closed) return;
    this.host.countFrameOut();
    this.transport.send(node, frame);
  }

  private peerFor(node: NodeId): PeerState {
    let peer = this.peers.get(node);
    if (peer === undefined) {
      // First contact: the failure detector starts its clock now.
      peer = { incarnation: undefined, lastHeardMs: this.host.clock.now() };
      this.peers.set(node, peer);
    }
    return peer;
  }

  // ---- incoming ----

  private onPeerUp(address: NodeAddress): void {
    if (this.closed) return;
    this.heardFrom(address);
  }

  private onFrame(from: NodeAddress, bytes: Uint8Array, certificate: PeerCertificateSubject | undefined): void {
    if (this.closed) return;
    this.host.countFrameIn();
    try {
      this.heardFrom(from);
      let frame: Frame;
      try {
        frame = decodeFrame(bytes, this.maxFrameBytes);
      } catch (error) {
        this.refuse(from.node, error instanceof Error ? error.message : 'undecodable frame');
        return;
      }
      this.handle(from, frame, certificate);
    } catch (error) {
      // Our own handling threw on outside input: a bug, but the peer is cut off and we carry on.
      this.host.log.error({ peer: from.node, err: error }, 'frame handling failed');
      this.refuse(from.node, 'frame handling failed');
    }
  }

  private handle(from: NodeAddress, frame: Frame, certificate: PeerCertificateSubject | undefined): void {
    switch (frame.kind) {
      case 'message': {
        const to: ActorRef = { node: this.host.address.node, incarnation: frame.incarnation, path: frame.to };
        if (!frame.to.startsWith(TEMP_PATH_PREFIX)) {
          const refusal = this.checker.refusal(frame.body);
          if (refusal !== undefined) {
            this.refuse(from.node, refusal);
            return;
          }
          recordRemoteSender(frame.body, { node: from.node, incarnation: from.incarnation, ...(certificate === undefined ? {} : { certificate }) });
        } else if (!isPlainObject(frame.body)) {
          this.refuse(from.node, 'reply is not an object');
          return;
        }
        this.host.deliverFromRemote(to, frame.body);
        return;
      }
      case 'watch': {
        const watcher: ActorRef = { node: from.node, incarnation: from.incarnation, path: frame.watcher };
        if (!this.host.addRemoteWatcher(frame.target, frame.incarnation, watcher)) {
          this.sendFrame(from.node, encodeFrame({ kind: 'terminated', target: frame.target, watcher: frame.watcher, reason: 'stopped' }));
        }
        return;
      }
      case 'unwatch':
        this.host.removeRemoteWatcher(frame.target, { node: from.node, incarnation: from.incarnation, path: frame.watcher });
        return;
      case 'terminated': {
        const byKey = this.watches.get(from.node);
        const key = watchKey(frame.target, frame.watcher);
        const entry = byKey?.get(key);
        if (entry === undefined) return; // unwatched meanwhile, or never asked for
        byKey?.delete(key);
        this.host.deliverTerminated(entry.watcher, entry.target, frame.reason);
        return;
      }
      case 'heartbeat':
        return;
    }
  }

  private refuse(peer: NodeId, reason: string): void {
    this.host.countFrameRejected();
    this.host.log.warn({ peer, reason }, 'frame refused, disconnecting peer');
    this.transport.disconnect(peer, reason);
  }

  private heardFrom(address: NodeAddress): void {
    const peer = this.peers.get(address.node);
    const now = this.host.clock.now();
    if (peer === undefined) {
      this.peers.set(address.node, { incarnation: address.incarnation, lastHeardMs: now });
      this.bindWatches(address.node, address.incarnation);
      return;
    }
    if (peer.incarnation !== undefined && peer.incarnation !== address.incarnation) {
      this.host.log.info({ peer: address.node, previous: peer.incarnation, incarnation: address.incarnation }, 'peer restarted with a new incarnation');
      this.endWatches(address.node, 'stopped', address.incarnation);
      this.host.dropWatchersFrom(address.node, address.incarnation);
    }
    if (peer.incarnation === undefined) this.bindWatches(address.node, address.incarnation);
    peer.incarnation = address.incarnation;
    peer.lastHeardMs = now;
  }

  /** Watches made before the peer's incarnation was known belong to the first one we hear from. */
  private bindWatches(node: NodeId, incarnation: string): void {
    for (const watch of this.watches.get(node)?.values() ?? []) {
      if (watch.incarnation === '') watch.incarnation = incarnation;
    }
  }

  /** Ends the watches on `node` (except those bound to `keepIncarnation`) with a Terminated signal. */
  private endWatches(node: NodeId, reason: TerminationReason, keepIncarnation: string | undefined): void {
    const byKey = this.watches.get(node);
    if (byKey === undefined) return;
    for (const [key, watch] of [...byKey]) {
      if (keepIncarnation !== undefined && watch.incarnation === keepIncarnation) continue;
      byKey.delete(key);
      this.host.deliverTerminated(watch.watcher, watch.target, reason);
    }
    if (byKey.size === 0) this.watches.delete(node);
  }

  // ---- failure detector ----

  private armHeartbeat(): void {
    this.heartbeatTimer = this.host.clock.setTimer(this.options.heartbeatIntervalMs, () => this.tickHeartbeat());
  }

  private tickHeartbeat(): void {
    if (this.closed) return;
    const now = this.host.clock.now();
    for (const [node, peer] of [...this.peers]) {
      if (now - peer.lastHeardMs > this.options.heartbeatTimeoutMs) {
        this.host.log.warn({ peer: node, silentMs: now - peer.lastHeardMs }, 'peer unreachable');
        this.host.countPeerUnreachable();
        this.peers.delete(node);
        this.endWatches(node, 'unreachable', undefined);
        this.host.dropWatchersFrom(node, undefined);
      } else {
        this.sendFrame(node, this.heartbeatFrame);
      }
    }
    this.armHeartbeat();
  }
}
