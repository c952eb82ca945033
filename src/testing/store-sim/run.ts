// One seed of the store simulator: 3 or 5 ReplicaNodes (the real replica's consensus half) on a
// virtual clock, a seeded network and fsync-modelling disks, seeded clients and watchers. The seed
// draws the weather; then a safety phase injects faults (faults.ts) while the ApplyLog checks every
// apply as it happens; then everything heals and the liveness phase (liveness.ts) requires the
// cluster whole again within LIVENESS_BOUND_MS; the end-of-run checks (checks.ts) follow. Same seed,
// same run: the digest covers the whole reference history and client history.
import { silentLogger } from '../../actors/logger.js';
import { Prng } from '../../actors/random.js';
import type { ReplicaId } from '../../raft/index.js';
import type { Operation } from '../linearizability/history.js';
import { describeEvent } from './apply-log.js';
import {
  checkAcknowledgedWrites,
  checkConvergence,
  checkLinearizable,
  checkReferenceHistory,
  checkWatcher,
} from './checks.js';
import { SimClient, type AckedWrite, type BrokenPart } from './client.js';
import { FaultInjector } from './faults.js';
import { awaitWhole, LIVENESS_BOUND_MS } from './liveness.js';
import { ReplicaSet } from './replicas.js';
import { SimClock } from './sim-clock.js';
import { runUntil } from './sim-time.js';
import { SimWatcher } from './watcher.js';
import { drawWeather, type Weather } from './weather.js';

export { LIVENESS_BOUND_MS } from './liveness.js';

/** Virtual time of the fault phase, by default. */
export const SAFETY_MS_DEFAULT = 20_000;
/** The keys clients use, under two prefixes that watchers follow (and '/' for everything). */
export const SIM_KEYS = ['/a/1', '/a/2', '/a/3', '/b/1', '/b/2'];
const WATCH_PREFIXES = ['/a/', '/b/', '/'];
const RECENT_EVENTS_KEPT = 30;
const START_MS = 1_700_000_000_000;

export interface StoreSimOptions {
  readonly nodes: 3 | 5;
  readonly safetyMs?: number;
  /** A deliberately broken client or disk, for the self-test. */
  readonly broken?: BrokenPart;
  /** Budget of the linearizability check (real ms). */
  readonly checkTimeoutMs?: number;
}

export interface StoreSimStats {
  readonly operations: number;
  readonly acknowledgedWrites: number;
  readonly pendingOperations: number;
  readonly revisions: number;
  readonly appliedEntries: number;
  readonly crashes: number;
  /** Unsynced writes lost in crashes. */
  readonly lostWrites: number;
  readonly snapshotsInstalled: number;
  readonly leaderTerms: number;
  readonly faults: number;
  readonly watchEvents: number;
  readonly watchResumes: number;
  readonly messagesSent: number;
  readonly messagesDropped: number;
  /** Virtual ms from the heal until the cluster was whole again. */
  readonly livenessMs: number;
}

export interface StoreSimResult {
  readonly seed: number;
  readonly nodes: 3 | 5;
  /** The first check that failed; undefined when the seed ran clean. */
  readonly violation: string | undefined;
  readonly weather: Weather;
  readonly stats: StoreSimStats;
  /** FNV-1a over the reference history and the client history: equal digests mean identical runs. */
  readonly digest: string;
  readonly recentEvents: readonly string[];
}

function fnv1a(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export async function runStoreSeed(seed: number, options: StoreSimOptions): Promise<StoreSimResult> {
  const random = new Prng(seed);
  const weather = drawWeather(random);
  const clock = new SimClock(START_MS);
  const ids: ReplicaId[] = options.nodes === 5 ? [1, 2, 3, 4, 5] : [1, 2, 3];
  const events: string[] = [];
  const note = (event: string): void => {
    events.push(`t=${clock.now() - START_MS}ms ${event}`);
    if (events.length > RECENT_EVENTS_KEPT) events.shift();
  };
  const watchers: SimWatcher[] = [];
  const replicas = new ReplicaSet({
    ids,
    clock,
    random: random.fork(),
    weather,
    log: silentLogger(),
    lyingDisks: options.broken === 'fsync-lies',
    onDown: (id) => {
      for (const watcher of watchers) watcher.replicaDown(id);
    },
  });
  const history: Operation[] = [];
  const acked: AckedWrite[] = [];
  const problems: string[] = [];
  const clientCount = 3 + random.int(3);
  const clients: SimClient[] = [];
  for (let id = 1; id <= clientCount + 1; id++) {
    clients.push(
      new SimClient(id, {
        clock,
        random: random.fork(),
        replicas,
        keys: SIM_KEYS,
        thinkMaxMs: weather.thinkMaxMs,
        history,
        acked,
        problems,
        ...(options.broken === undefined || options.broken === 'fsync-lies' ? {} : { broken: options.broken }),
      }),
    );
  }
  const probe = clients.pop() as SimClient;
  WATCH_PREFIXES.forEach((prefix, index) => watchers.push(new SimWatcher(index + 1, prefix, clock, random.fork(), replicas)));

  const firstViolation = (): string | undefined => replicas.applyLog.violation ?? replicas.problem ?? replicas.diskProblems()[0] ?? problems[0];

  // ---- safety phase: faults ------------------------------------------------------------------
  for (const watcher of watchers) watcher.start();
  for (const client of clients) client.start();
  const faults = new FaultInjector({ clock, random: random.fork(), weather, replicas, watchers, note });
  faults.start();

  const safetyEnd = clock.now() + (options.safetyMs ?? SAFETY_MS_DEFAULT);
  while (clock.now() < safetyEnd && firstViolation() === undefined) await runUntil(clock, Math.min(safetyEnd, clock.now() + 500));

  // ---- liveness phase: heal everything, then the cluster must become whole ----------------------
  faults.stop();
  replicas.network.heal();
  replicas.network.calm = true;
  for (const id of replicas.down()) replicas.restart(id);
  note('heal all; liveness phase');
  const liveness = await awaitWhole({ clock, replicas, clients, probe, watchers, violated: () => firstViolation() !== undefined });
  const livenessMs = liveness.elapsedMs;
  // Let watch deliveries and late duplicates settle; then nothing more is issued.
  await runUntil(clock, clock.now() + 500);
  for (const client of [...clients, probe]) client.abandon();
  for (const watcher of watchers) watcher.stop();
  await runUntil(clock, clock.now() + 500);
  note(`liveness reached after ${livenessMs} ms`);

  // ---- checks --------------------------------------------------------------------------------
  const log = replicas.applyLog;
  let violation = firstViolation();
  if (violation === undefined && liveness.missing !== undefined) violation = `liveness: not whole ${LIVENESS_BOUND_MS} ms after the heal: ${liveness.missing}`;
  violation ??= checkReferenceHistory(log);
  violation ??= checkConvergence(replicas, log);
  violation ??= checkAcknowledgedWrites(acked, log);
  for (const watcher of watchers) violation ??= checkWatcher(watcher, log);
  violation ??= checkLinearizable(history, options.checkTimeoutMs ?? 20_000);

  let digest = 0x811c9dc5;
  for (const event of log.allEvents()) digest = fnv1a(digest, describeEvent(event));
  for (const operation of history) digest = fnv1a(digest, `${operation.clientId}:${operation.invokedAtMs}:${operation.returnedAtMs ?? '-'}`);
  // Stop every node's timers (close() itself would wait on the virtual clock, which no longer runs).
  for (const id of ids) void replicas.node(id)?.close();
  return {
    seed,
    nodes: options.nodes,
    violation,
    weather,
    digest: digest.toString(16).padStart(8, '0'),
    stats: {
      operations: history.length,
      acknowledgedWrites: acked.length,
      pendingOperations: history.filter((operation) => operation.returnedAtMs === undefined).length,
      revisions: log.maxRevision,
      appliedEntries: log.appliedEntries,
      crashes: replicas.crashes,
      lostWrites: replicas.lostWrites,
      snapshotsInstalled: replicas.snapshotsInstalled,
      leaderTerms: replicas.leaderTerms.size,
      faults: faults.faults,
      watchEvents: watchers.reduce((sum, watcher) => sum + watcher.received.length, 0),
      watchResumes: watchers.reduce((sum, watcher) => sum + watcher.attaches - 1, 0),
      messagesSent: replicas.network.sent,
      messagesDropped: replicas.network.dropped,
      livenessMs,
    },
    recentEvents: [...events],
  };
}
