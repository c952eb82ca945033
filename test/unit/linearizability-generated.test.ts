// Generated histories for the linearizability checker: good ones from a real sequential register
// simulation (must pass), the same ones mutated so that no order can explain them (must fail), and
// small arbitrary histories compared against a brute-force checker that tries every order.
// Also logs (never asserts) how long large histories take to check.

import test from 'ava';
import fc from 'fast-check';
import { Prng } from '../../src/actors/random.js';
import { checkHistory } from '../../src/testing/linearizability/check.js';
import type { History, Operation, OperationInput } from '../../src/testing/linearizability/history.js';
import { simulateRegisterHistory, type RegisterSimulationOptions } from '../../src/testing/linearizability/simulate.js';

/**
 * The generators' seed: fixed, so that `npm test` checks the same histories every run. A random seed
 * now and then drew a history whose violation search is exponential (many unanswered writes on one
 * key) and ran past the budget; KPLANE_SEED=N explores other histories (a failure prints its seed).
 */
const GENERATED_SEED = Number(process.env['KPLANE_SEED'] ?? 42);
if (process.env['KPLANE_SEED'] !== undefined) console.log(`linearizability-generated: KPLANE_SEED=${GENERATED_SEED}`);

const simulationArbitrary = fc.record({
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  clients: fc.integer({ min: 1, max: 8 }),
  keys: fc.integer({ min: 1, max: 3 }),
  operations: fc.integer({ min: 1, max: 120 }),
  valuesPerKey: fc.integer({ min: 0, max: 4 }),
  noAnswerChance: fc.constantFrom(0, 0.02, 0.1),
  tickMs: fc.constantFrom(1, 10),
});

function simulate(options: RegisterSimulationOptions & { readonly seed: number }): History {
  return simulateRegisterHistory(new Prng(options.seed), options);
}

test('histories of a sequential register with random overlapping intervals are linearizable', (t) => {
  fc.assert(
    fc.property(simulationArbitrary, (options) => {
      const history = simulate(options);
      const result = checkHistory(history);
      if (result.ok !== true) throw new Error(`seed ${options.seed}: ${JSON.stringify(result)}`);
      return result.keys === new Set(history.map((operation) => operation.input.key)).size;
    }),
    { numRuns: 100, seed: GENERATED_SEED },
  );
  t.pass();
});

function withGetValue(history: History, index: number, value: string | null): History {
  const operation = history[index];
  if (operation?.returnedAtMs === undefined) throw new Error('not a completed operation');
  const changed: Operation = { ...operation, output: { kind: 'get', value } };
  return history.map((one, position) => (position === index ? changed : one));
}

function completedGets(history: History): number[] {
  const indexes: number[] = [];
  history.forEach((operation, index) => {
    if (operation.input.kind === 'get' && operation.output !== undefined) indexes.push(index);
  });
  return indexes;
}

test('the same histories with a read of a never-written value are rejected', (t) => {
  let mutated = 0;
  fc.assert(
    fc.property(simulationArbitrary, fc.nat(), (options, pick) => {
      const history = simulate(options);
      const gets = completedGets(history);
      fc.pre(gets.length > 0);
      const index = gets[pick % gets.length] ?? 0;
      mutated++;
      const result = checkHistory(withGetValue(history, index, 'never-written'));
      if (result.ok !== false) throw new Error(`seed ${options.seed}: ${JSON.stringify(result)}`);
      return result.key === history[index]?.input.key && result.operations.includes(withGetValue(history, index, 'x')[index] as Operation) === false;
    }),
    { numRuns: 80, seed: GENERATED_SEED + 1 },
  );
  t.true(mutated > 40, `only ${mutated} histories had a read to mutate`);
});

/** Does `operation` surely leave a value other than `value` when it completes? */
function surelyOverwrites(operation: Operation, value: string): boolean {
  if (operation.output === undefined) return false;
  const input = operation.input;
  if (input.kind === 'put') return input.value !== value;
  if (input.kind === 'delete') return true;
  if (input.kind === 'cas') return operation.output.kind === 'cas' && operation.output.ok && input.value !== value;
  return false;
}

function mayWrite(operation: Operation, value: string): boolean {
  const input = operation.input;
  if (input.kind === 'put') return input.value === value;
  if (input.kind === 'cas') return input.value === value && (operation.output?.kind !== 'cas' || operation.output.ok);
  return false;
}

/**
 * A value the read at `index` cannot have seen given real-time order: it was written, but every
 * write of it was followed (in real time) by a completed overwrite that finished before the read began.
 */
function impossibleStaleValue(history: History, index: number): string | undefined {
  const read = history[index];
  if (read?.output?.kind !== 'get') return undefined;
  const seen = read.output.value;
  const sameKey = history.filter((operation) => operation.input.key === read.input.key);
  const candidates = new Set<string>();
  for (const operation of sameKey) {
    const input: OperationInput = operation.input;
    if (input.kind === 'put' || input.kind === 'cas') candidates.add(input.value);
  }
  for (const value of candidates) {
    if (value === seen) continue;
    const writers = sameKey.filter((operation) => mayWrite(operation, value));
    const allSuperseded = writers.every((writer) => {
      const writerReturnMs = writer.returnedAtMs;
      if (writerReturnMs === undefined) return false;
      return sameKey.some(
        (overwrite) =>
          surelyOverwrites(overwrite, value) &&
          overwrite.invokedAtMs > writerReturnMs &&
          (overwrite.returnedAtMs ?? Number.POSITIVE_INFINITY) < read.invokedAtMs,
      );
    });
    if (writers.length > 0 && allSuperseded) return value;
  }
  return undefined;
}

test('the same histories with a read of a stale value, impossible in real-time order, are rejected', (t) => {
  let mutated = 0;
  fc.assert(
    fc.property(simulationArbitrary, (options) => {
      const history = simulate({ ...options, operations: options.operations + 40 });
      for (const index of completedGets(history)) {
        const stale = impossibleStaleValue(history, index);
        if (stale === undefined) continue;
        mutated++;
        const result = checkHistory(withGetValue(history, index, stale));
        if (result.ok !== false) throw new Error(`seed ${options.seed}, read #${index} → ${stale}: ${JSON.stringify(result)}`);
        return result.key === history[index]?.input.key;
      }
      return true;
    }),
    { numRuns: 200, seed: GENERATED_SEED + 2 },
  );
  t.true(mutated > 50, `only ${mutated} histories had a read that could be made stale`);
});

// ---- brute force: every order of every subset of the unanswered operations ----

function bruteForceLinearizable(history: History): boolean {
  const count = history.length;
  const placed = new Array<boolean>(count).fill(false);
  const returnedAtMs = (operation: Operation): number => operation.returnedAtMs ?? Number.POSITIVE_INFINITY;
  const search = (states: ReadonlyMap<string, string | null>): boolean => {
    if (history.every((operation, index) => placed[index] === true || operation.output === undefined)) return true;
    for (let index = 0; index < count; index++) {
      const operation = history[index];
      if (operation === undefined || placed[index] === true) continue;
      // It may go next only if no unplaced operation finished before it started.
      const blocked = history.some(
        (other, otherIndex) => placed[otherIndex] !== true && returnedAtMs(other) < operation.invokedAtMs,
      );
      if (blocked) continue;
      const current = states.get(operation.input.key) ?? null;
      const outcomes: (string | null)[] = [];
      const input = operation.input;
      const output = operation.output;
      if (input.kind === 'get') {
        if (output === undefined || (output.kind === 'get' && output.value === current)) outcomes.push(current);
      } else if (input.kind === 'put') outcomes.push(input.value);
      else if (input.kind === 'delete') outcomes.push(null);
      else {
        const matches = current === input.expected;
        if (output === undefined) outcomes.push(matches ? input.value : current);
        else if (output.kind === 'cas' && output.ok === matches) outcomes.push(matches ? input.value : current);
      }
      for (const outcome of outcomes) {
        placed[index] = true;
        const next = new Map(states);
        next.set(input.key, outcome);
        const found = search(next);
        placed[index] = false;
        if (found) return true;
      }
    }
    return false;
  };
  return search(new Map());
}

const smallValue = fc.constantFrom<string | null>('a', 'b', null);
const smallOperation = fc
  .record({
    clientId: fc.integer({ min: 0, max: 3 }),
    key: fc.constantFrom('x', 'x', 'y'),
    kind: fc.constantFrom('get', 'put', 'delete', 'cas'),
    value: smallValue,
    expected: smallValue,
    ok: fc.boolean(),
    invokedAtMs: fc.integer({ min: 0, max: 10 }),
    lengthMs: fc.integer({ min: 0, max: 6 }),
    answered: fc.boolean(),
  })
  .map(({ clientId, key, kind, value, expected, ok, invokedAtMs, lengthMs, answered }): Operation => {
    const written = value ?? 'a';
    const input: OperationInput =
      kind === 'get'
        ? { kind, key }
        : kind === 'put'
          ? { kind, key, value: written }
          : kind === 'delete'
            ? { kind, key }
            : { kind, key, expected, value: written };
    if (!answered && lengthMs % 3 === 0) return { clientId, input, invokedAtMs };
    const returnedAtMs = invokedAtMs + lengthMs;
    switch (input.kind) {
      case 'get':
        return { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'get', value } };
      case 'put':
        return { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'put' } };
      case 'delete':
        return { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'delete' } };
      case 'cas':
        return { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'cas', ok } };
    }
  });

test('small arbitrary histories: the checker agrees with a brute-force search over all orders', (t) => {
  let good = 0;
  let bad = 0;
  fc.assert(
    fc.property(fc.array(smallOperation, { minLength: 0, maxLength: 7 }), (history) => {
      const expected = bruteForceLinearizable(history);
      const result = checkHistory(history);
      if (expected) good++;
      else bad++;
      return result.ok === expected;
    }),
    { numRuns: 3000, seed: GENERATED_SEED + 3 },
  );
  t.log(`${good} linearizable, ${bad} not`);
  t.true(good > 300 && bad > 300, `${good} linearizable, ${bad} not: the generator is too one-sided`);
});

// ---- timing (logged, never asserted: the machine is shared) ----

function timeCheck(history: History): { readonly result: ReturnType<typeof checkHistory>; readonly elapsedMs: number } {
  const startedMs = performance.now();
  const result = checkHistory(history);
  return { result, elapsedMs: performance.now() - startedMs };
}

test('timing: 4,000 operations on one key from 16 concurrent clients', (t) => {
  const history = simulate({
    seed: 42,
    clients: 16,
    keys: 1,
    operations: 4000,
    valuesPerKey: 0,
    noAnswerChance: 0.01,
    tickMs: 1,
  });
  const unanswered = history.filter((operation) => operation.returnedAtMs === undefined).length;
  const { result, elapsedMs } = timeCheck(history);
  t.deepEqual(result, { ok: true, keys: 1 });
  t.log(`${history.length} operations (${unanswered} unanswered), 16 clients, 1 key: ${elapsedMs.toFixed(1)} ms`);

  // Proving a history illegal means exhausting the search, so the failing case is a smaller one.
  const small = simulate({ seed: 43, clients: 8, keys: 1, operations: 1000, valuesPerKey: 0, noAnswerChance: 0, tickMs: 1 });
  const index = completedGets(small).at(-50) ?? 0;
  const stale = impossibleStaleValue(small, index);
  if (stale === undefined) {
    t.log('no stale value to inject at the chosen read; skipping the failing-history timing');
    return;
  }
  const bad = timeCheck(withGetValue(small, index, stale));
  t.is(bad.result.ok, false);
  t.log(`${small.length} operations with one stale read: rejected and explained in ${bad.elapsedMs.toFixed(1)} ms`);
});

test('timing: 20,000 operations over 50 keys from 64 clients, small value pools', (t) => {
  const history = simulate({
    seed: 7,
    clients: 64,
    keys: 50,
    operations: 20_000,
    valuesPerKey: 3,
    noAnswerChance: 0.01,
    tickMs: 1,
  });
  const { result, elapsedMs } = timeCheck(history);
  t.deepEqual(result, { ok: true, keys: 50 });
  t.log(`${history.length} operations, 64 clients, 50 keys: ${elapsedMs.toFixed(1)} ms`);
});
