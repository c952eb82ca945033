// The real HTTPS API server on 127.0.0.1:0 backed by LocalStore, driven by @kubernetes/client-node
// 1.4.0: CRUD and the three patch types, errors with their codes, lists with selectors and pages,
// watches (order, 410 after compaction), 401/403/413/429, and garbage bodies that must get 4xx
// without hurting the server.
import test from 'ava';
import * as fc from 'fast-check';
import { request as httpsRequest } from 'node:https';
import * as k8s from '@kubernetes/client-node';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, clientCertificate, otherPki, ruleAuthorizer, testPki, tokenAuthenticator } from './api-helpers.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const ADMIN_TOKEN = 'admin-token';
const BOB_TOKEN = 'bob-token';

interface Fixture {
  readonly server: ApiServer;
  readonly store: LocalStore;
  readonly kc: k8s.KubeConfig;
}

async function start(maxInFlight = 50): Promise<Fixture> {
  const pki = testPki();
  const store = new LocalStore(systemClock);
  const server = await startApiServer({
    store,
    tls: { key: pki.key, cert: pki.cert, ca: pki.cert },
    host: '127.0.0.1',
    port: 0,
    authenticator: tokenAuthenticator({ [ADMIN_TOKEN]: ADMIN, [BOB_TOKEN]: { name: 'bob', groups: ['system:authenticated'] } }),
    authorizer: ruleAuthorizer((attributes) => attributes.user.name === 'bob' && attributes.kind === 'resource' && attributes.resource === 'secrets'),
    limits: { maxInFlight },
    bookmarkIntervalMs: 100,
  });
  return { server, store, kc: kubeconfig(server.url, ADMIN_TOKEN) };
}

function kubeconfig(server: string, token: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, caData: Buffer.from(testPki().cert).toString('base64'), skipTLSVerify: false }],
    users: [token === undefined ? { name: 'u' } : { name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: Json }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const raw = (error as k8s.ApiException<unknown>).body;
      return { code: error.code, body: typeof raw === 'string' ? (JSON.parse(raw) as Json) : (raw as Json) };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

const merge = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const strategic = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

test('client-node: namespaces, pods, configmaps and deployments through create/get/list/update/patch/delete', async (t) => {
  const { server, kc } = await start();
  try {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const ns = await core.createNamespace({ body: { metadata: { name: 'team' } } });
    t.is(ns.status?.phase, 'Active');
    const pod = await core.createNamespacedPod({ namespace: 'team', body: { metadata: { name: 'web', labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } });
    t.is(pod.spec?.restartPolicy, 'Always');
    t.truthy(pod.metadata?.uid);
    const read = await core.readNamespacedPod({ namespace: 'team', name: 'web' });
    t.is(read.metadata?.resourceVersion, pod.metadata?.resourceVersion);
    const jsonPatched = await core.patchNamespacedPod({ namespace: 'team', name: 'web', body: [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }] });
    t.is(jsonPatched.metadata?.annotations?.['a'], 'b');
    const cm = await core.createNamespacedConfigMap({ namespace: 'team', body: { metadata: { name: 'cfg' }, data: { k: 'v' } } });
    t.is(cm.kind, 'ConfigMap');
    const replaced = await core.replaceNamespacedConfigMap({ namespace: 'team', name: 'cfg', body: { ...cm, data: { k: 'v2' } } });
    t.is(replaced.data?.['k'], 'v2');
    const merged = await core.patchNamespacedConfigMap({ namespace: 'team', name: 'cfg', body: { data: { extra: 'x' } } }, merge);
    t.deepEqual(merged.data, { k: 'v2', extra: 'x' });
    const deployment = await apps.createNamespacedDeployment({
      namespace: 'team',
      body: {
        metadata: { name: 'web' },
        spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } } },
      },
    });
    t.is(deployment.spec?.replicas, 1);
    t.is(deployment.spec?.strategy?.type, 'RollingUpdate');
    const smp = await apps.patchNamespacedDeployment(
      { namespace: 'team', name: 'web', body: { spec: { replicas: 3, template: { spec: { containers: [{ name: 'main', image: 'nginx:1.28' }] } } } } },
      strategic,
    );
    t.is(smp.spec?.replicas, 3);
    t.is(smp.spec?.template.spec?.containers[0]?.image, 'nginx:1.28');
    t.is(smp.metadata?.generation, 2);
    const scale = await apps.readNamespacedDeploymentScale({ namespace: 'team', name: 'web' });
    t.is(scale.spec?.replicas, 3);
    const deployments = await apps.listNamespacedDeployment({ namespace: 'team' });
    t.is(deployments.items.length, 1);
    await core.deleteNamespacedConfigMap({ namespace: 'team', name: 'cfg' });
    t.is((await failure(core.readNamespacedConfigMap({ namespace: 'team', name: 'cfg' }))).code, 404);
    await apps.deleteNamespacedDeployment({ namespace: 'team', name: 'web' });
    await core.deleteNamespacedPod({ namespace: 'team', name: 'web' });
    const terminating = await core.deleteNamespace({ name: 'team' });
    t.truthy(terminating);
    t.is((await core.readNamespace({ name: 'team' })).status?.phase, 'Terminating');
    // The object API does legacy discovery first (GET /apis/apps/v1) and then reads by kind.
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const viaObjects = await objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    t.is(viaObjects.metadata?.name, 'default');
  } finally {
    await server.close();
  }
});

test('client-node: 409 on a stale update, 404, 422 with causes', async (t) => {
  const { server, kc } = await start();
  try {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cfg' }, data: { k: 'v' } } });
    await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: { ...cm, data: { k: 'v2' } } });
    const stale = await failure(core.replaceNamespacedConfigMap({ namespace: 'default', name: 'cfg', body: { ...cm, data: { k: 'v3' } } }));
    t.is(stale.code, 409);
    t.is(stale.body['reason'], 'Conflict');
    const exists = await failure(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'cfg' } } }));
    t.is(exists.code, 409);
    t.is(exists.body['message'], 'configmaps "cfg" already exists');
    const missing = await failure(core.readNamespacedPod({ namespace: 'default', name: 'nope' }));
    t.is(missing.code, 404);
    t.is(missing.body['message'], 'pods "nope" not found');
    const invalid = await failure(core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'main', image: '' }] } } }));
    t.is(invalid.code, 422);
    t.is(invalid.body['details']['causes'][0]['field'], 'spec.containers[0].image');
    t.is(invalid.body['message'], 'Pod "p" is invalid: spec.containers[0].image: Required value');
  } finally {
    await server.close();
  }
});

test('client-node: lists with label and field selectors, and pagination', async (t) => {
  const { server, kc } = await start();
  try {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 5; i++) {
      await core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name: `p${i}`, labels: { tier: i < 3 ? 'front' : 'back' } }, spec: { ...(i === 4 ? { nodeName: 'n1' } : {}), containers: [{ name: 'c', image: 'busybox' }] } },
      });
    }
    const front = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'tier=front' });
    t.deepEqual(front.items.map((p) => p.metadata?.name), ['p0', 'p1', 'p2']);
    const notFront = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'tier notin (front)' });
    t.deepEqual(notFront.items.map((p) => p.metadata?.name), ['p3', 'p4']);
    const onNode = await core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=n1' });
    t.deepEqual(onNode.items.map((p) => p.metadata?.name), ['p4']);
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedPod({ namespace: 'default', limit: 2, ...(token === undefined ? {} : { _continue: token }) });
      names.push(...page.items.map((p) => p.metadata?.name ?? ''));
      token = page.metadata?._continue;
      pages++;
    } while (token !== undefined && pages < 10);
    t.is(pages, 3);
    t.deepEqual(names, ['p0', 'p1', 'p2', 'p3', 'p4']);
  } finally {
    await server.close();
  }
});

test('client-node: a watch sees ADDED, MODIFIED, DELETED in order, and a compacted resourceVersion gets ERROR 410', async (t) => {
  const { server, store, kc } = await start();
  try {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const list = await core.listNamespacedConfigMap({ namespace: 'default' });
    const watch = new k8s.Watch(kc);
    const seen: string[] = [];
    let bookmarks = 0;
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const controller = await watch.watch(
      '/api/v1/namespaces/default/configmaps',
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (phase, object: Json) => {
        if (phase === 'BOOKMARK') bookmarks++;
        else seen.push(`${phase} ${object['metadata']['name']}`);
        if (seen.length === 3) resolveDone();
      },
      () => resolveDone(),
    );
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'w' } } });
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'w', body: { data: { a: '1' } } }, merge);
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'w' });
    await done;
    await new Promise((resolve) => setTimeout(resolve, 250));
    controller.abort();
    t.deepEqual(seen, ['ADDED w', 'MODIFIED w', 'DELETED w']);
    t.true(bookmarks > 0, 'allowWatchBookmarks gets BOOKMARK events');

    const current = await core.listNamespacedConfigMap({ namespace: 'default' });
    await store.compact(Number(current.metadata?.resourceVersion));
    const errors: Json[] = [];
    const ended = new Promise<void>((resolve) => {
      void watch.watch(
        '/api/v1/namespaces/default/configmaps',
        { resourceVersion: created.metadata?.resourceVersion },
        (phase, object: Json) => {
          if (phase === 'ERROR') errors.push(object);
        },
        () => resolve(),
      );
    });
    await ended;
    t.is(errors.length, 1);
    t.is(errors[0]?.['code'], 410);
    t.is(errors[0]?.['reason'], 'Expired');
  } finally {
    await server.close();
  }
});

test('client-node: 401 without a token or with a bad one, 403 from the authorizer, anonymous /healthz and /version', async (t) => {
  const { server } = await start();
  try {
    const anonymous = kubeconfig(server.url, undefined).makeApiClient(k8s.CoreV1Api);
    t.is((await failure(anonymous.listNamespace())).code, 401);
    const wrong = kubeconfig(server.url, 'not-a-token').makeApiClient(k8s.CoreV1Api);
    t.is((await failure(wrong.listNamespace())).code, 401);
    const bob = kubeconfig(server.url, BOB_TOKEN).makeApiClient(k8s.CoreV1Api);
    const denied = await failure(bob.readNamespacedSecret({ namespace: 'default', name: 's' }));
    t.is(denied.code, 403);
    t.is(denied.body['message'], 'secrets "s" is forbidden: User "bob" cannot get resource "secrets" in API group "" in the namespace "default"');
    t.is((await bob.listNamespace()).items.length, 4);
    const version = await kubeconfig(server.url, undefined).makeApiClient(k8s.VersionApi).getCode();
    t.is(version.minor, '32');
    const health = await raw(server.url, 'GET', '/healthz', undefined, {});
    t.is(health.status, 200);
    t.is(health.body, 'ok');
  } finally {
    await server.close();
  }
});

function raw(url: string, method: string, path: string, body: Uint8Array | undefined, headers: Record<string, string>, hold = false): Promise<{ status: number; body: string }> {
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      { hostname: target.hostname, port: target.port, path: target.pathname + target.search, method, ca: testPki().cert, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    if (hold) {
      request.flushHeaders();
      request.write('{');
      return;
    }
    request.end(body === undefined ? undefined : Buffer.from(body));
  });
}

test('413 on a 4 MiB body and 429 past the in-flight limit', async (t) => {
  const { server, kc } = await start(2);
  try {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const huge = await failure(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'big' }, data: { blob: 'x'.repeat(4 * 1024 * 1024) } } }));
    t.is(huge.code, 413);
    t.is(huge.body['reason'], 'RequestEntityTooLarge');
    // Two requests whose bodies never finish hold both in-flight slots.
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const held = [0, 1].map(() => {
      const target = new URL('/api/v1/namespaces/default/configmaps', server.url);
      const request = httpsRequest({ hostname: target.hostname, port: target.port, path: target.pathname, method: 'POST', ca: testPki().cert, headers: { ...auth, 'content-length': '100' } });
      request.on('error', () => undefined);
      request.write('{');
      return request;
    });
    let limited: { code: number; body: Json } | undefined;
    for (let attempt = 0; attempt < 50 && limited === undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      try {
        await core.listNamespace();
      } catch (error) {
        if (error instanceof k8s.ApiException && error.code === 429) limited = { code: 429, body: JSON.parse(String(error.body)) as Json };
        else throw error;
      }
    }
    t.is(limited?.code, 429);
    t.is(limited?.body['reason'], 'TooManyRequests');
    for (const request of held) request.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    t.is((await core.listNamespace()).items.length, 4, 'slots come back when the held requests go');
  } finally {
    await server.close();
  }
});

test('garbage bodies (random bytes, JSON, YAML) get 4xx and the server keeps serving', async (t) => {
  const { server, kc } = await start();
  try {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const contentTypes = ['application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'text/plain'];
    const body = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.json().map((text) => new TextEncoder().encode(text)),
      fc.jsonValue().map((value) => new TextEncoder().encode(JSON.stringify({ metadata: value, spec: value, data: value }))),
      fc.string().map((text) => new TextEncoder().encode(`metadata:\n  name: ${text}\nspec: [${text}\n`)),
    );
    const seed = Date.now();
    t.log(`seed ${seed}`);
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(...contentTypes), fc.constantFrom('POST', 'PUT', 'PATCH'), async (bytes, contentType, method) => {
        const path = method === 'POST' ? '/api/v1/namespaces/default/configmaps' : '/api/v1/namespaces/default/configmaps/target';
        const response = await raw(server.url, method, path, bytes, { ...auth, 'content-type': contentType });
        // A random body may happen to be a valid object: 2xx is fine then; a 5xx never is.
        if (response.status >= 500) throw new Error(`status ${response.status}: ${response.body}`);
        if (response.status >= 400) JSON.parse(response.body); // always a Status
      }),
      { numRuns: 150, seed },
    );
    const core = kc.makeApiClient(k8s.CoreV1Api);
    t.is((await core.listNamespace()).items.length, 4);
  } finally {
    await server.close();
  }
});

test('a watch whose HTTP client goes away leaves the watch cache (no leak); /readyz and a raw watch stream are newline-delimited JSON', async (t) => {
  const { server, store } = await start();
  try {
    t.is(store.machine.watches.size(), 0);
    const target = new URL('/api/v1/namespaces/default/configmaps?watch=true', server.url);
    const lines: string[] = [];
    const request = httpsRequest({ hostname: target.hostname, port: target.port, path: target.pathname + target.search, ca: testPki().cert, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const gotEvent = new Promise<void>((resolve, reject) => {
      request.on('response', (response) => {
        t.is(response.statusCode, 200);
        let buffered = '';
        response.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const parts = buffered.split('\n');
          buffered = parts.pop() ?? '';
          lines.push(...parts);
          if (lines.length > 0) resolve();
        });
        response.on('error', () => undefined);
      });
      request.on('error', reject);
    });
    request.end();
    const cache = server.handler.watchCaches?.forPrefix('/registry/configmaps/');
    await waitUntil(() => cache?.subscriberCount === 1);
    t.is(store.machine.watches.size(), 1);
    t.is(cache?.subscriberCount, 1);
    const kc = kubeconfig(server.url, ADMIN_TOKEN);
    await kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x' } } });
    await gotEvent;
    const event = JSON.parse(lines[0] ?? '') as Json;
    t.is(event['type'], 'ADDED');
    t.is(event['object']['metadata']['name'], 'x');
    request.destroy();
    await waitUntil(() => cache?.subscriberCount === 0);
    t.is(cache?.subscriberCount, 0, 'the watch leaves the shared cache when its client goes away');
    // The create started the namespace cache (namespace lifecycle admission) and the quota cache (quota
    // admission), which hold one store watch each.
    await waitUntil(() => server.handler.namespaceCache?.isSynced === true && store.machine.watches.size() === 3);
    t.is(store.machine.watches.size(), 3, 'the one shared store watch stays for the next watcher (beside the namespace and quota caches)');
    server.handler.close();
    t.is(store.machine.watches.size(), 0, 'closing the handler releases the store watch');
    t.is((await raw(server.url, 'GET', '/readyz', undefined, {})).status, 200);
    await store.close();
    t.is((await raw(server.url, 'GET', '/readyz', undefined, {})).status, 500);
  } finally {
    await server.close();
  }
});

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('a client certificate from the cluster CA authenticates (CN = user, O = groups); one from another CA is 401', async (t) => {
  const { server } = await start();
  try {
    const trusted = clientCertificate(testPki(), 'bob', ['devs']);
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: server.url, caData: Buffer.from(testPki().cert).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'u', certData: Buffer.from(trusted.cert).toString('base64'), keyData: Buffer.from(trusted.key).toString('base64') }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    const review = await kc.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: 'get', resource: 'pods', namespace: 'default' } } },
    });
    t.true(review.status?.allowed);
    t.is((await kc.makeApiClient(k8s.CoreV1Api).listNamespace()).items.length, 4);
    const denied = await failure(kc.makeApiClient(k8s.CoreV1Api).readNamespacedSecret({ namespace: 'default', name: 's' }));
    t.is(denied.code, 403);
    t.regex(denied.body['message'], /User "bob" cannot get/, 'the certificate CN is the user');
    const untrusted = clientCertificate(otherPki(), 'mallory', ['system:masters']);
    const bad = new k8s.KubeConfig();
    bad.loadFromOptions({
      clusters: [{ name: 'c', server: server.url, caData: Buffer.from(testPki().cert).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'u', certData: Buffer.from(untrusted.cert).toString('base64'), keyData: Buffer.from(untrusted.key).toString('base64') }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    t.is((await failure(bad.makeApiClient(k8s.CoreV1Api).listNamespace())).code, 401);
  } finally {
    await server.close();
  }
});
