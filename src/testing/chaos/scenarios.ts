// The catalogue of chaos scenarios (issue 10 §3, for the store replicas and the API server so far:
// process kills and pauses, a full store restart, a torn WAL tail, partitions). Each is a ChaosScenario
// for runScenario; test/cluster/chaos-*.test.ts runs them briefly in `npm test`, test/chaos/ runs them
// longer with a seed and adds the mixed nemesis.
import type { ChaosScenario, ScenarioContext } from './scenario.js';

/** Raft timing of the scenario clusters (the defaults: 100 ms ticks, elections after 10 ticks). */
export const ELECTION_TIMEOUT_MS = 1_000;

export interface ScenarioLength {
  /** Workload before the first fault. */
  readonly warmupMs: number;
  /** Workload after convergence. */
  readonly settleMs: number;
  /** Faults for the scenarios that repeat one. */
  readonly rounds: number;
}

export const SHORT: ScenarioLength = { warmupMs: 2_500, settleMs: 2_500, rounds: 1 };
export const LONG: ScenarioLength = { warmupMs: 5_000, settleMs: 5_000, rounds: 3 };

async function repeat(rounds: number, context: ScenarioContext, step: () => Promise<void>): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    if (round > 0) await context.sleep(2_000 + context.random.int(2_000));
    await step();
  }
}

export function storeLeaderKill(length: ScenarioLength): ChaosScenario {
  return { name: 'kill -9 store leader', ...length, run: (context) => repeat(length.rounds, context, async () => void (await context.crash('store-leader'))) };
}

export function storeFollowerKill(length: ScenarioLength): ChaosScenario {
  return { name: 'kill -9 store follower', ...length, run: (context) => repeat(length.rounds, context, async () => void (await context.crash('store-follower'))) };
}

export function apiServerKill(length: ScenarioLength): ChaosScenario {
  return { name: 'kill -9 API server', ...length, run: (context) => repeat(length.rounds, context, async () => void (await context.crash('apiserver'))) };
}

/** SIGSTOP the leader for three election timeouts, then SIGCONT: it must neither commit nor serve a stale read. */
export function storeLeaderPause(length: ScenarioLength): ChaosScenario {
  return {
    name: 'SIGSTOP store leader',
    ...length,
    run: (context) =>
      repeat(length.rounds, context, async () => {
        const paused = await context.pause('store-leader');
        await context.sleep(3 * ELECTION_TIMEOUT_MS + context.random.int(ELECTION_TIMEOUT_MS));
        await context.resume(paused);
      }),
  };
}

/** Every store replica killed at once; the launcher restarts them all from their WALs. */
export function storeFullRestart(length: ScenarioLength): ChaosScenario {
  return { name: 'full store restart', ...length, run: (context) => repeat(length.rounds, context, async () => void (await context.crash('store'))) };
}

/**
 * A torn WAL tail on a follower, then its restart. A follower, because a replica that loses records
 * it had acknowledged can, if it was part of the quorum of the lost entries, help elect a leader
 * without them: Raft assumes what a replica fsynced stays. The leader case is a known limit, not a test.
 */
export function tornWalTail(length: ScenarioLength): ChaosScenario {
  return {
    name: 'torn WAL tail on a follower',
    ...length,
    run: (context) =>
      repeat(length.rounds, context, async () => {
        await context.damageWal('store-follower', context.random.chance(0.5) ? 'tear' : 'corrupt');
      }),
  };
}

/**
 * The leader cut off from the other replicas (a minority of one) for three election timeouts, then
 * healed. The API server can still reach it: it must neither commit nor answer a read it cannot
 * confirm with a quorum.
 */
export function leaderPartition(length: ScenarioLength): ChaosScenario {
  return {
    name: 'partition: leader alone',
    ...length,
    run: (context) =>
      repeat(length.rounds, context, async () => {
        await context.partition('store-leader', 'store', false);
        await context.sleep(3 * ELECTION_TIMEOUT_MS + context.random.int(ELECTION_TIMEOUT_MS));
        await context.healLinks();
      }),
  };
}

/** The leader's frames to the other replicas are lost, theirs to it still arrive. */
export function leaderOneWayPartition(length: ScenarioLength): ChaosScenario {
  return {
    name: 'one-way partition: leader → others',
    ...length,
    run: (context) =>
      repeat(length.rounds, context, async () => {
        await context.partition('store-leader', 'store', true);
        await context.sleep(3 * ELECTION_TIMEOUT_MS + context.random.int(ELECTION_TIMEOUT_MS));
        await context.healLinks();
      }),
  };
}

/** A random fault from the list every few seconds for `faults` rounds, each healed before the next. */
export function mixedNemesis(length: ScenarioLength, faults: number): ChaosScenario {
  return {
    name: 'mixed nemesis',
    ...length,
    run: async (context) => {
      for (let index = 0; index < faults; index++) {
        if (index > 0) await context.sleep(1_500 + context.random.int(3_000));
        const choice = context.random.int(8);
        if (choice === 0) await context.crash('store-leader');
        else if (choice === 1) await context.crash('store-follower');
        else if (choice === 2) await context.crash('apiserver');
        else if (choice === 3) {
          const paused = await context.pause('store-leader');
          await context.sleep(2 * ELECTION_TIMEOUT_MS + context.random.int(2 * ELECTION_TIMEOUT_MS));
          await context.resume(paused);
        } else if (choice === 4) await context.crash('store');
        else if (choice === 5 || choice === 6) {
          await context.partition('store-leader', 'store', choice === 6);
          await context.sleep(2 * ELECTION_TIMEOUT_MS + context.random.int(2 * ELECTION_TIMEOUT_MS));
          await context.healLinks();
        }
        else await context.damageWal('store-follower', context.random.chance(0.5) ? 'tear' : 'corrupt');
      }
    },
  };
}
