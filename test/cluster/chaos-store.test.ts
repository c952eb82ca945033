// Chaos scenarios against a real local cluster (kplane up --detach in a temp dir, free ports): faults
// on the store replicas under a ConfigMap workload through the API, then the invariants (no
// acknowledged write lost, a linearizable history, the API back within the stated bound, no orphans).
// Short versions for `npm test`; test/chaos/ runs them longer. Set KPLANE_CHAOS_SEED to replay one.
import test from 'ava';
import { runScenario, type ChaosScenario } from '../../src/testing/chaos/scenario.js';
import { SHORT, storeFollowerKill, storeFullRestart, storeLeaderKill, storeLeaderPause, tornWalTail } from '../../src/testing/chaos/scenarios.js';
import { chaosSeed } from '../../src/testing/chaos/seed.js';

function scenarioTest(scenario: ChaosScenario): void {
  test.serial(scenario.name, async (t) => {
    const seed = chaosSeed();
    const result = await runScenario(scenario, seed);
    t.log(`seed ${seed}: ${result.operations} calls (${result.unanswered} unanswered), ${result.faults} faults, converged in ${result.convergeMs?.toFixed(0) ?? '-'} ms, longest gap ${result.longestGapMs.toFixed(0)} ms`);
    if (result.violations.length > 0) t.log(result.report);
    t.deepEqual(result.violations, [], `seed ${seed}: see the report above`);
    t.is(result.linearizability?.ok, true);
    t.true(result.faults >= 1, 'a fault was injected');
    t.true(result.acknowledged > 0, 'the workload made progress');
  });
}

scenarioTest(storeLeaderKill(SHORT));
scenarioTest(storeFollowerKill(SHORT));
scenarioTest(storeLeaderPause(SHORT));
scenarioTest(storeFullRestart(SHORT));
scenarioTest(tornWalTail(SHORT));
