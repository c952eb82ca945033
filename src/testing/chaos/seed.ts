// The seed of a chaos run: KPLANE_CHAOS_SEED (or `npm run test:chaos -- --seed N`, which sets it)
// replays a run; otherwise each scenario gets a fresh seed, printed with its result. The seed drives
// the workload's calls and keys and the nemesis's choices of fault, target and timing; the real
// processes' timing is not under it, so a replay repeats the plan, not every interleaving.
import { randomInt } from 'node:crypto';

export const SEED_ENV = 'KPLANE_CHAOS_SEED';

export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const fixed = env[SEED_ENV];
  if (fixed === undefined || fixed === '') return randomInt(1, 2 ** 31 - 1);
  const seed = Number(fixed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`${SEED_ENV} must be a non-negative integer, got "${fixed}"`);
  return seed;
}
