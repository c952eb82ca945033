// PodDisruptionBudgets through the real pipeline: validation (exactly one of minAvailable and
// maxUnavailable, int or percent), the table, and pods/eviction honouring a budget: 429 with
// Kubernetes' message when no disruption is left or the budget's generation is not yet observed,
// the budget charged (disruptionsAllowed − 1, disruptedPods) on success, pods that are not running
// evicted without a charge, and two concurrent evictions for the last disruption: one 201, one 429.

import test from 'ava';
import type { JsonObject } from '../../src/api/registry/types.js';
import { testApi, type TestApi } from './api-helpers.js';

const PDBS = '/apis/policy/v1/namespaces/default/poddisruptionbudgets';
const PODS = '/api/v1/namespaces/default/pods';

async function runningPod(api: TestApi, name: string, labels: Record<string, string>, ready = true): Promise<void> {
  const created = await api.call('POST', PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  if (created.status !== 201) throw new Error(`pod ${name}: ${JSON.stringify(created.body)}`);
  const status = { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] };
  const patched = await api.call('PATCH', `${PODS}/${name}/status`, { status }, { 'content-type': 'application/merge-patch+json' });
  if (patched.status !== 200) throw new Error(`pod ${name} status: ${JSON.stringify(patched.body)}`);
}

async function budget(api: TestApi, name: string, spec: JsonObject, status?: JsonObject): Promise<JsonObject> {
  const created = await api.call('POST', PDBS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec });
  if (created.status !== 201) throw new Error(`pdb ${name}: ${JSON.stringify(created.body)}`);
  if (status === undefined) return created.body as JsonObject;
  const patched = await api.call('PATCH', `${PDBS}/${name}/status`, { status: { observedGeneration: 1, ...status } }, { 'content-type': 'application/merge-patch+json' });
  if (patched.status !== 200) throw new Error(`pdb ${name} status: ${JSON.stringify(patched.body)}`);
  return patched.body as JsonObject;
}

const evict = (api: TestApi, pod: string): ReturnType<TestApi['call']> =>
  api.call('POST', `${PODS}/${pod}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: 'default' } });

function statusOf(object: unknown): JsonObject {
  return ((object as JsonObject)['status'] ?? {}) as JsonObject;
}

test('a budget needs exactly one of minAvailable and maxUnavailable, each an integer or a percentage', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  const post = (name: string, spec: JsonObject) => api.call('POST', PDBS, { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name }, spec });
  const both = await post('both', { minAvailable: 1, maxUnavailable: 1, selector: { matchLabels: { app: 'a' } } });
  t.is(both.status, 422);
  t.regex(JSON.stringify(both.body), /minAvailable and maxUnavailable cannot be both set/);
  const neither = await post('neither', { selector: { matchLabels: { app: 'a' } } });
  t.is(neither.status, 422);
  t.is((await post('negative', { minAvailable: -1 })).status, 422);
  const percent = await post('percent', { maxUnavailable: '150%' });
  t.is(percent.status, 422);
  t.regex(JSON.stringify(percent.body), /must not be greater than 100%/);
  t.is((await post('word', { minAvailable: 'half' })).status, 422);
  t.is((await post('good-int', { minAvailable: 2, selector: { matchLabels: { app: 'a' } } })).status, 201);
  t.is((await post('good-percent', { maxUnavailable: '25%', selector: { matchLabels: { app: 'a' } } })).status, 201);
  const table = await api.call('GET', PDBS, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  const body = table.body as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
  t.deepEqual(body.columnDefinitions.map((column) => column.name), ['Name', 'Min Available', 'Max Unavailable', 'Allowed Disruptions', 'Age']);
  t.deepEqual(body.rows.map((row) => row.cells.slice(0, 4)), [
    ['good-int', '2', 'N/A', 0],
    ['good-percent', 'N/A', '25%', 0],
  ]);
});

test('an eviction spends a disruption; with none left it is refused with 429 and the budget named', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  await runningPod(api, 'web-1', { app: 'web' });
  await runningPod(api, 'web-2', { app: 'web' });
  await budget(api, 'web', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } }, { disruptionsAllowed: 1, currentHealthy: 2, desiredHealthy: 1, expectedPods: 2 });
  const first = await evict(api, 'web-1');
  t.is(first.status, 201, JSON.stringify(first.body));
  t.is((await api.call('GET', `${PODS}/web-1`)).status, 404);
  const charged = statusOf((await api.call('GET', `${PDBS}/web`)).body);
  t.is(charged['disruptionsAllowed'], 0);
  t.true(Object.keys(charged['disruptedPods'] as JsonObject).includes('web-1'));
  const second = await evict(api, 'web-2');
  t.is(second.status, 429);
  const status = second.body as { message: string; reason: string; details: { causes: { reason: string; message: string }[] } };
  t.is(status.reason, 'TooManyRequests');
  t.is(status.message, "Cannot evict pod as it would violate the pod's disruption budget.");
  t.deepEqual(status.details.causes.map((cause) => cause.reason), ['DisruptionBudget']);
  t.regex(status.details.causes[0]?.message ?? '', /The disruption budget web needs 1 healthy pods and has 2 currently/);
  t.is((await api.call('GET', `${PODS}/web-2`)).status, 200, 'the refused pod is still there');
});

test('a budget whose generation the controller has not observed refuses evictions', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  await runningPod(api, 'db-1', { app: 'db' });
  await budget(api, 'db', { maxUnavailable: 1, selector: { matchLabels: { app: 'db' } } });
  const refused = await evict(api, 'db-1');
  t.is(refused.status, 429);
  t.regex(JSON.stringify(refused.body), /is still being processed by the server/);
});

test('pods that are not running, unhealthy pods under a met budget and pods no budget covers are evicted without a charge', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  await budget(api, 'web', { minAvailable: 1, selector: { matchLabels: { app: 'web' } } }, { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1, expectedPods: 3 });
  const pending = await api.call('POST', PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'pending', labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  t.is(pending.status, 201);
  t.is((await evict(api, 'pending')).status, 201);
  await runningPod(api, 'sick', { app: 'web' }, false);
  t.is((await evict(api, 'sick')).status, 201, 'not ready, and the budget is met without it');
  await runningPod(api, 'other', { app: 'other' });
  t.is((await evict(api, 'other')).status, 201);
  t.is(statusOf((await api.call('GET', `${PDBS}/web`)).body)['disruptionsAllowed'], 0);
  await runningPod(api, 'healthy', { app: 'web' });
  t.is((await evict(api, 'healthy')).status, 429);
});

test('two concurrent evictions for the last allowed disruption: one 201, one 429', async (t) => {
  for (let round = 0; round < 5; round++) {
    const api = await testApi();
    await runningPod(api, 'a', { app: 'web' });
    await runningPod(api, 'b', { app: 'web' });
    await runningPod(api, 'c', { app: 'web' });
    await budget(api, 'web', { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }, { disruptionsAllowed: 1, currentHealthy: 3, desiredHealthy: 2, expectedPods: 3 });
    const answers = await Promise.all([evict(api, 'a'), evict(api, 'b')]);
    t.deepEqual(answers.map((answer) => answer.status).sort(), [201, 429], `round ${round}`);
    const pods = (await api.call('GET', PODS)).body as { items: unknown[] };
    t.is(pods.items.length, 2, `round ${round}: exactly one pod evicted`);
    api.handler.close();
  }
});

test('a pod under two budgets cannot be evicted', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  await runningPod(api, 'x', { app: 'web', tier: 'front' });
  await budget(api, 'one', { minAvailable: 0, selector: { matchLabels: { app: 'web' } } }, { disruptionsAllowed: 1 });
  await budget(api, 'two', { minAvailable: 0, selector: { matchLabels: { tier: 'front' } } }, { disruptionsAllowed: 1 });
  const answer = await evict(api, 'x');
  t.is(answer.status, 500);
  t.regex(JSON.stringify(answer.body), /more than one PodDisruptionBudget/);
});
