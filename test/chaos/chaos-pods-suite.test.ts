// The long pod chaos tier (`npm run test:chaos [-- --seed N]`, not part of `npm test`): the pod
// scenarios of src/testing/chaos/pod-scenarios.ts with more rounds, then the pod mixed nemesis
// (controller manager, scheduler, node pools, store leader and API server faults under rollouts and
// scaling), each on its own fresh cluster; prints a summary table. The seed comes from
// KPLANE_CHAOS_SEED (set by --seed) or is drawn and printed.
import test from 'ava';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { POD_SCENARIO_CLUSTER, podSummaryTable, runPodScenario, type PodScenario, type PodScenarioResult } from '../../src/testing/chaos/pod-scenario.js';
import { POD_LONG, managerKillDuringRollout, nodePoolFaults, podMixedNemesis, schedulerKillUnderLoad } from '../../src/testing/chaos/pod-scenarios.js';
import { chaosSeed } from '../../src/testing/chaos/seed.js';

const POD_MIXED_NEMESIS_FAULTS = 12;
const seed = chaosSeed();
const results: PodScenarioResult[] = [];

function scenarioTest(scenario: PodScenario): void {
  test.serial(scenario.name, async (t) => {
    t.timeout(600_000);
    const cluster = await ChaosCluster.start({ config: POD_SCENARIO_CLUSTER });
    try {
      const result = await runPodScenario(scenario, seed, cluster);
      results.push(result);
      t.log(`seed ${seed}: ${result.podEvents} pod events, ${result.podsBound} pods bound, ${result.faults} faults, converged in ${result.convergeMs?.toFixed(0) ?? '-'} ms`);
      if (result.violations.length > 0) t.log(`${result.report}\n${cluster.logTails(10)}`);
      else if (process.env['KPLANE_CHAOS_REPORT'] === '1') t.log(result.report);
      t.deepEqual(result.violations, [], `seed ${seed}: see the report above (replay: npm run test:chaos -- --seed ${seed})`);
    } finally {
      const survivors = await cluster.stop();
      t.deepEqual(survivors, [], 'no process outlived kplane down');
    }
  });
}

scenarioTest(managerKillDuringRollout(POD_LONG));
scenarioTest(schedulerKillUnderLoad(POD_LONG));
scenarioTest(nodePoolFaults(POD_LONG));
scenarioTest(podMixedNemesis(POD_LONG, POD_MIXED_NEMESIS_FAULTS));

test.after.always('summary', () => {
  process.stdout.write(`\npod chaos summary (seed ${seed}; convergence bound 30000 ms)\n${podSummaryTable(results)}\n`);
});
