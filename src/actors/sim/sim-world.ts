// SimWorld: many actor-system "processes" in one Node process, driven from one seed. All of them share
// ONE VirtualClock and draw from ONE seeded Prng (each process, and the network, gets its own fork
// in a fixed order), so the same seed and the same test code give the same run and the same trace.
//
//   const world = new SimWorld({ seed, faults, systemOptions: { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 500 } });
//   world.start('a', (system) => system.spawn(pinger, { name: 'pinger' }));
//   world.start('b', (system) => system.spawn(ponger, { name: 'ponger' }));
//   await world.run(2_000);
//   world.crash('b'); world.network.cut('a', 'c'); world.restart('b');
//   world.traceDigest();
//
// Each process is a real ActorSystem (createActorSystem) with a SimTransport, a ProcessClock (a
// haltable view of the shared clock), an incarnation drawn from the seed, and seeded ask correlation
// ids. crash(node) freezes the process at once (no timer, dispatch or frame of it ever runs again;
// frames in flight to or from it are lost) and restart(node) starts a new system under the same node
// id with a new incarnation, so refs to the old incarnation are never delivered to the new one.
//
// Time only moves inside run/runUntil/settle: timers fire in time order, and after each one the
// promise continuations it released run to completion (there is no I/O in a simulation, so that is
// deterministic). Time, randomness and ids must come from the env (ctx.clock, ctx.random) in code run
// here: Date.now() or Math.random() in an actor breaks replay.
import type { Logger } from 'pino';
import { decodeFrame } from '../codec.js';
import type { Clock } from '../clock.js';
import { ActorConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import type { MessageProtocol } from '../protocol.js';
import { Prng } from '../random.js';
import { createActorSystem } from '../system.js';
import type { ActorSystem, SystemOptions } from '../system-types.js';
import type { NodeId } from '../transport.js';
import { flushMicrotasks, VirtualClock } from './virtual-clock.js';
import { ProcessClock } from './process-clock.js';
import { fingerprint, NO_FAULTS, SimNetwork, type LinkFaults } from './sim-network.js';
import { SimTrace, TRACE_LINES_KEPT_DEFAULT } from './sim-trace.js';
import { SimTransport } from './sim-transport.js';

/** Builds the actors of a process; runs at start and again at every restart. */
export type ProcessSetup = (system: ActorSystem, process: SimProcess) => void;

export interface SimWorldOptions {
  readonly seed: number;
  /** The fault mix of every link (default NO_FAULTS: in order, 1 ms). See drawLinkFaults for seeded weather. */
  readonly faults?: LinkFaults;
  /** Options for every process's actor system (newCorrelationId is the world's own). */
  readonly systemOptions?: Omit<SystemOptions, 'newCorrelationId'>;
  /** The message types processes accept from each other. */
  readonly protocol?: MessageProtocol;
  /** A logger per process (default: silent). Pass createLogger({ node, clock }) to see virtual-time logs. */
  readonly logFor?: (node: NodeId, clock: Clock) => Logger;
  /** Trace lines kept for reading (the digest covers all of them). */
  readonly traceLinesKept?: number;
  /** Where virtual time starts (default 0). */
  readonly startMs?: number;
}

/** One simulated process, as seen from outside. */
export interface SimProcess {
  readonly node: NodeId;
  readonly incarnation: string;
  /** 1 for the first start, +1 at every restart. */
  readonly generation: number;
  readonly system: ActorSystem;
  readonly alive: boolean;
}

/** settle() gave up: the promise was still pending after the allowed virtual time. */
export class SimSettleTimeoutError extends Error {
  readonly code = 'SIM_SETTLE_TIMEOUT';
  readonly retryable = false;
  override readonly name = 'SimSettleTimeoutError';
}

class Process implements SimProcess {
  alive = true;
  constructor(
    readonly node: NodeId,
    readonly incarnation: string,
    readonly generation: number,
    readonly system: ActorSystem,
    readonly clock: ProcessClock,
    readonly transport: SimTransport,
    readonly setup: ProcessSetup | undefined,
  ) {}
}

export class SimWorld {
  readonly seed: number;
  readonly clock: VirtualClock;
  /** The world's root generator: forks of it feed the network and every process, in a fixed order. */
  readonly random: Prng;
  readonly trace: SimTrace;
  readonly network: SimNetwork;
  private readonly options: SimWorldOptions;
  private readonly processes = new Map<NodeId, Process>();

  constructor(options: SimWorldOptions) {
    if (!Number.isInteger(options.seed)) throw new ActorConfigError(`SimWorld seed must be an integer, got ${options.seed}`);
    this.options = options;
    this.seed = options.seed;
    this.clock = new VirtualClock(options.startMs ?? 0);
    this.random = new Prng(options.seed);
    this.trace = new SimTrace(this.clock, options.traceLinesKept ?? TRACE_LINES_KEPT_DEFAULT);
    this.network = new SimNetwork({
      clock: this.clock,
      random: new Prng(this.random.nextUint32()),
      trace: this.trace,
      faults: options.faults ?? NO_FAULTS,
      describeFrame: describeRemotingFrame,
    });
  }

  // ---- processes ----

  /** Starts a process under `node` (not running now); `setup` builds its actors, now and at each restart. */
  start(node: NodeId, setup?: ProcessSetup): SimProcess {
    const previous = this.processes.get(node);
    if (previous?.alive === true) throw new ActorConfigError(`sim: process ${node} is already running`);
    const generation = (previous?.generation ?? 0) + 1;
    const random = new Prng(this.random.nextUint32()); // ctx.random of its actors
    const ids = new Prng(this.random.nextUint32()); // its incarnation and ask correlation ids
    const incarnation = `${node}.${generation}.${ids.nextUint32().toString(36)}`;
    const clock = new ProcessClock(this.clock);
    const transport = new SimTransport(this.network, { node, incarnation });
    let askCount = 0;
    const system = createActorSystem(
      {
        node,
        incarnation,
        clock,
        random,
        log: this.options.logFor?.(node, clock) ?? silentLogger(),
        transport,
        ...(this.options.protocol === undefined ? {} : { protocol: this.options.protocol }),
        onRootFailure: (error) => this.rootFailed(node, incarnation, error),
      },
      { ...this.options.systemOptions, newCorrelationId: () => `${(++askCount).toString(36)}.${ids.nextUint32().toString(36)}` },
    );
    const simProcess = new Process(node, incarnation, generation, system, clock, transport, setup ?? previous?.setup);
    this.processes.set(node, simProcess);
    this.trace.record(generation === 1 ? 'start' : 'restart', `${node} ${incarnation}`);
    simProcess.setup?.(system, simProcess);
    return simProcess;
  }

  /**
   * Kills a process at once, like SIGKILL: its clock halts (no timer, dispatch or heartbeat of it runs
   * again), it leaves the network (frames in flight to or from it are lost, peers hear onPeerDown),
   * and nothing of it is stopped in an orderly way: watchers elsewhere learn of it only through
   * their failure detector, or when a new incarnation shows up.
   */
  crash(node: NodeId): void {
    const simProcess = this.processes.get(node);
    if (simProcess === undefined || !simProcess.alive) throw new ActorConfigError(`sim: process ${node} is not running`);
    this.trace.record('crash', `${node} ${simProcess.incarnation}`);
    simProcess.alive = false;
    simProcess.clock.halt();
    simProcess.transport.halt('process crashed');
  }

  /**
   * Stops a process in an orderly way, as SIGTERM would: its actor system terminates (stop hooks run,
   * remote watchers are told 'stopped'), then it leaves the network. Runs the simulation meanwhile.
   */
  async shutdown(node: NodeId, maxMs = 10_000): Promise<void> {
    const simProcess = this.processes.get(node);
    if (simProcess === undefined || !simProcess.alive) throw new ActorConfigError(`sim: process ${node} is not running`);
    this.trace.record('stop', `${node} ${simProcess.incarnation}`);
    await this.settle(simProcess.system.terminate(), maxMs);
    simProcess.alive = false; // frames it sent before the close (Terminated notices) still arrive
    await simProcess.transport.close();
    simProcess.clock.halt();
  }

  /** Starts `node` again (crashing it first if it runs) with a new incarnation; `setup` defaults to the last one. */
  restart(node: NodeId, setup?: ProcessSetup): SimProcess {
    const simProcess = this.processes.get(node);
    if (simProcess === undefined) throw new ActorConfigError(`sim: process ${node} was never started`);
    if (simProcess.alive) this.crash(node);
    return this.start(node, setup);
  }

  /** The running process's actor system; throws when it is not running. */
  system(node: NodeId): ActorSystem {
    const simProcess = this.processes.get(node);
    if (simProcess === undefined || !simProcess.alive) throw new ActorConfigError(`sim: process ${node} is not running`);
    return simProcess.system;
  }

  /** The current (or last) process under `node`. */
  process(node: NodeId): SimProcess {
    const simProcess = this.processes.get(node);
    if (simProcess === undefined) throw new ActorConfigError(`sim: process ${node} was never started`);
    return simProcess;
  }

  nodes(): NodeId[] {
    return [...this.processes.keys()];
  }

  // ---- time ----

  now(): number {
    return this.clock.now();
  }

  /** Runs the simulation for `ms` of virtual time. */
  async run(ms: number): Promise<void> {
    await this.runUntil(() => false, ms);
  }

  /**
   * Runs until `predicate` holds (checked after every event) or `maxMs` of virtual time have passed.
   * Resolves true when the predicate held; the clock then stands at the moment it first did.
   */
  async runUntil(predicate: () => boolean, maxMs: number): Promise<boolean> {
    if (!(maxMs >= 0 && Number.isFinite(maxMs))) throw new ActorConfigError(`sim: run needs a finite time >= 0, got ${maxMs}`);
    const limitMs = this.clock.now() + maxMs;
    await flushMicrotasks(1);
    if (predicate()) return true;
    while (this.clock.fireNext(limitMs)) {
      await flushMicrotasks(1);
      if (predicate()) return true;
    }
    this.clock.advanceSync(limitMs - this.clock.now()); // nothing is due before the limit
    return predicate();
  }

  /** Runs until `promise` settles and returns its outcome; SimSettleTimeoutError after `maxMs` of virtual time. */
  async settle<T>(promise: Promise<T>, maxMs: number): Promise<T> {
    let settled = false;
    const observed = promise.then(
      (value) => {
        settled = true;
        return value;
      },
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    observed.catch(() => undefined); // observed below; this only keeps an early rejection from being "unhandled"
    if (!(await this.runUntil(() => settled, maxMs))) {
      throw new SimSettleTimeoutError(`sim: promise still pending after ${maxMs} virtual ms (seed=${this.seed})`);
    }
    return observed;
  }

  // ---- trace ----

  /** Adds a line of the test's own to the trace (so that what actors observed is part of the digest). */
  note(text: string): void {
    this.trace.record('note', text);
  }

  /** sha256 of the trace so far: equal for two runs of one seed, different (in practice) across seeds. */
  traceDigest(): string {
    return this.trace.digest();
  }

  private rootFailed(node: NodeId, incarnation: string, error: unknown): void {
    // A real process exits (and the launcher restarts it); here it crashes and the test decides.
    this.trace.record('root-failure', `${node} ${incarnation} ${error instanceof Error ? error.message : String(error)}`);
    const simProcess = this.processes.get(node);
    if (simProcess?.incarnation === incarnation && simProcess.alive) this.crash(node);
  }
}

/** Trace annotation for remoting frames: kind, paths and message type, plus a content fingerprint. */
export function describeRemotingFrame(bytes: Uint8Array): string {
  let summary: string;
  try {
    const frame = decodeFrame(bytes);
    switch (frame.kind) {
      case 'message': {
        const type = frame.body['type'];
        summary = `message ${frame.to} ${typeof type === 'string' ? type : '?'}`;
        break;
      }
      case 'watch':
        summary = `watch ${frame.target} by ${frame.watcher}`;
        break;
      case 'unwatch':
        summary = `unwatch ${frame.target} by ${frame.watcher}`;
        break;
      case 'terminated':
        summary = `terminated ${frame.target} to ${frame.watcher} ${frame.reason}`;
        break;
      case 'heartbeat':
        summary = 'heartbeat';
        break;
    }
  } catch {
    summary = 'undecodable';
  }
  return `${summary} h=${fingerprint(bytes)}`;
}
