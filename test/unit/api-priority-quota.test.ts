// PriorityClasses and ResourceQuotas through the real pipeline: the Priority admission (a class name
// resolves to spec.priority and preemptionPolicy, the globalDefault class applies when none is named,
// an unknown class or a conflicting priority is 403, one globalDefault at a time, reserved system-
// names, immutable value), and the quota admission: counts and compute resources, Kubernetes'
// "exceeded quota" message, scopes, and concurrent creates that never go past `hard`.

import test from 'ava';
import fc from 'fast-check';
import type { JsonObject } from '../../src/api/registry/types.js';
import { SYSTEM_PRIORITY_CLASSES } from '../../src/api/registry/scheduling.js';
import { testApi, type TestApi } from './api-helpers.js';

const PCS = '/apis/scheduling.k8s.io/v1/priorityclasses';
const QUOTAS = '/api/v1/namespaces/default/resourcequotas';
const PODS = '/api/v1/namespaces/default/pods';

function podBody(name: string, spec: JsonObject = {}, resources?: JsonObject): JsonObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', ...(resources === undefined ? {} : { resources }) }], ...spec } };
}

const specOf = (body: unknown): JsonObject => ((body as JsonObject)['spec'] ?? {}) as JsonObject;
const messageOf = (body: unknown): string => String((body as JsonObject)['message'] ?? '');

async function quota(api: TestApi, name: string, spec: JsonObject): Promise<void> {
  const created = await api.call('POST', QUOTAS, { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name }, spec });
  if (created.status !== 201) throw new Error(JSON.stringify(created.body));
}

test('a pod gets the priority of its class, of the globalDefault class, or 0', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  await api.handler.ensureObjects(SYSTEM_PRIORITY_CLASSES);
  const plain = await api.call('POST', PODS, podBody('plain'));
  t.is(plain.status, 201);
  t.like(specOf(plain.body), { priority: 0, preemptionPolicy: 'PreemptLowerPriority' });
  t.false('priorityClassName' in specOf(plain.body));

  t.is((await api.call('POST', PCS, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 1000, preemptionPolicy: 'Never' })).status, 201);
  const high = await api.call('POST', PODS, podBody('high', { priorityClassName: 'high' }));
  t.like(specOf(high.body), { priority: 1000, priorityClassName: 'high', preemptionPolicy: 'Never' });
  const critical = await api.call('POST', PODS, podBody('critical', { priorityClassName: 'system-node-critical' }));
  t.like(specOf(critical.body), { priority: 2_000_001_000 });

  const unknown = await api.call('POST', PODS, podBody('unknown', { priorityClassName: 'nope' }));
  t.is(unknown.status, 403);
  t.is(messageOf(unknown.body), 'pods "unknown" is forbidden: no PriorityClass with name nope was found');
  const conflicting = await api.call('POST', PODS, podBody('conflicting', { priorityClassName: 'high', priority: 5 }));
  t.is(conflicting.status, 403);
  t.regex(messageOf(conflicting.body), /the integer value of priority \(5\) must not be provided in pod spec; priority admission controller computed 1000/);

  t.is((await api.call('POST', PCS, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'default' }, value: 7, globalDefault: true })).status, 201);
  const second = await api.call('POST', PCS, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'other-default' }, value: 8, globalDefault: true });
  t.is(second.status, 403);
  t.regex(messageOf(second.body), /PriorityClass default is already marked as default\. Only one default can exist/);
  const patched = await api.call('PATCH', `${PCS}/high`, { globalDefault: true }, { 'content-type': 'application/merge-patch+json' });
  t.is(patched.status, 403, 'an update may not make a second default either');
  const defaulted = await api.call('POST', PODS, podBody('defaulted'));
  t.like(specOf(defaulted.body), { priority: 7, priorityClassName: 'default' });
});

test('PriorityClass validation: value required and immutable, system- names reserved, user values bounded', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  const post = (name: string, body: JsonObject) => api.call('POST', PCS, { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name }, ...body });
  t.is((await post('no-value', {})).status, 422);
  const reserved = await post('system-mine', { value: 5 });
  t.is(reserved.status, 422);
  t.regex(messageOf(reserved.body), /reserved for system use only/);
  const tooHigh = await post('huge', { value: 2_000_000_000 });
  t.is(tooHigh.status, 422);
  t.regex(messageOf(tooHigh.body), /maximum allowed value of a user defined priority is 1000000000/);
  t.is((await post('ok', { value: 5 })).status, 201);
  const changed = await api.call('PATCH', `${PCS}/ok`, { value: 6 }, { 'content-type': 'application/merge-patch+json' });
  t.is(changed.status, 422);
  const table = await api.call('GET', PCS, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  const body = table.body as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  t.deepEqual(body.columnDefinitions.map((column) => column.name), ['Name', 'Value', 'Global-Default', 'Age', 'PreemptionPolicy']);
  t.deepEqual(body.rows[0]?.cells.filter((_cell, index) => index !== 3), ['ok', 5, false, 'PreemptLowerPriority']);
});

test('a quota refuses the create that would exceed it, with Kubernetes’ message, and charges status.used', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  await quota(api, 'q', { hard: { pods: '2', 'requests.cpu': '1', 'limits.memory': '1Gi' } });
  const resources = { requests: { cpu: '400m' }, limits: { memory: '256Mi' } };
  t.is((await api.call('POST', PODS, podBody('a', {}, resources))).status, 201);
  const used = (((await api.call('GET', `${QUOTAS}/q`)).body as JsonObject)['status'] as JsonObject)['used'];
  t.deepEqual(used, { 'limits.memory': '256Mi', pods: '1', 'requests.cpu': '400m' });
  const cpu = await api.call('POST', PODS, podBody('b', {}, { requests: { cpu: '700m' }, limits: { memory: '256Mi' } }));
  t.is(cpu.status, 403);
  t.is(messageOf(cpu.body), 'pods "b" is forbidden: exceeded quota: q, requested: requests.cpu=700m, used: requests.cpu=400m, limited: requests.cpu=1');
  const undeclared = await api.call('POST', PODS, podBody('c'));
  t.is(undeclared.status, 403);
  t.is(messageOf(undeclared.body), 'pods "c" is forbidden: failed quota: q: must specify limits.memory,requests.cpu');
  t.is((await api.call('POST', PODS, podBody('d', {}, resources))).status, 201);
  const third = await api.call('POST', PODS, podBody('e', {}, resources));
  t.is(third.status, 403);
  t.regex(messageOf(third.body), /^pods "e" is forbidden: exceeded quota: q, requested: pods=1(,requests\.cpu=400m)?, used: pods=2(,requests\.cpu=800m)?, limited: pods=2/);
  const dryRun = await api.call('POST', `${PODS}?dryRun=All`, podBody('f', {}, resources));
  t.is(dryRun.status, 403, 'a dry run is checked too');
  // Other kinds count by count/<resource>; kinds the quota does not name are not limited.
  await quota(api, 'objects', { hard: { 'count/configmaps': '1', services: '0' } });
  t.is((await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'one' } })).status, 201);
  const second = await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'two' } });
  t.is(messageOf(second.body), 'configmaps "two" is forbidden: exceeded quota: objects, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1');
  t.is((await api.call('POST', '/api/v1/namespaces/default/secrets', { metadata: { name: 's' } })).status, 201);
  const table = await api.call('GET', `${QUOTAS}/q`, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  const row = (table.body as { rows: { cells: unknown[] }[] }).rows[0]?.cells ?? [];
  t.deepEqual([row[0], row[2], row[3]], ['q', 'pods: 2/2, requests.cpu: 800m/1', 'limits.memory: 512Mi/1Gi']);
});

test('a quota counts what exists before it (its status not yet written) and honours BestEffort scopes', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  t.is((await api.call('POST', PODS, podBody('before'))).status, 201);
  await quota(api, 'best-effort', { hard: { pods: '2' }, scopes: ['BestEffort'] });
  t.is((await api.call('POST', PODS, podBody('burstable', {}, { requests: { cpu: '1' } }))).status, 201, 'not BestEffort: not counted');
  t.is((await api.call('POST', PODS, podBody('second'))).status, 201);
  const refused = await api.call('POST', PODS, podBody('third'));
  t.is(refused.status, 403);
  t.regex(messageOf(refused.body), /exceeded quota: best-effort, requested: pods=1, used: pods=2, limited: pods=2/);
});

test('concurrent creates never go past a quota (seeded burst sizes)', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 16 }), async (hard, burst) => {
      const api = await testApi();
      try {
        await quota(api, 'q', { hard: { pods: String(hard), 'count/configmaps': String(hard) } });
        const answers = await Promise.all(
          Array.from({ length: burst }, (_unused, index) =>
            index % 2 === 0 ? api.call('POST', PODS, podBody(`p${index}`)) : api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: `c${index}` } }),
          ),
        );
        const pods = ((await api.call('GET', PODS)).body as { items: unknown[] }).items.length;
        const configMaps = ((await api.call('GET', '/api/v1/namespaces/default/configmaps')).body as { items: unknown[] }).items.length;
        if (pods > hard || configMaps > hard) return false;
        const created = answers.filter((answer) => answer.status === 201).length;
        const refused = answers.filter((answer) => answer.status === 403).length;
        return created + refused === burst && pods === Math.min(hard, Math.ceil(burst / 2)) && configMaps === Math.min(hard, Math.floor(burst / 2));
      } finally {
        api.handler.close();
      }
    }),
    { numRuns: 15, seed: 4242 },
  );
  t.pass();
});
