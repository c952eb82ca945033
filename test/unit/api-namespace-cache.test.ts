// Namespace lifecycle admission from the namespace cache (src/api/storage/namespace-cache.ts): a
// namespaced create in a known Active namespace makes no store read for it; a namespace created a
// moment ago is found by a live read; a missing namespace is 404 with Kubernetes' wording; a
// Terminating namespace refuses new content, right after this server deleted it and once another
// server's deletion has reached the watch; a namespace deleted and created again takes content again.
import test from 'ava';
import { systemClock } from '../../src/actors/clock.js';
import { createApiHandler, type ApiHandler } from '../../src/api/pipeline.js';
import type { ApiRequest, ApiResponse } from '../../src/api/handlers/types.js';
import { NamespaceCache } from '../../src/api/storage/namespace-cache.js';
import type { StoreClient } from '../../src/store/client.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer } from './api-helpers.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const NAMESPACE_KEYS = '/registry/namespaces/';

/** A LocalStore that counts single-key reads of namespace objects (what admission would make). */
function countingStore(store: LocalStore): { client: StoreClient; namespaceReads: () => number } {
  let reads = 0;
  const client = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (property !== 'range' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return (request: { key: string; rangeEnd?: string }, ...rest: unknown[]) => {
        if (request.key.startsWith(NAMESPACE_KEYS) && request.rangeEnd === undefined) reads++;
        return (value as (...args: unknown[]) => unknown).call(target, request, ...rest);
      };
    },
  });
  return { client, namespaceReads: () => reads };
}

function caller(handler: ApiHandler): (method: string, path: string, body?: unknown) => Promise<ApiResponse & { body?: unknown }> {
  return (method, path, body) => {
    const request: ApiRequest = {
      method,
      path,
      query: new URLSearchParams(),
      headers: { 'content-type': 'application/json' },
      user: ADMIN,
      ...(body === undefined ? {} : { body: new TextEncoder().encode(JSON.stringify(body)) }),
    };
    return handler.handle(request) as Promise<ApiResponse & { body?: unknown }>;
  };
}

async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<boolean> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

async function server(store: StoreClient): Promise<{ handler: ApiHandler; call: ReturnType<typeof caller>; cache: NamespaceCache }> {
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer() });
  await handler.ensureSystemNamespaces();
  const cache = handler.namespaceCache;
  if (cache === undefined) throw new Error('the namespace cache is on by default');
  cache.start();
  return { handler, call: caller(handler), cache };
}

const configMap = (name: string): Json => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { a: '1' } });
const body = (response: { body?: unknown }): Json => response.body as Json;

test('creates in a known Active namespace are admitted from the cache, without a store read of the namespace', async (t) => {
  const local = new LocalStore(systemClock);
  const { client, namespaceReads } = countingStore(local);
  const { handler, call, cache } = await server(client);
  t.is((await call('POST', '/api/v1/namespaces/default/configmaps', configMap('first'))).status, 201, 'admitted by a live read while the cache syncs');
  t.true(await waitUntil(() => cache.isSynced), 'the cache syncs');
  const before = namespaceReads();
  for (let index = 0; index < 20; index++) t.is((await call('POST', '/api/v1/namespaces/default/configmaps', configMap(`c-${index}`))).status, 201);
  t.is(namespaceReads(), before, 'no namespace read per create');
  t.true(cache.stats.hits >= 20);
  handler.close();
});

test('a namespace created a moment ago takes content at once (a cache miss reads the store)', async (t) => {
  const { handler, call, cache } = await server(new LocalStore(systemClock));
  t.true(await waitUntil(() => cache.isSynced));
  for (let index = 0; index < 10; index++) {
    const name = `fresh-${index}`;
    t.is((await call('POST', '/api/v1/namespaces', { metadata: { name } })).status, 201);
    const created = await call('POST', `/api/v1/namespaces/${name}/configmaps`, configMap('right-after'));
    t.is(created.status, 201, `create in ${name} right after creating it`);
  }
  handler.close();
});

test('a missing namespace is 404 NotFound with Kubernetes wording, from a synced cache too', async (t) => {
  const { handler, call, cache } = await server(new LocalStore(systemClock));
  for (const synced of [false, true]) {
    if (synced) t.true(await waitUntil(() => cache.isSynced));
    const refused = await call('POST', '/api/v1/namespaces/ghost/configmaps', configMap('x'));
    t.is(refused.status, 404);
    t.is(body(refused)['reason'], 'NotFound');
    t.is(body(refused)['message'], 'namespaces "ghost" not found');
    t.like(body(refused)['details'], { name: 'ghost', kind: 'namespaces' });
  }
  handler.close();
});

test('a namespace this server deletes refuses new content at once (Terminating), and takes it again once recreated', async (t) => {
  const { handler, call, cache } = await server(new LocalStore(systemClock));
  await call('POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
  t.true(await waitUntil(() => cache.isSynced));
  t.is((await call('POST', '/api/v1/namespaces/team/configmaps', configMap('before'))).status, 201);
  t.is(body(await call('DELETE', '/api/v1/namespaces/team'))['status']['phase'], 'Terminating');
  const refused = await call('POST', '/api/v1/namespaces/team/configmaps', configMap('late'));
  t.is(refused.status, 403);
  t.is(body(refused)['reason'], 'Forbidden');
  t.is(body(refused)['message'], 'configmaps "late" is forbidden: unable to create new content in namespace team because it is being terminated');
  t.is(body(refused)['details']['causes'][0]['reason'], 'NamespaceTerminating');
  // The namespace controller finalizes it; then it is gone (404), and a new one of the same name takes content.
  t.is((await call('PUT', '/api/v1/namespaces/team/finalize', { metadata: { name: 'team' }, spec: { finalizers: [] } })).status, 200);
  t.is((await call('POST', '/api/v1/namespaces/team/configmaps', configMap('gone'))).status, 404);
  t.is((await call('POST', '/api/v1/namespaces', { metadata: { name: 'team' } })).status, 201);
  t.is((await call('POST', '/api/v1/namespaces/team/configmaps', configMap('again'))).status, 201);
  handler.close();
});

test("another API server's namespace deletion reaches this server's cache through the watch", async (t) => {
  const local = new LocalStore(systemClock);
  const first = await server(local);
  const second = await server(local);
  await first.call('POST', '/api/v1/namespaces', { metadata: { name: 'shared' } });
  t.true(await waitUntil(() => first.cache.isSynced));
  t.is((await first.call('POST', '/api/v1/namespaces/shared/configmaps', configMap('one'))).status, 201);
  t.is(body(await second.call('DELETE', '/api/v1/namespaces/shared'))['status']['phase'], 'Terminating');
  const refusedLater = await waitUntil(async () => (await first.call('POST', '/api/v1/namespaces/shared/configmaps', configMap('two'))).status === 403);
  t.true(refusedLater, 'the first server refuses once the watch has delivered the deletion');
  first.handler.close();
  second.handler.close();
});

test('the cache off: admission reads the namespace from the store each time, same answers', async (t) => {
  const local = new LocalStore(systemClock);
  const handler = createApiHandler({ store: local, authorizer: ruleAuthorizer(), namespaceCache: false });
  await handler.ensureSystemNamespaces();
  const call = caller(handler);
  t.is(handler.namespaceCache, undefined);
  t.is((await call('POST', '/api/v1/namespaces/default/configmaps', configMap('a'))).status, 201);
  t.is((await call('POST', '/api/v1/namespaces/ghost/configmaps', configMap('a'))).status, 404);
  await call('DELETE', '/api/v1/namespaces/default');
  t.is((await call('POST', '/api/v1/namespaces/default/configmaps', configMap('b'))).status, 403);
  handler.close();
});

test('NamespaceCache alone: live reads until synced, then hits; watch events update it; a namespace noted as written is read live', async (t) => {
  const local = new LocalStore(systemClock);
  const encode = (object: Json): Uint8Array => new TextEncoder().encode(JSON.stringify(object));
  await local.put({ key: `${NAMESPACE_KEYS}a`, value: encode({ metadata: { name: 'a' }, status: { phase: 'Active' } }) });
  let live = 0;
  const cache = new NamespaceCache(
    local,
    NAMESPACE_KEYS,
    async (name) => {
      live++;
      const found = (await local.range({ key: `${NAMESPACE_KEYS}${name}` })).kvs[0];
      return found === undefined ? undefined : { object: JSON.parse(new TextDecoder().decode(found.value)) as Json, modRevision: found.modRevision };
    },
    systemClock,
  );
  t.deepEqual(await cache.lookup('a'), { terminating: false, modRevision: 1 });
  t.is(live, 1);
  t.true(await waitUntil(() => cache.isSynced));
  await cache.lookup('a');
  t.is(live, 1, 'answered from the cache');
  await local.put({ key: `${NAMESPACE_KEYS}a`, value: encode({ metadata: { name: 'a', deletionTimestamp: '2026-01-01T00:00:00Z' }, status: { phase: 'Terminating' } }) });
  t.true(await waitUntil(async () => (await cache.lookup('a'))?.terminating === true));
  await local.deleteRange({ key: `${NAMESPACE_KEYS}a` });
  t.true(await waitUntil(async () => (await cache.lookup('a')) === undefined));
  cache.noteWrite('b', 0, true);
  const liveBefore = live;
  await cache.lookup('b');
  t.is(live, liveBefore + 1, 'a namespace this server just wrote is read live');
  cache.invalidate();
  t.false(cache.isSynced);
  cache.close();
});
