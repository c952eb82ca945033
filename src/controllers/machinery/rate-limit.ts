// The work queue's rate limiters, on the injected Clock: per-key exponential backoff (a key that keeps
// failing waits 5 ms, 10 ms, … up to 1000 s) under an overall token bucket (10 retries/s, burst 100),
// the larger delay winning. These are client-go's default controller rate limiter's figures.

import type { Clock } from '../../actors/clock.js';

export const BACKOFF_BASE_MS_DEFAULT = 5;
export const BACKOFF_MAX_MS_DEFAULT = 1_000_000;
export const BUCKET_PER_SECOND_DEFAULT = 10;
export const BUCKET_BURST_DEFAULT = 100;

export interface RateLimitOptions {
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly bucketPerSecond?: number;
  readonly bucketBurst?: number;
}

export class KeyBackoff {
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
  ) {}

  /** The delay before the next retry of `key`, counting this failure. */
  next(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    return Math.min(this.maxMs, this.baseMs * 2 ** Math.min(failures, 60));
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

/** A token bucket that hands out reservations: the delay after which the caller may go. */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError('TokenBucket needs perSecond > 0 and burst >= 1');
    this.tokens = burst;
    this.lastMs = clock.now();
  }

  /** Takes a token if one is there now; false (nothing taken) otherwise. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.lastMs) * this.perSecond) / 1000);
    this.lastMs = now;
  }

  /** Takes a token now or on credit: the delay after which the caller may go. */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
  }
}

export class ControllerRateLimiter {
  private readonly backoff: KeyBackoff;
  private readonly bucket: TokenBucket;

  constructor(clock: Clock, options: RateLimitOptions = {}) {
    this.backoff = new KeyBackoff(options.backoffBaseMs ?? BACKOFF_BASE_MS_DEFAULT, options.backoffMaxMs ?? BACKOFF_MAX_MS_DEFAULT);
    this.bucket = new TokenBucket(clock, options.bucketPerSecond ?? BUCKET_PER_SECOND_DEFAULT, options.bucketBurst ?? BUCKET_BURST_DEFAULT);
  }

  when(key: string): number {
    return Math.max(this.backoff.next(key), this.bucket.reserve());
  }

  forget(key: string): void {
    this.backoff.forget(key);
  }

  failuresOf(key: string): number {
    return this.backoff.failuresOf(key);
  }
}
