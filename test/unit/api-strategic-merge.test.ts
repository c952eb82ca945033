// Strategic merge patch: lists merged by their Kubernetes merge keys, the directives ($patch,
// $retainKeys, $setElementOrder, $deleteFromPrimitiveList), and bad patches as 400s, also for
// generated inputs.

import test from 'ava';
import fc from 'fast-check';
import { applyMergePatch } from '../../src/api/patch/merge-patch.js';
import { applyStrategicMergePatch } from '../../src/api/patch/strategic-merge.js';
import { ApiError } from '../../src/api/status.js';

const podSpec = (containers: unknown[]): unknown => ({ spec: { containers } });

test('containers merge by name: a changed image keeps the other fields and the other containers', (t) => {
  const original = podSpec([
    { name: 'app', image: 'app:1', ports: [{ containerPort: 80 }] },
    { name: 'sidecar', image: 'log:1' },
  ]);
  const patched = applyStrategicMergePatch(original, podSpec([{ name: 'app', image: 'app:2' }]));
  t.deepEqual(patched, podSpec([
    { name: 'app', image: 'app:2', ports: [{ containerPort: 80 }] },
    { name: 'sidecar', image: 'log:1' },
  ]));
});

test('container ports merge by containerPort, env by name, volumeMounts by mountPath; a new item is appended', (t) => {
  const original = podSpec([{ name: 'app', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }], volumeMounts: [{ mountPath: '/data', name: 'd' }] }]);
  const patch = podSpec([{ name: 'app', ports: [{ containerPort: 443, name: 'https' }], env: [{ name: 'A', value: '2' }, { name: 'B', value: '3' }], volumeMounts: [{ mountPath: '/data', readOnly: true }] }]);
  t.deepEqual(applyStrategicMergePatch(original, patch), podSpec([{
    name: 'app',
    ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443, name: 'https' }],
    env: [{ name: 'A', value: '2' }, { name: 'B', value: '3' }],
    volumeMounts: [{ mountPath: '/data', name: 'd', readOnly: true }],
  }]));
});

test("a Service's ports merge by port; lists without a strategy (tolerations, args) are replaced", (t) => {
  const service = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
  t.deepEqual(applyStrategicMergePatch(service, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }), { spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] } });
  const pod = { spec: { tolerations: [{ key: 'a' }, { key: 'b' }], containers: [{ name: 'c', args: ['x', 'y'] }] } };
  t.deepEqual(applyStrategicMergePatch(pod, { spec: { tolerations: [{ key: 'c' }], containers: [{ name: 'c', args: ['z'] }] } }), { spec: { tolerations: [{ key: 'c' }], containers: [{ name: 'c', args: ['z'] }] } });
});

test('$patch: delete removes a keyed item; $patch: replace replaces a list or an object', (t) => {
  const original = podSpec([{ name: 'a', image: '1' }, { name: 'b', image: '2' }]);
  t.deepEqual(applyStrategicMergePatch(original, podSpec([{ name: 'a', $patch: 'delete' }])), podSpec([{ name: 'b', image: '2' }]));
  t.deepEqual(applyStrategicMergePatch(original, podSpec([{ $patch: 'replace' }, { name: 'c', image: '3' }])), podSpec([{ name: 'c', image: '3' }]));
  const labelled = { metadata: { labels: { a: '1', b: '2' } } };
  t.deepEqual(applyStrategicMergePatch(labelled, { metadata: { labels: { $patch: 'replace', c: '3' } } }), { metadata: { labels: { c: '3' } } });
  t.deepEqual(applyStrategicMergePatch(labelled, { metadata: { labels: { $patch: 'delete' } } }), { metadata: {} });
});

test('$retainKeys drops the fields of the union member being left (a Deployment switching to Recreate)', (t) => {
  const deployment = { spec: { replicas: 3, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } } };
  const patched = applyStrategicMergePatch(deployment, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } });
  t.deepEqual(patched, { spec: { replicas: 3, strategy: { type: 'Recreate' } } });
});

test('$deleteFromPrimitiveList removes finalizers; finalizers otherwise merge as a set', (t) => {
  const object = { metadata: { finalizers: ['a', 'b', 'c'] } };
  t.deepEqual(applyStrategicMergePatch(object, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } }), { metadata: { finalizers: ['a', 'c'] } });
  t.deepEqual(applyStrategicMergePatch(object, { metadata: { finalizers: ['c', 'd'] } }), { metadata: { finalizers: ['a', 'b', 'c', 'd'] } });
});

test('$setElementOrder orders the merged items; items only the server has keep their places', (t) => {
  const original = podSpec([{ name: 'a' }, { name: 'server-only' }, { name: 'b' }]);
  // kubectl apply of a file listing b then a, with a changed, and c added at the front.
  const patch = { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'b' }, { name: 'a' }], containers: [{ name: 'c' }, { name: 'a', image: 'x' }] } };
  const names = (applyStrategicMergePatch(original, patch) as { spec: { containers: { name: string }[] } }).spec.containers.map((container) => container.name);
  t.deepEqual(names, ['server-only', 'c', 'b', 'a']);
  // An order with no patch of the list reorders it.
  const reordered = applyStrategicMergePatch(podSpec([{ name: 'a' }, { name: 'b' }]), { spec: { '$setElementOrder/containers': [{ name: 'b' }, { name: 'a' }] } });
  t.deepEqual(reordered, podSpec([{ name: 'b' }, { name: 'a' }]));
  // An item the patch deletes goes even though the order no longer names it (kubectl apply).
  const withoutSide = applyStrategicMergePatch(podSpec([{ name: 'main' }, { name: 'side' }]), { spec: { '$setElementOrder/containers': [{ name: 'main' }], containers: [{ name: 'side', $patch: 'delete' }] } });
  t.deepEqual(withoutSide, podSpec([{ name: 'main' }]));
});

test('null removes a key; an item without its merge key, an unknown directive or $patch value is a 400', (t) => {
  t.deepEqual(applyStrategicMergePatch({ a: 1, b: 2 }, { a: null }), { b: 2 });
  const badRequest = (patch: unknown): void => {
    const error = t.throws(() => applyStrategicMergePatch(podSpec([{ name: 'a' }]), patch));
    t.true(error instanceof ApiError && error.httpStatus === 400, String(error));
  };
  badRequest(podSpec([{ image: 'no-name' }]));
  badRequest({ spec: { $frobnicate: true } });
  badRequest({ spec: { $patch: 'explode' } });
  badRequest({ spec: { $retainKeys: 'type' } });
  badRequest([1, 2]);
  // A patch list that disagrees with its $setElementOrder (Kubernetes' validatePatchWithSetOrderList).
  badRequest({ spec: { '$setElementOrder/containers': [{ name: 'a' }], containers: [{ name: 'b', image: '2' }] } });
  badRequest(JSON.parse('{"metadata":{"__proto__":{"deletionTimestamp":"x"}}}'));
  const mergeError = t.throws(() => applyMergePatch({}, JSON.parse('{"__proto__":{"x":1}}')));
  t.true(mergeError instanceof ApiError && mergeError.httpStatus === 400);
});

test('an order alone leaves a replaced list alone; a keyed delete removes every match; long lists merge', (t) => {
  const pod = { spec: { tolerations: [{ key: 'x' }, { key: 'y' }] } };
  t.deepEqual(applyStrategicMergePatch(pod, { spec: { '$setElementOrder/tolerations': [{ key: 'y' }] } }), pod);
  t.deepEqual(applyStrategicMergePatch(podSpec([{ name: 'a', n: 1 }, { name: 'b' }, { name: 'a', n: 2 }]), podSpec([{ name: 'a', $patch: 'delete' }])), podSpec([{ name: 'b' }]));
  // Large lists (the merge looks items up by identity in maps, so its work grows linearly).
  const finalizers = Array.from({ length: 200_000 }, (_, index) => `f-${index}`);
  const merged = applyStrategicMergePatch({ metadata: { finalizers: finalizers.slice(0, 100_000) } }, { metadata: { finalizers } }) as { metadata: { finalizers: string[] } };
  t.is(merged.metadata.finalizers.length, 200_000);
  const names = Array.from({ length: 20_000 }, (_, index) => ({ name: `c-${index}` }));
  const reordered = applyStrategicMergePatch(podSpec(names), { spec: { '$setElementOrder/containers': [...names].reverse(), containers: [] } }) as { spec: { containers: { name: string }[] } };
  t.is(reordered.spec.containers[0]?.name, 'c-19999');
});

// Generated inputs: JSON without lists or `$` keys behaves as a JSON merge patch, and any JSON
// patch either applies or is a 400 ApiError (never another exception).
const key = fc.constantFrom('a', 'b', 'c', 'spec', 'metadata', 'containers', 'name', 'ports', 'env', 'conditions', '$patch', '$retainKeys', '$setElementOrder/containers', '$deleteFromPrimitiveList/finalizers', 'finalizers');
const json = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.constantFrom('delete', 'replace', 'merge', 'x'), fc.array(tie('value'), { maxLength: 3 }), tie('object')),
  object: fc.dictionary(key, tie('value'), { maxKeys: 4 }),
})).object;
const plainKey = fc.constantFrom('a', 'b', 'c', 'd');
const plain = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.boolean(), fc.integer(), fc.string({ maxLength: 3 }), tie('object')),
  object: fc.dictionary(plainKey, tie('value'), { maxKeys: 4 }),
})).object;

test('generated: list-free patches without directives give what a JSON merge patch gives', (t) => {
  fc.assert(fc.property(plain, plain, (document, patch) => {
    t.deepEqual(applyStrategicMergePatch(document, patch), applyMergePatch(document, patch));
  }), { seed: 7, numRuns: 300 });
});

test('generated: any patch applies or is a 400, and never changes its inputs', (t) => {
  fc.assert(fc.property(json, json, (document, patch) => {
    const before = JSON.stringify([document, patch]);
    try {
      applyStrategicMergePatch(document, patch);
    } catch (error) {
      if (!(error instanceof ApiError) || error.httpStatus !== 400) throw error;
    }
    return JSON.stringify([document, patch]) === before;
  }), { seed: 11, numRuns: 1_000 });
  t.pass();
});
