// The actor system: the /user guardian and its tree of ActorCells, message routing (local or through
// remoting), asks through temporary refs, death watch bookkeeping, dead letters and metrics.
// One per process (the simulator runs many in one Node process, each with its own env).
import hyperid from 'hyperid';
import type { Logger } from 'pino';
import {
  SUPERVISION_DEFAULT,
  type Behavior,
  type SpawnOptions,
  type TerminationReason,
} from './behavior.js';
import { ActorCell, validatePolicy, type CellHost } from './cell.js';
import type { Clock, TimerHandle } from './clock.js';
import { MAX_FRAME_BYTES, type MessageBody } from './codec.js';
import { ActorConfigError, ActorStoppedError, AskTimeoutError, MailboxFullError } from './errors.js';
import type { Random } from './random.js';
import { formatRef, refKey, TEMP_PATH_PREFIX, USER_PATH, type ActorRef } from './ref.js';
import { HEARTBEAT_INTERVAL_MS_DEFAULT, HEARTBEAT_TIMEOUT_MS_DEFAULT, Remoting, type RemotingHost } from './remoting.js';
import type { ActorSystem, ActorSystemEnv, ActorSystemMetrics, SystemOptions } from './system-types.js';
import type { NodeAddress, NodeId } from './transport.js';

export type { ActorSystem, ActorSystemEnv, ActorSystemMetrics, SystemOptions } from './system-types.js';

/** Messages an actor handles per dispatcher turn before others get a go. */
export const DISPATCH_BATCH_DEFAULT = 64;
/** Dead letters are logged at most once per this interval (with the number suppressed). */
export const DEAD_LETTER_LOG_INTERVAL_MS = 1_000;
/** The exit code of a process whose root guardian failed (the launcher restarts it). */
export const ROOT_FAILURE_EXIT_CODE = 70;

type Delivery = 'delivered' | 'full' | 'missing';

interface PendingAsk {
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: TimerHandle;
}

const guardianBehavior: Behavior<unknown, void> = {
  start: () => undefined,
  receive: (ctx, _state, message) => {
    ctx.log.debug({ messageType: (message as { type?: unknown }).type }, 'guardian ignores message');
  },
};

class Metrics implements ActorSystemMetrics {
  delivered = 0;
  deadLetters = 0;
  restarts = 0;
  failures = 0;
  askTimeouts = 0;
  framesIn = 0;
  framesOut = 0;
  framesRejected = 0;
  peersUnreachable = 0;
}

class LocalActorSystem implements ActorSystem, CellHost, RemotingHost {
  readonly address: NodeAddress;
  readonly node: NodeId;
  readonly incarnation: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly dispatchBatch: number;
  readonly api: ActorSystem = this;
  readonly metrics = new Metrics();
  readonly deadLetters: { readonly count: number };

  private readonly cells = new Map<string, ActorCell>();
  private readonly asks = new Map<string, PendingAsk>();
  private readonly guardian: ActorCell;
  private readonly remoting: Remoting | undefined;
  private readonly newCorrelationId: () => string;
  private readonly onRootFailure: (error: unknown) => void;
  private terminating: Promise<void> | undefined;
  private deadLetterLoggedMs = Number.NEGATIVE_INFINITY;
  private deadLettersSuppressed = 0;

  constructor(env: ActorSystemEnv, options: SystemOptions) {
    this.node = env.node;
    this.clock = env.clock;
    this.random = env.random;
    const ids = hyperid({ urlSafe: true });
    this.incarnation = env.incarnation ?? ids();
    this.address = { node: this.node, incarnation: this.incarnation };
    this.log = env.log.child({ incarnation: this.incarnation });
    this.dispatchBatch = options.dispatchBatch ?? DISPATCH_BATCH_DEFAULT;
    if (!(Number.isInteger(this.dispatchBatch) && this.dispatchBatch >= 1)) throw new ActorConfigError('dispatchBatch must be a positive integer');
    this.newCorrelationId = options.newCorrelationId ?? ids;
    this.onRootFailure =
      env.onRootFailure ??
      ((error: unknown) => {
        this.log.fatal({ err: error }, 'root guardian failed, exiting');
        process.exit(ROOT_FAILURE_EXIT_CODE);
      });
    const metrics = this.metrics;
    this.deadLetters = {
      get count() {
        return metrics.deadLetters;
      },
    };
    const guardianSupervision = options.guardianSupervision ?? SUPERVISION_DEFAULT;
    validatePolicy(guardianSupervision, 'guardianSupervision');
    this.guardian = new ActorCell(this, undefined, guardianBehavior as Behavior<unknown, unknown>, { name: USER_PATH.slice(1), supervision: guardianSupervision }, this.log);
    this.guardian.beginAsGuardian();
    this.remoting =
      env.transport === undefined
        ? undefined
        : new Remoting(this, env.transport, env.protocol, {
            heartbeatIntervalMs: options.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS_DEFAULT,
            heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS_DEFAULT,
            maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_BYTES,
          });
  }

  // ---- ActorSystem ----

  spawn<M, S>(behavior: Behavior<M, S>, options: SpawnOptions): ActorRef<M> {
    if (this.terminating !== undefined) throw new ActorStoppedError('the actor system is terminating');
    return this.guardian.spawnChild(behavior as unknown as Behavior<unknown, unknown>, options).ref as ActorRef<M>;
  }

  tell<M>(to: ActorRef<M>, message: M): void {
    if (to.node === this.node) this.deliverLocal(to, message);
    else if (this.remoting === undefined) this.deadLetter(to, message, 'no transport for a remote ref');
    else this.remoting.send(to, message);
  }

  ask<Req, Res>(to: ActorRef<Req>, makeRequest: (replyTo: ActorRef<Res>) => Req, timeoutMs: number): Promise<Res> {
    if (!(timeoutMs > 0 && Number.isFinite(timeoutMs))) return Promise.reject(new ActorConfigError(`ask needs a finite timeout > 0, got ${timeoutMs}`));
    if (this.terminating !== undefined) return Promise.reject(new ActorStoppedError('the actor system is terminating'));
    const path = `${TEMP_PATH_PREFIX}${this.newCorrelationId()}`;
    const replyTo: ActorRef<Res> = { node: this.node, incarnation: this.incarnation, path };
    return new Promise<Res>((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        if (!this.asks.delete(path)) return;
        this.metrics.askTimeouts++;
        reject(new AskTimeoutError(`no reply from ${formatRef(to)} within ${timeoutMs} ms`));
      });
      this.asks.set(path, { resolve: resolve as (reply: unknown) => void, reject, timer });
      const fail = (error: unknown): void => {
        this.clock.cancelTimer(timer);
        this.asks.delete(path);
        reject(error);
      };
      try {
        const request = makeRequest(replyTo);
        if (to.node === this.node) {
          const delivery = this.deliverLocal(to, request);
          if (delivery === 'full') fail(new MailboxFullError(`mailbox of ${formatRef(to)} is full`));
          else if (delivery === 'missing') fail(new ActorStoppedError(`no live actor at ${formatRef(to)}`));
        } else if (this.remoting === undefined) {
          this.deadLetter(to, request, 'no transport for a remote ref');
          fail(new ActorStoppedError(`no transport to reach ${formatRef(to)}`));
        } else {
          this.remoting.send(to, request);
        }
      } catch (error) {
        fail(error);
      }
    });
  }

  refFor<M>(node: NodeId, path: string): ActorRef<M> {
    if (!path.startsWith('/')) throw new ActorConfigError(`an actor path starts with "/": ${path}`);
    return { node, incarnation: node === this.node ? this.incarnation : '', path };
  }

  watch(watcher: ActorRef, target: ActorRef): void {
    const watcherCell = this.localCell(watcher);
    if (watcherCell === undefined || !watcherCell.isAlive) throw new ActorConfigError(`watcher ${formatRef(watcher)} is not a live local actor`);
    watcherCell.watching.set(refKey(target), target);
    if (target.node === this.node) {
      const targetCell = this.localCell(target);
      if (targetCell !== undefined && targetCell.isAlive) targetCell.addWatcher(watcherCell.ref);
      else watcherCell.deliverTerminated(target, 'stopped'); // already gone (or never there)
    } else if (this.remoting === undefined) {
      watcherCell.deliverTerminated(target, 'unreachable');
    } else {
      this.remoting.watch(watcherCell.ref, target);
    }
  }

  unwatch(watcher: ActorRef, target: ActorRef): void {
    const watcherCell = this.localCell(watcher);
    if (watcherCell?.watching.delete(refKey(target)) !== true) return;
    this.dropWatch(watcherCell.ref, target);
  }

  stop(ref: ActorRef): Promise<void> {
    if (ref.node !== this.node) {
      this.log.warn({ target: formatRef(ref) }, 'stop of a remote actor ignored: send it a message instead');
      return Promise.resolve();
    }
    const cell = this.localCell(ref);
    if (cell === undefined) return Promise.resolve();
    if (cell === this.guardian) return this.terminate();
    return cell.stop('stopped');
  }

  terminate(): Promise<void> {
    this.terminating ??= (async () => {
      await this.guardian.stop('stopped');
      this.remoting?.close();
      for (const [path, pending] of [...this.asks]) {
        this.clock.cancelTimer(pending.timer);
        this.asks.delete(path);
        pending.reject(new ActorStoppedError('the actor system terminated before the reply'));
      }
    })();
    return this.terminating;
  }

  whenStarted(path: string): Promise<void> {
    return this.cells.get(path)?.whenStarted() ?? Promise.resolve();
  }

  // ---- routing ----

  private localCell(ref: ActorRef): ActorCell | undefined {
    if (ref.node !== this.node || (ref.incarnation !== '' && ref.incarnation !== this.incarnation)) return undefined;
    return this.cells.get(ref.path);
  }

  private deliverLocal(to: ActorRef, message: unknown): Delivery {
    if (to.incarnation !== '' && to.incarnation !== this.incarnation) {
      this.deadLetter(to, message, 'stale incarnation');
      return 'missing';
    }
    if (to.path.startsWith(TEMP_PATH_PREFIX)) {
      const pending = this.asks.get(to.path);
      if (pending === undefined) {
        this.deadLetter(to, message, 'reply after the ask ended');
        return 'missing';
      }
      this.asks.delete(to.path);
      this.clock.cancelTimer(pending.timer);
      pending.resolve(message);
      return 'delivered';
    }
    const cell = this.cells.get(to.path);
    if (cell === undefined) {
      this.deadLetter(to, message, 'no such actor');
      return 'missing';
    }
    if (cell.enqueue(message)) return 'delivered';
    const alive = cell.isAlive;
    this.deadLetter(to, message, alive ? 'mailbox full' : 'actor stopped');
    return alive ? 'full' : 'missing';
  }

  deadLetter(to: ActorRef, message: unknown, reason: string): void {
    this.metrics.deadLetters++;
    const now = this.clock.now();
    if (now - this.deadLetterLoggedMs < DEAD_LETTER_LOG_INTERVAL_MS) {
      this.deadLettersSuppressed++;
      return;
    }
    const messageType = typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
    this.log.warn(
      { to: formatRef(to), messageType: typeof messageType === 'string' ? messageType : undefined, reason, suppressed: this.deadLettersSuppressed, total: this.metrics.deadLetters },
      'dead letter',
    );
    this.deadLetterLoggedMs = now;
    this.deadLettersSuppressed = 0;
  }

  // ---- CellHost ----

  register(cell: ActorCell): void {
    if (this.cells.has(cell.path)) throw new Error(`invariant: two live cells at ${cell.path}`);
    this.cells.set(cell.path, cell);
  }

  unregister(cell: ActorCell): void {
    if (this.cells.get(cell.path) === cell) this.cells.delete(cell.path);
  }

  notifyTerminated(watcher: ActorRef, target: ActorRef, reason: TerminationReason): void {
    if (watcher.node === this.node) this.localCell(watcher)?.deliverTerminated(target, reason);
    else this.remoting?.sendTerminated(watcher, target, reason);
  }

  dropWatch(watcher: ActorRef, target: ActorRef): void {
    if (target.node === this.node) this.localCell(target)?.removeWatcher(watcher);
    else this.remoting?.unwatch(watcher, target);
  }

  rootFailed(error: unknown): void {
    this.onRootFailure(error);
  }

  countDelivered(): void {
    this.metrics.delivered++;
  }

  countRestart(): void {
    this.metrics.restarts++;
  }

  countFailure(): void {
    this.metrics.failures++;
  }

  // ---- RemotingHost ----

  deliverFromRemote(to: ActorRef, body: MessageBody): void {
    this.deliverLocal(to, body);
  }

  addRemoteWatcher(targetPath: string, targetIncarnation: string, watcher: ActorRef): boolean {
    const cell = this.localCell({ node: this.node, incarnation: targetIncarnation, path: targetPath });
    if (cell === undefined || !cell.isAlive) return false;
    cell.addWatcher(watcher);
    return true;
  }

  removeRemoteWatcher(targetPath: string, watcher: ActorRef): void {
    this.cells.get(targetPath)?.removeWatcher(watcher);
  }

  dropWatchersFrom(node: NodeId, keepIncarnation: string | undefined): void {
    for (const cell of this.cells.values()) {
      for (const watcher of [...cell.watchers.values()]) {
        if (watcher.node === node && watcher.incarnation !== keepIncarnation) cell.removeWatcher(watcher);
      }
    }
  }

  deliverTerminated(watcher: ActorRef, target: ActorRef, reason: TerminationReason): void {
    this.localCell(watcher)?.deliverTerminated(target, reason);
  }

  countFrameIn(): void {
    this.metrics.framesIn++;
  }

  countFrameOut(): void {
    this.metrics.framesOut++;
  }

  countFrameRejected(): void {
    this.metrics.framesRejected++;
  }

  countPeerUnreachable(): void {
    this.metrics.peersUnreachable++;
  }
}

/**
 * Resolves when the local actor at `path` has finished its current (re)start: it is running, failed
 * or stopped (or was never there). supervisor() uses it for ordered start.
 */
export function whenStarted(system: ActorSystem, path: string): Promise<void> {
  return system instanceof LocalActorSystem ? system.whenStarted(path) : Promise.resolve();
}

export function createActorSystem(env: ActorSystemEnv, options: SystemOptions = {}): ActorSystem {
  return new LocalActorSystem(env, options);
}
