// The admission caches (storage/prefix-cache.ts): ResourceQuotas and PriorityClasses kept from a list
// and a watch, so that a create in a namespace without quotas and a pod naming a known class make no
// extra store read; a quota or class written through this server is honoured at once (its watch
// event awaited), one written through another API server once the watch delivers it.

import test from 'ava';
import { systemClock } from '../../src/actors/clock.js';
import { createApiHandler } from '../../src/api/pipeline.js';
import { PrefixCache } from '../../src/api/storage/prefix-cache.js';
import type { ApiRequest } from '../../src/api/handlers/types.js';
import { LocalStore } from '../../src/store/local-store.js';
import type { RangeRequest } from '../../src/store/index.js';
import { ADMIN, ruleAuthorizer } from './api-helpers.js';
import { eventually } from './controllers-helpers.js';

const encoder = new TextEncoder();

/** A LocalStore that counts range reads by key prefix. */
class CountingStore extends LocalStore {
  readonly ranges: string[] = [];
  override range(request: RangeRequest): ReturnType<LocalStore['range']> {
    this.ranges.push(request.key);
    return super.range(request);
  }
}

function handlerOver(store: LocalStore) {
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer() });
  const call = (method: string, path: string, body?: unknown) => {
    const [pathname, search] = path.split('?');
    const request: ApiRequest = { method, path: pathname ?? '/', query: new URLSearchParams(search ?? ''), headers: { 'content-type': 'application/json' }, user: ADMIN, ...(body === undefined ? {} : { body: encoder.encode(JSON.stringify(body)) }) };
    return handler.handle(request) as Promise<{ status: number; body?: unknown }>;
  };
  return { handler, call };
}

const pod = (name: string, spec: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } });

test('the prefix cache follows creates and deletes, and does not answer while a noted write is on its way', async (t) => {
  const store = new LocalStore(systemClock);
  const cache = new PrefixCache(store, '/registry/things/', systemClock);
  t.teardown(() => cache.close());
  await store.put({ key: '/registry/things/ns/a', value: encoder.encode('{"v":1}') });
  t.is(cache.snapshot(), undefined, 'not synced on first use');
  await eventually(() => cache.snapshot() !== undefined, 'synced');
  t.deepEqual([...(cache.snapshot()?.keys() ?? [])], ['ns/a']);
  const put = await store.put({ key: '/registry/things/ns/b', value: encoder.encode('{"v":2}') });
  cache.noteWrite('ns/b', put.header.revision, false);
  // Either the event arrived already (and the cache answers with b) or it does not answer yet.
  const snapshot = cache.snapshot();
  t.true(snapshot === undefined || snapshot.has('ns/b'));
  await eventually(() => cache.snapshot()?.has('ns/b') === true, 'b seen');
  cache.noteWrite('ns/a', 0, true);
  t.is(cache.snapshot(), undefined, 'a delete noted before it happened keeps the cache quiet');
  await store.put({ key: '/registry/things/ns/a', value: encoder.encode('{"v":3}') });
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(cache.snapshot(), undefined, 'an update event does not clear a noted delete');
  await store.deleteRange({ key: '/registry/things/ns/a' });
  await eventually(() => cache.snapshot()?.has('ns/a') === false, 'the delete seen');
});

test('once synced, a create in a namespace without quotas reads no quota and a pod naming a known class reads no class', async (t) => {
  const store = new CountingStore(systemClock);
  const { handler, call } = handlerOver(store);
  t.teardown(() => handler.close());
  await handler.ensureSystemNamespaces();
  t.is((await call('POST', '/apis/scheduling.k8s.io/v1/priorityclasses', { apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'high' }, value: 100 })).status, 201);
  t.is((await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'first' } })).status, 201);
  await eventually(async () => {
    store.ranges.length = 0;
    const created = await call('POST', '/api/v1/namespaces/default/pods', pod(`p${Math.random().toString(36).slice(2, 7)}`, { priorityClassName: 'high' }));
    return created.status === 201 && store.ranges.filter((key) => key.includes('resourcequotas') || key.includes('priorityclasses')).length === 0;
  }, 'creates answered from the caches');
  store.ranges.length = 0;
  t.is((await call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'second' } })).status, 201);
  t.deepEqual(store.ranges.filter((key) => key.includes('resourcequotas')), []);
});

test('a quota written through this server applies to the very next create; one from another server once its watch delivers it', async (t) => {
  const store = new LocalStore(systemClock);
  const one = handlerOver(store);
  const other = handlerOver(store);
  t.teardown(() => {
    one.handler.close();
    other.handler.close();
  });
  await one.handler.ensureSystemNamespaces();
  t.is((await one.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'warm' } })).status, 201);
  t.is((await other.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'warm-too' } })).status, 201);
  for (let round = 0; round < 20; round++) {
    const namespace = `ns-${round}`;
    t.is((await one.call('POST', '/api/v1/namespaces', { metadata: { name: namespace } })).status, 201);
    t.is((await one.call('POST', `/api/v1/namespaces/${namespace}/resourcequotas`, { metadata: { name: 'q' }, spec: { hard: { pods: '0' } } })).status, 201);
    const refused = await one.call('POST', `/api/v1/namespaces/${namespace}/pods`, pod('p'));
    t.is(refused.status, 403, `round ${round}: the quota this server just created applies`);
  }
  t.is((await other.call('POST', '/api/v1/namespaces', { metadata: { name: 'elsewhere' } })).status, 201);
  t.is((await other.call('POST', '/api/v1/namespaces/elsewhere/resourcequotas', { metadata: { name: 'q' }, spec: { hard: { pods: '0' } } })).status, 201);
  await eventually(async () => (await one.call('POST', '/api/v1/namespaces/elsewhere/pods?dryRun=All', pod('p'))).status === 403, 'the other server’s quota seen through the watch', 10_000);
});
