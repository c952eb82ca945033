// `npm run sim -- --seeds N [--start S] [--nodes 3|5] [--steps K]`: runs N seeds of the Raft
// simulator (src/testing/raft-sim/), shows progress on stderr, and ends with the line
// `seeds=N violations=V`. A failing seed is shrunk (ddmin over its fault events) and printed with its
// violation, the shrunk fault plan, the trace of the shrunk run and the command that replays it:
// `--start S --seeds 1 --plan '<plan>'` runs exactly that plan and prints its whole trace.
// `--broken vote-not-synced|entries-not-synced|commit-old-terms` runs a deliberate bug (the self-test);
// `--no-durability-check` leaves only the end-to-end invariants to catch it.
import { parseArgs } from 'node:util';
import { decodePlan, encodePlan } from './raft-sim/faults.js';
import type { FaultPlan } from './raft-sim/faults.js';
import { BREAKAGES } from './raft-sim/breakage.js';
import type { Breakage } from './raft-sim/breakage.js';
import { runPlan, runSeed, SAFETY_STEPS_DEFAULT } from './raft-sim/run.js';
import type { SimOptions, SimResult } from './raft-sim/run.js';
import { shrinkFailure } from './raft-sim/shrink.js';

const TRACE_LINES_SHOWN = 60;
const USAGE =
  'usage: npm run sim -- --seeds N [--start S] [--nodes 3|5] [--steps K] [--verbose] [--no-shrink]\n' +
  `       [--plan '<plan>'] [--broken ${BREAKAGES.join('|')}] [--no-durability-check]\n`;

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    start: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '3' },
    steps: { type: 'string', default: String(SAFETY_STEPS_DEFAULT) },
    plan: { type: 'string' },
    broken: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    'no-shrink': { type: 'boolean', default: false },
    'no-durability-check': { type: 'boolean', default: false },
  },
});
const seeds = Number(values.seeds);
const start = Number(values.start);
const nodes = Number(values.nodes);
const steps = Number(values.steps);
const broken = values.broken;
if (
  !Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(start) || (nodes !== 3 && nodes !== 5) || !Number.isInteger(steps) || steps < 1 ||
  (broken !== undefined && !BREAKAGES.includes(broken as Breakage)) || (values.plan !== undefined && seeds !== 1)
) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const options: SimOptions = {
  nodes,
  steps,
  ...(broken !== undefined ? { broken: broken as Breakage } : {}),
  ...(values['no-durability-check'] ? { durabilityCheck: false } : {}),
};
const flags = `--nodes ${nodes} --steps ${steps}${broken !== undefined ? ` --broken ${broken}` : ''}${values['no-durability-check'] ? ' --no-durability-check' : ''}`;
let givenPlan: FaultPlan | undefined;
try {
  givenPlan = values.plan === undefined ? undefined : decodePlan(values.plan);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
  process.exit(2);
}

function printTrace(trace: readonly string[], limit: number): void {
  if (trace.length > limit) process.stdout.write(`    ... ${trace.length - limit} earlier lines (replay to see them)\n`);
  for (const line of trace.slice(-limit)) process.stdout.write(`    ${line}\n`);
}

function report(result: SimResult): void {
  process.stdout.write(`\nVIOLATION seed=${result.seed} at step ${result.violationStep}: ${result.violation}\n`);
  let shown = result;
  if (givenPlan === undefined && !values['no-shrink']) {
    const shrunk = shrinkFailure(result.seed, options, result);
    shown = shrunk.result;
    process.stdout.write(`  shrunk from ${result.plan.events.length} to ${shrunk.plan.events.length} fault events in ${shrunk.runs} replays; now at step ${shown.violationStep}: ${shown.violation?.split('\n')[0]}\n`);
  }
  process.stdout.write(`  plan: ${encodePlan(shown.plan)}\n  trace:\n`);
  printTrace(shown.trace, givenPlan === undefined ? TRACE_LINES_SHOWN : Number.POSITIVE_INFINITY);
  process.stdout.write(`  replay: npm run sim -- --seeds 1 --start ${result.seed} ${flags} --plan '${encodePlan(shown.plan)}'\n`);
}

const startedMs = Date.now();
let violations = 0;
let worstLivenessTicks = 0;
for (let seed = start; seed < start + seeds; seed++) {
  const result = givenPlan === undefined ? runSeed(seed, options) : runPlan(seed, options, givenPlan);
  worstLivenessTicks = Math.max(worstLivenessTicks, result.livenessTicks ?? 0);
  if (result.violation !== undefined) {
    violations += 1;
    report(result);
  } else if (values.verbose || givenPlan !== undefined) {
    process.stdout.write(`seed=${seed} ok digest=${result.digest} applied=${result.appliedEntries} liveness=${result.livenessTicks} ticks\n`);
    printTrace(result.trace, values.verbose ? Number.POSITIVE_INFINITY : TRACE_LINES_SHOWN);
  }
  const done = seed - start + 1;
  if (done % 1000 === 0) {
    const seconds = (Date.now() - startedMs) / 1000;
    process.stderr.write(`[sim] ${done}/${seeds} seeds, ${violations} violations, ${(done / seconds).toFixed(0)} seeds/s\n`);
  }
}
process.stderr.write(`[sim] ${seeds} seeds (${nodes} voters at start, ${steps} steps) in ${((Date.now() - startedMs) / 1000).toFixed(1)} s; worst liveness ${worstLivenessTicks} ticks\n`);
process.stdout.write(`seeds=${seeds} violations=${violations}\n`);
process.exit(violations > 0 ? 1 : 0);
