// The store simulator's fault injector: at seeded intervals during the safety phase it isolates a
// replica, partitions a minority from a majority, cuts a link one way, heals the network, crashes a
// replica (at any moment, or just as it issues a write so that write is in the unsynced tail) or the
// leader and restarts it later, cuts the power of the whole cluster, transfers leadership, or moves a
// watcher to another replica. Every fault is noted for the failure report.
import type { Random } from '../../actors/random.js';
import type { ReplicaId } from '../../raft/index.js';
import type { ReplicaSet } from './replicas.js';
import type { SimClock } from './sim-clock.js';
import type { SimWatcher } from './watcher.js';
import type { Weather } from './weather.js';

export interface FaultEnv {
  readonly clock: SimClock;
  readonly random: Random;
  readonly weather: Weather;
  readonly replicas: ReplicaSet;
  readonly watchers: readonly SimWatcher[];
  readonly note: (event: string) => void;
}

export class FaultInjector {
  faults = 0;
  private active = false;

  constructor(private readonly env: FaultEnv) {}

  start(): void {
    this.active = true;
    this.scheduleNext();
  }

  /** No more faults, no pending restarts (the liveness phase restarts every replica itself). */
  stop(): void {
    this.active = false;
    this.env.replicas.disarm();
  }

  private scheduleNext(): void {
    const { clock, random, weather } = this.env;
    clock.setTimer(Math.round(weather.faultEveryMs * (0.5 + random.next())), () => {
      if (!this.active) return;
      this.inject();
      this.scheduleNext();
    });
  }

  private inject(): void {
    const { random, replicas, note } = this.env;
    const ids = replicas.ids;
    const network = replicas.network;
    this.faults++;
    const pick = random.pick(ids);
    const roll = random.next();
    if (roll < 0.14) {
      network.heal();
      network.partition([pick], ids.filter((id) => id !== pick));
      note(`isolate ${pick}`);
    } else if (roll < 0.24) {
      const shuffled = this.shuffled(ids);
      const minority = shuffled.slice(0, Math.floor(ids.length / 2));
      const majority = shuffled.slice(minority.length);
      network.heal();
      network.partition(minority, majority);
      note(`partition [${minority.join(',')}] | [${majority.join(',')}]`);
    } else if (roll < 0.32) {
      const other = random.pick(ids.filter((id) => id !== pick));
      network.cutOneWay(pick, other);
      note(`one-way cut ${pick}->${other}`);
    } else if (roll < 0.5) {
      network.heal();
      note('heal the network');
    } else if (roll < 0.72) {
      this.crashOne(roll < 0.64 ? pick : (replicas.leader() ?? pick), roll >= 0.64);
    } else if (roll < 0.77) {
      note('power loss: crash every replica');
      for (const victim of replicas.running()) {
        void replicas.crash(victim);
        this.restartLater(victim);
      }
    } else if (roll < 0.82) {
      const leader = replicas.leader();
      if (leader !== undefined && leader !== pick) {
        note(`transfer leadership ${leader}->${pick}`);
        replicas.node(leader)?.transferLeadership(pick);
      }
    } else if (roll < 0.92) {
      const watcher = random.pick(this.env.watchers);
      note(`move watcher ${watcher.id} off replica ${watcher.replica ?? 'none'}`);
      watcher.move();
    }
  }

  private crashOne(victim: ReplicaId, isLeader: boolean): void {
    const { random, replicas, note } = this.env;
    if (!replicas.isUp(victim)) return;
    const what = `${victim}${isLeader ? ' (the leader)' : ''}`;
    if (random.chance(0.5)) {
      note(`crash ${what} at its next write`);
      replicas.crashAtNextWrite(victim, () => {
        note(`crashed ${victim} mid-write`);
        this.restartLater(victim);
      });
    } else {
      note(`crash ${what}`);
      void replicas.crash(victim);
      this.restartLater(victim);
    }
  }

  private restartLater(victim: ReplicaId): void {
    const { clock, random, weather, replicas, note } = this.env;
    clock.setTimer(1 + random.int(weather.downMaxMs), () => {
      if (!this.active) return;
      note(`restart ${victim}`);
      replicas.restart(victim);
    });
  }

  private shuffled(ids: readonly ReplicaId[]): ReplicaId[] {
    const out = [...ids];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.env.random.int(i + 1);
      [out[i], out[j]] = [out[j] as ReplicaId, out[i] as ReplicaId];
    }
    return out;
  }
}
