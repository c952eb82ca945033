// Kubernetes quantities: exact values for the documented forms, round trips of the canonical text,
// and rejection of anything that is not a quantity.

import test from 'ava';
import fc from 'fast-check';
import { formatBytes, formatMillis, parseMillis, parseUnits, QuantityError } from '../../src/scheduler/quantity.js';

test('documented forms parse to exact millis and units', (t) => {
  const millis: [string, number][] = [['100m', 100], ['2', 2000], ['0.5', 500], ['1.5', 1500], ['1e3', 1_000_000], ['1u', 1], ['1n', 1], ['250m', 250], ['.5', 500], ['+3', 3000]];
  for (const [text, expected] of millis) t.is(parseMillis(text), expected, text);
  const units: [string, number][] = [['1Gi', 1073741824], ['500Mi', 524288000], ['1k', 1000], ['1.5Ki', 1536], ['128974848', 128974848], ['129e6', 129000000], ['129M', 129000000], ['123Mi', 128974848], ['100m', 1], ['1P', 1e15], ['2E3', 2000]];
  for (const [text, expected] of units) t.is(parseUnits(text), expected, text);
});

test('bad input is rejected with a QuantityError', (t) => {
  for (const text of ['1E', '', 'abc', '1Gb', '1 Gi', '--1', '1.2.3', 'Gi', '1ki', '1e', '1e99', 'm', '1mm', '0x10', '٣', '1'.repeat(80)]) {
    t.throws(() => parseUnits(text), { instanceOf: QuantityError }, text);
  }
});

test('canonical text round-trips for any millis and any byte count', (t) => {
  fc.assert(fc.property(fc.nat({ max: 2 ** 40 }), (millis) => parseMillis(formatMillis(millis)) === millis));
  fc.assert(fc.property(fc.nat({ max: Number.MAX_SAFE_INTEGER }), (bytes) => parseUnits(formatBytes(bytes)) === bytes));
  fc.assert(
    fc.property(fc.nat({ max: 2 ** 20 }), fc.constantFrom(['Ki', 10], ['Mi', 20], ['Gi', 30]), (value, [suffix, shift]) => parseUnits(`${value}${suffix}`) === value * 2 ** shift),
  );
  t.pass();
});

test('decimal fractions round up, never down', (t) => {
  fc.assert(
    fc.property(fc.nat({ max: 10_000 }), fc.integer({ min: 1, max: 9 }), (whole, digit) => {
      const text = `${whole}.000${digit}`;
      return parseMillis(text) === whole * 1000 + 1 && parseUnits(text) === whole + 1;
    }),
  );
  t.pass();
});

test('garbage strings never parse', (t) => {
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), (text) => {
      const valid = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/.test(text);
      try {
        parseMillis(text);
        return valid; // whatever parses is a quantity
      } catch (error) {
        return error instanceof QuantityError; // an invalid one, or one past the safe-integer range
      }
    }),
  );
  t.pass();
});
