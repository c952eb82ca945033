// WsTransport: the real Transport between actor-system processes. One authenticated WebSocket per
// pair of processes, used in both directions, carrying opaque binary frames (remoting.ts encodes them).
//
// This is the I/O driver of the actor layer: the only place that touches sockets. Its rules:
//   - Nothing from a peer is delivered before the HMAC handshake (handshake.ts) has proved, both ways,
//     that the peer holds the cluster secret. Pre-auth input that is malformed, oversized or late closes
//     the connection (1008), is logged with the remote address, and never throws.
//   - One connection per pair. When both sides dial at once, the connection dialled by the node with the
//     lexicographically smaller id wins, decided by the acceptor when the hello arrives (see acceptHello).
//   - Frames go out in send order on the single live connection (FIFO per pair). Frames sent while
//     connecting wait in a bounded queue; every drop (queue full, socket backlog too large, dial failed)
//     is counted and logged: delivery is at-most-once, and remoting's heartbeats notice the losses.
//   - A peer with frames waiting is redialled with exponential backoff (through the injected Clock).
//   - Frames sent in the same turn of the event loop are coalesced into one WebSocket message (a batch:
//     repeated [u32 length][frame]), flushed at the end of the turn or when BATCH_BYTES_MAX is reached.
//     One write per turn instead of one per frame is what lets remoting keep up with raw ws.
//
// Optional TLS mode (`tls` option): wss with mutual certificate authentication against the cluster CA.
// A peer whose certificate chains to the CA is accepted without the shared secret (the identity
// exchange of the handshake still runs, inside TLS, keyed with the secret if one is given).
// The verified certificate subject of each connection (both directions) goes up with its frames
// (onFrame's third argument): that is how the layers above know WHO a peer is, not only that it belongs.
//
// Node ids are `name@host:port` for a process that listens (dialled by parsing the id) or a bare `name`
// for a dial-only process, which can be reached only over a connection it opened itself.
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { Clock, TimerHandle } from './clock.js';
import {
  acceptorProof,
  challengeMessage,
  diallerProof,
  helloMessage,
  HANDSHAKE_MESSAGE_MAX_BYTES,
  isValidIncarnation,
  isValidNodeId,
  newNonce,
  parseChallenge,
  parseHello,
  parseWelcome,
  proofsMatch,
  secretBytes,
  welcomeMessage,
  type Hello,
} from './handshake.js';
import type { NodeAddress, NodeId, PeerCertificateSubject, Transport, TransportEvents } from './transport.js';

/** Default largest frame (bytes); a larger incoming frame closes the connection with 1009. */
export const WS_MAX_FRAME_BYTES_DEFAULT = 4 * 1024 * 1024;
/** Frames waiting per peer while its connection is being made; beyond it new frames are dropped. */
export const PENDING_FRAMES_MAX = 16_384;
/** Bytes allowed in a socket's outgoing backlog (ws.bufferedAmount); beyond it frames are dropped. */
export const SOCKET_BUFFERED_BYTES_MAX = 16 * 1024 * 1024;
/** A batch is flushed as soon as it holds this many bytes (and anyway at the end of the turn). */
export const BATCH_BYTES_MAX = 64 * 1024;
/** Bytes of the length prefix of each frame inside a batch. */
export const BATCH_FRAME_HEADER_BYTES = 4;
/** A connection must complete the handshake within this time or it is closed. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Unauthenticated inbound connections at once; beyond it new ones are cut at once (cheap flood guard). */
export const PENDING_HANDSHAKES_MAX = 64;
/** After close() is asked for, sockets that have not finished the close handshake are cut. */
export const CLOSE_GRACE_MS = 500;
export const RECONNECT_BACKOFF_MIN_MS_DEFAULT = 100;
export const RECONNECT_BACKOFF_MAX_MS_DEFAULT = 5_000;

/**
 * In TLS mode without a secret, the handshake's proofs are keyed with this public label: they then only
 * bind the identity exchange to the connection, and the certificates do the authenticating.
 */
const TLS_ONLY_PROOF_KEY = 'kplane-tls-mode-certificates-authenticate';

/** WebSocket close codes used by the transport. */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  tooBig: 1009,
  internalError: 1011,
  /** Simultaneous dial: the other connection of the pair wins. */
  duplicate: 4001,
  /** A newer connection from the same peer replaced this one. */
  replaced: 4002,
  /** The remoting layer asked to drop the peer (it sent something unacceptable). */
  disconnected: 4003,
} as const;

export interface WsTransportOptions {
  /**
   * This process's id. With `listen`, a bare name becomes `name@host:boundPort` once listening (so
   * port 0 works); a full `name@host:port` id must then name the listening port. Without `listen`,
   * a bare name: this process only dials.
   */
  readonly node: NodeId;
  readonly incarnation: string;
  readonly listen?: { readonly host: string; readonly port: number };
  /** The cluster secret (at least SECRET_MIN_BYTES). Optional only in TLS mode. */
  readonly secret?: Uint8Array | string;
  /** TLS mode: PEM cluster CA, and this process's certificate and key (issued by that CA). */
  readonly tls?: { readonly ca: string | Buffer; readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly log: Logger;
  readonly clock: Clock;
  readonly maxFrameBytes?: number;
  readonly reconnectBackoffMinMs?: number;
  readonly reconnectBackoffMaxMs?: number;
  /** Override for tests; defaults to HANDSHAKE_TIMEOUT_MS. */
  readonly handshakeTimeoutMs?: number;
}

/** Counters for metrics and tests; monotonic. */
export interface WsTransportStats {
  framesSent: number;
  framesReceived: number;
  /** Dropped because PENDING_FRAMES_MAX frames were already waiting for a connection. */
  framesDroppedQueueFull: number;
  /** Dropped because the socket backlog exceeded SOCKET_BUFFERED_BYTES_MAX. */
  framesDroppedBackpressure: number;
  /** Dropped because the peer could not be reached (dial failed, not dialable, disconnected). */
  framesDroppedUnreachable: number;
  /** Dropped because a single frame would not fit in maxFrameBytes (a bug of the layer above). */
  framesDroppedTooBig: number;
  /** WebSocket messages written (each a batch of one or more frames). */
  batchesSent: number;
  connectionsAccepted: number;
  connectionsDialled: number;
  handshakesCompleted: number;
  /** Connections closed for a failed or malformed handshake, a timeout or a protocol violation. */
  handshakesRejected: number;
  /** Connections closed as the losing side of a simultaneous dial. */
  duplicatesClosed: number;
}

export interface ParsedNodeId {
  readonly name: string;
  /** Present for a listening node. */
  readonly endpoint?: { readonly host: string; readonly port: number };
}

/** Splits a node id; undefined when it is not a valid id. */
export function parseNodeId(node: NodeId): ParsedNodeId | undefined {
  if (!isValidNodeId(node)) return undefined;
  const at = node.indexOf('@');
  if (at < 0) return { name: node };
  const colon = node.lastIndexOf(':');
  const port = Number(node.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  let host = node.slice(at + 1, colon);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { name: node.slice(0, at), endpoint: { host, port } };
}

export function formatNodeId(name: string, host: string, port: number): NodeId {
  return `${name}@${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export class WsTransportConfigError extends Error {
  readonly code = 'KPLANE_WS_TRANSPORT_CONFIG';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'WsTransportConfigError';
  }
}

type ConnectionPhase =
  | 'await-challenge' // dialler: waiting for the acceptor's nonce
  | 'await-welcome' // dialler: hello sent, waiting for the acceptor's proof
  | 'await-hello' // acceptor: challenge sent, waiting for the dialler's proof
  | 'up' // authenticated: binary frames flow both ways
  | 'closed';

interface Connection {
  readonly id: number;
  readonly socket: WebSocket;
  readonly direction: 'in' | 'out';
  /** Remote socket address, for logs. */
  readonly remote: string;
  phase: ConnectionPhase;
  /** For a dialled connection, the node we meant to reach; for an accepted one, set by the hello. */
  peerNode: NodeId | undefined;
  /** Set once authenticated. */
  peer: NodeAddress | undefined;
  /** Our nonce on this connection (challenge for an acceptor, hello nonce for a dialler). */
  readonly nonce: string;
  /** The acceptor's nonce, kept by a dialler to check the acceptor's proof. */
  acceptorNonce: string | undefined;
  /** TLS mode: the subject of the peer's certificate (verified against the CA), passed along with its frames. */
  certificate: PeerCertificateSubject | undefined;
  handshakeTimer: TimerHandle | undefined;
  /** Frames accepted for sending but not yet written (the current batch). */
  batch: Uint8Array[];
  batchBytes: number;
  flushScheduled: boolean;
}

interface PeerState {
  readonly node: NodeId;
  /** The one authenticated connection used for this peer, if any. */
  live: Connection | undefined;
  /** A dial in progress (not yet authenticated). */
  dialing: Connection | undefined;
  pending: Uint8Array[];
  retryTimer: TimerHandle | undefined;
  /** Next reconnect delay; reset when a connection is authenticated. */
  backoffMs: number;
}

export class WsTransport implements Transport {
  private nodeId: NodeId;
  private readonly incarnation: string;
  private address: NodeAddress;
  private readonly secret: Buffer;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly maxFrameBytes: number;
  private readonly backoffMinMs: number;
  private readonly backoffMaxMs: number;
  private readonly handshakeTimeoutMs: number;
  private readonly listenOptions: { readonly host: string; readonly port: number } | undefined;
  private readonly tls: WsTransportOptions['tls'];
  private httpsServer: HttpsServer | undefined;
  private server: WebSocketServer | undefined;
  private events: TransportEvents | undefined;
  private readonly peers = new Map<NodeId, PeerState>();
  /** Inbound connections still in the handshake (not yet attached to a peer). */
  private readonly handshaking = new Set<Connection>();
  private readonly allConnections = new Set<Connection>();
  private nextConnectionId = 1;
  private closing = false;
  private boundPort = 0;
  readonly stats: WsTransportStats = {
    framesSent: 0,
    framesReceived: 0,
    framesDroppedQueueFull: 0,
    framesDroppedBackpressure: 0,
    framesDroppedUnreachable: 0,
    framesDroppedTooBig: 0,
    batchesSent: 0,
    connectionsAccepted: 0,
    connectionsDialled: 0,
    handshakesCompleted: 0,
    handshakesRejected: 0,
    duplicatesClosed: 0,
  };

  constructor(options: WsTransportOptions) {
    const parsed = parseNodeId(options.node);
    if (parsed === undefined) throw new WsTransportConfigError(`node: not a valid node id: ${JSON.stringify(options.node)}`);
    if (!isValidIncarnation(options.incarnation)) {
      throw new WsTransportConfigError(`incarnation: must be 1-128 printable ASCII characters without '|'`);
    }
    if (options.listen === undefined && parsed.endpoint !== undefined) {
      throw new WsTransportConfigError(`node: ${options.node} names an endpoint but no listen address is given`);
    }
    if (options.listen !== undefined && parsed.endpoint !== undefined && options.listen.port !== 0 && options.listen.port !== parsed.endpoint.port) {
      throw new WsTransportConfigError(`node: ${options.node} does not match listen port ${options.listen.port}`);
    }
    if (options.secret === undefined && options.tls === undefined) throw new WsTransportConfigError('secret: required unless tls is given');
    try {
      this.secret = secretBytes(options.secret ?? TLS_ONLY_PROOF_KEY);
    } catch (error) {
      throw new WsTransportConfigError(`secret: ${(error as Error).message}`);
    }
    this.nodeId = options.node;
    this.incarnation = options.incarnation;
    this.address = { node: this.nodeId, incarnation: this.incarnation };
    this.listenOptions = options.listen;
    this.tls = options.tls;
    this.log = options.log.child({ component: 'ws-transport' });
    this.clock = options.clock;
    this.maxFrameBytes = options.maxFrameBytes ?? WS_MAX_FRAME_BYTES_DEFAULT;
    this.backoffMinMs = options.reconnectBackoffMinMs ?? RECONNECT_BACKOFF_MIN_MS_DEFAULT;
    this.backoffMaxMs = options.reconnectBackoffMaxMs ?? RECONNECT_BACKOFF_MAX_MS_DEFAULT;
    this.handshakeTimeoutMs = options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    if (this.maxFrameBytes < HANDSHAKE_MESSAGE_MAX_BYTES) throw new WsTransportConfigError('maxFrameBytes: too small');
    if (!(this.backoffMinMs > 0 && this.backoffMaxMs >= this.backoffMinMs)) {
      throw new WsTransportConfigError('reconnectBackoffMinMs/MaxMs: need 0 < min <= max');
    }
  }

  /** This process's address; with a listen port of 0 the node id is final only after start(). */
  get local(): NodeAddress {
    return this.address;
  }

  /** The port the listener is bound to (0 when not listening). */
  get port(): number {
    return this.boundPort;
  }

  bind(events: TransportEvents): void {
    if (this.events !== undefined) throw new Error('WsTransport.bind called twice');
    this.events = events;
  }

  /** Starts listening (if configured); resolves once the port is bound. */
  async start(): Promise<void> {
    const listen = this.listenOptions;
    if (listen === undefined || this.server !== undefined) return;
    const common = { maxPayload: this.maxFrameBytes, perMessageDeflate: false, clientTracking: false } as const;
    const tls = this.tls;
    let server: WebSocketServer;
    if (tls === undefined) {
      server = new WebSocketServer({ host: listen.host, port: listen.port, ...common });
      await new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once('error', onError);
        server.once('listening', () => {
          server.off('error', onError);
          resolve();
        });
      });
      this.boundPort = (server.address() as AddressInfo).port;
    } else {
      // Only clients with a certificate of the cluster CA get past the TLS handshake.
      const https = createHttpsServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
      https.on('tlsClientError', (error, socket) => this.log.warn({ remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, err: error }, 'TLS handshake refused'));
      this.httpsServer = https;
      server = new WebSocketServer({ server: https, ...common });
      await new Promise<void>((resolve, reject) => {
        https.once('error', reject);
        https.listen(listen.port, listen.host, () => {
          https.off('error', reject);
          resolve();
        });
      });
      this.boundPort = (https.address() as AddressInfo).port;
    }
    this.server = server;
    server.on('error', (error) => this.log.error({ err: error }, 'listener error'));
    server.on('connection', (socket, request) => this.accept(socket, request));
    const parsed = parseNodeId(this.nodeId);
    if (parsed?.endpoint === undefined) {
      this.nodeId = formatNodeId(this.nodeId, listen.host, this.boundPort);
      this.address = { node: this.nodeId, incarnation: this.incarnation };
    }
    this.log.info({ node: this.nodeId, port: this.boundPort }, 'listening');
  }

  send(to: NodeId, frame: Uint8Array): void {
    if (this.closing) return;
    if (to === this.nodeId) throw new Error(`WsTransport.send to itself (${to}): remoting must deliver locally`);
    const peer = this.peerFor(to);
    const live = peer.live;
    if (live !== undefined && live.phase === 'up') {
      this.write(live, frame);
      return;
    }
    // Not connected, or the connection is closing: wait for the next one.
    if (peer.pending.length >= PENDING_FRAMES_MAX) {
      this.stats.framesDroppedQueueFull++;
      if (this.stats.framesDroppedQueueFull % 1000 === 1) {
        this.log.warn({ peer: to, dropped: this.stats.framesDroppedQueueFull, bound: PENDING_FRAMES_MAX }, 'pending queue full, frame dropped');
      }
    } else {
      peer.pending.push(frame);
    }
    this.ensureDialing(peer);
  }

  disconnect(peer: NodeId, reason: string): void {
    const state = this.peers.get(peer);
    if (state === undefined) return;
    this.log.warn({ peer, reason }, 'disconnecting peer');
    this.dropPending(state, 'disconnected');
    const live = state.live;
    const dialing = state.dialing;
    state.live = undefined;
    state.dialing = undefined;
    if (live !== undefined) this.closeConnection(live, CloseCode.disconnected, reason);
    if (dialing !== undefined) this.closeConnection(dialing, CloseCode.disconnected, reason);
    if (live !== undefined) this.emitPeerDown(peer, `disconnected: ${reason}`);
    // Do not redial at once a peer we just refused; the next send waits for the backoff.
    this.scheduleRetry(state);
  }

  /** Bytes waiting in the live socket's outgoing buffer to `peer` (0 if none): lets a sender pace itself. */
  bufferedBytes(peer: NodeId): number {
    const live = this.peers.get(peer)?.live;
    return live === undefined ? 0 : live.socket.bufferedAmount + live.batchBytes;
  }

  /** Sockets currently open or opening (authenticated or not): one per peer once things settle. */
  get openConnections(): number {
    return this.allConnections.size;
  }

  /** Whether an authenticated connection to `peer` exists. */
  isConnected(peer: NodeId): boolean {
    return this.peers.get(peer)?.live !== undefined;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const peer of this.peers.values()) {
      if (peer.retryTimer !== undefined) this.clock.cancelTimer(peer.retryTimer);
      peer.retryTimer = undefined;
      peer.pending = [];
    }
    const sockets = [...this.allConnections].map((connection) => {
      const closed = new Promise<void>((resolve) => {
        if (connection.socket.readyState === WebSocket.CLOSED) resolve();
        else connection.socket.once('close', () => resolve());
      });
      this.closeConnection(connection, CloseCode.goingAway, 'transport closing');
      return closed;
    });
    const server = this.server;
    const https = this.httpsServer;
    const serverClosed = Promise.all([
      server === undefined ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve())),
      https === undefined ? Promise.resolve() : new Promise<void>((resolve) => https.close(() => resolve())),
    ]);
    await Promise.all([...sockets, serverClosed]);
  }

  // ---- outgoing ------------------------------------------------------------------------------

  private peerFor(node: NodeId): PeerState {
    let peer = this.peers.get(node);
    if (peer === undefined) {
      peer = { node, live: undefined, dialing: undefined, pending: [], retryTimer: undefined, backoffMs: this.backoffMinMs };
      this.peers.set(node, peer);
    }
    return peer;
  }

  private write(connection: Connection, frame: Uint8Array): void {
    const frameBytes = BATCH_FRAME_HEADER_BYTES + frame.byteLength;
    if (frameBytes > this.maxFrameBytes) {
      this.stats.framesDroppedTooBig++;
      this.log.error({ peer: connection.peerNode, bytes: frame.byteLength, bound: this.maxFrameBytes }, 'frame larger than maxFrameBytes, dropped');
      return;
    }
    if (connection.socket.bufferedAmount + connection.batchBytes > SOCKET_BUFFERED_BYTES_MAX) {
      this.stats.framesDroppedBackpressure++;
      if (this.stats.framesDroppedBackpressure % 1000 === 1) {
        this.log.warn({ peer: connection.peerNode, dropped: this.stats.framesDroppedBackpressure, bound: SOCKET_BUFFERED_BYTES_MAX }, 'socket backlog full, frame dropped');
      }
      return;
    }
    if (connection.batchBytes + frameBytes > Math.min(BATCH_BYTES_MAX, this.maxFrameBytes)) this.flush(connection);
    connection.batch.push(frame);
    connection.batchBytes += frameBytes;
    this.stats.framesSent++;
    if (connection.batchBytes >= BATCH_BYTES_MAX) {
      this.flush(connection);
    } else if (!connection.flushScheduled) {
      connection.flushScheduled = true;
      // End of the current turn: everything sent synchronously until then shares one write.
      queueMicrotask(() => {
        connection.flushScheduled = false;
        this.flush(connection);
      });
    }
  }

  private flush(connection: Connection): void {
    const frames = connection.batch;
    if (frames.length === 0) return;
    const message = encodeBatch(frames);
    connection.batch = [];
    connection.batchBytes = 0;
    if (connection.phase !== 'up') return; // closed meanwhile: at-most-once, the frames are lost
    this.stats.batchesSent++;
    connection.socket.send(message);
  }

  private ensureDialing(peer: PeerState): void {
    if (this.closing || peer.live !== undefined || peer.dialing !== undefined || peer.retryTimer !== undefined) return;
    const endpoint = parseNodeId(peer.node)?.endpoint;
    if (endpoint === undefined) {
      // A dial-only (or malformed) id: reachable only over a connection it opens itself.
      this.dropPending(peer, 'not dialable');
      this.peers.delete(peer.node); // no state is kept for ids we cannot reach (they may come from outside)
      this.emitPeerDown(peer.node, 'not connected and not dialable');
      return;
    }
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    const tls = this.tls;
    const socket =
      tls === undefined
        ? new WebSocket(`ws://${host}:${endpoint.port}/`, { perMessageDeflate: false, maxPayload: this.maxFrameBytes })
        : new WebSocket(`wss://${host}:${endpoint.port}/`, {
            perMessageDeflate: false,
            maxPayload: this.maxFrameBytes,
            ca: tls.ca,
            cert: tls.cert,
            key: tls.key,
            rejectUnauthorized: true,
            minVersion: 'TLSv1.3',
            // Membership is proved by the chain to the private cluster CA; host names are not part of it.
            // (Node's tls calls this and treats a falsy result as "no identity error".)
            checkServerIdentity: () => false,
          });
    const connection = this.track(socket, 'out', `${endpoint.host}:${endpoint.port}`);
    connection.peerNode = peer.node;
    if (tls !== undefined) socket.once('upgrade', (response) => (connection.certificate = verifiedCertificateSubject(response.socket)));
    peer.dialing = connection;
    this.stats.connectionsDialled++;
    // Stay quiet on expected dial failures: 'close' follows and reports the peer down.
    socket.on('error', (error) => this.log.debug({ peer: peer.node, err: error }, 'dial error'));
  }

  private scheduleRetry(peer: PeerState): void {
    if (this.closing || peer.retryTimer !== undefined) return;
    const delayMs = peer.backoffMs;
    peer.backoffMs = Math.min(this.backoffMaxMs, peer.backoffMs * 2);
    peer.retryTimer = this.clock.setTimer(delayMs, () => {
      peer.retryTimer = undefined;
      if (peer.pending.length > 0) this.ensureDialing(peer);
    });
  }

  private dropPending(peer: PeerState, reason: string): void {
    if (peer.pending.length === 0) return;
    this.stats.framesDroppedUnreachable += peer.pending.length;
    this.log.debug({ peer: peer.node, frames: peer.pending.length, reason }, 'pending frames dropped');
    peer.pending = [];
  }

  // ---- connections ---------------------------------------------------------------------------

  private track(socket: WebSocket, direction: 'in' | 'out', remote: string): Connection {
    const connection: Connection = {
      id: this.nextConnectionId++,
      socket,
      direction,
      remote,
      phase: direction === 'in' ? 'await-hello' : 'await-challenge',
      peerNode: undefined,
      peer: undefined,
      nonce: newNonce(),
      acceptorNonce: undefined,
      certificate: undefined,
      handshakeTimer: undefined,
      batch: [],
      batchBytes: 0,
      flushScheduled: false,
    };
    this.allConnections.add(connection);
    connection.handshakeTimer = this.clock.setTimer(this.handshakeTimeoutMs, () => {
      connection.handshakeTimer = undefined;
      if (connection.phase !== 'up' && connection.phase !== 'closed') this.reject(connection, 'handshake timed out');
    });
    socket.on('message', (data, isBinary) => {
      try {
        this.onMessage(connection, data, isBinary);
      } catch (error) {
        // A bug of ours or of the layer above; the process must not die of a peer's input.
        this.log.error({ err: error, remote: connection.remote, peer: connection.peerNode }, 'error while handling a message');
        this.closeConnection(connection, CloseCode.internalError, 'internal error');
      }
    });
    socket.on('close', (code, reason) => this.onClose(connection, code, reason.toString('utf8')));
    return connection;
  }

  private accept(socket: WebSocket, request: IncomingMessage): void {
    const remote = `${request.socket.remoteAddress ?? '?'}:${request.socket.remotePort ?? '?'}`;
    if (this.closing) {
      socket.terminate();
      return;
    }
    if (this.handshaking.size >= PENDING_HANDSHAKES_MAX) {
      this.stats.handshakesRejected++;
      this.log.warn({ remote, bound: PENDING_HANDSHAKES_MAX }, 'too many unauthenticated connections, connection cut');
      socket.terminate();
      return;
    }
    this.stats.connectionsAccepted++;
    socket.on('error', (error) => this.log.warn({ remote, err: error }, 'inbound connection error'));
    const connection = this.track(socket, 'in', remote);
    connection.certificate = verifiedCertificateSubject(request.socket);
    this.handshaking.add(connection);
    socket.send(challengeMessage(connection.nonce));
  }

  private onMessage(connection: Connection, data: RawData, isBinary: boolean): void {
    if (connection.phase === 'closed') return;
    if (connection.phase === 'up') {
      const peer = connection.peer;
      if (peer === undefined) throw new Error('invariant: an up connection has a peer');
      if (!isBinary) {
        this.reject(connection, 'text frame after the handshake', CloseCode.unsupportedData);
        return;
      }
      const batch = toBuffer(data);
      const frames = splitBatch(batch);
      if (frames === undefined) {
        this.reject(connection, 'malformed batch');
        return;
      }
      for (const frame of frames) {
        if (connection.phase !== 'up') return; // the layer above disconnected the peer mid-batch
        this.stats.framesReceived++;
        this.events?.onFrame(peer, frame, connection.certificate);
      }
      return;
    }
    // Before authentication: only small text handshake messages are acceptable.
    const size = Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : data.byteLength;
    if (isBinary || size > HANDSHAKE_MESSAGE_MAX_BYTES) {
      this.reject(connection, isBinary ? 'binary frame before authentication' : 'oversized handshake message');
      return;
    }
    const text = toBuffer(data).toString('utf8');
    switch (connection.phase) {
      case 'await-challenge':
        this.onChallenge(connection, text);
        return;
      case 'await-welcome':
        this.onWelcome(connection, text);
        return;
      case 'await-hello':
        this.onHello(connection, text);
        return;
    }
  }

  /** Dialler: answer the acceptor's nonce with our identity and proof. */
  private onChallenge(connection: Connection, text: string): void {
    const challenge = parseChallenge(text);
    const to = connection.peerNode;
    if (challenge === undefined || to === undefined) {
      this.reject(connection, 'malformed challenge');
      return;
    }
    connection.phase = 'await-welcome';
    connection.socket.send(
      helloMessage({
        from: this.nodeId,
        incarnation: this.incarnation,
        to,
        nonce: connection.nonce,
        proof: diallerProof(this.secret, challenge.nonce, connection.nonce, this.nodeId, this.incarnation, to),
      }),
    );
    connection.acceptorNonce = challenge.nonce;
  }

  /** Dialler: check the acceptor's proof; the connection is then up. */
  private onWelcome(connection: Connection, text: string): void {
    const welcome = parseWelcome(text);
    const theirNonce = connection.acceptorNonce;
    const to = connection.peerNode;
    if (welcome === undefined || theirNonce === undefined || to === undefined) {
      this.reject(connection, 'malformed welcome');
      return;
    }
    if (welcome.from !== to) {
      this.reject(connection, `reached ${welcome.from} instead of ${to}`);
      return;
    }
    const expected = acceptorProof(this.secret, connection.nonce, theirNonce, welcome.from, welcome.incarnation, this.nodeId);
    if (!proofsMatch(expected, welcome.proof)) {
      this.reject(connection, 'acceptor failed to prove the cluster secret');
      return;
    }
    const peer = this.peerFor(to);
    if (peer.dialing !== connection) {
      // Superseded while waiting (an inbound connection won a simultaneous dial).
      this.closeConnection(connection, CloseCode.duplicate, 'superseded');
      return;
    }
    peer.dialing = undefined;
    this.becomeUp(peer, connection, { node: welcome.from, incarnation: welcome.incarnation });
  }

  /** Acceptor: check the dialler's proof, settle any duplicate, answer with our own proof. */
  private onHello(connection: Connection, text: string): void {
    const hello = parseHello(text);
    if (hello === undefined) {
      this.reject(connection, 'malformed hello');
      return;
    }
    if (hello.to !== this.nodeId) {
      this.reject(connection, `hello meant for ${hello.to}`);
      return;
    }
    if (hello.from === this.nodeId) {
      this.reject(connection, 'peer claims our own node id');
      return;
    }
    const expected = diallerProof(this.secret, connection.nonce, hello.nonce, hello.from, hello.incarnation, this.nodeId);
    if (!proofsMatch(expected, hello.proof)) {
      this.reject(connection, 'dialler failed to prove the cluster secret');
      return;
    }
    this.handshaking.delete(connection);
    connection.peerNode = hello.from;
    const peer = this.peerFor(hello.from);
    if (!this.acceptHello(peer, hello)) {
      this.stats.duplicatesClosed++;
      this.log.debug({ peer: hello.from }, 'simultaneous dial: keeping our own connection');
      this.closeConnection(connection, CloseCode.duplicate, 'duplicate connection');
      return;
    }
    connection.socket.send(
      welcomeMessage({
        from: this.nodeId,
        incarnation: this.incarnation,
        proof: acceptorProof(this.secret, hello.nonce, connection.nonce, this.nodeId, this.incarnation, hello.from),
      }),
    );
    this.becomeUp(peer, connection, { node: hello.from, incarnation: hello.incarnation });
  }

  /**
   * Decides whether an authenticated inbound connection becomes the pair's connection. The rule, the
   * same on both sides: when two connections race, the one dialled by the smaller node id wins.
   *   - We are dialling the peer too (not yet up): the peer's dial wins iff its id is smaller; if it
   *     wins, our dial is abandoned (its frames stay queued and go out on the inbound connection).
   *   - We have a live connection we dialled, to the same incarnation, and our id is smaller: this is
   *     the late hello of a simultaneous dial that the peer already abandoned, so refuse it.
   *   - Otherwise the peer is reconnecting (it restarted or lost the old connection): replace.
   */
  private acceptHello(peer: PeerState, hello: Hello): boolean {
    const theirsWins = hello.from < this.nodeId;
    const dialing = peer.dialing;
    if (dialing !== undefined) {
      if (!theirsWins) return false;
      peer.dialing = undefined;
      this.stats.duplicatesClosed++;
      this.closeConnection(dialing, CloseCode.duplicate, 'simultaneous dial lost');
    }
    const live = peer.live;
    if (live !== undefined) {
      if (live.direction === 'out' && !theirsWins && live.peer?.incarnation === hello.incarnation) return false;
      peer.live = undefined;
      this.closeConnection(live, CloseCode.replaced, 'replaced by a newer connection');
    }
    return true;
  }

  private becomeUp(peer: PeerState, connection: Connection, address: NodeAddress): void {
    if (connection.handshakeTimer !== undefined) this.clock.cancelTimer(connection.handshakeTimer);
    connection.handshakeTimer = undefined;
    connection.phase = 'up';
    connection.peer = address;
    peer.live = connection;
    peer.backoffMs = this.backoffMinMs;
    if (peer.retryTimer !== undefined) {
      this.clock.cancelTimer(peer.retryTimer);
      peer.retryTimer = undefined;
    }
    this.stats.handshakesCompleted++;
    this.log.info({ peer: address.node, incarnation: address.incarnation, direction: connection.direction, remote: connection.remote }, 'peer up');
    // Frames queued while connecting were sent before anything the peer-up handler may send: FIFO.
    const pending = peer.pending;
    peer.pending = [];
    for (const frame of pending) this.write(connection, frame);
    this.events?.onPeerUp(address);
  }

  /** Closes a connection that broke the protocol: logged with its remote address, counted. */
  private reject(connection: Connection, reason: string, code: number = CloseCode.policyViolation): void {
    this.stats.handshakesRejected++;
    this.log.warn({ remote: connection.remote, peer: connection.peerNode, direction: connection.direction, reason }, 'connection rejected');
    this.closeConnection(connection, code, reason);
  }

  private closeConnection(connection: Connection, code: number, reason: string): void {
    if (connection.phase === 'closed') return;
    if (connection.phase === 'up') this.flush(connection); // what was sent before the close goes first
    connection.phase = 'closed';
    if (connection.handshakeTimer !== undefined) this.clock.cancelTimer(connection.handshakeTimer);
    connection.handshakeTimer = undefined;
    this.handshaking.delete(connection);
    const socket = connection.socket;
    if (socket.readyState === WebSocket.CONNECTING) {
      socket.terminate();
    } else if (socket.readyState === WebSocket.OPEN) {
      // Close reasons are limited to 123 bytes by the protocol.
      socket.close(code, Buffer.from(reason, 'utf8').subarray(0, 120).toString('utf8'));
      // A peer that never answers the close handshake is cut after a grace period.
      this.clock.setTimer(CLOSE_GRACE_MS, () => {
        if (socket.readyState !== WebSocket.CLOSED) socket.terminate();
      });
    }
  }

  private onClose(connection: Connection, code: number, reason: string): void {
    if (connection.phase !== 'closed') {
      connection.phase = 'closed';
      if (connection.handshakeTimer !== undefined) this.clock.cancelTimer(connection.handshakeTimer);
      connection.handshakeTimer = undefined;
    }
    this.allConnections.delete(connection);
    this.handshaking.delete(connection);
    if (this.closing) return;
    const node = connection.peerNode;
    if (node === undefined) return;
    const peer = this.peers.get(node);
    if (peer === undefined) return;
    if (peer.live === connection) {
      peer.live = undefined;
      this.log.info({ peer: node, code, reason }, 'peer connection closed');
      this.emitPeerDown(node, `connection closed (${code}${reason === '' ? '' : `: ${reason}`})`, 'now');
      if (peer.pending.length > 0) this.ensureDialing(peer);
      return;
    }
    if (peer.dialing === connection) {
      peer.dialing = undefined;
      if (code === CloseCode.duplicate) {
        // We lost a simultaneous dial: the peer's connection will carry our frames; wait for it.
        this.scheduleRetry(peer);
        return;
      }
      if (code === CloseCode.policyViolation) {
        this.log.warn({ peer: node, reason }, 'peer refused our handshake (is the cluster secret the same?)');
      }
      this.dropPending(peer, 'dial failed');
      this.emitPeerDown(node, `could not connect (${code}${reason === '' ? '' : `: ${reason}`})`, 'now');
      this.scheduleRetry(peer);
    }
  }

  /**
   * Reports a peer down. From socket events it is reported at once (so it is never overtaken by a
   * later peer-up); from inside send() or disconnect() it is deferred, so the caller is not re-entered.
   */
  private emitPeerDown(node: NodeId, reason: string, when: 'now' | 'deferred' = 'deferred'): void {
    const events = this.events;
    if (events === undefined || this.closing) return;
    if (when === 'now') {
      events.onPeerDown(node, reason);
      return;
    }
    this.clock.defer(() => {
      if (!this.closing) events.onPeerDown(node, reason);
    });
  }
}

/** The subject of a TLS peer's certificate when the TLS layer verified it against the CA; else undefined. */
function verifiedCertificateSubject(socket: Socket): PeerCertificateSubject | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate().subject as Readonly<Record<string, string | string[] | undefined>> | undefined;
  const values = (field: string): string[] => {
    const value = subject?.[field];
    return value === undefined ? [] : Array.isArray(value) ? value : [value];
  };
  return { commonNames: values('CN'), organizations: values('O') };
}

/** ws hands over one Buffer per message with the default binaryType; the other shapes are handled anyway. */
function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The frames of a batch as views into it, or undefined if the lengths do not tile it exactly. */
export function splitBatch(batch: Buffer): Buffer[] | undefined {
  const frames: Buffer[] = [];
  let offset = 0;
  while (offset < batch.length) {
    if (offset + BATCH_FRAME_HEADER_BYTES > batch.length) return undefined;
    const length = batch.readUInt32BE(offset);
    const start = offset + BATCH_FRAME_HEADER_BYTES;
    if (start + length > batch.length) return undefined;
    frames.push(batch.subarray(start, start + length));
    offset = start + length;
  }
  return frames.length === 0 ? undefined : frames;
}

/** Builds a batch from frames (tests and tools that speak the wire directly). */
export function encodeBatch(frames: readonly Uint8Array[]): Buffer {
  const total = frames.reduce((sum, frame) => sum + BATCH_FRAME_HEADER_BYTES + frame.byteLength, 0);
  const batch = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const frame of frames) {
    batch.writeUInt32BE(frame.byteLength, offset);
    batch.set(frame, offset + BATCH_FRAME_HEADER_BYTES);
    offset += BATCH_FRAME_HEADER_BYTES + frame.byteLength;
  }
  return batch;
}
