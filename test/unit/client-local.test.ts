// The components' API client over the in-process pipeline: typed CRUD, errors as ApiClientError, the
// binding subresource, and an informer that lists, follows a watch, and converges after its watch ends.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { ApiClient, Informer, isAlreadyExists, isConflict, isNotFound, LocalApiTransport, metaOf, NODES, PODS, type KubeObject } from '../../src/client/index.js';
import { testApi } from './api-helpers.js';

const ADMIN = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

function pod(name: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
}

async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('typed CRUD through the real pipeline, with Kubernetes errors', async (t) => {
  const api = await testApi();
  const client = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const created = await client.create(PODS, 'default', pod('web-1'));
  t.is(metaOf(created).namespace, 'default');
  t.true(isAlreadyExists(await t.throwsAsync(client.create(PODS, 'default', pod('web-1')))));
  const fetched = await client.get(PODS, 'default', 'web-1');
  const stale = { ...fetched, metadata: { ...metaOf(fetched), resourceVersion: '1' } };
  const updated = await client.patch(PODS, 'default', 'web-1', { metadata: { labels: { tier: 'front' } } });
  t.is(metaOf(updated).labels?.['tier'], 'front');
  t.true(isConflict(await t.throwsAsync(client.update(PODS, stale))));
  const listed = await client.list(PODS, { namespace: 'default', labelSelector: 'app=web' });
  t.is(listed.items.length, 1);
  await client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' } });
  await client.bind('default', 'web-1', 'n1');
  t.is(((await client.get(PODS, 'default', 'web-1'))['spec'] as { nodeName?: string }).nodeName, 'n1');
  await client.delete(PODS, 'default', 'web-1', { gracePeriodSeconds: 0 });
  t.true(isNotFound(await t.throwsAsync(client.get(PODS, 'default', 'web-1'))));
});

test('an informer lists, follows the watch, and resumes after its watch ends', async (t) => {
  const api = await testApi();
  const client = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  await client.create(PODS, 'default', pod('a'));
  const seen: string[] = [];
  const informer = new Informer(client, PODS, { clock: systemClock, log: silentLogger(), watchTimeoutSeconds: 1 });
  informer.addHandlers({
    onAdd: (object) => seen.push(`add ${metaOf(object).name ?? ''}`),
    onUpdate: (_previous, object) => seen.push(`update ${metaOf(object).name ?? ''}`),
    onDelete: (object) => seen.push(`delete ${metaOf(object).name ?? ''}`),
  });
  informer.start();
  await informer.whenSynced();
  t.deepEqual(seen, ['add a']);
  await client.create(PODS, 'default', pod('b'));
  await client.patch(PODS, 'default', 'a', { metadata: { labels: { x: 'y' } } });
  await eventually(() => seen.length === 3, 'add b and update a');
  // The server ends the watch after 1 s; the informer resumes and still sees changes.
  await new Promise((resolve) => setTimeout(resolve, 1_300));
  await client.delete(PODS, 'default', 'b', { gracePeriodSeconds: 0 });
  await eventually(() => seen.includes('delete b'), 'delete b after the resumed watch');
  t.deepEqual(informer.list().map((object) => metaOf(object).name), ['a']);
  informer.stop();
  await client.close();
});
