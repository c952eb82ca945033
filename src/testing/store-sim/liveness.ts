// The liveness phase of a store-simulator run: after the heal, the cluster must become whole again
// within LIVENESS_BOUND_MS of virtual time: every replica up and at the history's newest revision, a
// probe write acknowledged, every client's last operation answered, every watcher caught up.
import { expectedWatchEvents } from './checks.js';
import type { SimClient } from './client.js';
import type { ReplicaSet } from './replicas.js';
import type { SimClock } from './sim-clock.js';
import { runUntil } from './sim-time.js';
import type { SimWatcher } from './watcher.js';

/** After the heal, the cluster must be whole and every operation answered within this much virtual time. */
export const LIVENESS_BOUND_MS = 20_000;
/** How often the liveness phase looks at the cluster (virtual ms). */
const POLL_MS = 100;

export interface LivenessEnv {
  readonly clock: SimClock;
  readonly replicas: ReplicaSet;
  readonly clients: readonly SimClient[];
  readonly probe: SimClient;
  readonly watchers: readonly SimWatcher[];
  /** Stop early when a safety check already failed. */
  readonly violated: () => boolean;
}

export interface LivenessOutcome {
  /** What was still missing at the bound; undefined when the cluster became whole. */
  readonly missing: string | undefined;
  /** Virtual ms from the heal until whole (or until the bound). */
  readonly elapsedMs: number;
}

export async function awaitWhole(env: LivenessEnv): Promise<LivenessOutcome> {
  const { clock, replicas, clients, watchers } = env;
  const healedAtMs = clock.now();
  let clientsDone = false;
  void Promise.all(clients.map((client) => client.stop())).then(() => {
    clientsDone = true;
  });
  let probed = false;
  void env.probe.put('/probe', 'final').then((done) => {
    probed = done;
  });
  const missing = (): string | undefined => {
    const waiting: string[] = [];
    if (!probed) waiting.push('the probe write was not acknowledged');
    if (!clientsDone) waiting.push(`clients ${clients.filter((client) => !client.idle).map((client) => client.id).join(',')} still have an operation in flight`);
    const newest = replicas.applyLog.maxRevision;
    for (const id of replicas.ids) {
      const revision = replicas.node(id)?.machine.revision;
      if (revision !== newest) waiting.push(`replica ${id} is at revision ${revision ?? 'down'} of ${newest}`);
    }
    for (const watcher of watchers) {
      const expected = expectedWatchEvents(replicas.applyLog, watcher.prefix).length;
      if (watcher.received.length < expected) waiting.push(`watcher ${watcher.id} has ${watcher.received.length} of ${expected} events`);
    }
    return waiting.length === 0 ? undefined : waiting.join('; ');
  };
  let waiting = missing();
  while (waiting !== undefined && clock.now() - healedAtMs < LIVENESS_BOUND_MS && !env.violated()) {
    await runUntil(clock, clock.now() + POLL_MS);
    waiting = missing();
  }
  return { missing: waiting, elapsedMs: clock.now() - healedAtMs };
}
