// `npm run sim:store -- --seeds N [--start S] [--nodes 3|5] [--safety-ms T] [--verbose] [--broken X]`:
// runs N seeds of the store simulator (ReplicaNodes on Raft under seeded faults; see
// src/testing/store-sim/run.ts), shows progress on stderr, prints every failing seed with its
// violation, weather, last events and the command that replays it, and ends with the line
// `seeds=N violations=V`. `--broken` runs with a deliberately broken client or disk (the self-test).
import { parseArgs } from 'node:util';
import type { BrokenPart } from './store-sim/client.js';
import { LIVENESS_BOUND_MS, runStoreSeed, SAFETY_MS_DEFAULT, type StoreSimResult } from './store-sim/run.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    start: { type: 'string', default: '1' },
    nodes: { type: 'string', default: '3' },
    'safety-ms': { type: 'string', default: String(SAFETY_MS_DEFAULT) },
    verbose: { type: 'boolean', default: false },
    broken: { type: 'string' },
  },
});
const seeds = Number(values.seeds);
const start = Number(values.start);
const nodes = Number(values.nodes);
const safetyMs = Number(values['safety-ms']);
const BROKEN_PARTS: readonly BrokenPart[] = ['ack-before-apply', 'new-sequence-on-retry', 'fsync-lies'];
const broken = BROKEN_PARTS.find((part) => part === values.broken);
const badBroken = values.broken !== undefined && broken === undefined;
if (!Number.isInteger(seeds) || seeds < 1 || !Number.isInteger(start) || (nodes !== 3 && nodes !== 5) || !Number.isInteger(safetyMs) || safetyMs < 1 || badBroken) {
  process.stderr.write(`usage: npm run sim:store -- --seeds N [--start S] [--nodes 3|5] [--safety-ms T] [--verbose] [--broken ${BROKEN_PARTS.join('|')}]\n`);
  process.exit(2);
}

function replayCommand(seed: number): string {
  return `npm run sim:store -- --seeds 1 --start ${seed} --nodes ${nodes} --safety-ms ${safetyMs} --verbose${broken === undefined ? '' : ` --broken ${broken}`}`;
}

function report(result: StoreSimResult): void {
  process.stdout.write(`\nVIOLATION seed=${result.seed} nodes=${result.nodes}: ${result.violation}\n`);
  process.stdout.write(`  weather: ${JSON.stringify(result.weather)}\n  stats: ${JSON.stringify(result.stats)}\n  last events:\n`);
  for (const event of result.recentEvents) process.stdout.write(`    ${event}\n`);
  process.stdout.write(`  replay: ${replayCommand(result.seed)}\n`);
}

const startedMs = Date.now();
let violations = 0;
let operations = 0;
let livenessMaxMs = 0;
let livenessTotalMs = 0;
for (let seed = start; seed < start + seeds; seed++) {
  let result: StoreSimResult | undefined;
  try {
    result = await runStoreSeed(seed, { nodes: nodes as 3 | 5, safetyMs, ...(broken === undefined ? {} : { broken }) });
  } catch (error) {
    violations++;
    process.stdout.write(`\nVIOLATION seed=${seed} nodes=${nodes}: the simulation threw: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.stdout.write(`  replay: ${replayCommand(seed)}\n`);
  }
  if (result !== undefined) {
    operations += result.stats.operations;
    livenessMaxMs = Math.max(livenessMaxMs, result.stats.livenessMs);
    livenessTotalMs += result.stats.livenessMs;
    if (result.violation !== undefined) {
      violations++;
      report(result);
    } else if (values.verbose) {
      process.stdout.write(`seed=${seed} ok digest=${result.digest} stats=${JSON.stringify(result.stats)}\n`);
      for (const event of result.recentEvents) process.stdout.write(`    ${event}\n`);
    }
  }
  const done = seed - start + 1;
  if (done % 100 === 0) {
    const seconds = (Date.now() - startedMs) / 1000;
    process.stderr.write(`[sim:store] ${done}/${seeds} seeds, ${violations} violations, ${(done / seconds).toFixed(1)} seeds/s\n`);
  }
}
process.stderr.write(
  `[sim:store] ${seeds} seeds (${nodes} replicas), ${operations} client operations in ${((Date.now() - startedMs) / 1000).toFixed(1)} s; ` +
    `whole again after the heal in ${(livenessTotalMs / seeds).toFixed(0)} ms on average, ${livenessMaxMs} ms at most (bound ${LIVENESS_BOUND_MS} ms)\n`,
);
process.stdout.write(`seeds=${seeds} violations=${violations}\n`);
process.exit(violations > 0 ? 1 : 0);
