// The linearizability checker's entry point: `checkHistory(history)` says whether a recorded
// client history of the store (see history.ts) is linearizable with respect to a key-value register
// per key, and if not, which key and which operations show it.
//
// It validates the history, partitions it by key (a history is linearizable exactly when each key's
// sub-history is: P-compositionality), and runs the memoised Wing–Gong search (search.ts) on each key.
// Unanswered operations may have taken effect at any time after their call, or never. The search is
// exponential in the worst case, so it has a budget (time, steps, memo size); when that runs out the
// answer is 'unknown' with the reason, never a guess. See docs/linearizability.md.

import { systemClock, type Clock } from '../../actors/clock.js';
import { InvalidHistoryError } from './errors.js';
import { explainViolation } from './explain.js';
import type { History, Operation } from './history.js';
import { prepareKeyHistory } from './model.js';
import { SearchBudget, searchLinearization } from './search.js';

export type LinearizabilityResult =
  | { readonly ok: true; readonly keys: number }
  | { readonly ok: false; readonly key: string; readonly explanation: string; readonly operations: Operation[] }
  | { readonly ok: 'unknown'; readonly reason: string };

export interface CheckOptions {
  /** Time for the whole search (default `defaultCheckTimeoutMs`); explaining a violation gets as much again. */
  readonly timeoutMs?: number;
  /** Bound on search steps over all keys (default `defaultMaxSearchSteps`); mainly for tests of 'unknown'. */
  readonly maxSearchSteps?: number;
  /** Bound on the memo of explored states, in 32-bit words (default `defaultMaxMemoWords`). */
  readonly maxMemoWords?: number;
  /** Where the time comes from (default: the system clock). */
  readonly clock?: Clock;
}

export const defaultCheckTimeoutMs = 60_000;
export const defaultMaxSearchSteps = 2_000_000_000;
/** 256 MiB of memoised bitsets. */
export const defaultMaxMemoWords = 64 * 1024 * 1024;

function validate(history: History): void {
  history.forEach((operation, index) => {
    if (!Number.isInteger(operation.clientId)) throw new InvalidHistoryError(index, 'clientId is not an integer');
    if (typeof operation.input.key !== 'string') throw new InvalidHistoryError(index, 'input.key is not a string');
    if (!Number.isFinite(operation.invokedAtMs)) throw new InvalidHistoryError(index, 'invokedAtMs is not a finite number');
    const returnedAtMs = operation.returnedAtMs;
    if (returnedAtMs === undefined) {
      if (operation.output !== undefined) throw new InvalidHistoryError(index, 'output without returnedAtMs');
      return;
    }
    if (!Number.isFinite(returnedAtMs)) throw new InvalidHistoryError(index, 'returnedAtMs is not a finite number');
    if (returnedAtMs < operation.invokedAtMs) {
      throw new InvalidHistoryError(index, `returnedAtMs ${returnedAtMs} is before invokedAtMs ${operation.invokedAtMs}`);
    }
    if (operation.output === undefined) throw new InvalidHistoryError(index, 'returnedAtMs without output');
    if (operation.output.kind !== operation.input.kind) {
      throw new InvalidHistoryError(index, `output kind ${operation.output.kind} for a ${operation.input.kind}`);
    }
  });
}

function partitionByKey(history: History): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const operation of history) {
    let operations = byKey.get(operation.input.key);
    if (operations === undefined) {
      operations = [];
      byKey.set(operation.input.key, operations);
    }
    operations.push(operation);
  }
  return byKey;
}

/**
 * Checks that `history` is linearizable. Throws InvalidHistoryError for a malformed history.
 * Returns the first failing key (in key order) with an explanation, or 'unknown' if some key could not
 * be decided within the budget and none failed.
 */
export function checkHistory(history: History, options: CheckOptions = {}): LinearizabilityResult {
  validate(history);
  const clock = options.clock ?? systemClock;
  const timeoutMs = options.timeoutMs ?? defaultCheckTimeoutMs;
  const maxSearchSteps = options.maxSearchSteps ?? defaultMaxSearchSteps;
  const maxMemoWords = options.maxMemoWords ?? defaultMaxMemoWords;
  const budget = new SearchBudget(clock, clock.now() + timeoutMs, maxSearchSteps, maxMemoWords);
  const byKey = partitionByKey(history);
  const undecided: string[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const operations = byKey.get(key) ?? [];
    const outcome = searchLinearization(prepareKeyHistory(key, operations), budget);
    if (outcome.kind === 'linearizable') continue;
    if (outcome.kind === 'exhausted') {
      undecided.push(`key ${JSON.stringify(key)} (${operations.length} operations): ${outcome.reason}`);
      continue;
    }
    let indexes: Map<Operation, number> | undefined;
    const indexOf = (operation: Operation): number | undefined => {
      indexes ??= new Map(history.map((one, index) => [one, index]));
      return indexes.get(operation);
    };
    const explainBudget = new SearchBudget(clock, clock.now() + timeoutMs, maxSearchSteps, maxMemoWords);
    const { explanation, operations: involved } = explainViolation(key, operations, indexOf, explainBudget);
    return { ok: false, key, explanation, operations: involved };
  }
  if (undecided.length > 0) {
    return {
      ok: 'unknown',
      reason: `search budget exhausted for ${undecided.length} of ${byKey.size} keys (none failed): ${undecided.join('; ')}`,
    };
  }
  return { ok: true, keys: byKey.size };
}
