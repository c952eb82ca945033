// Seeded test bodies: a failure inside a seeded run always names its seed, so that it can be replayed
// exactly (KPLANE_SEED=<seed> narrows a seeded test to that seed; see docs/simulation.md). Framework
// agnostic: an ava test wraps its body with runSeeded / forEachSeed and lets the error fail the test.
import { ActorConfigError } from '../errors.js';

/** The environment variable that narrows seeded tests to the seeds it names. */
export const SEED_ENV_VAR = 'KPLANE_SEED';

/** A seeded body failed. The message starts with `seed=N`; the original error is the cause. */
export class SeededFailure extends Error {
  readonly code = 'SEEDED_FAILURE';
  readonly retryable = false;
  override readonly name = 'SeededFailure';

  constructor(
    readonly seed: number,
    cause: unknown,
  ) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`seed=${seed} failed (replay with ${SEED_ENV_VAR}=${seed}): ${detail}`, { cause });
  }
}

/** Runs `body(seed)`; whatever it throws comes back as a SeededFailure naming the seed. */
export async function runSeeded<T>(seed: number, body: (seed: number) => T | Promise<T>): Promise<T> {
  try {
    return await body(seed);
  } catch (error) {
    if (error instanceof SeededFailure) throw error;
    throw new SeededFailure(seed, error);
  }
}

/** Runs `body` for each seed in turn, stopping at the first failure (which names its seed). */
export async function forEachSeed(seeds: Iterable<number>, body: (seed: number) => void | Promise<void>): Promise<void> {
  for (const seed of seeds) await runSeeded(seed, body);
}

/**
 * The seeds a seeded test should run: `defaults`, unless `override` (the value of KPLANE_SEED) names
 * others: "42", "1,5,9" or a range "100..199".
 */
export function seedsToRun(defaults: readonly number[], override: string | undefined): number[] {
  if (override === undefined || override.trim() === '') return [...defaults];
  const seeds: number[] = [];
  for (const part of override.split(',')) {
    const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(part);
    if (range !== null) {
      const first = Number(range[1]);
      const last = Number(range[2]);
      if (last < first || last - first > 1_000_000) throw new ActorConfigError(`${SEED_ENV_VAR}: bad range ${part.trim()}`);
      for (let seed = first; seed <= last; seed++) seeds.push(seed);
      continue;
    }
    if (!/^\s*\d+\s*$/.test(part)) throw new ActorConfigError(`${SEED_ENV_VAR}: not a seed: ${part.trim()}`);
    seeds.push(Number(part));
  }
  return seeds;
}
