// The watch cache: many watches share one store watch and see the same events in order; watches
// starting in the past are replayed from the window; with the cache off, each watch is its own
// store watch and the semantics are the same.
import test from 'ava';
import { testApi } from './api-helpers.js';
import type { ObjectWatchEvent } from '../../src/api/storage/watch.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

async function watchAll(api: Awaited<ReturnType<typeof testApi>>, path: string): Promise<{ events: ObjectWatchEvent[]; stop: () => void }> {
  const response = await api.call('GET', path);
  if (!('watch' in response)) throw new Error('not a watch');
  const events: ObjectWatchEvent[] = [];
  const running = await response.watch({ event: (event) => events.push(event), end: () => undefined });
  return { events, stop: () => running.stop() };
}

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

const names = (events: readonly ObjectWatchEvent[]): string[] => events.map((e) => `${e.type} ${(e.object as Json)['metadata']['name']}`);

for (const cached of [true, false]) {
  test(`${cached ? 'with' : 'without'} the cache: 100 watchers (namespaced and cluster-wide) see the same ordered events`, async (t) => {
    const api = await testApi(undefined, cached);
    await api.call('POST', '/api/v1/namespaces', { metadata: { name: 'other' } });
    const start = (await api.call('GET', '/api/v1/namespaces/default/configmaps')).body as Json;
    const rv = start['metadata']['resourceVersion'];
    const watchers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        watchAll(api, i % 2 === 0 ? `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}` : `/api/v1/configmaps?watch=1&resourceVersion=${rv}`),
      ),
    );
    t.is(api.store.machine.watches.size(), cached ? 1 : 100);
    for (let i = 0; i < 5; i++) await api.call('POST', `/api/v1/namespaces/${i % 2 === 0 ? 'default' : 'other'}/configmaps`, { metadata: { name: `c${i}` } });
    await api.call('DELETE', '/api/v1/namespaces/default/configmaps/c0');
    await waitUntil(() => watchers.every((w, i) => w.events.length === (i % 2 === 0 ? 4 : 6)));
    const namespaced = ['ADDED c0', 'ADDED c2', 'ADDED c4', 'DELETED c0'];
    const all = ['ADDED c0', 'ADDED c1', 'ADDED c2', 'ADDED c3', 'ADDED c4', 'DELETED c0'];
    watchers.forEach((w, i) => t.deepEqual(names(w.events), i % 2 === 0 ? namespaced : all));
    // A late watcher from the same old revision is replayed the same history.
    const late = await watchAll(api, `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}`);
    await waitUntil(() => late.events.length === 4);
    t.deepEqual(names(late.events), namespaced);
    for (const w of [...watchers, late]) w.stop();
    if (cached) t.is(api.handler.watchCaches?.forPrefix('/registry/configmaps/').subscriberCount, 0);
    api.handler.close();
    await waitUntil(() => api.store.machine.watches.size() === 0);
    t.is(api.store.machine.watches.size(), 0);
  });
}
