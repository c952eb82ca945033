// The pod chaos scenarios in `npm test` (issue 10 §3; issue 9 §3), briefly, on one cluster (two
// controller managers, a scheduler, two simulated pools of three nodes), one after another: kill -9 of
// the active controller manager mid-rollout; kill -9 of the scheduler with 200 pods pending; SIGSTOP
// then kill -9 of a node pool. A watch of every pod checks, at each event, that no pod is bound twice
// and no node is overcommitted (and the rolling-update bound where a rollout runs); after the last
// heal every Deployment must be Running and Ready within 30 s. A failure prints the seed and the
// timeline. The longer rounds and the pod mixed nemesis are in test/chaos/ (`npm run test:chaos`).
import test from 'ava';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { POD_SCENARIO_CLUSTER, runPodScenario, type PodScenario } from '../../src/testing/chaos/pod-scenario.js';
import { POD_SHORT, managerKillDuringRollout, nodePoolFaults, schedulerKillUnderLoad } from '../../src/testing/chaos/pod-scenarios.js';
import { chaosSeed } from '../../src/testing/chaos/seed.js';

const seed = chaosSeed();
let cluster: ChaosCluster | undefined;

test.before(async () => {
  cluster = await ChaosCluster.start({ config: POD_SCENARIO_CLUSTER });
});

test.after.always(async () => {
  await cluster?.stop();
});

function scenarioTest(scenario: PodScenario): void {
  test.serial(scenario.name, async (t) => {
    t.timeout(150_000);
    if (cluster === undefined) throw new Error('the cluster did not start');
    const result = await runPodScenario(scenario, seed, cluster);
    t.log(`seed ${seed}: ${result.podEvents} pod events, ${result.podsBound} pods bound, ${result.faults} faults, converged in ${result.convergeMs?.toFixed(0) ?? '-'} ms, ${(result.durationMs / 1000).toFixed(1)} s`);
    if (result.violations.length > 0) t.log(`${result.report}\n${cluster.logTails(10)}`);
    else if (process.env['KPLANE_CHAOS_REPORT'] === '1') t.log(result.report);
    t.deepEqual(result.violations, [], `seed ${seed}: see the report above (replay: KPLANE_CHAOS_SEED=${seed})`);
  });
}

scenarioTest(managerKillDuringRollout(POD_SHORT));
scenarioTest(schedulerKillUnderLoad(POD_SHORT));
scenarioTest(nodePoolFaults(POD_SHORT));
