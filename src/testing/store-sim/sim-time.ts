// Running async code on a SimClock for the store simulator: the driver loop (fire the next
// timer, then let every promise continuation it caused run before the next timer) and the two
// helpers the simulated clients use, a virtual sleep and a virtual-time timeout for a promise.
// One macrotask turn between timers drains the whole microtask queue, so the run is deterministic.
import type { SimClock } from './sim-clock.js';

/** Lets every queued promise continuation run (there is no I/O in the simulation). */
function drainMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Advances virtual time to `untilMs`, firing timers in order and draining continuations after each. */
export async function runUntil(clock: SimClock, untilMs: number): Promise<void> {
  await drainMicrotasks();
  while (clock.fireNext(untilMs)) await drainMicrotasks();
  clock.moveTo(untilMs);
}

export function sleep(clock: SimClock, ms: number): Promise<void> {
  return new Promise<void>((resolve) => clock.setTimer(ms, resolve));
}

export type Outcome<T> = { readonly kind: 'ok'; readonly value: T } | { readonly kind: 'error'; readonly error: unknown } | { readonly kind: 'timeout' };

/** Waits for `promise` at most `ms` of virtual time; never rejects (a late rejection is swallowed). */
export function within<T>(clock: SimClock, promise: Promise<T>, ms: number): Promise<Outcome<T>> {
  return new Promise<Outcome<T>>((resolve) => {
    let settled = false;
    const timer = clock.setTimer(ms, () => {
      if (settled) return;
      settled = true;
      resolve({ kind: 'timeout' });
    });
    promise.then(
      (value) => {
        if (settled) return;
        settled = true;
        clock.cancelTimer(timer);
        resolve({ kind: 'ok', value });
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clock.cancelTimer(timer);
        resolve({ kind: 'error', error });
      },
    );
  });
}
