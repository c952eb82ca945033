// The seeded PRNG: same seed, same stream; different seeds, different streams; bounds hold.
import test from 'ava';
import fc from 'fast-check';
import { Prng } from '../../src/actors/random.js';

test('the same seed gives the same stream', (t) => {
  const a = new Prng(42);
  const b = new Prng(42);
  const streamA = Array.from({ length: 100 }, () => a.nextUint32());
  const streamB = Array.from({ length: 100 }, () => b.nextUint32());
  t.deepEqual(streamA, streamB);
});

test('different seeds give different streams', (t) => {
  const a = new Prng(1);
  const b = new Prng(2);
  const streamA = Array.from({ length: 20 }, () => a.nextUint32());
  const streamB = Array.from({ length: 20 }, () => b.nextUint32());
  t.notDeepEqual(streamA, streamB);
});

test('int and between stay within their bounds', (t) => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 1, max: 1_000_000 }), (seed, bound) => {
      const random = new Prng(seed);
      for (let i = 0; i < 50; i++) {
        const value = random.int(bound);
        if (value < 0 || value >= bound || !Number.isInteger(value)) return false;
        const ranged = random.between(-bound, bound);
        if (ranged < -bound || ranged > bound) return false;
      }
      return true;
    }),
  );
  t.pass();
});

test('int refuses a non-positive bound', (t) => {
  t.throws(() => new Prng(1).int(0), { instanceOf: RangeError });
});
