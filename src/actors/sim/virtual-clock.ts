// A virtual clock for deterministic simulation: time moves only when the simulator advances it,
// and timers fire in time order (ties in the order they were set). Promise continuations are
// allowed to run between timers, so async actor code behaves as it would on the real clock but
// replays identically from a seed.
import type { Clock, TimerHandle } from '../clock.js';

interface PendingTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly sequence: number;
  readonly callback: () => void;
}

/** Lets every queued promise continuation run (they are deterministic: no I/O in the simulation). */
export async function flushMicrotasks(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class VirtualClock implements Clock {
  private currentMs: number;
  private sequence = 0;
  private nextId = 1;
  private readonly timers = new Map<number, PendingTimer>();
  private queue: PendingTimer[] = [];
  private sorted = true;

  constructor(startMs = 0) {
    this.currentMs = startMs;
  }

  now(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: PendingTimer = {
      id: this.nextId++,
      dueMs: this.currentMs + Math.max(0, delayMs),
      sequence: this.sequence++,
      callback,
    };
    this.timers.set(timer.id, timer);
    this.queue.push(timer);
    this.sorted = false;
    return { id: timer.id };
  }

  cancelTimer(handle: TimerHandle): void {
    this.timers.delete(handle.id);
  }

  defer(callback: () => void): void {
    this.setTimer(0, callback);
  }

  /** How many timers are still pending. */
  pendingTimers(): number {
    return this.timers.size;
  }

  /** The due time of the earliest pending timer, or undefined when none is pending. */
  nextDueMs(): number | undefined {
    return this.peek()?.dueMs;
  }

  /** Fires the earliest timer due at or before `limitMs`, moving time to it. False when there is none. */
  fireNext(limitMs: number): boolean {
    const timer = this.peek();
    if (timer === undefined || timer.dueMs > limitMs) return false;
    this.queue.shift();
    this.timers.delete(timer.id);
    if (timer.dueMs > this.currentMs) this.currentMs = timer.dueMs;
    timer.callback();
    return true;
  }

  /** Advances time by `ms`, firing due timers synchronously (for code that never awaits). */
  advanceSync(ms: number): void {
    const limitMs = this.currentMs + ms;
    while (this.fireNext(limitMs)) {
      // each fired timer may set new ones; fireNext re-sorts
    }
    this.currentMs = Math.max(this.currentMs, limitMs);
  }

  /** Advances time by `ms`, firing due timers and letting promise continuations run after each. */
  async advance(ms: number): Promise<void> {
    const limitMs = this.currentMs + ms;
    await flushMicrotasks();
    while (this.fireNext(limitMs)) await flushMicrotasks();
    this.currentMs = Math.max(this.currentMs, limitMs);
  }

  private peek(): PendingTimer | undefined {
    if (!this.sorted) {
      this.queue.sort((a, b) => a.dueMs - b.dueMs || a.sequence - b.sequence);
      this.sorted = true;
    }
    while (this.queue.length > 0) {
      const head = this.queue[0] as PendingTimer;
      if (this.timers.has(head.id)) return head;
      this.queue.shift();
    }
    return undefined;
  }
}
