// OpenAPI v3 from the registry (src/api/openapi.ts): the /openapi/v3 index lists every served
// group-version with a hashed URL, and each group-version document has a schema per kind tagged
// with its GVK and a PATCH operation carrying the fieldValidation parameter (what kubectl's
// field-validation verifier looks for), with descriptions for `kubectl explain`.
import test from 'ava';
import { testApi } from './api-helpers.js';
import { schemaName } from '../../src/api/openapi.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const body = (response: { body?: unknown; text?: string }): Json => (response.text === undefined ? response.body : JSON.parse(response.text)) as Json;

test('the index lists every served group-version, each document a schema and a PATCH with fieldValidation per kind', async (t) => {
  const api = await testApi();
  const index = await api.call('GET', '/openapi/v3');
  t.is(index.status, 200);
  const paths = body(index)['paths'] as Json;
  const expected = api.handler.registry.groupVersions.map((entry) => (entry.group === '' ? `api/${entry.version}` : `apis/${entry.group}/${entry.version}`));
  t.deepEqual(Object.keys(paths).sort(), [...expected].sort());
  for (const entry of api.handler.registry.groupVersions) {
    const key = entry.group === '' ? `api/${entry.version}` : `apis/${entry.group}/${entry.version}`;
    const url = String(paths[key]['serverRelativeURL']);
    t.regex(url, new RegExp(`^/openapi/v3/${key.replace(/\./g, '\\.')}\\?hash=[0-9A-F]{128}$`));
    const response = await api.call('GET', url);
    t.is(response.status, 200, url);
    t.is(response.headers?.['cache-control'], 'public, immutable', 'a matching hash may be cached for good');
    const document = body(response);
    t.is(document['openapi'], '3.0.0');
    for (const definition of entry.resources) {
      const schema = document['components']['schemas'][schemaName(definition)];
      t.truthy(schema, `${definition.kind} has a schema`);
      t.deepEqual(schema['x-kubernetes-group-version-kind'], [{ group: definition.group, version: definition.version, kind: definition.kind }]);
      if (!definition.verbs.includes('patch')) continue;
      const patches = Object.values(document['paths'] as Json)
        .map((item: Json) => item['patch'])
        .filter((operation: Json | undefined) => operation !== undefined && operation['x-kubernetes-group-version-kind']['kind'] === definition.kind);
      t.is(patches.length, 1, `${definition.kind} has one PATCH`);
      const names = (patches[0]['parameters'] as Json[]).map((parameter) => `${parameter['in']}:${parameter['name']}`);
      t.true(names.includes('query:fieldValidation'), `${definition.kind} PATCH takes fieldValidation`);
      t.is(patches[0]['requestBody']['content']['application/strategic-merge-patch+json'], undefined, 'kubectl keeps its compiled-in patch metadata');
    }
  }
});

/** Follow `allOf: [{$ref}]` to the named component, as kubectl explain does. */
function resolve(document: Json, schema: Json): Json {
  const reference = schema['allOf']?.[0]?.['$ref'];
  if (typeof reference !== 'string') return schema;
  const target = document['components']['schemas'][reference.replace('#/components/schemas/', '')];
  if (target === undefined) throw new Error(`dangling reference ${reference}`);
  return target as Json;
}

test('schemas carry the descriptions kubectl explain prints; named structs are shared components', async (t) => {
  const api = await testApi();
  const response = await api.call('GET', '/openapi/v3/apis/apps/v1');
  const document = body(response);
  const deployment = document['components']['schemas']['io.k8s.api.apps.v1.Deployment'];
  const strategyField = deployment['properties']['spec']['properties']['strategy'];
  t.regex(strategyField['description'], /deployment strategy/);
  t.deepEqual(strategyField['allOf'], [{ $ref: '#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy' }]);
  const strategy = resolve(document, strategyField);
  t.deepEqual(strategy['properties']['type']['enum'], ['Recreate', 'RollingUpdate']);
  const maxSurge = resolve(document, strategy['properties']['rollingUpdate'])['properties']['maxSurge'];
  t.regex(maxSurge['description'], /scheduled above the desired number/);
  t.is(resolve(document, maxSurge)['format'], 'int-or-string');
  t.regex(resolve(document, deployment['properties']['metadata'])['properties']['labels']['description'], /organize and categorize/);
  const podSpec = resolve(document, resolve(document, deployment['properties']['spec']['properties']['template'])['properties']['spec']);
  t.regex(resolve(document, podSpec['properties']['containers']['items'])['properties']['image']['description'], /Container image name/);
  // Every reference in every document resolves.
  for (const entry of api.handler.registry.groupVersions) {
    const key = entry.group === '' ? `api/${entry.version}` : `apis/${entry.group}/${entry.version}`;
    const text = JSON.stringify(body(await api.call('GET', `/openapi/v3/${key}`)));
    const gvDocument = JSON.parse(text) as Json;
    for (const match of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) t.truthy(gvDocument['components']['schemas'][match[1] ?? ''], `${key}: ${match[1]}`);
  }
  t.is(response.headers?.['cache-control'], 'no-cache, private', 'no hash: revalidate');
});

test('unknown OpenAPI paths are 404', async (t) => {
  const api = await testApi();
  t.is((await api.call('GET', '/openapi/v3/apis/nope/v1')).status, 404);
  t.is((await api.call('GET', '/openapi/v2')).status, 404);
});
