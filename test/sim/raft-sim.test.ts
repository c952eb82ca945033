// The seeded Raft simulator as part of `npm test`: 500 seeds starting with 3 voters and 200 with 5,
// every one clean (failing seeds print themselves with the replay command), and determinism.
import test from 'ava';
import { runSeed, SAFETY_STEPS_DEFAULT } from '../../src/testing/raft-sim/run.js';

function runRange(first: number, count: number, nodes: 3 | 5): string[] {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = runSeed(seed, { nodes, steps: SAFETY_STEPS_DEFAULT });
    if (result.violation !== undefined) {
      failures.push(`seed=${seed} step ${result.violationStep}: ${result.violation}\n  replay: npm run sim -- --seeds 1 --start ${seed} --nodes ${nodes} --verbose\n  ${result.recentEvents.join('\n  ')}`);
    }
  }
  return failures;
}

for (const [first, count] of [[1, 250], [251, 250]] as const) {
  test(`3 voters: seeds ${first}..${first + count - 1} hold every invariant`, (t) => {
    t.deepEqual(runRange(first, count, 3), []);
  });
}

test('5 voters: seeds 1..200 hold every invariant', (t) => {
  t.deepEqual(runRange(1, 200, 5), []);
});

test('a seed replays identically, and different seeds differ', (t) => {
  const first = runSeed(4242, { nodes: 3, steps: SAFETY_STEPS_DEFAULT });
  const again = runSeed(4242, { nodes: 3, steps: SAFETY_STEPS_DEFAULT });
  t.is(first.digest, again.digest);
  t.deepEqual(first.recentEvents, again.recentEvents);
  t.deepEqual(first.weather, again.weather);
  const digests = new Set([1, 2, 3, 4, 5].map((seed) => runSeed(seed, { nodes: 3, steps: SAFETY_STEPS_DEFAULT }).digest));
  t.true(digests.size >= 4, `digests of five seeds: ${[...digests].join(' ')}`);
});

test('runs apply real work: proposals are applied under the weather', (t) => {
  const applied = [7, 8, 9].map((seed) => runSeed(seed, { nodes: 3, steps: SAFETY_STEPS_DEFAULT }).appliedEntries);
  t.true(applied.every((count) => count > 10), `applied entries per seed: ${applied.join(', ')}`);
});
