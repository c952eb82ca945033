// Shrinking a failing seed to the shortest trace that still shows the violation: delta debugging
// (ddmin, Zeller and Hildebrandt) over the seed's list of fault events, replaying the same seed with
// subsets of the list and keeping any subset that still fails with the same kind of violation; then
// calming the message weather (no drops, no duplicates, no delays) where the failure survives it.
// Every candidate is a full deterministic replay, so the result replays identically from its text
// form (encodePlan). Bounded by MAX_SHRINK_RUNS replays (a partial shrink is still a valid, shorter plan).

import type { FaultEvent, FaultPlan } from './faults.js';
import { runPlan } from './run.js';
import type { SimOptions, SimResult } from './run.js';

export const MAX_SHRINK_RUNS = 1500;

export interface Shrunk {
  readonly plan: FaultPlan;
  readonly result: SimResult;
  readonly runs: number;
}

export function shrinkFailure(seed: number, options: SimOptions, failing: SimResult, maxRuns = MAX_SHRINK_RUNS): Shrunk {
  const kind = failing.violationKind;
  let runs = 0;
  const fails = (plan: FaultPlan): boolean => {
    if (runs >= maxRuns) return false;
    runs++;
    return runPlan(seed, options, plan).violationKind === kind;
  };
  // Events after the violation cannot have caused it.
  const cutoff = failing.violationStep ?? Number.POSITIVE_INFINITY;
  let plan: FaultPlan = { weather: failing.plan.weather, events: failing.plan.events.filter((e) => e.step <= cutoff) };
  if (!fails(plan)) return { plan: failing.plan, result: failing, runs };
  plan = { weather: plan.weather, events: ddmin(plan.events, (events) => fails({ weather: plan.weather, events })) };
  for (const calm of [{ dropChance: 0 }, { duplicateChance: 0 }, { delayChance: 0 }]) {
    const candidate: FaultPlan = { weather: { ...plan.weather, ...calm }, events: plan.events };
    if (fails(candidate)) plan = candidate;
  }
  // The reported trace is exactly the final plan's replay.
  const result = runPlan(seed, options, plan);
  runs++;
  return result.violationKind === kind ? { plan, result, runs } : { plan: failing.plan, result: failing, runs };
}

/** The classic ddmin: a 1-minimal sublist of `events` for which `fails` holds (it holds for `events`). */
export function ddmin(events: readonly FaultEvent[], fails: (events: readonly FaultEvent[]) => boolean): FaultEvent[] {
  let current = [...events];
  if (current.length > 0 && fails([])) return [];
  let granularity = 2;
  while (current.length >= 2) {
    const chunks = split(current, granularity);
    let reduced = false;
    for (const chunk of chunks) {
      if (fails(chunk)) {
        current = chunk;
        granularity = 2;
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      for (let i = 0; i < chunks.length; i++) {
        const complement = chunks.filter((_, j) => j !== i).flat();
        if (fails(complement)) {
          current = complement;
          granularity = Math.max(granularity - 1, 2);
          reduced = true;
          break;
        }
      }
    }
    if (!reduced) {
      if (granularity >= current.length) break;
      granularity = Math.min(current.length, granularity * 2);
    }
  }
  if (current.length === 1 && fails([])) return [];
  return current;
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  const size = items.length / parts;
  for (let i = 0; i < parts; i++) out.push(items.slice(Math.round(i * size), Math.round((i + 1) * size)));
  return out.filter((chunk) => chunk.length > 0);
}
