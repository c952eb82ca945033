// The seeded Raft simulator as part of `npm test`: 500 seeds starting with 3 voters and 200 with 5,
// every one clean (a failing seed prints itself, its shrunk plan and the replay command); the runs
// really inject what they claim (crashes losing unsynced writes, removals, joint changes, transfers);
// determinism (same seed and plan, same trace; a plan survives its text form); and the self-test:
// deliberate bugs (a driver that skips an fsync, a core that skips the Figure 8 rule) are caught, and a
// failure shrinks to a short replayable plan.
import test from 'ava';
import { decodePlan, encodePlan } from '../../src/testing/raft-sim/faults.js';
import { LIVENESS_TICKS, runPlan, runSeed, SAFETY_STEPS_DEFAULT } from '../../src/testing/raft-sim/run.js';
import type { SimOptions, SimResult } from '../../src/testing/raft-sim/run.js';
import { shrinkFailure } from '../../src/testing/raft-sim/shrink.js';

const traces: string[] = [];

function runRange(first: number, count: number, options: SimOptions, keepTraces = false): string[] {
  const failures: string[] = [];
  for (let seed = first; seed < first + count; seed++) {
    const result = runSeed(seed, options);
    if (keepTraces) traces.push(...result.trace);
    if (result.violation !== undefined) {
      failures.push(
        `seed=${seed} step ${result.violationStep}: ${result.violation}\n` +
          `  replay (shrinks it): npm run sim -- --seeds 1 --start ${seed} --nodes ${options.nodes} --steps ${options.steps}\n  ${result.recentEvents.join('\n  ')}`,
      );
    }
  }
  return failures;
}

const three: SimOptions = { nodes: 3, steps: SAFETY_STEPS_DEFAULT };
const five: SimOptions = { nodes: 5, steps: SAFETY_STEPS_DEFAULT };

test.serial('3 voters: seeds 1..500 hold every invariant and are live after healing', (t) => {
  t.deepEqual(runRange(1, 500, three, true), []);
});

test.serial('5 voters: seeds 1..200 hold every invariant and are live after healing', (t) => {
  t.deepEqual(runRange(1, 200, five), []);
});

test.serial('the runs inject what the simulator claims', (t) => {
  const seen = (pattern: RegExp): number => traces.filter((line) => pattern.test(line)).length;
  t.true(seen(/crashed \(lost [1-9]\d* unsynced writes\)/) > 0, 'crashes that lose unsynced writes');
  t.true(seen(/crashed \(lost 0 unsynced writes\)/) > 0, 'crashes with nothing unsynced');
  t.true(seen(/shut down: its removal is applied/) > 0, 'removed replicas');
  t.true(seen(/membership replace: voter \d \+ (learner|remove) \d$/) > 0, 'joint changes');
  t.true(seen(/membership promote: voter \d$/) > 0, 'learners promoted');
  t.true(seen(/transfer leadership to/) > 0, 'leadership transfers');
  t.true(seen(/snapshot \d at \d+, log compacted/) > 0, 'log compaction');
  t.true(seen(/one-way cut|split|isolate/) > 0, 'partitions');
});

test('a seed replays identically, different seeds differ, and a plan survives its text form', (t) => {
  const first = runSeed(4242, three);
  const again = runSeed(4242, three);
  t.is(first.digest, again.digest);
  t.deepEqual(first.trace, again.trace);
  const replayed = runPlan(4242, three, decodePlan(encodePlan(first.plan)));
  t.deepEqual(replayed.trace, first.trace);
  t.is(replayed.digest, first.digest);
  t.deepEqual(decodePlan(encodePlan(first.plan)), first.plan);
  const digests = new Set([1, 2, 3, 4, 5].map((seed) => runSeed(seed, three).digest));
  t.true(digests.size >= 4, `digests of five seeds: ${[...digests].join(' ')}`);
});

test('runs apply real work, and liveness is measured against its bound', (t) => {
  const results = [7, 8, 9].map((seed) => runSeed(seed, three));
  t.true(results.every((r) => r.appliedEntries > 10), `applied entries per seed: ${results.map((r) => r.appliedEntries).join(', ')}`);
  t.true(results.every((r) => r.livenessTicks !== undefined && r.livenessTicks <= LIVENESS_TICKS));
});

function firstFailure(options: SimOptions, seeds: number, kinds: readonly string[]): SimResult | undefined {
  for (let seed = 1; seed <= seeds; seed++) {
    const result = runSeed(seed, options);
    if (kinds.includes(result.violationKind ?? '')) return result;
  }
  return undefined;
}

test('self-test: a driver that acknowledges entries without fsync is caught end to end, and shrinks', (t) => {
  const broken: SimOptions = { ...three, broken: 'entries-not-synced', durabilityCheck: false };
  // Caught by a safety invariant (the broken driver also makes replicas loop, which shows as core-threw).
  const failure = firstFailure(broken, 300, ['leader-completeness', 'state-machine-safety', 'committed-lost', 'log-matching', 'snapshot']);
  if (failure === undefined) return t.fail('entries-not-synced went unnoticed by the safety invariants for 300 seeds');
  t.log(`caught at seed ${failure.seed}: ${failure.violation}`);
  const shrunk = shrinkFailure(failure.seed, broken, failure, 200);
  t.is(shrunk.result.violationKind, failure.violationKind);
  t.true(shrunk.plan.events.length <= failure.plan.events.length);
  t.log(`shrunk from ${failure.plan.events.length} to ${shrunk.plan.events.length} events in ${shrunk.runs} replays`);
  // The shrunk plan replays identically from its text form.
  const replay = runPlan(failure.seed, broken, decodePlan(encodePlan(shrunk.plan)));
  t.deepEqual(replay.trace, shrunk.result.trace);
  // And the same plan on a correct driver is clean: the broken driver, not the plan, is at fault.
  t.is(runPlan(failure.seed, three, shrunk.plan).violation, undefined);
});

test('self-test: a driver that sends votes before they are durable is caught', (t) => {
  const failure = firstFailure({ ...three, broken: 'vote-not-synced' }, 20, ['durability']);
  t.truthy(failure, 'vote-not-synced went unnoticed for 20 seeds');
});

test('self-test: a core that commits entries of earlier terms by counting (the Figure 8 bug) is caught', (t) => {
  const failure = firstFailure({ ...three, broken: 'commit-old-terms' }, 300, ['commit-rule', 'leader-completeness', 'state-machine-safety', 'committed-lost']);
  if (failure === undefined) return t.fail('commit-old-terms went unnoticed for 300 seeds');
  t.log(`caught at seed ${failure.seed}: ${failure.violation}`);
  // The same seed with the correct core is clean.
  t.is(runSeed(failure.seed, three).violation, undefined);
});
