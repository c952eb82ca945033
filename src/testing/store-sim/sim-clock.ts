// The store simulator's virtual clock: a Clock whose time moves only when the driver fires the next
// timer. Same contract as src/testing/virtual-clock.ts (timers fire in due order, ties in the order
// they were set), but the pending timers sit in a binary heap, so a run with tens of thousands of
// timers does not re-sort a queue on every one.
import type { Clock, TimerHandle } from '../../actors/clock.js';

interface PendingTimer {
  readonly id: number;
  readonly dueMs: number;
  readonly callback: () => void;
}

/** Due time first, then the order they were set in (ids increase). */
function before(a: PendingTimer, b: PendingTimer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.id < b.id);
}

export class SimClock implements Clock {
  private currentMs: number;
  private nextId = 1;
  private readonly heap: PendingTimer[] = [];
  private readonly cancelled = new Set<number>();

  constructor(startMs = 0) {
    this.currentMs = startMs;
  }

  now(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: PendingTimer = { id: this.nextId++, dueMs: this.currentMs + Math.max(0, delayMs), callback };
    this.push(timer);
    return { id: timer.id };
  }

  cancelTimer(handle: TimerHandle): void {
    if (handle.id < this.nextId) this.cancelled.add(handle.id);
  }

  defer(callback: () => void): void {
    this.setTimer(0, callback);
  }

  /** Fires the earliest timer due at or before `limitMs`, moving time to it. False when there is none. */
  fireNext(limitMs: number): boolean {
    for (;;) {
      const head = this.heap[0];
      if (head === undefined || head.dueMs > limitMs) return false;
      this.pop();
      if (this.cancelled.delete(head.id)) continue;
      if (head.dueMs > this.currentMs) this.currentMs = head.dueMs;
      head.callback();
      return true;
    }
  }

  /** Moves time forward to `ms` (the caller has fired every timer due before it). */
  moveTo(ms: number): void {
    if (ms > this.currentMs) this.currentMs = ms;
  }

  private push(timer: PendingTimer): void {
    const heap = this.heap;
    heap.push(timer);
    let index = heap.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const above = heap[parent] as PendingTimer;
      if (!before(timer, above)) break;
      heap[index] = above;
      index = parent;
    }
    heap[index] = timer;
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let index = 0;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && before(heap[right] as PendingTimer, heap[left] as PendingTimer) ? right : left;
      const smaller = heap[child] as PendingTimer;
      if (!before(smaller, last)) break;
      heap[index] = smaller;
      index = child;
    }
    heap[index] = last;
  }
}
