// The public shape of an actor system: its environment, options, metrics and interface.
// Kept apart from system.ts (the implementation) so behaviours and other layers import types only.
import type { Logger } from 'pino';
import type { Behavior, SpawnOptions, SupervisionPolicy } from './behavior.js';
import type { Clock } from './clock.js';
import type { MessageProtocol } from './protocol.js';
import type { Random } from './random.js';
import type { ActorRef } from './ref.js';
import type { NodeAddress, NodeId, Transport } from './transport.js';

export interface ActorSystemEnv {
  readonly node: NodeId;
  /** Default: a hyperid-based unique id (the simulator passes a seeded one). */
  readonly incarnation?: string;
  readonly clock: Clock;
  readonly random: Random;
  /** A pino logger (logger.ts makes one; tests pass silentLogger()). */
  readonly log: Logger;
  /** Absent: a local-only system. */
  readonly transport?: Transport;
  /** Which message types may arrive from remote peers. Absent: none (only ask replies are accepted). */
  readonly protocol?: MessageProtocol;
  /** Called when a failure escalates past the /user guardian. Default: log fatal and process.exit(70). */
  readonly onRootFailure?: (error: unknown) => void;
}

export interface SystemOptions {
  /** Heartbeat period to every known peer (default 1000). */
  readonly heartbeatIntervalMs?: number;
  /** A peer silent this long is unreachable (default 5000). */
  readonly heartbeatTimeoutMs?: number;
  /** Messages an actor processes per dispatcher turn before yielding (default DISPATCH_BATCH_DEFAULT). */
  readonly dispatchBatch?: number;
  /** How the /user guardian supervises top-level actors (default SUPERVISION_DEFAULT). */
  readonly guardianSupervision?: SupervisionPolicy;
  /** Largest frame encoded or accepted (default MAX_FRAME_BYTES). */
  readonly maxFrameBytes?: number;
  /**
   * Makes ask correlation ids (default: hyperid). The simulator passes a seeded generator so that
   * temp paths, and therefore traces, replay exactly.
   */
  readonly newCorrelationId?: () => string;
}

export interface ActorSystemMetrics {
  /** Messages handed to a behaviour's receive. */
  readonly delivered: number;
  readonly deadLetters: number;
  readonly restarts: number;
  readonly failures: number;
  readonly askTimeouts: number;
  readonly framesIn: number;
  readonly framesOut: number;
  /** Frames refused (undecodable, unknown kind or message type): each disconnected its sender. */
  readonly framesRejected: number;
  readonly peersUnreachable: number;
}

export interface ActorSystem {
  readonly address: NodeAddress;
  /** Spawns a child of the /user guardian. */
  spawn<M, S>(behavior: Behavior<M, S>, options: SpawnOptions): ActorRef<M>;
  tell<M>(to: ActorRef<M>, message: M): void;
  ask<Req, Res>(to: ActorRef<Req>, makeRequest: (replyTo: ActorRef<Res>) => Req, timeoutMs: number): Promise<Res>;
  /** A ref to a (possibly remote) actor by path; its incarnation is "" unless the node is this one. */
  refFor<M>(node: NodeId, path: string): ActorRef<M>;
  /** `watcher` must be a local actor; usually called as ctx.watch. */
  watch(watcher: ActorRef, target: ActorRef): void;
  unwatch(watcher: ActorRef, target: ActorRef): void;
  /** Stops a local actor for good (never restarted); resolves when it and its subtree are stopped. */
  stop(ref: ActorRef): Promise<void>;
  /** Stops everything, children in reverse start order; pending asks reject. */
  terminate(): Promise<void>;
  readonly deadLetters: { readonly count: number };
  readonly metrics: ActorSystemMetrics;
}
