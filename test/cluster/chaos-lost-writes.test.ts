// The chaos suite's lost-write check on hand-made histories: it must accept every outcome a correct
// store can produce and name the write when an acknowledged one is gone.
import test from 'ava';
import type { Operation } from '../../src/testing/linearizability/history.js';
import { findLostWrites } from '../../src/testing/chaos/lost-writes.js';

const create = (clientId: number, key: string, value: string, invokedAtMs: number, returnedAtMs?: number, ok = true): Operation =>
  returnedAtMs === undefined
    ? { clientId, input: { kind: 'cas', key, expected: null, value }, invokedAtMs }
    : { clientId, input: { kind: 'cas', key, expected: null, value }, invokedAtMs, returnedAtMs, output: { kind: 'cas', ok } };
const replace = (clientId: number, key: string, expected: string, value: string, invokedAtMs: number, returnedAtMs?: number, ok = true): Operation =>
  returnedAtMs === undefined
    ? { clientId, input: { kind: 'cas', key, expected, value }, invokedAtMs }
    : { clientId, input: { kind: 'cas', key, expected, value }, invokedAtMs, returnedAtMs, output: { kind: 'cas', ok } };
const remove = (clientId: number, key: string, invokedAtMs: number, returnedAtMs?: number): Operation =>
  returnedAtMs === undefined ? { clientId, input: { kind: 'delete', key }, invokedAtMs } : { clientId, input: { kind: 'delete', key }, invokedAtMs, returnedAtMs, output: { kind: 'delete' } };

test('the last acknowledged value, or a concurrent or unanswered later one, is not a loss', (t) => {
  const history = [create(0, 'a', 'v1', 0, 10), replace(1, 'a', 'v1', 'v2', 20, 30), replace(2, 'a', 'v1', 'v3', 25, 35, false), replace(3, 'a', 'v2', 'v4', 40)];
  t.deepEqual(findLostWrites(history, new Map([['a', 'v2']])), []);
  t.deepEqual(findLostWrites(history, new Map([['a', 'v4']])), [], 'an unanswered write may have applied');
  // Two concurrent acknowledged writes: either may be last.
  const concurrent = [create(0, 'b', 'x', 0, 50), replace(1, 'b', 'y0', 'y', 10, 60)];
  t.deepEqual(findLostWrites(concurrent, new Map([['b', 'x']])), []);
});

test('an acknowledged write that began after the final value was written is reported lost', (t) => {
  const history = [create(0, 'a', 'v1', 0, 10), replace(1, 'a', 'v1', 'v2', 20, 30)];
  const violations = findLostWrites(history, new Map([['a', 'v1']]));
  t.is(violations.length, 1);
  t.regex(violations[0] ?? '', /a: final value "v1".*client 1 cas "v1" → "v2"/);
});

test('absent keys, unknown values and refused writes', (t) => {
  t.deepEqual(findLostWrites([create(0, 'a', 'v1', 0)], new Map([['a', null]])), [], 'an unanswered create may never have applied');
  t.is(findLostWrites([create(0, 'a', 'v1', 0, 10)], new Map([['a', null]])).length, 1, 'an acknowledged create vanished');
  t.deepEqual(findLostWrites([create(0, 'a', 'v1', 0, 10), remove(1, 'a', 20, 30)], new Map([['a', null]])), []);
  t.is(findLostWrites([remove(1, 'a', 0, 5), create(0, 'a', 'v1', 10, 20)], new Map([['a', null]])).length, 1, 'the delete came before the create');
  t.deepEqual(findLostWrites([create(0, 'a', 'v1', 0, 10), remove(1, 'a', 20)], new Map([['a', null]])), [], 'an unanswered delete may have applied');
  t.regex(findLostWrites([create(0, 'a', 'v1', 0, 10)], new Map([['a', 'zz']]))[0] ?? '', /never written/);
  t.regex(findLostWrites([create(0, 'a', 'v1', 0, 10, false)], new Map([['a', 'v1']]))[0] ?? '', /refused/);
});
