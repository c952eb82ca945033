// The API server's actor-transport face, end to end in one process: an API server actor system and
// component actor systems over real WsTransport on loopback (mutual TLS with a test CA, or the shared
// secret), the endpoint running the real pipeline over a LocalStore, and components using ApiClient
// and Informer over ActorApiTransport. The user of each call is the peer's certificate (CN, O).

import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { createActorSystem, Prng, silentLogger, systemClock, type ActorRef, type ActorSystem, type MessageProtocol } from '../../src/actors/index.js';
import { WsTransport } from '../../src/actors/ws-transport.js';
import { apiEndpointBehavior, type ApiEndpointOptions } from '../../src/api/actor-face/endpoint.js';
import { API_CLIENT_PROTOCOL, API_ENDPOINT_PATH, API_SERVER_PROTOCOL, type ApiEndpointMessage, type ApiReplyMessage } from '../../src/api/actor-face/protocol.js';
import type { RequestAttributes, UserInfo } from '../../src/api/auth-types.js';
import { ActorApiTransport, ApiClient, ApiClientError, Informer, isConflict, isNotFound, metaOf, PODS, type KubeObject } from '../../src/client/index.js';
import { ruleAuthorizer, testApi, type TestApi } from './api-helpers.js';

const SECRET = 'api-actor-face-test-secret-0123456789';
/** Generous failure detection: ava runs these tests concurrently on two cores. */
const HEARTBEAT_MS = 200;
const HEARTBEAT_TIMEOUT_MS = 3_000;
const CALL_TIMEOUT_MS = 5_000;

// ---- a test CA and the certificates it issues (node:crypto keys, node-forge signatures) ----

interface KeyPair {
  readonly key: string;
  readonly cert: string;
}

function newKey(): { readonly pem: string; readonly publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { pem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

let serial = 1;

function issue(subject: forge.pki.CertificateField[], issuer: KeyPair | undefined, isCa: boolean): KeyPair {
  const key = newKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(key.publicPem);
  cert.serialNumber = String(serial++).padStart(2, '0');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer === undefined ? subject : forge.pki.certificateFromPem(issuer.cert).subject.attributes);
  cert.setExtensions(
    isCa
      ? [{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, digitalSignature: true }]
      : [{ name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', serverAuth: true, clientAuth: true }],
  );
  cert.sign(forge.pki.privateKeyFromPem(issuer?.key ?? key.pem), forge.md.sha256.create());
  return { key: key.pem, cert: forge.pki.certificateToPem(cert) };
}

const CA = issue([{ name: 'commonName', value: 'kplane-test-ca' }], undefined, true);

const issued = new Map<string, KeyPair>();

/** One certificate per identity, made once (RSA key generation blocks the event loop: not during tests). */
function certificateFor(user: string, groups: readonly string[]): KeyPair {
  const key = JSON.stringify([user, groups]);
  let pair = issued.get(key);
  if (pair === undefined) {
    pair = issue([{ name: 'commonName', value: user }, ...groups.map((group) => ({ name: 'organizationName', value: group }))], CA, false);
    issued.set(key, pair);
  }
  return pair;
}

const IDENTITIES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['kplane-apiserver', []],
  ['system:kube-controller-manager', ['system:controllers']],
  ['bob', ['team-a', 'team-b']],
  ['admin', ['system:masters']],
  ['rogue', ['system:masters']],
  ['system:node:n1', ['system:nodes']],
];
for (const [user, groups] of IDENTITIES) certificateFor(user, groups);

// ---- processes ----

interface Process {
  readonly system: ActorSystem;
  readonly transport: WsTransport;
}

async function startProcess(
  t: { teardown(fn: () => unknown): void },
  name: string,
  protocol: MessageProtocol,
  credentials: { readonly tls: KeyPair } | { readonly secret: string },
  listen: boolean,
): Promise<Process> {
  const transport = new WsTransport({
    node: name,
    incarnation: `${name}-${process.pid}-${serial++}`,
    ...('tls' in credentials ? { tls: { ca: CA.cert, cert: credentials.tls.cert, key: credentials.tls.key } } : { secret: credentials.secret }),
    ...(listen ? { listen: { host: '127.0.0.1', port: 0 } } : {}),
    log: silentLogger(),
    clock: systemClock,
    reconnectBackoffMinMs: 20,
    reconnectBackoffMaxMs: 200,
  });
  await transport.start();
  const system = createActorSystem(
    { node: transport.local.node, incarnation: transport.local.incarnation, clock: systemClock, random: new Prng(7), log: silentLogger(), transport, protocol, onRootFailure: () => undefined },
    { heartbeatIntervalMs: HEARTBEAT_MS, heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS },
  );
  t.teardown(async () => {
    await system.terminate();
    await transport.close();
  });
  return { system, transport };
}

interface ApiServerProcess extends Process {
  readonly api: TestApi;
  readonly endpoint: ActorRef<ApiEndpointMessage>;
}

async function startApiServer(
  t: { teardown(fn: () => unknown): void },
  options: { readonly deny?: (attributes: RequestAttributes) => boolean; readonly secretOnly?: boolean; readonly endpoint?: Omit<ApiEndpointOptions, 'handler'> } = {},
): Promise<ApiServerProcess> {
  const api = await testApi(ruleAuthorizer(options.deny));
  t.teardown(() => api.handler.close());
  const credentials = options.secretOnly === true ? { secret: SECRET } : { tls: certificateFor('kplane-apiserver', []) };
  const server = await startProcess(t, 'apiserver', API_SERVER_PROTOCOL, credentials, true);
  const endpoint = server.system.spawn(apiEndpointBehavior({ handler: api.handler, ...options.endpoint }), { name: API_ENDPOINT_PATH.slice('/user/'.length) });
  return { ...server, api, endpoint };
}

interface Component extends Process {
  readonly transport_: ActorApiTransport;
  readonly client: ApiClient;
}

async function startComponent(
  t: { teardown(fn: () => unknown): void },
  server: ApiServerProcess,
  name: string,
  credentials: { readonly tls: KeyPair } | { readonly secret: string },
): Promise<Component> {
  const component = await startProcess(t, name, API_CLIENT_PROTOCOL, credentials, false);
  const transport = new ActorApiTransport({ system: component.system, endpoint: server.endpoint, clock: systemClock, callTimeoutMs: CALL_TIMEOUT_MS, watchOpenTimeoutMs: CALL_TIMEOUT_MS });
  const client = new ApiClient(transport);
  t.teardown(() => client.close());
  return { ...component, transport_: transport, client };
}

function pod(name: string, labels: Record<string, string> = { app: 'web' }): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** The endpoint's ref, for sending what the typed protocol would not allow (forged fields, garbage). */
function untyped(ref: ActorRef): ActorRef<Record<string, unknown>> {
  return { node: ref.node, incarnation: ref.incarnation, path: ref.path };
}

const CONTROLLER = (): { tls: KeyPair } => ({ tls: certificateFor('system:kube-controller-manager', ['system:controllers']) });

// ---- tests ----

test('ApiClient over the actor transport: create, get, list, patch, update conflicts, delete', async (t) => {
  const server = await startApiServer(t);
  const { client } = await startComponent(t, server, 'controller', CONTROLLER());
  const created = await client.create(PODS, 'default', pod('web-1'));
  t.is(metaOf(created).namespace, 'default');
  t.truthy(metaOf(created).uid);
  await client.create(PODS, 'default', pod('web-2', { app: 'db' }));
  const fetched = await client.get(PODS, 'default', 'web-1');
  t.is(metaOf(fetched).resourceVersion, metaOf(created).resourceVersion);
  const listed = await client.list(PODS, { namespace: 'default', labelSelector: 'app=web' });
  t.deepEqual(
    listed.items.map((item) => metaOf(item).name),
    ['web-1'],
  );
  t.regex(listed.resourceVersion, /^[0-9]+$/);
  const patched = await client.patch(PODS, 'default', 'web-1', { metadata: { labels: { tier: 'front' } } });
  t.is(metaOf(patched).labels?.['tier'], 'front');
  const jsonPatched = await client.patch(PODS, 'default', 'web-1', [{ op: 'add', path: '/metadata/annotations', value: { a: 'b' } }], 'json');
  t.is(metaOf(jsonPatched).annotations?.['a'], 'b');
  t.true(isConflict(await t.throwsAsync(client.update(PODS, fetched)))); // stale resourceVersion
  await client.delete(PODS, 'default', 'web-1', { gracePeriodSeconds: 0 });
  t.true(isNotFound(await t.throwsAsync(client.get(PODS, 'default', 'web-1'))));
  // The store saw what the client did.
  t.is((await server.api.call('GET', '/api/v1/namespaces/default/pods')).status, 200);
});

test('an Informer over the actor transport lists, follows the watch, and converges', async (t) => {
  const server = await startApiServer(t);
  const { client } = await startComponent(t, server, 'controller', CONTROLLER());
  await client.create(PODS, 'default', pod('a'));
  const informer = new Informer(client, PODS, { clock: systemClock, log: silentLogger(), watchTimeoutSeconds: 1 });
  const seen: string[] = [];
  informer.addHandlers({
    onAdd: (object) => seen.push(`add ${metaOf(object).name ?? ''}`),
    onUpdate: (_previous, object) => seen.push(`update ${metaOf(object).name ?? ''}`),
    onDelete: (object) => seen.push(`delete ${metaOf(object).name ?? ''}`),
  });
  informer.start();
  t.teardown(() => informer.stop());
  await informer.whenSynced();
  t.deepEqual(seen, ['add a']);
  await client.create(PODS, 'default', pod('b'));
  await client.patch(PODS, 'default', 'a', { metadata: { labels: { x: 'y' } } });
  await eventually(() => seen.length === 3, 'add b and update a');
  t.deepEqual(seen, ['add a', 'add b', 'update a']);
  // Past the server's 1 s watch timeout the informer re-watches and still follows.
  await new Promise((resolve) => setTimeout(resolve, 1_300));
  await client.delete(PODS, 'default', 'b', { gracePeriodSeconds: 0 });
  await client.create(PODS, 'default', pod('c'));
  await eventually(() => informer.list().length === 2 && informer.get('default', 'c') !== undefined, 'the cache to hold a and c');
  t.deepEqual(informer.list().map((object) => metaOf(object).name).sort(), ['a', 'c']);
});

test('authorization applies to the identity in the peer certificate, not to anything in the message', async (t) => {
  const denied: UserInfo[] = [];
  const server = await startApiServer(t, {
    deny: (attributes) => {
      const deny = attributes.user.name === 'bob' && attributes.kind === 'resource' && attributes.verb === 'create';
      if (deny) denied.push(attributes.user);
      return deny;
    },
  });
  const bob = await startComponent(t, server, 'bob-agent', { tls: certificateFor('bob', ['team-a', 'team-b']) });
  const error = await t.throwsAsync(bob.client.create(PODS, 'default', pod('p')));
  t.true(error instanceof ApiClientError);
  t.is((error as ApiClientError).status, 403);
  t.regex((error as ApiClientError).message, /User "bob" cannot create resource "pods"/);
  t.deepEqual(denied, [{ name: 'bob', groups: ['team-a', 'team-b', 'system:authenticated'] }]);
  // bob may read.
  t.deepEqual((await bob.client.list(PODS, { namespace: 'default' })).items, []);
  // Another process, another certificate, another user: allowed.
  const admin = await startComponent(t, server, 'admin-tool', { tls: certificateFor('admin', ['system:masters']) });
  await admin.client.create(PODS, 'default', pod('p'));
  // A message that names a user of its own changes nothing: the user is the peer's.
  const reply = await bob.system.ask<Record<string, unknown>, ApiReplyMessage>(
    untyped(server.endpoint),
    (replyTo) => ({ type: 'api.call', method: 'DELETE', path: '/api/v1/namespaces/default/pods/p', query: '', user: { name: 'admin', groups: ['system:masters'] }, replyTo }),
    CALL_TIMEOUT_MS,
  );
  t.is(reply.status, 200); // bob may delete in this policy...
  const forbiddenReply = await bob.system.ask<Record<string, unknown>, ApiReplyMessage>(
    untyped(server.endpoint),
    (replyTo) => ({
      type: 'api.call',
      method: 'POST',
      path: '/api/v1/namespaces/default/pods',
      query: '',
      contentType: 'application/json',
      body: new TextEncoder().encode(JSON.stringify(pod('q'))),
      user: { name: 'admin', groups: ['system:masters'] },
      replyTo,
    }),
    CALL_TIMEOUT_MS,
  );
  t.is(forbiddenReply.status, 403); // ...but not create, whatever the message claims
});

test('secret-only peers get 401 unless the endpoint maps their node name to a user', async (t) => {
  const server = await startApiServer(t, { secretOnly: true, endpoint: { secretPeerUsers: new Map([['scheduler', { name: 'system:kube-scheduler', groups: [] }]]) } });
  const stranger = await startComponent(t, server, 'stranger', { secret: SECRET });
  const refused = await t.throwsAsync(stranger.client.list(PODS, { namespace: 'default' }));
  t.is((refused as ApiClientError).status, 401);
  const watchRefused = await t.throwsAsync(stranger.client.watch(PODS, { namespace: 'default' }, () => undefined));
  t.is((watchRefused as ApiClientError).status, 401);
  const scheduler = await startComponent(t, server, 'scheduler', { secret: SECRET });
  await scheduler.client.create(PODS, 'default', pod('s'));
  t.is(metaOf(await scheduler.client.get(PODS, 'default', 's')).name, 's');
});

test('garbage api.* messages are refused without a crash; answers never go to another process', async (t) => {
  const server = await startApiServer(t);
  const good = await startComponent(t, server, 'good', CONTROLLER());
  const rogue = await startProcess(t, 'rogue', API_CLIENT_PROTOCOL, { tls: certificateFor('rogue', ['system:masters']) }, false);
  const endpoint = untyped(server.endpoint);
  const sink = rogue.system.refFor('rogue', '/user/nobody');
  const garbage: Record<string, unknown>[] = [
    { type: 'api.call' },
    { type: 'api.call', method: 'HACK', path: '/api/v1/pods', query: '', replyTo: sink },
    { type: 'api.call', method: 'GET', path: 'api/v1/pods', query: '', replyTo: sink },
    { type: 'api.call', method: 'POST', path: '/api/v1/namespaces/default/pods', query: '', body: 'not bytes', replyTo: sink },
    { type: 'api.call', method: 'GET', path: '/api/v1/pods', query: 7, replyTo: sink },
    { type: 'api.call', method: 'GET', path: '/api/v1/pods', query: '', replyTo: { node: 1 } },
    { type: 'api.watch', watchId: '', method: 'GET', path: '/api/v1/pods', query: 'watch=1', target: sink },
    { type: 'api.watch', watchId: 'w', method: 'POST', path: '/api/v1/pods', query: 'watch=1', target: sink },
    { type: 'api.unwatch', watchId: 'x'.repeat(500), target: sink },
    { type: 'api.nonsense' },
    { type: 'api.reply', status: 200 },
  ];
  for (const message of garbage) {
    // Each refusal cuts the rogue's connection; a message sent while that close is under way is lost
    // (at-most-once), so it is sent again until its own refusal is seen.
    const before = server.system.metrics.framesRejected;
    for (let attempt = 0; attempt < 40 && server.system.metrics.framesRejected === before; attempt++) {
      rogue.system.tell(endpoint, message);
      await eventually(() => server.system.metrics.framesRejected > before, 'a refusal', 250).catch(() => undefined);
    }
    t.true(server.system.metrics.framesRejected > before, `refused: ${JSON.stringify(message)}`);
  }
  t.is(server.system.metrics.failures, 0);
  // The rogue is let back in (it holds a valid certificate) once it sends well-formed messages.
  let answered = false;
  for (let attempt = 0; attempt < 40 && !answered; attempt++) {
    answered = await rogue.system
      .ask<Record<string, unknown>, ApiReplyMessage>(endpoint, (replyTo) => ({ type: 'api.call', method: 'GET', path: '/api/v1/namespaces', query: '', replyTo }), 250)
      .then((reply) => reply.status === 200)
      .catch(() => false);
  }
  t.true(answered);
  // A well-formed call whose replyTo names another process is dropped: nothing reaches "good".
  const goodDeadLetters = good.system.metrics.deadLetters;
  const goodDelivered = good.system.metrics.delivered;
  rogue.system.tell(endpoint, { type: 'api.call', method: 'GET', path: '/api/v1/namespaces', query: '', replyTo: good.system.refFor(good.system.address.node, '/user/api-watches') });
  rogue.system.tell(endpoint, { type: 'api.watch', watchId: 'w1', method: 'GET', path: '/api/v1/pods', query: 'watch=1', target: good.system.refFor(good.system.address.node, '/user/api-watches') });
  // Oversized bodies and watch queries on api.call are answered with a Status, not a disconnect.
  const tooBig = await rogue.system.ask<Record<string, unknown>, ApiReplyMessage>(
    endpoint,
    (replyTo) => ({ type: 'api.call', method: 'POST', path: '/api/v1/namespaces/default/pods', query: '', contentType: 'application/json', body: new Uint8Array(3 * 1024 * 1024 + 1), replyTo }),
    CALL_TIMEOUT_MS,
  );
  t.is(tooBig.status, 413);
  const watchByCall = await rogue.system.ask<Record<string, unknown>, ApiReplyMessage>(
    endpoint,
    (replyTo) => ({ type: 'api.call', method: 'GET', path: '/api/v1/pods', query: 'watch=1', replyTo }),
    CALL_TIMEOUT_MS,
  );
  t.is(watchByCall.status, 400);
  // The API server still serves, and nothing was told to the other process.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is((await good.client.list(PODS, {})).items.length, 0);
  t.is(good.system.metrics.deadLetters, goodDeadLetters);
  t.is(good.system.metrics.delivered, goodDelivered);
  t.is(server.system.metrics.failures, 0);
});

test('a watch ends when the API side stops: endpoint stopped, or its process gone', async (t) => {
  const server = await startApiServer(t);
  const { client } = await startComponent(t, server, 'controller', CONTROLLER());
  await client.create(PODS, 'default', pod('a'));
  const events: string[] = [];
  const stream = await client.watch(PODS, { namespace: 'default' }, (event) => events.push(`${event.type} ${String(metaOf(event.object).name)}`));
  await eventually(() => events.length === 1, 'the initial ADDED event');
  await client.create(PODS, 'default', pod('b'));
  await eventually(() => events.length === 2, 'the ADDED event of b');
  t.deepEqual(events, ['ADDED a', 'ADDED b']);
  let ended = false;
  void stream.ended.then(() => (ended = true));
  await server.system.stop(server.endpoint);
  await eventually(() => ended, 'the watch to end after the endpoint stopped');
  t.pass();
});

test('a watch ends when the API server process goes away, and when the handler closes', async (t) => {
  const server = await startApiServer(t);
  const { client } = await startComponent(t, server, 'controller', CONTROLLER());
  const first = await client.watch(PODS, { namespace: 'default' }, () => undefined);
  const second = await client.watch(PODS, { namespace: 'kube-system' }, () => undefined);
  let firstEnded = false;
  void first.ended.then(() => (firstEnded = true));
  // The pipeline closes its shared store watches: the stream ends with api.watchEnd.
  server.api.handler.close();
  await eventually(() => firstEnded, 'the watch to end when the handler closed');
  let secondEnded = false;
  void second.ended.then(() => (secondEnded = true));
  // (both shared the pods watch cache, so the second one ended as well)
  await eventually(() => secondEnded, 'the second watch to end');
  // A fresh server process: its watch ends when the process terminates.
  const other = await startApiServer(t);
  const component = await startComponent(t, other, 'controller2', CONTROLLER());
  const third = await component.client.watch(PODS, {}, () => undefined);
  let thirdEnded = false;
  void third.ended.then(() => (thirdEnded = true));
  await other.system.terminate();
  await other.transport.close();
  await eventually(() => thirdEnded, 'the watch to end when the API server process went away');
  t.pass();
});

test('watches are bounded per client process, and a dead watcher releases its watches', async (t) => {
  const server = await startApiServer(t, { endpoint: { maxWatchesPerPeer: 2 } });
  const component = await startComponent(t, server, 'controller', CONTROLLER());
  await component.client.watch(PODS, { namespace: 'default' }, () => undefined);
  await component.client.watch(PODS, { namespace: 'kube-system' }, () => undefined);
  const third = await t.throwsAsync(component.client.watch(PODS, {}, () => undefined));
  t.is((third as ApiClientError).status, 429);
  // The first transport's watcher actor dies (no unwatch sent): the endpoint's death watch frees both watches.
  await component.system.stop(component.system.refFor(component.system.address.node, '/user/api-watches'));
  const again = new ActorApiTransport({ system: component.system, endpoint: server.endpoint, clock: systemClock, watcherName: 'api-watches-2', callTimeoutMs: CALL_TIMEOUT_MS });
  t.teardown(() => again.close());
  const client = new ApiClient(again);
  let opened = 0;
  for (let attempt = 0; attempt < 50 && opened < 2; attempt++) {
    try {
      await client.watch(PODS, { namespace: `ns-${attempt}` }, () => undefined);
      opened++;
    } catch (error) {
      if (!(error instanceof ApiClientError && error.status === 429)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  t.is(opened, 2);
});

test('the peer identity is known on a connection the API server dialled, too', async (t) => {
  const seen: string[] = [];
  const server = await startApiServer(t, {
    deny: (attributes) => {
      seen.push(attributes.user.name);
      return false;
    },
  });
  // A listening component that the API server reaches first (so the one connection is the server's).
  const component = await startProcess(t, 'agent', API_CLIENT_PROTOCOL, { tls: certificateFor('system:node:n1', ['system:nodes']) }, true);
  const componentNode = component.system.address.node;
  server.system.tell(server.system.refFor(componentNode, '/user/api-watches'), { type: 'api.watchEnd', watchId: 'none' });
  await eventually(() => server.transport.isConnected(componentNode), 'the API server to dial the component');
  const transport = new ActorApiTransport({ system: component.system, endpoint: server.endpoint, clock: systemClock, callTimeoutMs: CALL_TIMEOUT_MS });
  const client = new ApiClient(transport);
  t.teardown(() => client.close());
  await client.list(PODS, { namespace: 'default' });
  t.deepEqual(seen, ['system:node:n1']);
  t.is(server.transport.stats.connectionsAccepted, 0);
  t.is(server.transport.stats.connectionsDialled, 1);
});

test('a watch whose events skip a seq number ends (lost events are never silently skipped)', async (t) => {
  const server = await startApiServer(t);
  const component = await startComponent(t, server, 'controller', CONTROLLER());
  const events: string[] = [];
  const stream = await component.client.watch(PODS, { namespace: 'default', resourceVersion: '1' }, (event) => events.push(event.type));
  let ended = false;
  void stream.ended.then(() => (ended = true));
  // The API server's process tells the watcher an event numbered 2 while 1 never came (as if lost).
  const watcher = server.system.refFor(component.system.address.node, '/user/api-watches');
  const object = new TextEncoder().encode(JSON.stringify(pod('ghost')));
  server.system.tell(watcher, { type: 'api.watchEvent', watchId: '1', seq: 2, event: { type: 'ADDED', object } });
  await eventually(() => ended, 'the watch to end on the gap');
  t.deepEqual(events, []);
});
