// `npm run sim -- --seeds N [--start S] [--nodes 3|5] [--steps K] [--verbose]`: runs N seeds of the
// Raft simulator, shows progress on stderr, prints every failing seed with its violation, its last
// events and the command that replays it, and ends with the line `seeds=N violations=V`.
import { parseArgs } from 'node:util';
import { runSeed, SAFETY_STEPS_DEFAULT, type SimResult } from './raft-sim/run.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    start: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '3' },
    steps: { type: 'string', default: String(SAFETY_STEPS_DEFAULT) },
    verbose: { type: 'boolean', default: false },
  },
});
const seeds = Number(values.seeds);
const start = Number(values.start);
const nodes = Number(values.nodes);
const steps = Number(values.steps);
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(start) || (nodes !== 3 && nodes !== 5) || !Number.isInteger(steps) || steps < 1) {
  process.stderr.write('usage: npm run sim -- --seeds N [--start S] [--nodes 3|5] [--steps K] [--verbose]\n');
  process.exit(2);
}

function report(result: SimResult): void {
  process.stdout.write(`\nVIOLATION seed=${result.seed} at step ${result.violationStep}: ${result.violation}\n`);
  process.stdout.write(`  weather: ${JSON.stringify(result.weather)}\n  last events:\n`);
  for (const event of result.recentEvents) process.stdout.write(`    ${event}\n`);
  process.stdout.write(`  replay: npm run sim -- --seeds 1 --start ${result.seed} --nodes ${nodes} --steps ${steps} --verbose\n`);
}

const startedMs = Date.now();
let violations = 0;
for (let seed = start; seed < start + seeds; seed++) {
  let result: SimResult;
  try {
    result = runSeed(seed, { nodes: nodes as 3 | 5, steps });
  } catch (error) {
    result = { seed, violation: `the core threw: ${(error as Error).stack ?? String(error)}`, violationStep: undefined, weather: {} as SimResult['weather'], digest: '', appliedEntries: 0, recentEvents: [] };
  }
  if (result.violation !== undefined) {
    violations += 1;
    report(result);
  } else if (values.verbose) {
    process.stdout.write(`seed=${seed} ok digest=${result.digest} applied=${result.appliedEntries}\n`);
    for (const event of result.recentEvents) process.stdout.write(`    ${event}\n`);
  }
  const done = seed - start + 1;
  if (done % 500 === 0) {
    const seconds = (Date.now() - startedMs) / 1000;
    process.stderr.write(`[sim] ${done}/${seeds} seeds, ${violations} violations, ${(done / seconds).toFixed(0)} seeds/s\n`);
  }
}
process.stderr.write(`[sim] ${seeds} seeds in ${((Date.now() - startedMs) / 1000).toFixed(1)} s\n`);
process.stdout.write(`seeds=${seeds} violations=${violations}\n`);
process.exit(violations > 0 ? 1 : 0);
