// The work queue keyed by object: a key added many times before a worker takes it is handled once; a key
// is never handled by two workers at once (added again while in hand, it is handled again afterwards);
// N workers; failures retry after the rate limiter's delay; "requeue after" results wait on the Clock.
//
// Bounds: the queue holds each key at most once, so its size is bounded by the number of objects the
// controller watches; delayed adds are timers, one per key at most (the earliest wins).

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import { ControllerRateLimiter, type RateLimitOptions } from './rate-limit.js';
import type { ReconcileResult } from './reconcile.js';

export interface WorkQueueOptions extends RateLimitOptions {
  readonly clock: Clock;
  readonly log: Logger;
  /** Keys handled at the same time (default 1). */
  readonly workers?: number;
}

export type ReconcileFunction = (key: string) => Promise<ReconcileResult>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  /** Keys added while a worker holds them: queued again when it lets go. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, { readonly dueMs: number; readonly timer: TimerHandle }>();
  private readonly limiter: ControllerRateLimiter;
  private readonly workers: number;
  private reconcile: ReconcileFunction | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: WorkQueueOptions) {
    this.limiter = new ControllerRateLimiter(options.clock, options);
    this.workers = Math.max(1, options.workers ?? 1);
  }

  /** Starts the workers; keys added before this wait in the queue. */
  run(reconcile: ReconcileFunction): void {
    this.reconcile = reconcile;
    this.pump();
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const dueMs = this.options.clock.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing !== undefined) {
      if (existing.dueMs <= dueMs) return;
      this.options.clock.cancelTimer(existing.timer);
    }
    const timer = this.options.clock.setTimer(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { dueMs, timer });
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears a key's failure history (after a success). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  failuresOf(key: string): number {
    return this.limiter.failuresOf(key);
  }

  get length(): number {
    return this.queue.length;
  }

  /** True when nothing is queued or in hand (delayed keys do not count). */
  isIdle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  shutdown(): void {
    this.stopped = true;
    for (const { timer } of this.delayed.values()) this.options.clock.cancelTimer(timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.queued.clear();
    this.dirty.clear();
  }

  private pump(): void {
    const reconcile = this.reconcile;
    if (reconcile === undefined) return;
    while (!this.stopped && this.processing.size < this.workers && this.queue.length > 0) {
      const key = this.queue.shift() as string;
      this.queued.delete(key);
      this.processing.add(key);
      void this.handle(reconcile, key);
    }
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async handle(reconcile: ReconcileFunction, key: string): Promise<void> {
    try {
      const result = await reconcile(key);
      this.forget(key);
      if (result.kind === 'requeue-after') this.addAfter(key, result.delayMs);
    } catch (error) {
      this.options.log.debug({ err: error, key, failures: this.failuresOf(key) + 1 }, 'reconcile failed; retrying with backoff');
      if (!this.stopped) this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
