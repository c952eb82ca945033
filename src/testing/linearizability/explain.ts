// Turns a key that failed the search into words a person can act on.
// It finds the shortest failing prefix of the key's history (cut at a return: linearizability is
// prefix-closed, so a binary search works; operations that return after the cut count as
// unanswered). The operation whose return ends that prefix is the one that cannot be explained:
// everything before it has a valid order. The explanation names it, the register values the search
// was left with when it had to take effect, and the operations around it: those overlapping it in
// time, the latest ones that finished before it started, and the writes of the value it needed.

import type { Operation, OperationInput } from './history.js';
import { prepareKeyHistory } from './model.js';
import { searchLinearization, type SearchBudget } from './search.js';

export interface Explanation {
  readonly explanation: string;
  readonly operations: Operation[];
}

/** Lists every operation of a prefix up to this size; larger ones show only the relevant ones. */
const maxFullListingOperations = 12;
/** The relevant-operation list is cut at this size. */
const maxListedOperations = 40;
/** Values are shown up to this many characters. */
const maxShownValueChars = 40;

function showValue(value: string | null): string {
  if (value === null) return 'absent';
  const shown = value.length > maxShownValueChars ? `${value.slice(0, maxShownValueChars)}…` : value;
  return JSON.stringify(shown);
}

function describeInput(input: OperationInput): string {
  switch (input.kind) {
    case 'get':
      return 'get';
    case 'put':
      return `put ${showValue(input.value)}`;
    case 'delete':
      return 'delete';
    case 'cas':
      return `cas ${showValue(input.expected)} → ${showValue(input.value)}`;
  }
}

/** One line for an operation, e.g. `#12 client 3: get → "b" [40 ms … 45 ms]`. */
export function describeOperation(operation: Operation, index: number | undefined): string {
  const output = operation.output;
  let result = '';
  if (output?.kind === 'get') result = ` → ${showValue(output.value)}`;
  else if (output?.kind === 'cas') result = output.ok ? ' → ok' : ' → failed';
  const end = operation.returnedAtMs === undefined ? 'no answer' : `${operation.returnedAtMs} ms`;
  const label = index === undefined ? '' : `#${index} `;
  return `${label}client ${operation.clientId}: ${describeInput(operation.input)}${result} [${operation.invokedAtMs} ms … ${end}]`;
}

interface Event {
  readonly operation: number;
  readonly isReturn: boolean;
  readonly timeMs: number;
}

/** Events in the order the search uses: by time, calls before returns at the same time. */
function sortedEvents(operations: readonly Operation[]): Event[] {
  const events: Event[] = [];
  operations.forEach((operation, index) => {
    events.push({ operation: index, isReturn: false, timeMs: operation.invokedAtMs });
    if (operation.returnedAtMs !== undefined) {
      events.push({ operation: index, isReturn: true, timeMs: operation.returnedAtMs });
    }
  });
  events.sort((left, right) => {
    if (left.timeMs !== right.timeMs) return left.timeMs - right.timeMs;
    if (left.isReturn !== right.isReturn) return left.isReturn ? 1 : -1;
    return left.operation - right.operation;
  });
  return events;
}

/** The operations of the prefix events[0..end] (inclusive); those returning later become unanswered. */
function prefixOperations(
  operations: readonly Operation[],
  events: readonly Event[],
  end: number,
): { readonly prefix: Operation[]; readonly originals: Map<Operation, Operation> } {
  const called = new Set<number>();
  const returned = new Set<number>();
  for (let position = 0; position <= end; position++) {
    const event = events[position];
    if (event === undefined) break;
    (event.isReturn ? returned : called).add(event.operation);
  }
  const prefix: Operation[] = [];
  const originals = new Map<Operation, Operation>();
  operations.forEach((operation, index) => {
    if (!called.has(index)) return;
    const copy: Operation = returned.has(index)
      ? operation
      : { clientId: operation.clientId, input: operation.input, invokedAtMs: operation.invokedAtMs };
    prefix.push(copy);
    originals.set(copy, operation);
  });
  return { prefix, originals };
}

/** The value an operation needed the register to hold, if any. */
function neededValue(operation: Operation): string | null | undefined {
  if (operation.output?.kind === 'get') return operation.output.value;
  if (operation.input.kind === 'cas' && operation.output?.kind === 'cas' && operation.output.ok) {
    return operation.input.expected;
  }
  return undefined;
}

function writes(operation: Operation, value: string | null): boolean {
  const input = operation.input;
  if (input.kind === 'put') return input.value === value;
  if (input.kind === 'delete') return value === null;
  if (input.kind === 'cas') {
    return input.value === value && (operation.output?.kind !== 'cas' || operation.output.ok);
  }
  return false;
}

function relevantOperations(prefix: readonly Operation[], culprit: Operation): Operation[] {
  if (prefix.length <= maxFullListingOperations) return [...prefix];
  const returnedAtMs = (operation: Operation): number => operation.returnedAtMs ?? Number.POSITIVE_INFINITY;
  const culpritReturnMs = returnedAtMs(culprit);
  const chosen = new Set<Operation>([culprit]);
  // Overlapping the culprit in time (unanswered ones overlap everything after their call).
  for (const operation of prefix) {
    if (operation.invokedAtMs <= culpritReturnMs && returnedAtMs(operation) >= culprit.invokedAtMs) {
      chosen.add(operation);
    }
  }
  // The latest operations that finished before the culprit started: none of them precedes another one.
  const before = prefix.filter((operation) => returnedAtMs(operation) < culprit.invokedAtMs);
  const latestCallBeforeMs = before.reduce((latest, operation) => Math.max(latest, operation.invokedAtMs), -Infinity);
  for (const operation of before) {
    if (returnedAtMs(operation) >= latestCallBeforeMs) chosen.add(operation);
  }
  const needed = neededValue(culprit);
  if (needed !== undefined) {
    for (const operation of prefix) if (writes(operation, needed)) chosen.add(operation);
  }
  return [...chosen].sort((left, right) => left.invokedAtMs - right.invokedAtMs);
}

/**
 * Explains why `operations` (one key's, known not to be linearizable) fail. Uses its own `budget`;
 * when that runs out it explains the shortest failing prefix it has found so far.
 */
export function explainViolation(
  key: string,
  operations: readonly Operation[],
  indexOf: (operation: Operation) => number | undefined,
  budget: SearchBudget,
): Explanation {
  const events = sortedEvents(operations);
  const returnPositions: number[] = [];
  events.forEach((event, position) => {
    if (event.isReturn) returnPositions.push(position);
  });
  // Invariant: the prefix ending at returnPositions[high] fails (the whole history does).
  let low = 0;
  let high = returnPositions.length - 1;
  let minimal = true;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const { prefix } = prefixOperations(operations, events, returnPositions[middle] ?? 0);
    const outcome = searchLinearization(prepareKeyHistory(key, prefix), budget);
    if (outcome.kind === 'violation') high = middle;
    else if (outcome.kind === 'linearizable') low = middle + 1;
    else {
      minimal = false;
      break;
    }
  }
  const endPosition = returnPositions[high] ?? events.length - 1;
  const culpritOriginal = operations[events[endPosition]?.operation ?? 0];
  if (culpritOriginal === undefined) throw new Error('a failing history has no operations');
  const { prefix, originals } = prefixOperations(operations, events, endPosition);

  const prepared = prepareKeyHistory(key, prefix);
  const culprit = prepared.operations.indexOf(culpritOriginal);
  const blockedStates = new Set<number>();
  if (culprit >= 0) searchLinearization(prepared, budget, { culprit, blockedStates });

  const lines: string[] = [];
  lines.push(`key ${JSON.stringify(key)} is not linearizable (${operations.length} operations on it).`);
  lines.push(
    minimal
      ? `The shortest failing prefix of its history ends when this operation returns:`
      : `A failing prefix of its history (the search budget ran out before the shortest was found) ends when this operation returns:`,
  );
  lines.push(`  ${describeOperation(culpritOriginal, indexOf(culpritOriginal))}`);
  if (minimal) {
    lines.push(`Everything before that return can be put in a valid order, but no order can include this result.`);
  }
  if (blockedStates.size > 0) {
    const shown = [...blockedStates].map((state) => showValue(prepared.values[state] ?? null));
    lines.push(
      `Wherever it could take effect, the operations ordered before it leave the register holding ${shown.join(' or ')}.`,
    );
  } else if (culprit >= 0) {
    lines.push(`It can take effect, but every order that includes it breaks another completed operation.`);
  }
  const relevant = relevantOperations(prefix, culpritOriginal).map((operation) => originals.get(operation) ?? operation);
  lines.push(
    relevant.length === prefix.length
      ? `All operations up to then, by invocation time:`
      : `Operations that bear on it (overlapping it, finished just before it, or writing the value it saw), by invocation time:`,
  );
  for (const operation of relevant.slice(0, maxListedOperations)) {
    lines.push(`  ${describeOperation(operation, indexOf(operation))}`);
  }
  if (relevant.length > maxListedOperations) lines.push(`  … and ${relevant.length - maxListedOperations} more`);
  return { explanation: lines.join('\n'), operations: relevant };
}
