// Chaos scenarios with link faults between the real processes (`kplane chaos partition`, enforced in
// each process's transport): the store leader cut off from the other replicas, symmetric and one-way,
// under a ConfigMap workload, then healed. Invariants as in chaos-store. KPLANE_CHAOS_SEED replays a seed.
import test from 'ava';
import { runScenario, type ChaosScenario } from '../../src/testing/chaos/scenario.js';
import { SHORT, leaderOneWayPartition, leaderPartition } from '../../src/testing/chaos/scenarios.js';
import { chaosSeed } from '../../src/testing/chaos/seed.js';

function scenarioTest(scenario: ChaosScenario): void {
  test.serial(scenario.name, async (t) => {
    const seed = chaosSeed();
    const result = await runScenario(scenario, seed);
    t.log(`seed ${seed}: ${result.operations} calls (${result.unanswered} unanswered), ${result.faults} faults, converged in ${result.convergeMs?.toFixed(0) ?? '-'} ms, longest gap ${result.longestGapMs.toFixed(0)} ms`);
    if (result.violations.length > 0) t.log(result.report);
    t.deepEqual(result.violations, [], `seed ${seed}: see the report above`);
    t.is(result.linearizability?.ok, true);
    t.is(result.faults, 1);
    t.true(result.acknowledged > 0, 'the workload made progress');
  });
}

scenarioTest(leaderPartition(SHORT));
scenarioTest(leaderOneWayPartition(SHORT));
