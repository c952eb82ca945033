// Server-side apply and fieldValidation through the pipeline (src/api/apply/*, handlers/resource.ts):
// managedFields in Kubernetes' fieldsV1 form, creation when absent, conflicts between managers with
// Kubernetes' wording, force, removal of fields a manager stops applying, and the Strict / Warn /
// Ignore handling of unknown fields on create, update and patch.
import test from 'ava';
import { testApi } from './api-helpers.js';
import { FieldSet, fieldSetOf, fromFieldsV1, pathString, toFieldsV1 } from '../../src/api/apply/fieldpath.js';
import { mergeApplied } from '../../src/api/apply/merge.js';
import * as fc from 'fast-check';
import { applyConfiguration } from '../../src/api/apply/managed-fields.js';
import { ApiError } from '../../src/api/status.js';
import { deployments } from '../../src/api/registry/apps.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const APPLY = { 'content-type': 'application/apply-patch+yaml' };
const DEPLOYMENTS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(options: { replicas?: number; image?: string; labels?: Record<string, string>; containers?: Json[] } = {}): Json {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', ...(options.labels === undefined ? {} : { labels: options.labels }) },
    spec: {
      ...(options.replicas === undefined ? {} : { replicas: options.replicas }),
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: options.containers ?? [{ name: 'nginx', image: options.image ?? 'nginx:1.26', ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

const body = (response: { body?: unknown }): Json => response.body as Json;
const managers = (object: Json): string[] => (object['metadata']['managedFields'] as Json[]).map((entry) => `${entry['manager']}/${entry['operation']}`);

test('field sets convert to and from fieldsV1 and print as Kubernetes paths', (t) => {
  const set = fieldSetOf(deployment({ replicas: 2 }) as Record<string, unknown>, (path) => path[0] === 'f:apiVersion' || path[0] === 'f:kind' || path.join('/') === 'f:metadata/f:name');
  const fields = toFieldsV1(set);
  t.deepEqual(fields['f:spec'], {
    'f:replicas': {},
    'f:selector': { 'f:matchLabels': { 'f:app': {} } },
    'f:template': {
      'f:metadata': { 'f:labels': { 'f:app': {} } },
      'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { '.': {}, 'f:image': {}, 'f:name': {}, 'f:ports': { 'k:{"containerPort":80}': { '.': {}, 'f:containerPort': {} } } } } },
    },
  });
  t.is(fields['f:metadata'], undefined, 'metadata.name is nobody’s');
  t.deepEqual(fromFieldsV1(fields).paths(), set.paths());
  t.is(pathString(['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"nginx"}', 'f:image']), '.spec.template.spec.containers[name="nginx"].image');
  t.is(FieldSet.of([['f:a', 'f:b']]).hasAtOrBelow(['f:a']), true);
});

test('merging keeps live fields, merges keyed lists by key and replaces atomic lists', (t) => {
  const live = { spec: { containers: [{ name: 'a', image: 'x', args: ['1', '2'] }, { name: 'b', image: 'y' }], keep: true } };
  const applied = { spec: { containers: [{ name: 'a', image: 'z', args: ['3'] }, { name: 'c', image: 'w' }] } };
  t.deepEqual(mergeApplied(live, applied), {
    spec: { containers: [{ name: 'a', image: 'z', args: ['3'] }, { name: 'b', image: 'y' }, { name: 'c', image: 'w' }], keep: true },
  });
});

test('apply creates an absent object owned by its manager, and needs a fieldManager', async (t) => {
  const api = await testApi();
  const missing = await api.call('PATCH', `${DEPLOYMENTS}/web`, deployment(), APPLY);
  t.is(missing.status, 400);
  t.regex(String(body(missing)['message']), /fieldManager/);
  const created = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ replicas: 2 }), APPLY);
  t.is(created.status, 201);
  t.deepEqual(managers(body(created)), ['alice/Apply']);
  t.is(body(created)['spec']['replicas'], 2);
  t.is(body(created)['spec']['strategy']['type'], 'RollingUpdate', 'defaults are applied');
  const entry = body(created)['metadata']['managedFields'][0];
  t.is(entry['fieldsType'], 'FieldsV1');
  t.is(entry['apiVersion'], 'apps/v1');
  t.deepEqual(entry['fieldsV1']['f:spec']['f:replicas'], {});
  t.is(entry['fieldsV1']['f:spec']['f:strategy'], undefined, 'defaulted fields are nobody’s');
  const again = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ replicas: 2 }), APPLY);
  t.is(again.status, 200);
  t.is(body(again)['metadata']['generation'], 1, 'an identical apply changes nothing');
});

test('a second manager changing an owned field gets a 409 naming field and manager; force takes it over', async (t) => {
  const api = await testApi();
  await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ replicas: 2 }), APPLY);
  const shared = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=bob`, deployment({ replicas: 2 }), APPLY);
  t.is(shared.status, 200, 'the same value is shared ownership');
  t.deepEqual(managers(body(shared)), ['alice/Apply', 'bob/Apply']);

  const conflict = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=carol`, deployment({ replicas: 5, image: 'nginx:1.27' }), APPLY);
  t.is(conflict.status, 409);
  t.is(body(conflict)['reason'], 'Conflict');
  t.is(
    body(conflict)['message'],
    'Apply failed with 4 conflicts: conflicts with "alice":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image\nconflicts with "bob":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image',
  );
  t.deepEqual(body(conflict)['details']['causes'][0], { reason: 'FieldManagerConflict', message: 'conflict with "alice"', field: '.spec.replicas' });

  const single = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=bob`, deployment({ replicas: 3 }), APPLY);
  t.is(single.status, 409);
  t.is(body(single)['message'], 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas');

  const forced = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=carol&force=true`, deployment({ replicas: 5 }), APPLY);
  t.is(forced.status, 200);
  t.is(body(forced)['spec']['replicas'], 5);
  const aliceFields = body(forced)['metadata']['managedFields'].find((entry: Json) => entry['manager'] === 'alice')['fieldsV1'];
  t.is(aliceFields['f:spec']['f:replicas'], undefined, 'alice lost replicas');
  t.deepEqual(aliceFields['f:spec']['f:selector'], { 'f:matchLabels': { 'f:app': {} } }, 'and kept the rest');

  const forceOnMerge = await api.call('PATCH', `${DEPLOYMENTS}/web?force=true`, { spec: { replicas: 1 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(forceOnMerge.status, 400, 'force is for apply only');
});

test('fields a manager stops applying are removed unless another manager owns them', async (t) => {
  const api = await testApi();
  const two = [
    { name: 'nginx', image: 'nginx:1.26' },
    { name: 'side', image: 'busybox' },
  ];
  await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ replicas: 2, labels: { team: 'a', tier: 'web' }, containers: two }), APPLY);
  await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=bob`, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { tier: 'web' } } }, APPLY);
  const shrunk = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ containers: [{ name: 'nginx', image: 'nginx:1.26' }] }), APPLY);
  t.is(shrunk.status, 200, JSON.stringify(shrunk.body));
  const object = body(shrunk);
  t.deepEqual(object['metadata']['labels'], { tier: 'web' }, 'team removed; tier is still bob’s');
  t.deepEqual(
    object['spec']['template']['spec']['containers'].map((container: Json) => container['name']),
    ['nginx'],
    'the side container went away',
  );
  t.is(object['spec']['replicas'], 1, 'replicas, no longer applied, was removed and defaulted again');
  t.is(object['metadata']['generation'], 2);
});

test('ordinary writes are recorded as Update managers once an object has managedFields', async (t) => {
  const api = await testApi();
  await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ replicas: 2 }), APPLY);
  const scaled = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=kubectl-edit`, { spec: { replicas: 4 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(scaled.status, 200);
  t.deepEqual(managers(body(scaled)), ['alice/Apply', 'kubectl-edit/Update']);
  const editor = body(scaled)['metadata']['managedFields'][1];
  t.deepEqual(editor['fieldsV1'], { 'f:spec': { 'f:replicas': {} } });
  t.regex(editor['time'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const conflict = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ replicas: 2 }), APPLY);
  t.is(conflict.status, 409);
  t.is(body(conflict)['message'], `Apply failed with 1 conflict: conflict with "kubectl-edit" using apps/v1 at ${editor['time']}: .spec.replicas`);
  const plain = await api.call('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } });
  t.is(body(plain)['metadata']['managedFields'], undefined, 'objects never applied carry none');
});

test('fieldValidation: Strict rejects unknown fields, Warn sends Warning headers, Ignore accepts', async (t) => {
  const api = await testApi();
  const bad = deployment();
  bad['spec']['foo'] = 1;
  bad['spec']['template']['spec']['containers'][0]['bogus'] = true;
  const strict = await api.call('POST', `${DEPLOYMENTS}?fieldValidation=Strict`, bad);
  t.is(strict.status, 400);
  t.is(body(strict)['reason'], 'BadRequest');
  t.is(body(strict)['message'], 'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].bogus", unknown field "spec.foo"');
  const warned = await api.call('POST', DEPLOYMENTS, bad);
  t.is(warned.status, 201, 'Warn is the default');
  t.is(warned.headers?.['warning'], '299 - "unknown field \\"spec.template.spec.containers[0].bogus\\"", 299 - "unknown field \\"spec.foo\\""');
  const ignored = await api.call('POST', `/api/v1/namespaces/default/configmaps?fieldValidation=Ignore`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, extra: 1 });
  t.is(ignored.status, 201);
  t.is(ignored.headers?.['warning'], undefined);
  // A patch is judged on what it adds, not on unknown fields already stored.
  const patched = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldValidation=Strict`, { spec: { replicas: 3 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(patched.status, 200);
  const patchedBad = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldValidation=Strict`, { spec: { bar: 3 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(patchedBad.status, 400);
  t.is(body(patchedBad)['message'], 'strict decoding error: unknown field "spec.bar"');
  const applied = deployment();
  applied['metadata']['labelz'] = {};
  const strictApply = await api.call('PATCH', `${DEPLOYMENTS}/other?fieldManager=x&fieldValidation=Strict`, { ...applied, metadata: { name: 'other', labelz: {} } }, APPLY);
  t.is(strictApply.status, 400);
  t.regex(String(body(strictApply)['message']), /unknown field "metadata\.labelz"/);
  const invalid = await api.call('POST', `${DEPLOYMENTS}?fieldValidation=Loose`, deployment());
  t.is(invalid.status, 400);
});

test('managedFields written by a client, garbage included, never make a 5xx', async (t) => {
  const api = await testApi();
  const created = await api.call('POST', DEPLOYMENTS, {
    ...deployment({ replicas: 1 }),
    metadata: { name: 'web', managedFields: [{ manager: 'weird', operation: 'Update', apiVersion: 'apps/v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'k:not-json': {}, 'v:"x"': {}, 'f:replicas': {} } } }] },
  });
  t.is(created.status, 201);
  const conflict = await api.call('PATCH', `${DEPLOYMENTS}/web?fieldManager=alice`, deployment({ replicas: 3 }), APPLY);
  t.is(conflict.status, 409, 'the well-formed part of the entry still counts');
  t.is(body(conflict)['message'], 'Apply failed with 1 conflict: conflict with "weird" using apps/v1: .spec.replicas');
  const merged = await api.call('PATCH', `${DEPLOYMENTS}/web`, { spec: { paused: true } }, { 'content-type': 'application/merge-patch+json', 'user-agent': 'kubectl/v1.32.4 (linux/amd64)' });
  t.is(merged.status, 200);
  t.deepEqual(managers(body(merged)), ['weird/Update', 'kubectl/Update'], 'a write with no fieldManager is the User-Agent’s');
});

test('property: fieldsV1 round-trips any object’s field set, and apply never fails with a 5xx', (t) => {
  const json = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small' }, fc.string(), fc.integer(), fc.boolean(), fc.constant(null), tie('object'), fc.array(tie('value'), { maxLength: 3 })),
    object: fc.dictionary(fc.constantFrom('name', 'image', 'containers', 'spec', 'ports', 'containerPort', 'env', 'a', 'k:x', '.'), tie('value'), { maxKeys: 4 }),
  })).object as unknown as fc.Arbitrary<Record<string, unknown>>;
  fc.assert(
    fc.property(json, json, fc.boolean(), (live, applied, force) => {
      const set = fieldSetOf(live);
      t.deepEqual(fromFieldsV1(toFieldsV1(set)).paths(), set.paths());
      try {
        const first = applyConfiguration({ definition: deployments, live: undefined, applied: live, manager: 'a', force: false, nowMs: 0 });
        applyConfiguration({ definition: deployments, live: first, applied, manager: 'b', force, nowMs: 1 });
        applyConfiguration({ definition: deployments, live: first, applied, manager: 'a', force, nowMs: 1 });
      } catch (error) {
        if (!(error instanceof ApiError) || error.httpStatus >= 500) throw error;
      }
    }),
    { numRuns: 300 },
  );
});
