// The resource quota controller against the real API: it writes status.hard and status.used for a
// new quota, releases usage when objects go away (so a create refused before is admitted after a
// delete), drops a charge admission made for an object that was never written, and keeps the usage
// of kinds it cannot list.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { ApiClient, ApiClientError, CONFIGMAPS, LocalApiTransport, PODS, type KubeObject } from '../../src/client/index.js';
import { RESOURCEQUOTAS } from '../../src/client/resources-policy.js';
import { ResourceQuotaController, typeForResource } from '../../src/controllers/resource-quota.js';
import { ruleAuthorizer, ADMIN } from './api-helpers.js';
import { adminClient, eventually, runControllers, testApi } from './controllers-helpers.js';

function pod(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '250m' } } }] } };
}

test('quota resource names map to the kinds they count', (t) => {
  t.is(typeForResource('requests.cpu')?.resource, 'pods');
  t.is(typeForResource('count/pods')?.resource, 'pods');
  t.is(typeForResource('services.nodeports')?.resource, 'services');
  t.is(typeForResource('count/deployments.apps')?.resource, 'deployments');
  t.is(typeForResource('secrets')?.resource, 'secrets');
  t.is(typeForResource('count/widgets.example.com'), undefined);
});

test('the controller counts usage, releases it when objects go, and a refused create then fits', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const controllers = await runControllers(client, [new ResourceQuotaController({ client, clock: systemClock, log: silentLogger() })]);
  t.teardown(() => {
    controllers.stop();
    api.handler.close();
  });
  await client.create(PODS, 'default', pod('existing'));
  await client.create(RESOURCEQUOTAS, 'default', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { pods: '2', 'requests.cpu': '1', 'count/configmaps': '5', 'count/widgets.example.com': '3' } } });
  const usedOf = async (): Promise<Record<string, string>> => (((await client.get(RESOURCEQUOTAS, 'default', 'q'))['status'] ?? {}) as { used?: Record<string, string> }).used ?? {};
  await eventually(async () => (await usedOf())['pods'] === '1', 'the controller counting the existing pod');
  t.deepEqual(await usedOf(), { 'count/configmaps': '0', 'count/widgets.example.com': '0', pods: '1', 'requests.cpu': '250m' });
  t.deepEqual(((await client.get(RESOURCEQUOTAS, 'default', 'q'))['status'] as { hard: unknown }).hard, { pods: '2', 'requests.cpu': '1', 'count/configmaps': '5', 'count/widgets.example.com': '3' });

  await client.create(PODS, 'default', pod('second'));
  const refused = await client.create(PODS, 'default', pod('third')).catch((error: unknown) => error);
  t.true(refused instanceof ApiClientError && refused.status === 403);
  await client.delete(PODS, 'default', 'existing', { gracePeriodSeconds: 0 });
  await eventually(async () => (await usedOf())['pods'] === '1', 'the deleted pod released');
  t.is((await usedOf())['requests.cpu'], '250m');
  await client.create(PODS, 'default', pod('third'));
  await eventually(async () => (await usedOf())['pods'] === '2', 'the new pod counted');

  // A charge for a create that never reached the store (a dry run is not charged; a failed write is): recounted away.
  await client.patch(RESOURCEQUOTAS, 'default', 'q', { status: { used: { 'count/configmaps': '4' } } }, 'merge', 'status');
  await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } });
  await eventually(async () => (await usedOf())['count/configmaps'] === '1', 'the configmap count recounted from what exists');
});

test('a kind the controller may not list keeps the usage admission charged', async (t) => {
  const api = await testApi(ruleAuthorizer((attributes) => attributes.kind === 'resource' && attributes.resource === 'secrets' && attributes.user.name === 'controller'));
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const controllerClient = new ApiClient(new LocalApiTransport(api.handler, { name: 'controller', groups: ['system:authenticated'] }));
  const controllers = await runControllers(controllerClient, [new ResourceQuotaController({ client: controllerClient, clock: systemClock, log: silentLogger() })]);
  t.teardown(() => {
    controllers.stop();
    api.handler.close();
  });
  await admin.create(RESOURCEQUOTAS, 'default', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { secrets: '3', pods: '3' } } });
  await admin.create({ group: '', version: 'v1', resource: 'secrets', kind: 'Secret', namespaced: true }, 'default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' } });
  const usedOf = async (): Promise<Record<string, string>> => (((await admin.get(RESOURCEQUOTAS, 'default', 'q'))['status'] ?? {}) as { used?: Record<string, string> }).used ?? {};
  await eventually(async () => (await usedOf())['pods'] === '0', 'the controller writing the status');
  t.is((await usedOf())['secrets'], '1', 'the secret charged by admission stays counted');
});
