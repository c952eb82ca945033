#!/usr/bin/env node
// `npm test`: type-check and compile with tsc, run the ava suites on the compiled output, and end
// with one plain line "N passed, M failed, K skipped" (CI reads that line, not ava's own output).
// Usage: node scripts/test.mjs [unit|sim|cluster|chaos ...] [--seed N] — no argument runs unit, sim and
// cluster (the long chaos tier only when asked for).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

// `--seed N` (the chaos tier) is passed to the tests as KPLANE_CHAOS_SEED.
const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
if (seedAt >= 0) {
  process.env.KPLANE_CHAOS_SEED = args[seedAt + 1] ?? '';
  args.splice(seedAt, 2);
}
const tiers = args;
const started = Date.now();

function summary(passed, failed, skipped) {
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`\ntest time ${seconds}s`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
}

console.log('type-checking and compiling (tsc)…');
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (tsc.status !== 0) {
  console.log('tsc failed: the type errors are above');
  summary(0, 1, 0);
  process.exit(1);
}

const patterns = (tiers.length === 0 ? ['unit', 'sim', 'cluster'] : tiers)
  .filter((tier) => existsSync(`dist/test/${tier}`))
  .map((tier) => `dist/test/${tier}/**/*.test.js`);
if (patterns.length === 0) {
  console.log('no test files found');
  summary(0, 1, 0);
  process.exit(1);
}

const counts = { passed: 0, failed: 0, skipped: 0 };
// ava's TAP reporter ends with totals; its default reporter omits the pass count when a test fails.
const rules = [
  [/^# pass (\d+)/, 'passed'],
  [/^# fail (\d+)/, 'failed'],
  [/^# skip (\d+)/, 'skipped'],
];

// The chaos tier starts whole clusters: one file at a time, so two clusters never share the 2 cores.
const serial = tiers.includes('chaos') ? ['--concurrency=1'] : [];
const ava = spawn(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', '--tap', ...serial, ...patterns], {
  stdio: ['ignore', 'pipe', 'pipe'],
  env: { ...process.env, FORCE_COLOR: '0' },
});
let pending = '';
function scan(chunk) {
  process.stdout.write(chunk);
  pending += chunk.toString('utf8');
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    for (const [pattern, key] of rules) {
      const match = pattern.exec(line);
      if (match) counts[key] += Number(match[1]);
    }
  }
}
ava.stdout.on('data', scan);
ava.stderr.on('data', scan);
ava.on('close', (code) => {
  scan('\n');
  let failed = counts.failed;
  // ava failing without saying why (a crashed worker, a timeout) still counts as a failure.
  if (code !== 0 && failed === 0) failed = 1;
  summary(counts.passed, failed, counts.skipped);
  process.exit(failed > 0 ? 1 : 0);
});
