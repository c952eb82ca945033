// The store simulator's network: Raft messages between replicas travel as virtual-clock timers with a
// seeded latency, and the weather drops, duplicates and reorders them (a held-back message arrives
// after later ones). Directed cuts model partitions, symmetric or one-way; a message is dropped if
// its link is cut when it is sent or when it would arrive. `heal` removes every cut.
import type { Random } from '../../actors/random.js';
import type { Message, ReplicaId } from '../../raft/index.js';
import type { SimClock } from './sim-clock.js';
import type { Weather } from './weather.js';

/** Longest hold-back of a reordered message (ms). */
const REORDER_DELAY_MAX_MS = 400;

export class SimNetwork {
  private readonly cuts = new Set<string>();
  sent = 0;
  dropped = 0;
  /** Weather off (liveness phase): messages still take latency but are never dropped, duplicated or held back. */
  calm = false;

  constructor(
    private readonly clock: SimClock,
    private readonly random: Random,
    private readonly weather: Weather,
    /** Hands a message to the replica `to` if it is running. */
    private readonly deliver: (to: ReplicaId, message: Message) => void,
  ) {}

  send(from: ReplicaId, to: ReplicaId, message: Message): void {
    this.sent++;
    if (this.isCut(from, to) || (!this.calm && this.random.chance(this.weather.dropChance))) {
      this.dropped++;
      return;
    }
    const copies = !this.calm && this.random.chance(this.weather.duplicateChance) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let delay = this.weather.latencyMs + this.random.int(this.weather.jitterMs + 1);
      if (!this.calm && this.random.chance(this.weather.reorderChance)) delay += this.random.int(REORDER_DELAY_MAX_MS);
      this.clock.setTimer(delay, () => {
        if (this.isCut(from, to)) {
          this.dropped++;
          return;
        }
        this.deliver(to, message);
      });
    }
  }

  isCut(from: ReplicaId, to: ReplicaId): boolean {
    return this.cuts.has(`${from}->${to}`);
  }

  cutOneWay(from: ReplicaId, to: ReplicaId): void {
    this.cuts.add(`${from}->${to}`);
  }

  /** No message crosses between the two sides, in either direction. */
  partition(sideA: readonly ReplicaId[], sideB: readonly ReplicaId[]): void {
    for (const a of sideA) {
      for (const b of sideB) {
        this.cuts.add(`${a}->${b}`);
        this.cuts.add(`${b}->${a}`);
      }
    }
  }

  heal(): void {
    this.cuts.clear();
  }
}
