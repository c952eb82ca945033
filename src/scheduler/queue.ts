// The scheduling queue: active (ordered by the profile's queue sort), backoff (a failed pod waits
// initialBackoffMs × 2^(attempts-1), at most maxBackoffMs) and unschedulable (waits for an event that
// could help: a node added or changed, a pod deleted or finished; never polled). A pod that failed
// while such an event happened during its cycle goes to backoff instead, so the event is not lost
// (kube-scheduler's moveRequestCycle). Timers come from the injected Clock.

import type { Clock, TimerHandle } from '../actors/clock.js';
import type { PodInfo } from './model.js';

export const INITIAL_BACKOFF_MS = 1_000;
export const MAX_BACKOFF_MS = 10_000;

export interface QueuedPod {
  readonly info: PodInfo;
  /** Scheduling attempts so far (1 after the first pop). */
  readonly attempts: number;
  /** The scheduling cycle that popped it last. */
  readonly cycle: number;
}

export interface QueueOptions {
  readonly clock: Clock;
  /** Negative when a should be scheduled before b. */
  readonly compare: (a: PodInfo, b: PodInfo) => number;
  /** Called (synchronously) when a pod enters the active set. */
  readonly onActive?: () => void;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
}

interface Entry {
  info: PodInfo;
  attempts: number;
  cycle: number;
  where: 'active' | 'backoff' | 'unschedulable' | 'popped';
  /** Clock time of the last pop. */
  lastAttemptMs: number;
  timer: TimerHandle | undefined;
}

/** A binary min-heap under `compare`; stale entries are skipped by the caller. */
class Heap<T> {
  private readonly items: T[] = [];
  constructor(private readonly compare: (a: T, b: T) => number) {}
  get size(): number {
    return this.items.length;
  }
  push(item: T): void {
    const items = this.items;
    items.push(item);
    let index = items.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.compare(items[index] as T, items[parent] as T) >= 0) break;
      [items[index], items[parent]] = [items[parent] as T, items[index] as T];
      index = parent;
    }
  }
  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let index = 0;
      for (;;) {
        const left = index * 2 + 1;
        const right = left + 1;
        let smallest = index;
        if (left < items.length && this.compare(items[left] as T, items[smallest] as T) < 0) smallest = left;
        if (right < items.length && this.compare(items[right] as T, items[smallest] as T) < 0) smallest = right;
        if (smallest === index) break;
        [items[index], items[smallest]] = [items[smallest] as T, items[index] as T];
        index = smallest;
      }
    }
    return top;
  }
}

export class SchedulingQueue {
  private readonly entries = new Map<string, Entry>();
  private readonly active: Heap<Entry>;
  private schedulingCycle = 0;
  /** The cycle in which the last helpful event happened. */
  private moveRequestCycle = -1;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: QueueOptions) {
    this.active = new Heap((a, b) => options.compare(a.info, b.info));
    this.initialBackoffMs = options.initialBackoffMs ?? INITIAL_BACKOFF_MS;
    this.maxBackoffMs = options.maxBackoffMs ?? MAX_BACKOFF_MS;
  }

  /**
   * A pending pod appeared or changed. One waiting as unschedulable is retried when its spec or
   * labels changed (not for a status write, such as our own PodScheduled=False).
   */
  addOrUpdate(info: PodInfo): void {
    const entry = this.entries.get(info.key);
    if (entry === undefined) {
      const created: Entry = { info, attempts: 0, cycle: 0, where: 'active', lastAttemptMs: 0, timer: undefined };
      this.entries.set(info.key, created);
      this.pushActive(created);
      return;
    }
    const previous = entry.info;
    entry.info = info;
    if (entry.where === 'unschedulable' && schedulingInputsChanged(previous, info)) this.moveToActiveOrBackoff(entry);
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (entry === undefined) return;
    if (entry.timer !== undefined) this.options.clock.cancelTimer(entry.timer);
    this.entries.delete(key);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The next pod to schedule, or undefined when none is active. */
  pop(): QueuedPod | undefined {
    for (;;) {
      const entry = this.active.pop();
      if (entry === undefined) return undefined;
      if (this.entries.get(entry.info.key) !== entry || entry.where !== 'active') continue; // stale heap item
      entry.where = 'popped';
      entry.attempts++;
      entry.cycle = ++this.schedulingCycle;
      entry.lastAttemptMs = this.options.clock.now();
      return { info: entry.info, attempts: entry.attempts, cycle: entry.cycle };
    }
  }

  /** The pod was bound (or is no longer ours): forget it. */
  done(key: string): void {
    this.delete(key);
  }

  /** No node fits: wait for a helpful event (or back off, if one happened during the cycle). */
  requeueUnschedulable(popped: QueuedPod): void {
    const entry = this.entries.get(popped.info.key);
    if (entry === undefined || entry.where !== 'popped') return;
    if (this.moveRequestCycle >= popped.cycle) this.toBackoff(entry);
    else entry.where = 'unschedulable';
  }

  /** A transient failure (a lost binding race, an API error): retry after the pod's backoff. */
  requeueBackoff(popped: QueuedPod): void {
    const entry = this.entries.get(popped.info.key);
    if (entry === undefined || entry.where !== 'popped') return;
    this.toBackoff(entry);
  }

  /** Something happened that could make unschedulable pods fit (node added or changed, pod gone). */
  moveAllUnschedulable(): void {
    this.moveRequestCycle = this.schedulingCycle;
    for (const entry of this.entries.values()) if (entry.where === 'unschedulable') this.moveToActiveOrBackoff(entry);
  }

  sizes(): { readonly active: number; readonly backoff: number; readonly unschedulable: number; readonly popped: number } {
    const counts = { active: 0, backoff: 0, unschedulable: 0, popped: 0 };
    for (const entry of this.entries.values()) counts[entry.where]++;
    return counts;
  }

  backoffMs(attempts: number): number {
    return Math.min(this.maxBackoffMs, this.initialBackoffMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  }

  close(): void {
    for (const entry of this.entries.values()) if (entry.timer !== undefined) this.options.clock.cancelTimer(entry.timer);
    this.entries.clear();
  }

  private pushActive(entry: Entry): void {
    entry.where = 'active';
    this.active.push(entry);
    this.options.onActive?.();
  }

  private toBackoff(entry: Entry): void {
    entry.where = 'backoff';
    const remainingMs = entry.lastAttemptMs + this.backoffMs(entry.attempts) - this.options.clock.now();
    entry.timer = this.options.clock.setTimer(Math.max(0, remainingMs), () => {
      entry.timer = undefined;
      if (this.entries.get(entry.info.key) === entry && entry.where === 'backoff') this.pushActive(entry);
    });
  }

  /** An unschedulable pod still inside its backoff waits the rest of it; otherwise it is active now. */
  private moveToActiveOrBackoff(entry: Entry): void {
    if (this.options.clock.now() < entry.lastAttemptMs + this.backoffMs(entry.attempts)) this.toBackoff(entry);
    else this.pushActive(entry);
  }
}

function schedulingInputsChanged(previous: PodInfo, next: PodInfo): boolean {
  return JSON.stringify(previous.spec) !== JSON.stringify(next.spec) || JSON.stringify(previous.labels) !== JSON.stringify(next.labels);
}
