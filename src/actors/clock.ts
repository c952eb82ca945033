// The Clock: the only way kplane code learns the time or waits.
// Production passes `systemClock`; the simulator passes a VirtualClock (src/actors/sim/virtual-clock.ts)
// so that a whole cluster runs from a seed and replays exactly. Core code never calls Date.now()
// or setTimeout itself.

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since an arbitrary epoch (the Unix epoch for the system clock). */
  now(): number;
  /** Runs `callback` once after `delayMs`. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  cancelTimer(handle: TimerHandle): void;
  /** Runs `callback` soon, after the current turn: the mailbox dispatcher uses this. */
  defer(callback: () => void): void;
}

let nextTimerId = 1;
const liveTimers = new Map<number, NodeJS.Timeout>();

/** The real clock, for production processes. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, callback) {
    const id = nextTimerId++;
    const timer = setTimeout(() => {
      liveTimers.delete(id);
      callback();
    }, Math.max(0, delayMs));
    timer.unref?.();
    liveTimers.set(id, timer);
    return { id };
  },
  cancelTimer(handle) {
    const timer = liveTimers.get(handle.id);
    if (timer !== undefined) {
      clearTimeout(timer);
      liveTimers.delete(handle.id);
    }
  },
  defer(callback) {
    setImmediate(callback);
  },
};
