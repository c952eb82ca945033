// The Wing–Gong search with memoisation (Lowe, "Testing for linearisability", 2017; the same idea
// as Porcupine) for one key's history.
//
// Calls and returns form one doubly linked list in time order. The operations whose calls come
// before the first return in the list are the ones that may take effect next; the search places one
// (if the model allows it), lifts its call and return out of the list, and starts again from the
// head. Reaching a return means the operation it belongs to cannot be placed from here: backtrack.
// A set of (placed-operations bitset, register state) pairs already explored cuts off repeated work,
// which is what makes typical histories take about linear time. The bitset's hash is kept up to date
// incrementally (Zobrist: xor of a fixed random word per operation).
//
// Pending operations (no answer) return at +infinity, so their returns sit at the end of the list:
// reaching one means every completed operation is placed, which is success (pending ones left over
// never took effect). Among the candidates, completed operations are tried before pending ones, since
// a pending write that did not happen is best placed never.
//
// Times: a call and a return at the same millisecond are treated as concurrent (calls sort first),
// so coarse clocks never make the checker reject a history it should accept.

import type { Clock } from '../../actors/clock.js';
import { illegalStep, stepKind, stepRegister, type KeyHistory } from './model.js';


/**
 * What one memo entry costs besides its bits, in 32-bit words: the entry object, the typed array's
 * header and buffer, its slot in the bucket array and the Map (measured: about 150 bytes). Counting
 * only the bits let the memo bound pass 3 GB of heap before it stopped a hard search.
 */
const MEMO_ENTRY_OVERHEAD_WORDS = 40;
export type SearchOutcome =
  | { readonly kind: 'linearizable' }
  | { readonly kind: 'violation' }
  | { readonly kind: 'exhausted'; readonly reason: string };

/** Limits on the work of one checkHistory call, shared by all the searches it runs. */
export class SearchBudget {
  stepsUsed = 0;
  constructor(
    readonly clock: Clock,
    readonly deadlineMs: number,
    readonly maxSteps: number,
    /** Bound on the memo: 32-bit words of stored bitsets; reaching it ends the search as 'exhausted'. */
    readonly maxMemoWords: number,
  ) {}
}

/** Optional instrumentation for explaining a violation. */
export interface SearchObserver {
  /** The operation whose return is being explained. */
  readonly culprit: number;
  /** Register states in which the search got stuck at the culprit's return and the culprit could not run. */
  readonly blockedStates: Set<number>;
}

/** Checks the budget every this many search steps (reading the clock is not free). */
const budgetCheckIntervalSteps = 4096;
/** At most this many blocked states are recorded for an explanation. */
const maxBlockedStates = 16;

/** Event node ids: call of operation i is i, its return is count + i. Sorted by time, calls first at ties. */
export function sortEvents(history: KeyHistory): Int32Array {
  const count = history.pending.length;
  const nodes = new Int32Array(2 * count);
  for (let index = 0; index < 2 * count; index++) nodes[index] = index;
  const timeOf = (node: number): number =>
    node < count ? (history.invokedAtMs[node] ?? 0) : (history.returnedAtMs[node - count] ?? 0);
  nodes.sort((left, right) => {
    const difference = timeOf(left) - timeOf(right);
    if (difference !== 0 && !Number.isNaN(difference)) return difference;
    const leftIsReturn = left >= count ? 1 : 0;
    const rightIsReturn = right >= count ? 1 : 0;
    if (leftIsReturn !== rightIsReturn) return leftIsReturn - rightIsReturn;
    return left - right;
  });
  return nodes;
}

function zobristWords(count: number, seed: number): Uint32Array {
  const words = new Uint32Array(count);
  let state = seed >>> 0;
  for (let index = 0; index < count; index++) {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    words[index] = (z ^ (z >>> 16)) >>> 0;
  }
  return words;
}

interface MemoEntry {
  readonly bits: Uint32Array;
  readonly state: number;
}

/** Searches for a linearization of one key's history. */
export function searchLinearization(
  history: KeyHistory,
  budget: SearchBudget,
  observer?: SearchObserver,
): SearchOutcome {
  const count = history.pending.length;
  if (count === 0) return { kind: 'linearizable' };
  const pending = history.pending;
  const head = 2 * count;
  const next = new Int32Array(2 * count + 1);
  const previous = new Int32Array(2 * count + 1);
  let last = head;
  previous[head] = -1;
  for (const node of sortEvents(history)) {
    next[last] = node;
    previous[node] = last;
    last = node;
  }
  next[last] = -1;

  const unlink = (node: number): void => {
    const before = previous[node] ?? -1;
    const after = next[node] ?? -1;
    next[before] = after;
    if (after !== -1) previous[after] = before;
  };
  const relink = (node: number): void => {
    const before = previous[node] ?? -1;
    const after = next[node] ?? -1;
    next[before] = node;
    if (after !== -1) previous[after] = node;
  };

  const wordCount = (count + 31) >>> 5;
  const bits = new Uint32Array(wordCount);
  const zobristLow = zobristWords(count, 0x5eed1);
  const zobristHigh = zobristWords(count, 0x5eed2);
  let hashLow = 0;
  let hashHigh = 0;
  const memo = new Map<number, MemoEntry[]>();
  const memoKey = (state: number): number => {
    const low = (hashLow ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0;
    const high = (hashHigh ^ Math.imul(state + 1, 0x85ebca77)) & 0x1fffff;
    return high * 0x100000000 + low;
  };
  /** Adds (bits, state) to the memo; false when it was already there. */
  const remember = (state: number): boolean => {
    const key = memoKey(state);
    let bucket = memo.get(key);
    if (bucket === undefined) {
      bucket = [];
      memo.set(key, bucket);
    } else {
      for (const entry of bucket) {
        if (entry.state !== state) continue;
        let same = true;
        for (let word = 0; word < wordCount; word++) {
          if (entry.bits[word] !== bits[word]) {
            same = false;
            break;
          }
        }
        if (same) return false;
      }
    }
    bucket.push({ bits: bits.slice(), state });
    return true;
  };
  const toggle = (operation: number): void => {
    bits[operation >>> 5] = ((bits[operation >>> 5] ?? 0) ^ (1 << (operation & 31))) >>> 0;
    hashLow ^= zobristLow[operation] ?? 0;
    hashHigh ^= zobristHigh[operation] ?? 0;
  };

  // Candidates are tried in three passes: completed reads (get, failed cas), completed writes, then
  // pending writes. A read that is legal now is placed without branching: it changes nothing and can
  // be moved to the front of any valid order from here (nothing unplaced returned before its call),
  // so if placing it fails, this whole configuration fails. That cuts most of the search.
  const passOf = new Uint8Array(count);
  for (let operation = 0; operation < count; operation++) {
    const kind = history.stepKinds[operation];
    passOf[operation] = pending[operation] === 1 ? 2 : kind === stepKind.get || kind === stepKind.casFailed ? 0 : 1;
  }
  const stackOperation = new Int32Array(count);
  const stackState = new Int32Array(count);
  const stackPass = new Uint8Array(count);
  let depth = 0;
  let state = 0;
  let pass = 0;
  let node = next[head] ?? -1;
  let memoWords = 0;
  let steps = 0;
  /** Undoes placements up to and including the latest one that had alternatives; false if none is left. */
  const backtrack = (): boolean => {
    for (;;) {
      if (depth === 0) return false;
      depth--;
      const placed = stackOperation[depth] ?? 0;
      state = stackState[depth] ?? 0;
      pass = stackPass[depth] ?? 0;
      relink(placed + count);
      relink(placed);
      toggle(placed);
      if (pass !== 0) {
        node = next[placed] ?? -1;
        return true;
      }
    }
  };
  try {
    for (;;) {
      steps++;
      if (steps % budgetCheckIntervalSteps === 0) {
        if (budget.stepsUsed + steps > budget.maxSteps) {
          return { kind: 'exhausted', reason: `search step budget of ${budget.maxSteps} steps used up` };
        }
        if (budget.clock.now() > budget.deadlineMs) {
          return { kind: 'exhausted', reason: 'timed out' };
        }
      }
      if (node === -1) return { kind: 'linearizable' };
      if (node >= count) {
        const operation = node - count;
        if (pending[operation] === 1) return { kind: 'linearizable' };
        if (pass < 2) {
          pass++;
          node = next[head] ?? -1;
          continue;
        }
        if (
          observer !== undefined &&
          operation === observer.culprit &&
          observer.blockedStates.size < maxBlockedStates &&
          stepRegister(history, operation, state) === illegalStep
        ) {
          observer.blockedStates.add(state);
        }
        if (!backtrack()) return { kind: 'violation' };
        continue;
      }
      const operation = node;
      if (passOf[operation] === pass) {
        const after = stepRegister(history, operation, state);
        if (after !== illegalStep) {
          toggle(operation);
          if (remember(after)) {
            memoWords += wordCount + MEMO_ENTRY_OVERHEAD_WORDS;
            if (memoWords > budget.maxMemoWords) {
              return { kind: 'exhausted', reason: `memo bound of ${budget.maxMemoWords} words reached` };
            }
            stackOperation[depth] = operation;
            stackState[depth] = state;
            stackPass[depth] = pass;
            depth++;
            state = after;
            unlink(operation);
            unlink(operation + count);
            pass = 0;
            node = next[head] ?? -1;
            continue;
          }
          toggle(operation);
          if (pass === 0) {
            // This configuration plus a legal read was already explored and failed: so does this one.
            if (!backtrack()) return { kind: 'violation' };
            continue;
          }
        }
      }
      node = next[node] ?? -1;
    }
  } finally {
    budget.stepsUsed += steps;
  }
}
