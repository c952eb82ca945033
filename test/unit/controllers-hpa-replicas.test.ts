// The HorizontalPodAutoscaler's arithmetic: the replicas CPU utilization asks for (tolerance, missing
// metrics and unready pods, missing requests) and the default behaviour (scale-down stabilization over 5
// minutes, scale-up at most max(double, +4), bounds), with a fast-check property for the bounds.

import test from 'ava';
import fc from 'fast-check';
import { cpuReplicas, normalizeReplicas, SCALE_DOWN_STABILIZATION_MS, type PodSample } from '../../src/controllers/hpa-replicas.js';

/** A pod requesting `requestMillis` of CPU (null: a container without a request). */
const pod = (name: string, requestMillis: number | null = 100, overrides: Partial<PodSample> = {}): PodSample => ({ name, ignored: false, unready: false, requestMillis: requestMillis ?? undefined, ...overrides });
const usage = (entries: Record<string, number>): Map<string, number> => new Map(Object.entries(entries));

test('utilization over the target scales by the ratio (rounded up); within 10 % nothing changes', (t) => {
  t.deepEqual(cpuReplicas(2, 80, [pod('a'), pod('b')], usage({ a: 150, b: 150 })), { ok: true, replicas: 4, utilizationPercent: 150 });
  t.deepEqual(cpuReplicas(4, 80, [pod('a'), pod('b'), pod('c'), pod('d')], usage({ a: 20, b: 20, c: 20, d: 20 })), { ok: true, replicas: 1, utilizationPercent: 20 });
  t.deepEqual(cpuReplicas(3, 80, [pod('a'), pod('b'), pod('c')], usage({ a: 85, b: 85, c: 85 })), { ok: true, replicas: 3, utilizationPercent: 85 }, 'ratio 1.06: within tolerance');
  t.deepEqual(cpuReplicas(2, 50, [pod('a', 200), pod('b', 200)], usage({ a: 100, b: 300 })), { ok: true, replicas: 4, utilizationPercent: 100 }, 'the utilization of the sums');
});

test('missing metrics and unready pods count against the direction of the change', (t) => {
  // Scale-up: the pod without a metric counts as idle, so 3 pods at (150+150+0)/300 = 100 % of 80.
  t.deepEqual(cpuReplicas(3, 80, [pod('a'), pod('b'), pod('c')], usage({ a: 150, b: 150 })), { ok: true, replicas: 4, utilizationPercent: 150 });
  // Scale-down: the pod without a metric counts as fully used: (10+10+100)/300 = 40 % → 2 (not 1).
  t.deepEqual(cpuReplicas(3, 80, [pod('a'), pod('b'), pod('c')], usage({ a: 10, b: 10 })), { ok: true, replicas: 2, utilizationPercent: 10 });
  // An unready pod is idle for a scale-up, and ignored pods are left out.
  t.deepEqual(cpuReplicas(3, 80, [pod('a'), pod('b'), pod('c', 100, { unready: true }), pod('d', null, { ignored: true })], usage({ a: 200, b: 200, c: 500 })), { ok: true, replicas: 5, utilizationPercent: 200 });
  // When assuming the worst flips the direction, nothing changes.
  t.deepEqual(cpuReplicas(2, 80, [pod('a'), pod('b')], usage({ a: 100 })), { ok: true, replicas: 2, utilizationPercent: 100 });
});

test('errors say what Kubernetes says', (t) => {
  t.deepEqual(cpuReplicas(1, 80, [], usage({})), { ok: false, message: 'no pods returned by selector while calculating replica count' });
  t.deepEqual(cpuReplicas(1, 80, [pod('a', null, { containerWithoutRequest: 'app' })], usage({ a: 5 })), { ok: false, message: 'missing request for cpu in container app of Pod a' });
  t.deepEqual(cpuReplicas(1, 80, [pod('a', 100, { unready: true })], usage({ a: 5 })), { ok: false, message: 'did not receive metrics for targeted pods (pods might be unready)' });
});

test('scale-down waits for the highest recommendation of the last 5 minutes; scale-up at most max(double, +4); bounds last', (t) => {
  const first = normalizeReplicas(6, 6, 1, 20, 0, []);
  t.is(first.desired, 6);
  const lower = normalizeReplicas(6, 2, 1, 20, 60_000, first.history);
  t.is(lower.desired, 6, 'a recommendation of 6 a minute ago holds it');
  const later = normalizeReplicas(6, 2, 1, 20, SCALE_DOWN_STABILIZATION_MS + 1, lower.history);
  t.is(later.desired, 2, 'after the window, down to 2');
  t.is(normalizeReplicas(2, 30, 1, 50, 0, []).desired, 6, '2 → at most 2 + 4');
  t.is(normalizeReplicas(10, 40, 1, 50, 0, []).desired, 20, '10 → at most double');
  t.is(normalizeReplicas(10, 40, 1, 15, 0, []).desired, 15, 'then maxReplicas');
  t.is(normalizeReplicas(3, 1, 2, 15, 0, []).desired, 2, 'and minReplicas');
});

test('property: the normalized count is always within the bounds and never moves against the recommendation', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 50 }), fc.integer({ min: 0, max: 50 }), fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 5 }), (current, recommended, minimum, extra, previous) => {
      const maximum = minimum + extra;
      const history = previous.map((replicas, index) => ({ atMs: index * 10_000, replicas }));
      const { desired } = normalizeReplicas(current, recommended, minimum, maximum, 60_000, history);
      const inBounds = desired >= minimum && desired <= maximum;
      const sameDirection = recommended >= current ? desired >= Math.min(current, maximum) || desired === maximum : desired <= Math.max(current, minimum);
      return inBounds && sameDirection;
    }),
  );
  t.pass();
});
