// Known-good and known-bad hand-written histories for the linearizability checker
// (src/testing/linearizability/check.ts): each bad one is a classic anomaly a broken store shows.

import test, { type ExecutionContext } from 'ava';
import { checkHistory, type LinearizabilityResult } from '../../src/testing/linearizability/check.js';
import { InvalidHistoryError } from '../../src/testing/linearizability/errors.js';
import type { History, Operation } from '../../src/testing/linearizability/history.js';

// Builders: `returnedAtMs` undefined means the operation got no answer.
function get(clientId: number, key: string, value: string | null, invokedAtMs: number, returnedAtMs?: number): Operation {
  const input = { kind: 'get', key } as const;
  return returnedAtMs === undefined
    ? { clientId, input, invokedAtMs }
    : { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'get', value } };
}
function put(clientId: number, key: string, value: string, invokedAtMs: number, returnedAtMs?: number): Operation {
  const input = { kind: 'put', key, value } as const;
  return returnedAtMs === undefined
    ? { clientId, input, invokedAtMs }
    : { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'put' } };
}
function del(clientId: number, key: string, invokedAtMs: number, returnedAtMs?: number): Operation {
  const input = { kind: 'delete', key } as const;
  return returnedAtMs === undefined
    ? { clientId, input, invokedAtMs }
    : { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'delete' } };
}
function cas(
  clientId: number,
  key: string,
  expected: string | null,
  value: string,
  ok: boolean | undefined,
  invokedAtMs: number,
  returnedAtMs?: number,
): Operation {
  const input = { kind: 'cas', key, expected, value } as const;
  return returnedAtMs === undefined || ok === undefined
    ? { clientId, input, invokedAtMs }
    : { clientId, input, invokedAtMs, returnedAtMs, output: { kind: 'cas', ok } };
}

function failure(t: ExecutionContext, result: LinearizabilityResult): Extract<LinearizabilityResult, { ok: false }> {
  t.is(result.ok, false, JSON.stringify(result));
  if (result.ok !== false) throw new Error(`expected a violation, got ${JSON.stringify(result)}`);
  return result;
}

test('empty history is linearizable with zero keys', (t) => {
  t.deepEqual(checkHistory([]), { ok: true, keys: 0 });
});

test('sequential history of every operation kind is linearizable', (t) => {
  const history: History = [
    get(1, 'x', null, 0, 1),
    put(1, 'x', 'a', 2, 3),
    get(2, 'x', 'a', 4, 5),
    cas(1, 'x', 'a', 'b', true, 6, 7),
    cas(2, 'x', 'a', 'c', false, 8, 9),
    get(1, 'x', 'b', 10, 11),
    del(2, 'x', 12, 13),
    get(1, 'x', null, 14, 15),
    cas(1, 'x', null, 'd', true, 16, 17),
    get(2, 'x', 'd', 18, 19),
  ];
  t.deepEqual(checkHistory(history), { ok: true, keys: 1 });
});

test('stale read after a completed write is rejected', (t) => {
  const history: History = [put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 3), get(2, 'x', 'a', 4, 5)];
  const result = failure(t, checkHistory(history));
  t.is(result.key, 'x');
  t.true(result.operations.includes(history[2] as Operation));
  t.true(result.operations.includes(history[1] as Operation));
});

test('lost write (read absent after an acknowledged put) is rejected', (t) => {
  const result = failure(t, checkHistory([put(1, 'x', 'a', 0, 1), get(2, 'x', null, 2, 3)]));
  t.is(result.key, 'x');
});

test('read of a value never written is rejected', (t) => {
  failure(t, checkHistory([put(1, 'x', 'a', 0, 10), get(2, 'x', 'zzz', 1, 5)]));
});

test('cas succeeding twice from the same expected value is rejected', (t) => {
  const history: History = [
    put(1, 'x', 'a', 0, 1),
    cas(2, 'x', 'a', 'b', true, 2, 10),
    cas(3, 'x', 'a', 'c', true, 3, 11),
  ];
  failure(t, checkHistory(history));
  // With a concurrent put of 'a' between them both can succeed.
  t.true(checkHistory([...history, put(4, 'x', 'a', 2, 12)]).ok === true);
});

test('a read that goes back in time between two reads is rejected', (t) => {
  const history: History = [
    put(1, 'x', 'a', 0, 1),
    put(2, 'x', 'b', 2, 20),
    get(3, 'x', 'b', 3, 4),
    get(3, 'x', 'a', 5, 6),
  ];
  const result = failure(t, checkHistory(history));
  t.is(result.operations.at(-1), history[3]);
  // Both reads overlapping the write in the other order is fine.
  t.is(checkHistory([history[0] as Operation, history[1] as Operation, get(3, 'x', 'a', 3, 4), get(3, 'x', 'b', 5, 6)]).ok, true);
});

test('concurrent history that needs reordering against call order is linearizable', (t) => {
  // put a is called first but must take effect last; the reads pin the order b, a.
  const history: History = [
    put(1, 'x', 'a', 0, 10),
    put(2, 'x', 'b', 1, 9),
    get(3, 'x', 'b', 2, 3),
    get(4, 'x', 'a', 4, 5),
    get(3, 'x', 'a', 11, 12),
    cas(5, 'x', 'b', 'c', false, 6, 13),
  ];
  t.deepEqual(checkHistory(history), { ok: true, keys: 1 });
});

test('timed-out write that was applied (read later) is linearizable', (t) => {
  t.is(checkHistory([put(1, 'x', 'a', 0), get(2, 'x', null, 1, 2), get(2, 'x', 'a', 50, 51)]).ok, true);
  // Applied after a later acknowledged write.
  t.is(checkHistory([put(1, 'x', 'a', 0, 1), put(2, 'x', 'b', 2), put(3, 'x', 'c', 3, 4), get(4, 'x', 'b', 5, 6)]).ok, true);
});

test('timed-out write that was never applied is linearizable', (t) => {
  t.is(checkHistory([put(1, 'x', 'a', 0), get(2, 'x', null, 5, 6), get(2, 'x', null, 100, 101)]).ok, true);
  t.is(checkHistory([put(1, 'x', 'b', 0, 1), del(2, 'x', 2), cas(3, 'x', 'zz', 'q', undefined, 2), get(3, 'x', 'b', 9, 10)]).ok, true);
});

test('timed-out write cannot take effect before it was called, nor twice', (t) => {
  failure(t, checkHistory([get(1, 'x', 'a', 0, 1), put(2, 'x', 'a', 2)]));
  // Read a, then b overwrote it, then a again: the single unanswered put of a cannot explain both.
  failure(
    t,
    checkHistory([put(1, 'x', 'a', 0), get(2, 'x', 'a', 1, 2), put(3, 'x', 'b', 3, 4), get(2, 'x', 'a', 5, 6)]),
  );
});

test('timed-out cas applies only from its expected value', (t) => {
  t.is(checkHistory([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'b', undefined, 2), get(3, 'x', 'b', 5, 6)]).ok, true);
  failure(t, checkHistory([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'q', 'b', undefined, 2), get(3, 'x', 'b', 5, 6)]));
});

test('unanswered reads change nothing and are ignored', (t) => {
  t.is(checkHistory([get(1, 'x', null, 0), put(2, 'x', 'a', 1, 2), get(1, 'x', 'a', 3, 4)]).ok, true);
});

test('failed cas must see a different value than expected', (t) => {
  t.is(checkHistory([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'z', 'y', false, 2, 3)]).ok, true);
  failure(t, checkHistory([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'y', false, 2, 3)]));
  // ... unless a concurrent (even unanswered) write could have changed it first.
  t.is(checkHistory([put(1, 'x', 'a', 0, 1), put(3, 'x', 'w', 2), cas(2, 'x', 'a', 'y', false, 2, 3)]).ok, true);
});

test('a call and a return at the same millisecond count as concurrent', (t) => {
  t.is(checkHistory([put(1, 'x', 'a', 0, 5), get(2, 'x', null, 5, 6)]).ok, true);
  failure(t, checkHistory([put(1, 'x', 'a', 0, 5), get(2, 'x', null, 6, 7)]));
});

test('keys are checked independently and the failing key is named', (t) => {
  const history: History = [
    put(1, 'good', 'a', 0, 1),
    put(2, 'bad', 'a', 0, 1),
    get(1, 'good', 'a', 2, 3),
    get(2, 'bad', 'b', 2, 3),
  ];
  t.is(failure(t, checkHistory(history)).key, 'bad');
  // A write to one key never explains a read of another.
  failure(t, checkHistory([put(1, 'y', 'a', 0, 1), get(2, 'x', 'a', 2, 3)]));
  t.deepEqual(checkHistory([put(1, 'y', 'a', 0, 1), get(2, 'x', null, 2, 3), get(2, 'y', 'a', 4, 5)]), {
    ok: true,
    keys: 2,
  });
});

test('an illegal history is rejected with a clear explanation of the shortest failing prefix', (t) => {
  const history: Operation[] = [
    put(1, 'x', 'a', 0, 1),
    put(1, 'x', 'b', 2, 3),
    get(3, 'x', 'a', 4, 5),
  ];
  // A long, valid tail after the violation: the explanation must still point at the stale read.
  for (let step = 0; step < 40; step++) {
    history.push(put(1, 'x', `t${step}`, 10 + 4 * step, 11 + 4 * step));
    history.push(get(2, 'x', `t${step}`, 12 + 4 * step, 13 + 4 * step));
  }
  const result = failure(t, checkHistory(history));
  t.log(result.explanation);
  t.is(result.key, 'x');
  t.regex(result.explanation, /key "x" is not linearizable/);
  t.regex(result.explanation, /shortest failing prefix/);
  t.regex(result.explanation, /#2 client 3: get → "a" \[4 ms … 5 ms\]/);
  t.regex(result.explanation, /holding "b"/);
  t.regex(result.explanation, /#1 client 1: put "b"/);
  t.deepEqual(result.operations, [history[0], history[1], history[2]]);
});

test('explanation lists only nearby operations for a long prefix', (t) => {
  const history: Operation[] = [];
  for (let step = 0; step < 30; step++) {
    history.push(put(1, 'x', `t${step}`, 4 * step, 4 * step + 1));
    history.push(get(2, 'x', `t${step}`, 4 * step + 2, 4 * step + 3));
  }
  const stale = get(3, 'x', 't3', 500, 501);
  history.push(stale);
  const result = failure(t, checkHistory(history));
  t.log(result.explanation);
  t.true(result.operations.includes(stale));
  t.true(result.operations.length < 10, `listed ${result.operations.length} operations`);
  t.true(result.operations.includes(history[6] as Operation), 'the write of the value it read');
  t.true(result.operations.includes(history[59] as Operation), 'the last read before it');
});

test('malformed histories throw InvalidHistoryError', (t) => {
  const backwards: Operation = { ...put(1, 'x', 'a', 5, 6), returnedAtMs: 4 };
  t.is(t.throws(() => checkHistory([backwards]), { instanceOf: InvalidHistoryError })?.code, 'INVALID_HISTORY');
  const wrongKind: Operation = { clientId: 1, input: { kind: 'get', key: 'x' }, invokedAtMs: 0, returnedAtMs: 1, output: { kind: 'put' } };
  t.throws(() => checkHistory([wrongKind]), { instanceOf: InvalidHistoryError, message: /output kind put for a get/ });
  const outputOnly: Operation = { clientId: 1, input: { kind: 'put', key: 'x', value: 'a' }, invokedAtMs: 0, output: { kind: 'put' } };
  t.throws(() => checkHistory([put(1, 'x', 'a', 0, 1), outputOnly]), { instanceOf: InvalidHistoryError, message: /operation 1: output without returnedAtMs/ });
  t.throws(() => checkHistory([{ ...put(1, 'x', 'a', 0, 1), invokedAtMs: Number.NaN }]), { instanceOf: InvalidHistoryError });
});

test('search budget exhausted gives unknown with the reason, never a guess', (t) => {
  // 14 concurrent writes of different values and a read of a value none wrote: the search must try
  // every subset of the writes before it can say no.
  const history: Operation[] = [];
  for (let client = 0; client < 14; client++) history.push(put(client, 'x', `w${client}`, 0, 100));
  history.push(get(99, 'x', 'nobody', 50, 60));
  const limited = checkHistory(history, { maxSearchSteps: 5000 });
  t.is(limited.ok, 'unknown');
  if (limited.ok === 'unknown') t.regex(limited.reason, /key "x".*step budget/);
  t.is(checkHistory(history, { timeoutMs: 0 }).ok, 'unknown');
  t.is(checkHistory(history).ok, false);
});
