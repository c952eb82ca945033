// The authentication.k8s.io side of the pipeline over LocalStore: serviceaccounts/token issues tokens
// the handler's authenticate() accepts until their ServiceAccount goes; TokenRequest validation;
// selfsubjectreviews answers the caller; tokenreviews reviews static and service account tokens for
// audiences; pods/exec, attach and portforward answer a clear 400 after authorization (403) and a
// 404 for a missing pod. Over HTTPS, garbage bearer tokens are 401, never anonymous, never 5xx.
import test from 'ava';
import fc from 'fast-check';
import { request as httpsRequest } from 'node:https';
import { createAuthenticator } from '../../src/api/auth/authenticator.js';
import { parseTokenFile } from '../../src/api/auth/token-file.js';
import { startApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { createApiHandler } from '../../src/api/pipeline.js';
import type { ApiRequest } from '../../src/api/handlers/types.js';
import type { UserInfo } from '../../src/api/auth-types.js';
import { generateSigningKeyPair } from '../../src/api/auth/jwt.js';
import { ADMIN, ruleAuthorizer, testApi, testPki } from './api-helpers.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
const body = (response: { body?: unknown }): Json => response.body as Json;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

async function requestToken(api: Awaited<ReturnType<typeof testApi>>, name: string, spec: Json = {}): Promise<{ status: number; body: Json }> {
  const response = await api.call('POST', `/api/v1/namespaces/default/serviceaccounts/${name}/token`, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec });
  return { status: response.status, body: body(response) };
}

test('serviceaccounts/token issues a token that authenticates until the service account is deleted', async (t) => {
  const api = await testApi();
  t.is((await requestToken(api, 'robot')).status, 404, 'no such service account');
  t.is((await api.call('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } })).status, 201);
  const issued = await requestToken(api, 'robot');
  t.is(issued.status, 201);
  t.like(issued.body, { kind: 'TokenRequest', apiVersion: 'authentication.k8s.io/v1', spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600, boundObjectRef: null } });
  const token = String(issued.body['status']['token']);
  t.regex(String(issued.body['status']['expirationTimestamp']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const who = await api.handler.authenticate(bearer(token));
  t.like(who, { kind: 'authenticated', user: { name: 'system:serviceaccount:default:robot', groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'] } });

  t.is((await api.call('DELETE', '/api/v1/namespaces/default/serviceaccounts/robot')).status, 200);
  t.like(await api.handler.authenticate(bearer(token)), { kind: 'rejected' });
  await api.call('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } });
  t.like(await api.handler.authenticate(bearer(token)), { kind: 'rejected' }, 'a new service account of the same name has another uid');
  api.handler.close();
});

test('TokenRequest: expiry bounds, bound objects and the RBAC check on serviceaccounts/token', async (t) => {
  const api = await testApi(ruleAuthorizer((attributes) => attributes.user.name === 'viewer' && attributes.kind === 'resource' && attributes.subresource === 'token'));
  await api.call('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } });
  const short = await requestToken(api, 'robot', { expirationSeconds: 10 });
  t.is(short.status, 422);
  t.regex(short.body['message'], /^TokenRequest\.authentication\.k8s\.io "robot" is invalid: spec\.expirationSeconds: Invalid value: 10: may not specify a duration less than 10 minutes/);
  t.like((await requestToken(api, 'robot', { expirationSeconds: 600, audiences: ['vault'] })).body, { spec: { expirationSeconds: 600, audiences: ['vault'] } });
  const badKind = await requestToken(api, 'robot', { boundObjectRef: { kind: 'ConfigMap', name: 'x' } });
  t.is(badKind.status, 422);
  t.is((await requestToken(api, 'robot', { boundObjectRef: { kind: 'Pod', name: 'web' } })).status, 404, 'the bound pod must exist');
  const created = await api.call('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  const podUid = String(body(created)['metadata']['uid']);
  t.is((await requestToken(api, 'robot', { boundObjectRef: { kind: 'Pod', name: 'web', uid: 'not-it' } })).status, 409);
  const bound = await requestToken(api, 'robot', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: podUid } });
  t.is(bound.status, 201);
  t.like(bound.body['spec']['boundObjectRef'], { kind: 'Pod', name: 'web', uid: podUid });
  const token = String(bound.body['status']['token']);
  t.like(await api.handler.authenticate(bearer(token)), { kind: 'authenticated', user: { extra: { 'authentication.kubernetes.io/pod-name': ['web'] } } });
  await api.call('DELETE', '/api/v1/namespaces/default/pods/web?gracePeriodSeconds=0');
  t.like(await api.handler.authenticate(bearer(token)), { kind: 'rejected' }, 'the bound pod is gone');

  const viewer: UserInfo = { name: 'viewer', groups: ['system:authenticated'] };
  const denied = await api.call('POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', { spec: {} }, {}, viewer);
  t.is(denied.status, 403);
  api.handler.close();
});

test('selfsubjectreviews answers the caller, uid and extra included when known', async (t) => {
  const api = await testApi();
  const mine = await api.call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  t.is(mine.status, 201);
  t.deepEqual(body(mine)['status'], { userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] } });
  const jane: UserInfo = { name: 'jane', uid: 'u-1', groups: ['dev', 'system:authenticated'], extra: { scopes: ['a', 'b'] } };
  const hers = await api.call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {}, {}, jane);
  t.deepEqual(body(hers)['status'], { userInfo: { username: 'jane', uid: 'u-1', groups: ['dev', 'system:authenticated'], extra: { scopes: ['a', 'b'] } } });
  t.is((await api.call('GET', '/apis/authentication.k8s.io/v1/selfsubjectreviews')).status, 405);
  api.handler.close();
});

test('tokenreviews: static tokens, service account tokens, audiences and errors', async (t) => {
  const store = new LocalStore(systemClock);
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer(), authenticator: createAuthenticator({ tokens: parseTokenFile('static-token,bob,bob-uid,dev\n') }) });
  await handler.ensureSystemNamespaces();
  const call = async (method: string, path: string, payload: unknown): Promise<Json> => {
    const request: ApiRequest = { method, path, query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, user: ADMIN, body: new TextEncoder().encode(JSON.stringify(payload)) };
    const response = await handler.handle(request);
    return { code: response.status, ...(body(response as { body?: unknown }) ?? {}) };
  };
  const review = (spec: Json): Promise<Json> => call('POST', '/apis/authentication.k8s.io/v1/tokenreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec });

  t.like(await review({ token: 'static-token' }), { code: 201, kind: 'TokenReview', spec: { token: 'static-token' } });
  t.deepEqual((await review({ token: 'static-token' }))['status'], {
    authenticated: true,
    user: { username: 'bob', uid: 'bob-uid', groups: ['dev', 'system:authenticated'] },
    audiences: ['https://kubernetes.default.svc'],
  });
  t.like((await review({ token: 'static-token', audiences: ['vault'] }))['status'], { error: 'the token audiences are not accepted' });
  t.like((await review({ token: 'nope' }))['status'], { error: 'invalid bearer token' });
  t.like(await review({}), { code: 422, reason: 'Invalid' });

  await call('POST', '/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } });
  const issued = await call('POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', { spec: { audiences: ['vault', 'https://kubernetes.default.svc'] } });
  const token = String(issued['status']['token']);
  t.like((await review({ token }))['status'], { authenticated: true, user: { username: 'system:serviceaccount:default:robot' }, audiences: ['https://kubernetes.default.svc'] });
  t.like((await review({ token, audiences: ['vault'] }))['status'], { authenticated: true, audiences: ['vault'] });
  t.like((await review({ token, audiences: ['other'] }))['status'], { error: 'the token audiences are not accepted' });
  handler.close();
});

test('pods/exec, attach and portforward: authorization first, 404 for a missing pod, then a clear 400', async (t) => {
  const outsider: UserInfo = { name: 'outsider', groups: ['system:authenticated'] };
  const api = await testApi(ruleAuthorizer((attributes) => attributes.user.name === 'outsider' && attributes.kind === 'resource' && attributes.subresource !== undefined));
  await api.call('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
  for (const subresource of ['exec', 'attach', 'portforward']) {
    for (const method of ['GET', 'POST']) {
      const refused = await api.call(method, `/api/v1/namespaces/default/pods/web/${subresource}?command=ls&stdout=true`, undefined, { connection: 'Upgrade', upgrade: 'SPDY/3.1' });
      t.is(refused.status, 400, `${method} ${subresource}`);
      t.like(body(refused), { kind: 'Status', status: 'Failure', reason: 'BadRequest', message: `kplane runs no container runtime: pods/${subresource} is not supported (see docs/kubectl.md)` });
      t.is((await api.call(method, `/api/v1/namespaces/default/pods/nope/${subresource}`)).status, 404);
      t.is((await api.call(method, `/api/v1/namespaces/default/pods/web/${subresource}`, undefined, {}, outsider)).status, 403);
    }
    t.is((await api.call('DELETE', `/api/v1/namespaces/default/pods/web/${subresource}`)).status, 405);
  }
  api.handler.close();
});

test('over HTTPS, garbage bearer tokens are 401 and never 5xx or anonymous (fast-check)', async (t) => {
  const pki = testPki();
  const server = await startApiServer({
    store: new LocalStore(systemClock),
    tls: { key: pki.key, cert: pki.cert },
    host: '127.0.0.1',
    port: 0,
    authenticator: createAuthenticator({ tokens: parseTokenFile('good-token,alice,1\n') }),
    authorizer: ruleAuthorizer(),
  });
  const get = (token: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const request = httpsRequest(`${server.url}/api/v1/namespaces/default/pods`, { ca: pki.cert, headers: { authorization: `Bearer ${token}` } }, (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      });
      request.on('error', reject);
      request.end();
    });
  try {
    t.is(await get('good-token'), 200);
    const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/);
    const token = fc.oneof(fc.stringMatching(/^[!-~]{1,200}$/), fc.tuple(segment, segment, segment).map((parts) => parts.join('.')));
    await fc.assert(
      fc.asyncProperty(token.filter((candidate) => candidate !== 'good-token'), async (candidate) => (await get(candidate)) === 401),
      { numRuns: 60 },
    );
  } finally {
    await server.close();
  }
  t.pass();
});

test('API servers that share the store and the key pair accept each other\'s tokens; another key does not', async (t) => {
  const store = new LocalStore(systemClock);
  const keys = generateSigningKeyPair();
  const first = createApiHandler({ store, authorizer: ruleAuthorizer(), serviceAccountKeys: keys });
  const second = createApiHandler({ store, authorizer: ruleAuthorizer(), serviceAccountKeys: keys });
  const stranger = createApiHandler({ store, authorizer: ruleAuthorizer() });
  await first.ensureSystemNamespaces();
  const post = (path: string, payload: unknown): Promise<{ status: number; body?: unknown }> =>
    first.handle({ method: 'POST', path, query: new URLSearchParams(), headers: { 'content-type': 'application/json' }, user: ADMIN, body: new TextEncoder().encode(JSON.stringify(payload)) }) as Promise<{ status: number; body?: unknown }>;
  await post('/api/v1/namespaces/default/serviceaccounts', { metadata: { name: 'robot' } });
  const token = String(body(await post('/api/v1/namespaces/default/serviceaccounts/robot/token', { spec: {} }))['status']['token']);
  t.like(await second.authenticate(bearer(token)), { kind: 'authenticated', user: { name: 'system:serviceaccount:default:robot' } });
  t.deepEqual(await stranger.authenticate(bearer(token)), { kind: 'rejected', reason: 'the token signature does not verify' });
  for (const handler of [first, second, stranger]) handler.close();
});
