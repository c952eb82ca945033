// The register model for one key, compiled for the search.
// The checker partitions a history by key (P-compositionality: a history is linearizable exactly
// when each key's sub-history is), so the model is a single register whose state is a value or
// "absent". Values are interned to small integers (0 = absent) so that a search state is one int,
// and each operation is reduced to a step kind and one or two value ids.
//
// Operations without an answer (timed out, client died) may have taken effect at any time after
// their invocation, or never. The search gives them a return time of +infinity and never requires
// them to be placed; so a pending get (which changes nothing) is dropped, and a pending cas is
// modelled as "applied" (its expected value must match): "not applied" is the same as not placing it.
// `prepareKeyHistory` also drops pending writes that provably cannot help (see `pruneUselessPending`),
// which keeps the search small after a crash leaves many writes unanswered.

import type { Operation } from './history.js';

export const absentStateId = 0;
/** The step of an operation that cannot happen in the given state. */
export const illegalStep = -1;

/** How an operation changes the register; the ids are the numbers stored in `stepKinds`. */
export const stepKind = {
  /** Completed read: legal when the state is argumentA. */
  get: 0,
  /** Put (completed or pending): the state becomes argumentA. */
  put: 1,
  /** Delete (completed or pending): the state becomes absent. */
  delete: 2,
  /** Completed cas that succeeded, or a pending cas: legal when the state is argumentA; becomes argumentB. */
  casApplied: 3,
  /** Completed cas that failed: legal when the state is not argumentA; changes nothing. */
  casFailed: 4,
} as const;

/** One key's operations ready for the search; index i everywhere is operation i. */
export interface KeyHistory {
  readonly key: string;
  /** The original operations, for reporting. */
  readonly operations: readonly Operation[];
  readonly invokedAtMs: Float64Array;
  /** +Infinity for pending operations. */
  readonly returnedAtMs: Float64Array;
  /** 1 for pending (no answer), 0 for completed. */
  readonly pending: Uint8Array;
  readonly stepKinds: Uint8Array;
  readonly argumentA: Int32Array;
  readonly argumentB: Int32Array;
  /** Value id to value; id 0 is absent (null). */
  readonly values: readonly (string | null)[];
}

/** The state after `operation` runs in `state`, or `illegalStep`. */
export function stepRegister(history: KeyHistory, operation: number, state: number): number {
  const a = history.argumentA[operation] ?? illegalStep;
  switch (history.stepKinds[operation]) {
    case stepKind.get:
      return state === a ? state : illegalStep;
    case stepKind.put:
      return a;
    case stepKind.delete:
      return absentStateId;
    case stepKind.casApplied:
      return state === a ? (history.argumentB[operation] ?? illegalStep) : illegalStep;
    case stepKind.casFailed:
      return state === a ? illegalStep : state;
    default:
      throw new Error(`impossible step kind for operation ${operation}`);
  }
}

class ValueInterner {
  readonly values: (string | null)[] = [null];
  private readonly ids = new Map<string, number>();
  id(value: string | null): number {
    if (value === null) return absentStateId;
    let id = this.ids.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(value, id);
    }
    return id;
  }
}

interface CompiledOperation {
  readonly operation: Operation;
  readonly pending: boolean;
  readonly invokedAtMs: number;
  readonly returnedAtMs: number;
  readonly kind: number;
  readonly a: number;
  readonly b: number;
}

function compile(operation: Operation, interner: ValueInterner): CompiledOperation | undefined {
  const pending = operation.returnedAtMs === undefined || operation.output === undefined;
  const base = {
    operation,
    pending,
    invokedAtMs: operation.invokedAtMs,
    returnedAtMs: pending ? Number.POSITIVE_INFINITY : (operation.returnedAtMs ?? Number.POSITIVE_INFINITY),
  };
  const input = operation.input;
  const output = operation.output;
  switch (input.kind) {
    case 'get':
      if (pending || output?.kind !== 'get') return undefined;
      return { ...base, kind: stepKind.get, a: interner.id(output.value), b: 0 };
    case 'put':
      return { ...base, kind: stepKind.put, a: interner.id(input.value), b: 0 };
    case 'delete':
      return { ...base, kind: stepKind.delete, a: 0, b: 0 };
    case 'cas': {
      const applied = pending || (output?.kind === 'cas' && output.ok);
      const expected = interner.id(input.expected);
      const value = interner.id(input.value);
      return { ...base, kind: applied ? stepKind.casApplied : stepKind.casFailed, a: expected, b: value };
    }
  }
}

/** The value id a writing operation leaves, or undefined for one that does not write. */
function writtenValue(operation: CompiledOperation): number | undefined {
  switch (operation.kind) {
    case stepKind.put:
      return operation.a;
    case stepKind.delete:
      return absentStateId;
    case stepKind.casApplied:
      return operation.b;
    default:
      return undefined;
  }
}

/**
 * Drops pending writes that no linearization needs. Placing a pending write W (which leaves value v)
 * changes the state to v until the next write; every operation placed in that stretch must accept v.
 * If no operation that could come after W in real time needs the state to be v (a get of v, a cas
 * expecting v) and no failed cas could come after W (it needs "not e", which W might provide), then
 * the stretch can only hold writes, and removing W from any valid order leaves a valid order.
 * Removing a pending cas removes its need, so this repeats until nothing changes.
 */
function pruneUselessPending(operations: CompiledOperation[]): CompiledOperation[] {
  let current = operations;
  for (;;) {
    let latestFailedCasReturnMs = Number.NEGATIVE_INFINITY;
    const latestNeedReturnMs = new Map<number, number>();
    const need = (value: number, returnedAtMs: number): void => {
      const known = latestNeedReturnMs.get(value);
      if (known === undefined || known < returnedAtMs) latestNeedReturnMs.set(value, returnedAtMs);
    };
    for (const operation of current) {
      if (operation.kind === stepKind.get) need(operation.a, operation.returnedAtMs);
      else if (operation.kind === stepKind.casApplied) need(operation.a, operation.returnedAtMs);
      else if (operation.kind === stepKind.casFailed) {
        latestFailedCasReturnMs = Math.max(latestFailedCasReturnMs, operation.returnedAtMs);
      }
    }
    const kept = current.filter((operation) => {
      if (!operation.pending) return true;
      const value = writtenValue(operation);
      if (value === undefined) return true;
      // A pending cas that writes what it expects changes nothing: never needed.
      if (operation.kind === stepKind.casApplied && operation.a === value) return false;
      if (latestFailedCasReturnMs >= operation.invokedAtMs) return true;
      const latestNeed = latestNeedReturnMs.get(value);
      // A pending cas's own need of its expected value is not a need of what it writes (a !== value).
      return latestNeed !== undefined && latestNeed >= operation.invokedAtMs;
    });
    if (kept.length === current.length) return kept;
    current = kept;
  }
}

/** Compiles one key's operations (all with `input.key === key`) for the search. */
export function prepareKeyHistory(key: string, operations: readonly Operation[]): KeyHistory {
  const interner = new ValueInterner();
  const compiled: CompiledOperation[] = [];
  for (const operation of operations) {
    const one = compile(operation, interner);
    if (one !== undefined) compiled.push(one);
  }
  const kept = pruneUselessPending(compiled);
  const count = kept.length;
  const history: KeyHistory = {
    key,
    operations: kept.map((operation) => operation.operation),
    invokedAtMs: new Float64Array(count),
    returnedAtMs: new Float64Array(count),
    pending: new Uint8Array(count),
    stepKinds: new Uint8Array(count),
    argumentA: new Int32Array(count),
    argumentB: new Int32Array(count),
    values: interner.values,
  };
  kept.forEach((operation, index) => {
    history.invokedAtMs[index] = operation.invokedAtMs;
    history.returnedAtMs[index] = operation.returnedAtMs;
    history.pending[index] = operation.pending ? 1 : 0;
    history.stepKinds[index] = operation.kind;
    history.argumentA[index] = operation.a;
    history.argumentB[index] = operation.b;
  });
  return history;
}
