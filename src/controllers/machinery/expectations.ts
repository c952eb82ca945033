// Expectations: what a controller has asked the API for and not yet seen in its cache. An owner with
// creations or deletions in flight is not acted on again until its informer has caught up (or the
// expectations time out), so a slow watch never makes it create or delete twice. Creations are counted;
// deletions are tracked by pod key, so seeing a pod both go terminating and vanish counts once.
// (After a controller restart the expectations are empty, but its informers start from a fresh list.)

import type { Clock } from '../../actors/clock.js';

/** How long unmet expectations hold before the controller acts anyway (Kubernetes: 5 minutes). */
export const EXPECTATIONS_TIMEOUT_MS_DEFAULT = 5 * 60_000;

interface Expectation {
  creations: number;
  readonly deletions: Set<string>;
  readonly setAtMs: number;
}

export class Expectations {
  private readonly byOwner = new Map<string, Expectation>();

  constructor(
    private readonly clock: Clock,
    private readonly timeoutMs = EXPECTATIONS_TIMEOUT_MS_DEFAULT,
  ) {}

  /** True when nothing is in flight for `owner` (or what was in flight is overdue). */
  satisfied(owner: string): boolean {
    const expectation = this.byOwner.get(owner);
    if (expectation === undefined) return true;
    if (expectation.creations <= 0 && expectation.deletions.size === 0) return true;
    return this.clock.now() - expectation.setAtMs > this.timeoutMs;
  }

  expectCreations(owner: string, count: number): void {
    this.byOwner.set(owner, { creations: count, deletions: new Set(), setAtMs: this.clock.now() });
  }

  expectDeletions(owner: string, keys: readonly string[]): void {
    this.byOwner.set(owner, { creations: 0, deletions: new Set(keys), setAtMs: this.clock.now() });
  }

  /** A creation was seen in the cache, or failed (so it will never be seen). */
  creationObserved(owner: string): void {
    const expectation = this.byOwner.get(owner);
    if (expectation !== undefined) expectation.creations -= 1;
  }

  deletionObserved(owner: string, key: string): void {
    this.byOwner.get(owner)?.deletions.delete(key);
  }

  forget(owner: string): void {
    this.byOwner.delete(owner);
  }

  pending(owner: string): { readonly creations: number; readonly deletions: number } {
    const expectation = this.byOwner.get(owner);
    return { creations: Math.max(0, expectation?.creations ?? 0), deletions: expectation?.deletions.size ?? 0 };
  }
}
