// Chaos scenario: kill -9 of the API server under a ConfigMap workload. The launcher restarts it;
// the clients' calls in flight have no answer (recorded as possibly applied), refused connections
// are retried, and afterwards nothing acknowledged is lost and the history is linearizable.
// Set KPLANE_CHAOS_SEED to replay a seed.
import test from 'ava';
import { runScenario } from '../../src/testing/chaos/scenario.js';
import { SHORT, apiServerKill } from '../../src/testing/chaos/scenarios.js';
import { chaosSeed } from '../../src/testing/chaos/seed.js';

test('kill -9 API server under load: restarted by the launcher, nothing acknowledged lost', async (t) => {
  const seed = chaosSeed();
  const result = await runScenario(apiServerKill(SHORT), seed);
  t.log(`seed ${seed}: ${result.operations} calls (${result.unanswered} unanswered), ${result.faults} faults, converged in ${result.convergeMs?.toFixed(0) ?? '-'} ms, longest gap ${result.longestGapMs.toFixed(0)} ms`);
  if (result.violations.length > 0) t.log(result.report);
  t.deepEqual(result.violations, [], `seed ${seed}: see the report above`);
  t.is(result.linearizability?.ok, true);
  t.is(result.faults, 1);
  t.true(result.acknowledged > 0, 'the workload made progress');
});
