// The long chaos tier (`npm run test:chaos [-- --seed N]`, not part of `npm test`): every scenario of
// src/testing/chaos/scenarios.ts with longer workloads and repeated faults, then a mixed nemesis, each
// on its own fresh cluster; prints a summary table (scenario, operations, faults, violations, time to
// converge). The seed comes from KPLANE_CHAOS_SEED (set by --seed) or is drawn and printed.
import test from 'ava';
import { runScenario, summaryTable, type ChaosScenario, type ScenarioResult } from '../../src/testing/chaos/scenario.js';
import { LONG, apiServerKill, leaderOneWayPartition, leaderPartition, mixedNemesis, storeFollowerKill, storeFullRestart, storeLeaderKill, storeLeaderPause, tornWalTail } from '../../src/testing/chaos/scenarios.js';
import { chaosSeed } from '../../src/testing/chaos/seed.js';

const MIXED_NEMESIS_FAULTS = 8;
const seed = chaosSeed();
const results: ScenarioResult[] = [];

function scenarioTest(scenario: ChaosScenario): void {
  test.serial(scenario.name, async (t) => {
    const result = await runScenario(scenario, seed);
    results.push(result);
    t.log(`seed ${seed}: ${result.operations} calls (${result.unanswered} unanswered), ${result.faults} faults, converged in ${result.convergeMs?.toFixed(0) ?? '-'} ms, longest gap ${result.longestGapMs.toFixed(0)} ms`);
    if (result.violations.length > 0) t.log(result.report);
    t.deepEqual(result.violations, [], `seed ${seed}: see the report above (replay: npm run test:chaos -- --seed ${seed})`);
  });
}

scenarioTest(storeLeaderKill(LONG));
scenarioTest(storeFollowerKill(LONG));
scenarioTest(apiServerKill(LONG));
scenarioTest(storeLeaderPause(LONG));
scenarioTest(storeFullRestart(LONG));
scenarioTest(tornWalTail(LONG));
scenarioTest(leaderPartition(LONG));
scenarioTest(leaderOneWayPartition(LONG));
scenarioTest({ ...mixedNemesis(LONG, MIXED_NEMESIS_FAULTS), clients: 6, keys: 12 });

test.after.always('summary', () => {
  process.stdout.write(`\nchaos summary (seed ${seed}; convergence bound 30000 ms)\n${summaryTable(results)}\n`);
});
