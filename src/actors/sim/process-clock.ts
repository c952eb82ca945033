// The clock of one simulated process: a view of the simulation's single VirtualClock that can be
// halted. A crash halts it, so none of the process's timers, deferred dispatches or heartbeats ever
// run again: the process freezes mid-flight, as a SIGKILLed one would, and its in-flight promises
// are simply never settled. A restart gets a fresh ProcessClock on the same VirtualClock.
import type { Clock, TimerHandle } from '../clock.js';

export class ProcessClock implements Clock {
  private halted = false;
  private nextId = 1;
  /** Our handle id -> the shared clock's handle, for timers not yet fired or cancelled. */
  private readonly live = new Map<number, TimerHandle>();

  constructor(private readonly shared: Clock) {}

  now(): number {
    return this.shared.now();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const id = this.nextId++;
    if (this.halted) return { id };
    const handle = this.shared.setTimer(delayMs, () => {
      this.live.delete(id);
      if (!this.halted) callback();
    });
    this.live.set(id, handle);
    return { id };
  }

  cancelTimer(handle: TimerHandle): void {
    const shared = this.live.get(handle.id);
    if (shared === undefined) return;
    this.live.delete(handle.id);
    this.shared.cancelTimer(shared);
  }

  defer(callback: () => void): void {
    if (this.halted) return;
    this.shared.defer(() => {
      if (!this.halted) callback();
    });
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** Stops the process's time for good: pending timers are cancelled, new ones never fire. */
  halt(): void {
    this.halted = true;
    for (const handle of this.live.values()) this.shared.cancelTimer(handle);
    this.live.clear();
  }
}
