// A simulated watcher: it watches a key prefix from revision 1 on one replica and records every event
// it is given. When its replica crashes, cancels the watch (a snapshot restore, a slow watcher) or the
// simulator moves it, it resumes from its last revision + 1 on another replica, as a real client
// does across leader changes. It checks as events arrive that they come in revision order and that
// none repeats; completeness (no gap against the reference history) is checked at the end of a run.
import type { Random } from '../../actors/random.js';
import type { ReplicaId } from '../../raft/index.js';
import { prefixEnd } from '../../store/commands.js';
import { CompactedError } from '../../store/errors.js';
import type { EngineWatch } from '../../store/replica/engine.js';
import type { WatchBatch } from '../../store/watch-hub.js';
import type { SimClock } from './sim-clock.js';
import type { HistoryEvent } from './apply-log.js';
import type { ReplicaSet } from './replicas.js';

/** How long a watcher waits before it tries again when no replica would take its watch. */
const REATTACH_DELAY_MS = 100;

const decoder = new TextDecoder();

export class SimWatcher {
  readonly received: HistoryEvent[] = [];
  /** Every event up to here was delivered: the resume point is lastRevision + 1. */
  lastRevision = 0;
  replica: ReplicaId | undefined;
  /** How many watches it made (1 + every resume). */
  attaches = 0;
  problem: string | undefined;
  private handle: EngineWatch | undefined;
  /** Bumped on every (re)attach: batches of an older watch are ignored. */
  private generation = 0;
  private readonly seen = new Set<string>();
  private stopped = false;

  constructor(
    readonly id: number,
    readonly prefix: string,
    private readonly clock: SimClock,
    private readonly random: Random,
    private readonly replicas: ReplicaSet,
  ) {}

  start(): void {
    this.attach(undefined);
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    this.handle?.cancel();
    this.handle = undefined;
  }

  /** The simulator moves the watch to another replica (as after a leader change). */
  move(): void {
    const from = this.replica;
    this.handle?.cancel();
    this.detach();
    this.attach(from);
  }

  replicaDown(id: ReplicaId): void {
    if (this.replica !== id) return;
    this.detach();
    this.clock.setTimer(1 + this.random.int(REATTACH_DELAY_MS), () => this.attach(id));
  }

  private detach(): void {
    this.generation++;
    this.handle = undefined;
    this.replica = undefined;
  }

  private attach(avoid: ReplicaId | undefined): void {
    if (this.stopped || this.replica !== undefined) return;
    const running = this.replicas.running();
    const others = running.filter((id) => id !== avoid);
    const candidates = others.length > 0 ? others : running;
    if (candidates.length === 0) {
      this.clock.setTimer(REATTACH_DELAY_MS, () => this.attach(avoid));
      return;
    }
    const target = this.random.pick(candidates);
    const node = this.replicas.node(target);
    if (node === undefined) return;
    const generation = ++this.generation;
    try {
      this.handle = node.watch({ key: this.prefix, rangeEnd: prefixEnd(this.prefix), startRevision: this.lastRevision + 1 }, (batch) => this.onBatch(generation, batch));
      this.replica = target;
      this.attaches++;
    } catch (error) {
      if (error instanceof CompactedError) this.problem ??= `watcher ${this.id} (${this.prefix}): replica ${target} refused a watch from revision ${this.lastRevision + 1}: ${String(error)}`;
      this.clock.setTimer(REATTACH_DELAY_MS, () => this.attach(target));
    }
  }

  private onBatch(generation: number, batch: WatchBatch): void {
    if (generation !== this.generation) return;
    for (const event of batch.events) {
      const revision = event.kv.modRevision;
      const described = `${revision} ${event.type} ${event.kv.key}`;
      const last = this.received[this.received.length - 1];
      if (last !== undefined && revision < last.revision) {
        this.problem ??= `watcher ${this.id} (${this.prefix}) on replica ${this.replica}: event ${described} after revision ${last.revision} (out of order)`;
      }
      if (this.seen.has(`${revision} ${event.kv.key}`)) {
        this.problem ??= `watcher ${this.id} (${this.prefix}) on replica ${this.replica}: event ${described} delivered twice`;
      }
      this.seen.add(`${revision} ${event.kv.key}`);
      this.received.push({ revision, sub: 0, type: event.type, key: event.kv.key, value: event.type === 'PUT' ? decoder.decode(event.kv.value) : '' });
      this.lastRevision = Math.max(this.lastRevision, revision);
    }
    const canceled = batch.canceled;
    if (canceled !== undefined) {
      this.lastRevision = Math.max(this.lastRevision, canceled.lastRevision);
      const from = this.replica;
      this.detach();
      this.clock.setTimer(1 + this.random.int(REATTACH_DELAY_MS), () => this.attach(from));
    }
  }
}
