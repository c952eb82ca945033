// ActorCell: one running actor. It owns the actor's mailbox, state, timers, children and watchers,
// runs the behaviour one message at a time, and supervises its children (OTP-style strategies,
// restart types, restart intensity, exponential backoff, ordered start and reverse-order stop).
//
// Concurrency rules (all on one event loop):
//   - `activity` is the one thing the behaviour is doing (start or a batch of messages); the
//     dispatcher never runs two at once. Dispatch is scheduled through clock.defer, so it replays
//     exactly under the VirtualClock; a turn processes up to `dispatchBatch` messages.
//   - Supervision decisions never wait for the parent's behaviour (a supervisor may be busy awaiting
//     a child's start); they run on the parent's `supervision` promise chain, one at a time.
//   - Stopping (or restarting) stops the children first, in reverse start order, then waits for the
//     in-flight handler and the stop hook, each bounded by stopTimeoutMs (a hanging one is abandoned).
import type { Logger } from 'pino';
import {
  MAILBOX_CAPACITY_DEFAULT,
  STOP_TIMEOUT_MS_DEFAULT,
  SUPERVISION_DEFAULT,
  TERMINATED_SIGNAL_TYPE,
  type ActorContext,
  type Behavior,
  type RestartType,
  type Signal,
  type SpawnOptions,
  type SupervisionPolicy,
  type TerminationReason,
} from './behavior.js';
import type { Clock, TimerHandle } from './clock.js';
import { ActorConfigError, ActorStoppedError, RestartIntensityError } from './errors.js';
import { Mailbox } from './mailbox.js';
import type { Random } from './random.js';
import { refKey, type ActorRef } from './ref.js';
import type { ActorSystem } from './system-types.js';

/** What a cell needs from its system. */
export interface CellHost {
  readonly node: string;
  readonly incarnation: string;
  readonly clock: Clock;
  readonly random: Random;
  readonly dispatchBatch: number;
  readonly api: ActorSystem;
  register(cell: ActorCell): void;
  unregister(cell: ActorCell): void;
  deadLetter(to: ActorRef, message: unknown, reason: string): void;
  /** Delivers a Terminated signal to a watcher, local or remote. */
  notifyTerminated(watcher: ActorRef, target: ActorRef, reason: TerminationReason): void;
  /** Removes a watch this cell made (local or remote target). */
  dropWatch(watcher: ActorRef, target: ActorRef): void;
  /** A failure escalated past the /user guardian. */
  rootFailed(error: unknown): void;
  countDelivered(): void;
  countRestart(): void;
  countFailure(): void;
}

type Phase = 'new' | 'starting' | 'running' | 'failed' | 'restarting' | 'stopping' | 'stopped';
type FailureCause = 'failure' | 'normal-exit';

interface ResolvedOptions {
  readonly name: string;
  readonly restart: RestartType;
  readonly stopTimeoutMs: number;
  readonly mailboxCapacity: number;
  readonly supervision: SupervisionPolicy;
}

const NAME_PATTERN = /^[A-Za-z0-9._:@$+=-]{1,200}$/;

function resolveOptions(options: SpawnOptions): ResolvedOptions {
  if (typeof options.name !== 'string' || !NAME_PATTERN.test(options.name)) {
    throw new ActorConfigError(`invalid actor name ${JSON.stringify(options.name)}: 1-200 of [A-Za-z0-9._:@$+=-]`);
  }
  const stopTimeoutMs = options.stopTimeoutMs ?? STOP_TIMEOUT_MS_DEFAULT;
  if (!(stopTimeoutMs >= 0)) throw new ActorConfigError(`${options.name}: stopTimeoutMs must be >= 0`);
  const supervision = options.supervision ?? SUPERVISION_DEFAULT;
  validatePolicy(supervision, options.name);
  return {
    name: options.name,
    restart: options.restart ?? 'permanent',
    stopTimeoutMs,
    mailboxCapacity: options.mailboxCapacity ?? MAILBOX_CAPACITY_DEFAULT,
    supervision,
  };
}

export function validatePolicy(policy: SupervisionPolicy, owner: string): void {
  if (!['one-for-one', 'one-for-all', 'rest-for-one'].includes(policy.strategy)) throw new ActorConfigError(`${owner}: unknown supervision strategy`);
  if (!(Number.isInteger(policy.maxRestarts) && policy.maxRestarts >= 0)) throw new ActorConfigError(`${owner}: supervision.maxRestarts must be an integer >= 0`);
  if (!(policy.withinMs > 0)) throw new ActorConfigError(`${owner}: supervision.withinMs must be > 0`);
  if (!(policy.backoffMinMs >= 0 && policy.backoffMaxMs >= policy.backoffMinMs)) {
    throw new ActorConfigError(`${owner}: supervision needs 0 <= backoffMinMs <= backoffMaxMs`);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function messageTypeOf(message: unknown): string | undefined {
  if (typeof message !== 'object' || message === null) return undefined;
  const type = (message as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

/** Resolves when `work` settles or after `timeoutMs` (then `onTimeout` runs); never rejects. */
function settleWithin(clock: Clock, work: Promise<unknown>, timeoutMs: number, onTimeout: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let done = false;
    const timer = clock.setTimer(timeoutMs, () => {
      if (done) return;
      done = true;
      onTimeout();
      resolve();
    });
    const finish = (): void => {
      if (done) return;
      done = true;
      clock.cancelTimer(timer);
      resolve();
    };
    work.then(finish, finish);
  });
}

function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise<void>((resolve) => clock.setTimer(delayMs, resolve));
}

export class ActorCell {
  readonly ref: ActorRef;
  readonly path: string;
  readonly name: string;
  readonly options: ResolvedOptions;
  readonly log: Logger;
  readonly children = new Map<string, ActorCell>(); // insertion order is start order
  /** Who watches this actor (local or remote refs). */
  readonly watchers = new Map<string, ActorRef>();
  /** Whom this actor watches. */
  readonly watching = new Map<string, ActorRef>();

  private phase: Phase = 'new';
  private state: unknown = undefined;
  private hasState = false;
  private restarted = false;
  private readonly mailbox: Mailbox<unknown>;
  private scheduled = false;
  private activity: Promise<void> | undefined;
  private readonly timers = new Map<string, TimerHandle>();
  private readonly startWaiters: Array<() => void> = [];
  private stopPromise: Promise<void> | undefined;
  private terminationReason: TerminationReason = 'stopped';
  // Supervision of children:
  private restartTimes: number[] = [];
  private supervision: Promise<void> = Promise.resolve();
  private readonly context: ActorContext<unknown>;
  private readonly runTurn = (): void => this.run();

  constructor(
    private readonly host: CellHost,
    readonly parent: ActorCell | undefined,
    private readonly behavior: Behavior<unknown, unknown>,
    options: SpawnOptions,
    parentLog: Logger,
  ) {
    this.options = resolveOptions(options);
    this.name = this.options.name;
    this.path = parent === undefined ? `/${this.name}` : `${parent.path}/${this.name}`;
    this.ref = { node: host.node, incarnation: host.incarnation, path: this.path };
    this.log = parentLog.child({ actor: this.path });
    this.mailbox = new Mailbox(this.options.mailboxCapacity);
    this.context = this.makeContext();
  }

  get isAlive(): boolean {
    return this.phase !== 'stopping' && this.phase !== 'stopped';
  }

  get currentPhase(): Phase {
    return this.phase;
  }

  // ---- mailbox and dispatch ----

  /** Queues a message; false when the mailbox is full or the actor is gone (the caller dead-letters it). */
  enqueue(message: unknown): boolean {
    if (!this.isAlive) return false;
    if (!this.mailbox.push(message)) return false;
    this.schedule();
    return true;
  }

  /** The /user guardian has no start to wait for: it runs at once so that spawn works immediately. */
  beginAsGuardian(): void {
    this.host.register(this);
    this.phase = 'running';
    this.hasState = true;
  }

  /** Starts the actor (the first time); called by whoever spawned it. */
  begin(): void {
    this.host.register(this);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.activity !== undefined) return;
    if (this.phase === 'new' || (this.phase === 'running' && this.mailbox.length > 0)) {
      this.scheduled = true;
      this.host.clock.defer(this.runTurn);
    }
  }

  private run(): void {
    this.scheduled = false;
    if (this.activity !== undefined) return;
    let work: Promise<void>;
    if (this.phase === 'new') work = this.startBehavior();
    else if (this.phase === 'running') work = this.processBatch();
    else return;
    this.activity = work;
    work.then(
      () => {
        this.activity = undefined;
        this.schedule();
      },
      (error: unknown) => {
        // startBehavior/processBatch catch everything a behaviour throws: this is a runtime bug.
        this.activity = undefined;
        this.log.fatal({ err: error }, 'actor runtime invariant violated');
        throw error;
      },
    );
  }

  private async startBehavior(): Promise<void> {
    this.phase = 'starting';
    try {
      let state = this.behavior.start(this.context);
      if (isThenable(state)) state = await state;
      this.state = state;
      this.hasState = true; // even if stopped meanwhile: the stop hook must see what start built
      if (this.phase !== 'starting') return; // failed (escalation) or stopping meanwhile
      this.phase = 'running';
      if (this.restarted) this.log.info({ actor: this.path }, 'actor restarted');
      else this.log.debug({ actor: this.path }, 'actor started');
    } catch (error) {
      this.fail(error, undefined, 'failure');
    } finally {
      this.wakeStartWaiters();
    }
  }

  private async processBatch(): Promise<void> {
    const limit = this.host.dispatchBatch;
    for (let processed = 0; processed < limit && this.phase === 'running'; processed++) {
      if (this.mailbox.length === 0) return;
      const message = this.mailbox.shift();
      try {
        let next = this.behavior.receive(this.context, this.state, message);
        if (isThenable(next)) next = await next;
        this.state = next;
        this.host.countDelivered();
      } catch (error) {
        const messageType = messageTypeOf(message);
        this.log.warn({ actor: this.path, messageType }, 'message dropped: its handler failed');
        this.fail(error, messageType, 'failure');
        return;
      }
    }
  }

  /** Resolves once the current (re)start has finished: running, failed or stopped. */
  whenStarted(): Promise<void> {
    if (this.phase === 'running' || this.phase === 'failed' || this.phase === 'stopped') return Promise.resolve();
    return new Promise<void>((resolve) => this.startWaiters.push(resolve));
  }

  private wakeStartWaiters(): void {
    for (const wake of this.startWaiters.splice(0)) wake();
  }

  // ---- failure and supervision ----

  /** This actor failed (or exited normally): suspend it and let the parent decide. */
  fail(error: unknown, messageType: string | undefined, cause: FailureCause): void {
    if (this.phase === 'failed' || this.phase === 'restarting' || this.phase === 'stopping' || this.phase === 'stopped') return;
    this.phase = 'failed';
    this.wakeStartWaiters();
    this.cancelAllTimers();
    if (cause === 'failure') {
      this.host.countFailure();
      this.log.error({ actor: this.path, messageType, err: error }, 'actor failed');
    }
    if (this.parent === undefined) {
      this.log.fatal({ actor: this.path, err: error }, 'failure escalated past the root guardian');
      this.host.rootFailed(error);
      return;
    }
    const parent = this.parent;
    parent.supervision = parent.supervision.then(
      () => parent.superviseChild(this, error, cause),
      () => parent.superviseChild(this, error, cause),
    );
  }

  private async superviseChild(child: ActorCell, error: unknown, cause: FailureCause): Promise<void> {
    if (this.children.get(child.name) !== child || child.phase !== 'failed') return;
    if (this.phase !== 'running' && this.phase !== 'starting') return; // we are failing or stopping: the child stops with us
    const restartType = child.options.restart;
    const restart = restartType === 'permanent' || (restartType === 'transient' && cause === 'failure');
    if (!restart) {
      await child.stop(cause === 'failure' ? 'failed' : 'stopped');
      return;
    }
    const policy = this.options.supervision;
    const now = this.host.clock.now();
    this.restartTimes = this.restartTimes.filter((time) => time > now - policy.withinMs);
    if (this.restartTimes.length >= policy.maxRestarts) {
      this.log.error({ actor: this.path, child: child.path, maxRestarts: policy.maxRestarts, withinMs: policy.withinMs }, 'restart intensity exceeded, escalating');
      this.fail(new RestartIntensityError(`${this.path}: more than ${policy.maxRestarts} restarts within ${policy.withinMs} ms (last: ${child.path})`, { cause: error }), undefined, 'failure');
      return;
    }
    this.restartTimes.push(now);
    const delayMs = Math.min(policy.backoffMaxMs, policy.backoffMinMs * 2 ** (this.restartTimes.length - 1));
    const siblings = [...this.children.values()];
    const group =
      policy.strategy === 'one-for-one' ? [child] : policy.strategy === 'one-for-all' ? siblings : siblings.slice(siblings.indexOf(child));
    // Stop the group in reverse start order; temporary siblings (never restarted) stop for good.
    for (const member of [...group].reverse()) {
      if (member !== child && member.options.restart === 'temporary') await member.stop('stopped');
      else await member.prepareRestart();
    }
    this.log.info({ actor: this.path, child: child.path, strategy: policy.strategy, delayMs, restarted: group.map((member) => member.path) }, 'restarting children');
    await sleep(this.host.clock, delayMs);
    for (const member of group) {
      if (this.phase !== 'running' && this.phase !== 'starting') return;
      if (this.children.get(member.name) !== member || member.phase !== 'restarting') continue;
      this.host.countRestart();
      member.restarted = true;
      member.phase = 'new';
      member.schedule();
      await member.whenStarted(); // ordered start: each restarted child is up before the next
    }
  }

  /** Brings this actor down to be started again; its mailbox is kept. */
  private async prepareRestart(): Promise<void> {
    if (!this.isAlive || this.phase === 'restarting') return;
    this.phase = 'restarting';
    this.wakeStartWaiters();
    this.cancelAllTimers();
    await this.stopChildren();
    await this.finishActivityAndHook();
  }

  // ---- stopping ----

  /** Stops this actor for good: children (reverse order), in-flight handler, stop hook, then watchers. */
  stop(reason: TerminationReason): Promise<void> {
    if (this.stopPromise !== undefined) return this.stopPromise;
    this.terminationReason = reason;
    this.stopPromise = this.stopNow();
    return this.stopPromise;
  }

  private async stopNow(): Promise<void> {
    this.phase = 'stopping';
    this.wakeStartWaiters();
    this.cancelAllTimers();
    await this.stopChildren();
    await this.finishActivityAndHook();
    this.phase = 'stopped';
    for (const message of this.mailbox.drain()) this.host.deadLetter(this.ref, message, 'actor stopped');
    this.parent?.children.delete(this.name);
    this.host.unregister(this);
    for (const target of this.watching.values()) this.host.dropWatch(this.ref, target);
    this.watching.clear();
    const reason = this.terminationReason;
    for (const watcher of this.watchers.values()) this.host.notifyTerminated(watcher, this.ref, reason);
    this.watchers.clear();
    this.log.info({ actor: this.path, reason }, 'actor stopped');
  }

  private async stopChildren(): Promise<void> {
    for (const child of [...this.children.values()].reverse()) await child.stop('stopped');
  }

  /** Waits for the in-flight handler, then runs the stop hook; each bounded by stopTimeoutMs. */
  private async finishActivityAndHook(): Promise<void> {
    const timeoutMs = this.options.stopTimeoutMs;
    if (this.activity !== undefined) {
      await settleWithin(this.host.clock, this.activity, timeoutMs, () =>
        this.log.warn({ actor: this.path, stopTimeoutMs: timeoutMs }, 'in-flight handler did not finish in time, abandoned'),
      );
      this.activity = undefined;
    }
    if (!this.hasState) return;
    this.hasState = false;
    const hook = this.behavior.stop;
    if (hook === undefined) return;
    let result: Promise<unknown>;
    try {
      const value = hook.call(this.behavior, this.context, this.state);
      result = isThenable(value) ? Promise.resolve(value) : Promise.resolve();
    } catch (error) {
      this.log.warn({ actor: this.path, err: error }, 'stop hook failed');
      return;
    }
    result = result.catch((error: unknown) => this.log.warn({ actor: this.path, err: error }, 'stop hook failed'));
    await settleWithin(this.host.clock, result, timeoutMs, () =>
      this.log.warn({ actor: this.path, stopTimeoutMs: timeoutMs }, 'stop hook did not finish in time, abandoned'),
    );
  }

  // ---- children ----

  spawnChild(behavior: Behavior<unknown, unknown>, options: SpawnOptions): ActorCell {
    if (this.phase !== 'running' && this.phase !== 'starting') {
      throw new ActorStoppedError(`${this.path} cannot spawn ${String(options.name)}: it is ${this.phase}`);
    }
    const child = new ActorCell(this.host, this, behavior, options, this.log);
    if (this.children.has(child.name)) throw new ActorConfigError(`${this.path} already has a child named ${child.name}`);
    this.children.set(child.name, child);
    child.begin();
    return child;
  }

  // ---- timers ----

  private setTimer(key: string, delayMs: number, message: unknown, repeat: boolean): void {
    this.cancelTimer(key);
    if (!this.isAlive) return;
    const fire = (): void => {
      if (repeat) this.timers.set(key, this.host.clock.setTimer(delayMs, fire));
      else this.timers.delete(key);
      if (!this.enqueue(message)) this.host.deadLetter(this.ref, message, 'timer message refused (mailbox full or actor gone)');
    };
    this.timers.set(key, this.host.clock.setTimer(delayMs, fire));
  }

  private cancelTimer(key: string): void {
    const timer = this.timers.get(key);
    if (timer === undefined) return;
    this.host.clock.cancelTimer(timer);
    this.timers.delete(key);
  }

  private cancelAllTimers(): void {
    for (const timer of this.timers.values()) this.host.clock.cancelTimer(timer);
    this.timers.clear();
  }

  // ---- watch bookkeeping (the system routes; the cell remembers) ----

  addWatcher(watcher: ActorRef): void {
    this.watchers.set(refKey(watcher), watcher);
  }

  removeWatcher(watcher: ActorRef): void {
    this.watchers.delete(refKey(watcher));
  }

  /** A Terminated signal for a target this actor watches: forget the watch, then deliver. */
  deliverTerminated(target: ActorRef, reason: TerminationReason): void {
    const key = refKey(target);
    if (!this.watching.has(key)) return; // unwatched meanwhile
    this.watching.delete(key);
    const signal: Signal = { type: TERMINATED_SIGNAL_TYPE, ref: target, reason };
    if (!this.enqueue(signal)) this.host.deadLetter(this.ref, signal, 'terminated signal refused (mailbox full or actor gone)');
  }

  private makeContext(): ActorContext<unknown> {
    const cell = this;
    const host = this.host;
    return {
      self: cell.ref,
      parent: cell.parent?.ref,
      system: host.api,
      log: cell.log,
      clock: host.clock,
      random: host.random,
      tell: (to, message) => host.api.tell(to, message),
      ask: (to, makeRequest, timeoutMs) => host.api.ask(to, makeRequest, timeoutMs),
      spawn: <C, S>(behavior: Behavior<C, S>, options: SpawnOptions): ActorRef<C> =>
        cell.spawnChild(behavior as unknown as Behavior<unknown, unknown>, options).ref as ActorRef<C>,
      stop: (child) => {
        if (child.node === cell.ref.node && child.path === cell.path) {
          // A normal exit: the parent applies the restart type (permanent actors come back).
          if (cell.parent === undefined) return cell.stop('stopped');
          cell.log.info({ actor: cell.path }, 'actor exiting normally');
          cell.fail(undefined, undefined, 'normal-exit');
          return Promise.resolve();
        }
        return host.api.stop(child);
      },
      watch: (target) => host.api.watch(cell.ref, target),
      unwatch: (target) => host.api.unwatch(cell.ref, target),
      setTimer: (key, delayMs, message, options) => cell.setTimer(key, delayMs, message, options?.repeat === true),
      cancelTimer: (key) => cell.cancelTimer(key),
    };
  }
}
