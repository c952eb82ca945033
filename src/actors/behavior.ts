// Behaviours and the context they run in (xstate-like: state plus a handler; the runtime owns the
// mailbox, the timers and the supervision). A behaviour is plain data with three functions; the same
// behaviour object can back any number of actors.
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Random } from './random.js';
import type { ActorRef } from './ref.js';
import type { ActorSystem } from './system-types.js';

export type TerminationReason = 'stopped' | 'failed' | 'unreachable';

/** System messages delivered to an actor's mailbox like any other message. */
export type Signal = { readonly type: 'kplane.terminated'; readonly ref: ActorRef; readonly reason: TerminationReason };

export const TERMINATED_SIGNAL_TYPE = 'kplane.terminated';

export interface Behavior<M, S = void> {
  /** On start and on every restart. A throw or rejection is a failure of this actor (see SupervisionPolicy). */
  start(ctx: ActorContext<M>): S | Promise<S>;
  /** One message at a time: an async handler is awaited before the next message. */
  receive(ctx: ActorContext<M>, state: S, message: M | Signal): S | Promise<S>;
  /** On stop and before a restart; abandoned (and logged) after the actor's stopTimeoutMs. */
  stop?(ctx: ActorContext<M>, state: S): void | Promise<void>;
}

export interface ActorContext<M> {
  readonly self: ActorRef<M>;
  /** The supervising actor; undefined only for the /user guardian. */
  readonly parent: ActorRef | undefined;
  readonly system: ActorSystem;
  /** A child logger with { actor: path }. */
  readonly log: Logger;
  readonly clock: Clock;
  readonly random: Random;
  tell<T>(to: ActorRef<T>, message: T): void;
  ask<Req, Res>(to: ActorRef<Req>, makeRequest: (replyTo: ActorRef<Res>) => Req, timeoutMs: number): Promise<Res>;
  /** Spawns a child supervised by this actor (with this actor's SpawnOptions.supervision). */
  spawn<C, S>(behavior: Behavior<C, S>, options: SpawnOptions): ActorRef<C>;
  /**
   * Stops a child for good (never restarted). `ctx.stop(ctx.self)` is a NORMAL EXIT instead: the parent
   * restarts a permanent actor, and stops a transient or temporary one for good (OTP semantics).
   */
  stop(child: ActorRef): Promise<void>;
  /** A kplane.terminated signal arrives as a message when the target is gone for good. */
  watch(target: ActorRef): void;
  unwatch(target: ActorRef): void;
  /** Sends `message` to self after delayMs (repeatedly with repeat); the same key replaces a timer. */
  setTimer(key: string, delayMs: number, message: M, options?: { readonly repeat?: boolean }): void;
  cancelTimer(key: string): void;
}

export type RestartType = 'permanent' | 'transient' | 'temporary';
export type SupervisionStrategy = 'one-for-one' | 'one-for-all' | 'rest-for-one';

export interface SpawnOptions {
  /** Unique among siblings; no "/". */
  readonly name: string;
  /** permanent (default): always restarted; transient: restarted after a failure only; temporary: never. */
  readonly restart?: RestartType;
  /** How long a stop hook (and an in-flight handler) may take when stopping; default STOP_TIMEOUT_MS_DEFAULT. */
  readonly stopTimeoutMs?: number;
  /** Mailbox bound; default MAILBOX_CAPACITY_DEFAULT. A message beyond it goes to dead letters. */
  readonly mailboxCapacity?: number;
  /** How THIS actor supervises ITS children; default SUPERVISION_DEFAULT. */
  readonly supervision?: SupervisionPolicy;
}

export interface SupervisionPolicy {
  readonly strategy: SupervisionStrategy;
  /** Restart intensity: at most maxRestarts within withinMs, else this actor fails and escalates to its parent. */
  readonly maxRestarts: number;
  readonly withinMs: number;
  /** Exponential restart backoff: the n-th restart within the window waits min(max, min * 2^(n-1)). */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

export const MAILBOX_CAPACITY_DEFAULT = 10_000;
export const STOP_TIMEOUT_MS_DEFAULT = 5_000;
export const SUPERVISION_DEFAULT: SupervisionPolicy = {
  strategy: 'one-for-one',
  maxRestarts: 10,
  withinMs: 60_000,
  backoffMinMs: 10,
  backoffMaxMs: 5_000,
};

export function isSignal(message: unknown): message is Signal {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === TERMINATED_SIGNAL_TYPE;
}
