// CustomResourceDefinitions through the in-process API pipeline: CRD validation and conditions,
// custom resources served at once (routing, discovery, OpenAPI, Tables), schema validation and
// pruning, patches, subresources, serving on a second API server through the watch, and the
// deletion of a CRD removing its custom resources.

import test from 'ava';
import { createApiHandler } from '../../src/api/pipeline.js';
import { prune, validateAgainst } from '../../src/api/crd/structural.js';
import type { JsonObject } from '../../src/api/registry/types.js';
import { ADMIN, ruleAuthorizer, testApi } from './api-helpers.js';
import { cronTabCrd } from './crd-fixtures.js';
import type { ApiRequest, ApiResponse } from '../../src/api/handlers/types.js';
import * as fc from 'fast-check';

const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

const CRONTABS = '/apis/stable.example.com/v1/namespaces/default/crontabs';
const cronTab = (name: string, spec: JsonObject): JsonObject => ({ apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name }, spec });

type Causes = { details?: { causes?: { field?: string; reason?: string }[] }; message?: string };
const fieldsOf = (body: unknown): string[] => ((body as Causes).details?.causes ?? []).map((cause) => cause.field ?? '');

test('a CRD is created with NamesAccepted and Established conditions and defaulted names', async (t) => {
  const api = await testApi();
  const created = await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd());
  t.is(created.status, 201, JSON.stringify(created.body));
  const body = created.body as { spec: { names: { listKind: string } }; status: { conditions: { type: string; status: string }[] } };
  t.is(body.spec.names.listKind, 'CronTabList');
  t.deepEqual(
    body.status.conditions.map((condition) => `${condition.type}=${condition.status}`),
    ['NamesAccepted=True', 'Established=True'],
  );
  const byShortName = await api.call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com');
  t.is(byShortName.status, 200);
  api.handler.close();
});

test('invalid CRDs are refused with the fields named', async (t) => {
  const api = await testApi();
  const base = cronTabCrd();
  const spec = base['spec'] as JsonObject;
  const versions = spec['versions'] as JsonObject[];
  const cases: [string, JsonObject, string][] = [
    ['name not plural.group', { ...base, metadata: { name: 'wrong.stable.example.com' } }, 'metadata.name'],
    ['two storage versions', { ...base, spec: { ...spec, versions: [versions[0], { ...versions[0], name: 'v2' }] } }, 'spec.versions'],
    ['no storage version', { ...base, spec: { ...spec, versions: [{ ...versions[0], storage: false }] } }, 'spec.versions'],
    ['no schema', { ...base, spec: { ...spec, versions: [{ name: 'v1', served: true, storage: true }] } }, 'spec.versions[0].schema.openAPIV3Schema'],
    ['bad scope', { ...base, spec: { ...spec, scope: 'Galaxy' } }, 'spec.scope'],
    ['bad plural', { ...base, spec: { ...spec, names: { plural: 'Cron_Tabs', kind: 'CronTab' } } }, 'spec.names.plural'],
    ['bad short name', { ...base, spec: { ...spec, names: { plural: 'crontabs', kind: 'CronTab', shortNames: ['C T'] } } }, 'spec.names.shortNames[0]'],
    ['bad printer column path', { ...base, spec: { ...spec, versions: [{ ...versions[0], additionalPrinterColumns: [{ name: 'X', type: 'string', jsonPath: 'spec[?(@.x)]' }] }] } }, 'spec.versions[0].additionalPrinterColumns[0].jsonPath'],
  ];
  for (const [what, crd, field] of cases) {
    const response = await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    t.is(response.status, 422, what);
    t.true(fieldsOf(response.body).includes(field), `${what}: ${JSON.stringify(response.body)}`);
  }
  const list = await api.call('GET', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions');
  t.deepEqual((list.body as { items: unknown[] }).items, []);
  api.handler.close();
});

test('custom resources are served at once: CRUD, discovery, OpenAPI and Tables with printer columns', async (t) => {
  const api = await testApi();
  t.is((await api.call('POST', CRONTABS, cronTab('before', { cronSpec: '* * * * */5' }))).status, 404);
  t.is((await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd())).status, 201);
  const created = await api.call('POST', CRONTABS, cronTab('nightly', { cronSpec: '0 3 * * *', image: 'cron:1', replicas: 2 }));
  t.is(created.status, 201, JSON.stringify(created.body));
  t.is((await api.call('GET', `${CRONTABS}/nightly`)).status, 200);

  const resources = (await api.call('GET', '/apis/stable.example.com/v1')).body as { resources: { name: string; shortNames?: string[]; namespaced: boolean; kind: string }[] };
  const crontabs = resources.resources.find((resource) => resource.name === 'crontabs');
  t.deepEqual(crontabs?.shortNames, ['ct']);
  t.true(crontabs?.namespaced);
  t.true(resources.resources.some((resource) => resource.name === 'crontabs/status'));
  t.true(resources.resources.some((resource) => resource.name === 'crontabs/scale'));
  const groups = (await api.call('GET', '/apis')).body as { groups: { name: string }[] };
  t.true(groups.groups.some((group) => group.name === 'stable.example.com'));
  const aggregated = await api.call('GET', '/apis', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' });
  t.true(JSON.stringify(aggregated.body).includes('"crontabs"'));

  const index = (await api.call('GET', '/openapi/v3')).body as { paths: Record<string, unknown> };
  t.truthy(index.paths['apis/stable.example.com/v1']);
  const documentResponse = await api.call('GET', '/openapi/v3/apis/stable.example.com/v1');
  const documentText = 'text' in documentResponse ? String(documentResponse.text) : JSON.stringify(documentResponse.body);
  t.true(documentText.includes('CronTabSpec is what the cron tab should do.'));
  t.true(documentText.includes('x-kubernetes-group-version-kind'));

  const table = (await api.call('GET', CRONTABS, undefined, { accept: TABLE_ACCEPT })).body as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  t.deepEqual(table.columnDefinitions.map((column) => column.name), ['Name', 'Spec', 'Replicas', 'Age']);
  t.deepEqual(table.rows[0]?.cells.slice(0, 3), ['nightly', '0 3 * * *', 2]);
  api.handler.close();
});

test('custom resources are validated against the schema, with causes per field', async (t) => {
  const api = await testApi();
  await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd());
  const cases: [string, JsonObject, string][] = [
    ['required', { image: 'x' }, 'spec.cronSpec'],
    ['type', { cronSpec: '* * * * *', replicas: 'three' }, 'spec.replicas'],
    ['maximum', { cronSpec: '* * * * *', replicas: 11 }, 'spec.replicas'],
    ['minimum', { cronSpec: '* * * * *', replicas: 0 }, 'spec.replicas'],
    ['pattern', { cronSpec: 'every minute' }, 'spec.cronSpec'],
    ['maxLength', { cronSpec: '* * * * *', image: 'a-very-long-image-name:latest' }, 'spec.image'],
    ['minLength', { cronSpec: '* * * * *', image: '' }, 'spec.image'],
    ['enum', { cronSpec: '* * * * *', mode: 'Medium' }, 'spec.mode'],
    ['items', { cronSpec: '* * * * *', tags: ['ok', 'too-long'] }, 'spec.tags[1]'],
    ['additionalProperties', { cronSpec: '* * * * *', env: { A: 1 } }, 'spec.env.A'],
    ['int-or-string', { cronSpec: '* * * * *', port: 1.5 }, 'spec.port'],
    ['not nullable', { cronSpec: '* * * * *', image: null }, 'spec.image'],
  ];
  for (const [what, spec, field] of cases) {
    const response = await api.call('POST', CRONTABS, cronTab(`bad-${what.toLowerCase().replace(/[^a-z]/g, '')}`, spec));
    t.is(response.status, 422, `${what}: ${JSON.stringify(response.body)}`);
    t.true(fieldsOf(response.body).includes(field), `${what}: ${JSON.stringify(response.body)}`);
    t.true(String((response.body as Causes).message).startsWith('CronTab.stable.example.com'), what);
  }
  const fine = await api.call('POST', CRONTABS, cronTab('fine', { cronSpec: '*/5 * * * *', port: 'http', note: null, env: { A: 'b' } }));
  t.is(fine.status, 201, JSON.stringify(fine.body));
  api.handler.close();
});

test('unknown fields are pruned unless preserved; Strict field validation refuses them', async (t) => {
  const api = await testApi();
  await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd());
  const body = { ...cronTab('pruned', { cronSpec: '* * * * *', unknown: 1, extra: { anything: { goes: true } } }), junk: 'x' };
  const created = await api.call('POST', `${CRONTABS}?fieldValidation=Ignore`, body);
  t.is(created.status, 201, JSON.stringify(created.body));
  const object = created.body as { spec: JsonObject; junk?: unknown };
  t.is(object.spec['unknown'], undefined);
  t.is(object.junk, undefined);
  t.deepEqual(object.spec['extra'], { anything: { goes: true } });
  const strict = await api.call('POST', `${CRONTABS}?fieldValidation=Strict`, { ...body, metadata: { name: 'strict' } });
  t.is(strict.status, 400);
  t.true(String((strict.body as Causes).message).includes('spec.unknown'));
  api.handler.close();
});

test('merge and JSON patches apply to custom resources; strategic merge is 415; status goes through /status', async (t) => {
  const api = await testApi();
  await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd());
  await api.call('POST', CRONTABS, { ...cronTab('p', { cronSpec: '* * * * *', replicas: 1 }), status: { phase: 'ignored' } });
  const merged = await api.call('PATCH', `${CRONTABS}/p`, { spec: { replicas: 3 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(merged.status, 200, JSON.stringify(merged.body));
  t.is((merged.body as { spec: JsonObject }).spec['replicas'], 3);
  t.is((merged.body as { status?: unknown }).status, undefined);
  const jsonPatched = await api.call('PATCH', `${CRONTABS}/p`, [{ op: 'replace', path: '/spec/replicas', value: 4 }], { 'content-type': 'application/json-patch+json' });
  t.is((jsonPatched.body as { spec: JsonObject }).spec['replicas'], 4);
  const invalidPatch = await api.call('PATCH', `${CRONTABS}/p`, { spec: { replicas: 99 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(invalidPatch.status, 422);
  const strategic = await api.call('PATCH', `${CRONTABS}/p`, { spec: { replicas: 5 } }, { 'content-type': 'application/strategic-merge-patch+json' });
  t.is(strategic.status, 415);
  const status = await api.call('PATCH', `${CRONTABS}/p/status`, { status: { replicas: 4, phase: 'Running' } }, { 'content-type': 'application/merge-patch+json' });
  t.is(status.status, 200, JSON.stringify(status.body));
  t.deepEqual((status.body as { status: JsonObject }).status, { replicas: 4, phase: 'Running' });
  const scale = await api.call('GET', `${CRONTABS}/p/scale`);
  t.is((scale.body as { spec: { replicas: number } }).spec.replicas, 4);
  api.handler.close();
});

test('cluster-scoped custom resources are served without a namespace', async (t) => {
  const api = await testApi();
  const crd = cronTabCrd();
  const spec = crd['spec'] as JsonObject;
  const created = await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    ...crd,
    metadata: { name: 'clusterthings.stable.example.com' },
    spec: { ...spec, scope: 'Cluster', names: { plural: 'clusterthings', kind: 'ClusterThing' } },
  });
  t.is(created.status, 201, JSON.stringify(created.body));
  const thing = await api.call('POST', '/apis/stable.example.com/v1/clusterthings', { apiVersion: 'stable.example.com/v1', kind: 'ClusterThing', metadata: { name: 'one' }, spec: { cronSpec: '* * * * *' } });
  t.is(thing.status, 201, JSON.stringify(thing.body));
  t.is((await api.call('GET', '/apis/stable.example.com/v1/namespaces/default/clusterthings/one')).status, 404);
  api.handler.close();
});

test('another API server on the same store serves a CRD through its watch, and withdraws it when deleted', async (t) => {
  const api = await testApi();
  const other = createApiHandler({ store: api.store, authorizer: ruleAuthorizer() });
  const call = (method: string, path: string): Promise<ApiResponse> => {
    const request: ApiRequest = { method, path, query: new URLSearchParams(), headers: {}, user: ADMIN };
    return other.handle(request);
  };
  await other.crds.whenSynced();
  await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd());
  await api.call('POST', CRONTABS, cronTab('shared', { cronSpec: '* * * * *' }));
  await waitFor(async () => (await call('GET', `${CRONTABS}/shared`)).status === 200);
  t.pass('served on the other server');
  t.is((await api.call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com')).status, 200);
  await waitFor(async () => !other.registry.resources.some((definition) => definition.plural === 'crontabs'));
  t.is((await call('GET', `${CRONTABS}/shared`)).status, 404);
  other.close();
  api.handler.close();
});

test('deleting a CRD deletes its custom resources, then stops serving them', async (t) => {
  const api = await testApi();
  await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd());
  await api.call('POST', CRONTABS, cronTab('a', { cronSpec: '* * * * *' }));
  await api.call('POST', '/api/v1/namespaces', { metadata: { name: 'other' } });
  await api.call('POST', '/apis/stable.example.com/v1/namespaces/other/crontabs', cronTab('b', { cronSpec: '* * * * *' }));
  const deleted = await api.call('DELETE', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com');
  t.is(deleted.status, 200, JSON.stringify(deleted.body));
  t.is((await api.call('GET', `${CRONTABS}/a`)).status, 404);
  t.false(JSON.stringify((await api.call('GET', '/apis')).body).includes('stable.example.com'));
  const left = await api.store.range({ key: '/registry/stable.example.com/', rangeEnd: '/registry/stable.example.com0' });
  t.is(left.kvs.length, 0);
  // Created again: served again, and empty.
  t.is((await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd())).status, 201);
  const list = await api.call('GET', '/apis/stable.example.com/v1/crontabs');
  t.is(list.status, 200);
  t.deepEqual((list.body as { items: unknown[] }).items, []);
  api.handler.close();
});

test('schema validation and pruning, directly', (t) => {
  const schema: JsonObject = {
    type: 'object',
    properties: {
      n: { type: 'number', minimum: 0, exclusiveMinimum: true },
      list: { type: 'array', maxItems: 1, items: { type: 'object', properties: { a: { type: 'string' } } } },
      open: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, properties: { typed: { type: 'integer' } } },
    },
  };
  t.deepEqual(validateAgainst({ n: 1, list: [{ a: 'x' }], open: { typed: 1, free: 'y' } }, schema, 'spec'), []);
  const found = validateAgainst({ n: 0, list: [{ a: 1 }, {}], open: { typed: 'no' } }, schema, 'spec').map((cause) => cause.field);
  t.deepEqual(found.sort(), ['spec.list', 'spec.list[0].a', 'spec.n', 'spec.open.typed']);
  const value = { n: 1, drop: true, list: [{ a: 'x', b: 'gone' }], open: { typed: 1, free: 'kept' } };
  prune(value, schema);
  t.deepEqual(value, { n: 1, list: [{ a: 'x' }], open: { typed: 1, free: 'kept' } });
});

test('generated custom resources: every one is stored (201) or refused with a 4xx, never a 5xx; refusals store nothing', async (t) => {
  const api = await testApi();
  await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', cronTabCrd());
  const value = fc.oneof(fc.string({ maxLength: 30 }), fc.integer({ min: -5, max: 30 }), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
  const field = fc.constantFrom('cronSpec', 'image', 'replicas', 'mode', 'port', 'note', 'tags', 'env', 'extra', 'unknown');
  const cronSpec = fc.oneof(fc.constant('* * * * *'), fc.constant('*/5 1 * * *'), value);
  const fields = fc.tuple(cronSpec, fc.dictionary(field, value, { maxKeys: 4 })).map(([schedule, rest]) => ({ ...rest, cronSpec: schedule }));
  const spec = fc.oneof({ arbitrary: fields, weight: 4 }, { arbitrary: value, weight: 1 });
  let counter = 0;
  const seed = Date.now();
  const statuses = new Set<number>();
  await fc.assert(
    fc.asyncProperty(spec, async (generated) => {
      const name = `gen-${counter++}`;
      const response = await api.call('POST', `${CRONTABS}?fieldValidation=Ignore`, { apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name }, spec: generated });
      statuses.add(response.status);
      if (response.status >= 500) return false;
      const stored = await api.call('GET', `${CRONTABS}/${name}`);
      return response.status === 201 ? stored.status === 200 : response.status >= 400 && response.status < 500 && stored.status === 404;
    }),
    { numRuns: 300, seed },
  ).catch((error: unknown) => {
    t.log(`seed ${seed}`);
    throw error;
  });
  t.true(statuses.has(201) && statuses.has(422), `statuses seen ${[...statuses].join(',')}`);
  api.handler.close();
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met');
}
