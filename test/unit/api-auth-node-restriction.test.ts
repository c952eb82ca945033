// Node restriction through the real pipeline (bootstrap RBAC policy + the admission check): a node
// agent writes its own Node, Lease and pods' status, deletes its own pods, and nothing else.
import test from 'ava';
import type { UserInfo } from '../../src/api/auth-types.js';
import { bootstrapPolicy } from '../../src/api/auth/bootstrap-policy.js';
import { nodeNameOf, nodeRestriction } from '../../src/api/auth/node-restriction.js';
import { RbacAuthorizer, RbacCache } from '../../src/api/auth/rbac.js';
import type { ApiRequest, ApiResponse } from '../../src/api/handlers/types.js';
import { createApiHandler, type ApiHandler } from '../../src/api/pipeline.js';
import type { RbacKind } from '../../src/api/rbac-sync.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN } from './api-helpers.js';

type Json = { [field: string]: unknown };
const N1: UserInfo = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
const MERGE = { 'content-type': 'application/merge-patch+json' };

async function cluster(): Promise<{ call(user: UserInfo, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse & { body?: unknown }> }> {
  const cache = new RbacCache();
  for (const object of bootstrapPolicy()) cache.upsert(object['kind'] as RbacKind, object);
  const handler: ApiHandler = createApiHandler({ store: new LocalStore(systemClock), authorizer: new RbacAuthorizer(cache), admission: [nodeRestriction] });
  await handler.ensureSystemNamespaces();
  const call = (user: UserInfo, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse & { body?: unknown }> => {
    const [pathname, search] = path.split('?');
    const request: ApiRequest = {
      method,
      path: pathname ?? '/',
      query: new URLSearchParams(search ?? ''),
      headers: { 'content-type': 'application/json', ...headers },
      user,
      ...(body === undefined ? {} : { body: new TextEncoder().encode(JSON.stringify(body)) }),
    };
    return handler.handle(request) as Promise<ApiResponse & { body?: unknown }>;
  };
  for (const node of ['n1', 'n2']) await call(ADMIN, 'POST', '/api/v1/nodes', { metadata: { name: node } });
  for (const [pod, node] of [['p1', 'n1'], ['p2', 'n2']] as const) {
    const created = await call(ADMIN, 'POST', '/api/v1/namespaces/default/pods', { metadata: { name: pod }, spec: { nodeName: node, containers: [{ name: 'main', image: 'busybox' }] } });
    if (created.status !== 201) throw new Error(`setup: pod ${pod}: ${JSON.stringify(created.body)}`);
  }
  return { call };
}

const message = (response: { body?: unknown }): string => String((response.body as Json)['message']);

test('nodeNameOf: only system:node:<name> in group system:nodes is a node', (t) => {
  t.is(nodeNameOf(N1), 'n1');
  t.is(nodeNameOf({ name: 'system:node:n1', groups: [] }), undefined);
  t.is(nodeNameOf({ name: 'kubelet', groups: ['system:nodes'] }), undefined);
  t.is(nodeNameOf({ name: 'system:node:', groups: ['system:nodes'] }), undefined);
});

test('a node writes its own Node and its status, not another node', async (t) => {
  const { call } = await cluster();
  t.is((await call(N1, 'PATCH', '/api/v1/nodes/n1/status', { status: { phase: 'Running' } }, MERGE)).status, 200);
  t.is((await call(N1, 'PATCH', '/api/v1/nodes/n1', { metadata: { labels: { zone: 'a' } } }, MERGE)).status, 200);
  const other = await call(N1, 'PATCH', '/api/v1/nodes/n2/status', { status: { phase: 'Running' } }, MERGE);
  t.is(other.status, 403);
  t.is(message(other), 'nodes "n2" is forbidden: node "n1" is not allowed to modify node "n2"');
  t.is((await call(N1, 'POST', '/api/v1/nodes', { metadata: { name: 'n3' } })).status, 403);
  t.is((await call(N1, 'DELETE', '/api/v1/nodes/n2')).status, 403);
});

test('a node may register itself', async (t) => {
  const { call } = await cluster();
  const n3: UserInfo = { name: 'system:node:n3', groups: ['system:nodes', 'system:authenticated'] };
  t.is((await call(n3, 'POST', '/api/v1/nodes', { metadata: { name: 'n3' } })).status, 201);
});

test('a node renews only its own Lease in kube-node-lease', async (t) => {
  const { call } = await cluster();
  const lease = (name: string): Json => ({ metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40 } });
  t.is((await call(N1, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease('n1'))).status, 201);
  t.is((await call(N1, 'PATCH', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1', { spec: { leaseDurationSeconds: 30 } }, MERGE)).status, 200);
  const other = await call(N1, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', lease('n2'));
  t.is(other.status, 403);
  t.regex(message(other), /^leases\.coordination\.k8s\.io "n2" is forbidden: node "n1" can only access its own lease/);
  t.is((await call(N1, 'POST', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases', lease('n1'))).status, 403);
});

test('a node updates the status of and deletes only the pods bound to it', async (t) => {
  const { call } = await cluster();
  t.is((await call(N1, 'PATCH', '/api/v1/namespaces/default/pods/p1/status', { status: { phase: 'Running' } }, MERGE)).status, 200);
  const foreign = await call(N1, 'PATCH', '/api/v1/namespaces/default/pods/p2/status', { status: { phase: 'Running' } }, MERGE);
  t.is(foreign.status, 403);
  t.is(message(foreign), 'pods "p2" is forbidden: node "n1" can only update pod status for pods with spec.nodeName set to itself');
  const foreignDelete = await call(N1, 'DELETE', '/api/v1/namespaces/default/pods/p2?gracePeriodSeconds=0');
  t.is(foreignDelete.status, 403);
  t.is(message(foreignDelete), 'pods "p2" is forbidden: node "n1" can only delete pods with spec.nodeName set to itself');
  t.is((await call(N1, 'DELETE', '/api/v1/namespaces/default/pods/p1?gracePeriodSeconds=0')).status, 200);
  t.is((await call(ADMIN, 'GET', '/api/v1/namespaces/default/pods/p1')).status, 404);
  t.is((await call(ADMIN, 'GET', '/api/v1/namespaces/default/pods/p2')).status, 200);
});

test('a node may not create pods, change a pod spec, or write other kinds; events are allowed', async (t) => {
  const { call } = await cluster();
  const pod = { metadata: { name: 'mine' }, spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'busybox' }] } };
  const created = await call(N1, 'POST', '/api/v1/namespaces/default/pods', pod);
  t.is(created.status, 403);
  t.is((await call(N1, 'PATCH', '/api/v1/namespaces/default/pods/p1', { metadata: { labels: { a: 'b' } } }, MERGE)).status, 403);
  t.is((await call(N1, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c' }, data: {} })).status, 403);
  t.is((await call(N1, 'GET', '/api/v1/namespaces/default/secrets')).status, 403);
  t.is((await call(N1, 'GET', '/api/v1/namespaces/default/pods/p2')).status, 200, 'reads follow RBAC');
  const event = { metadata: { name: 'e1' }, involvedObject: { kind: 'Pod', name: 'p1', namespace: 'default' }, reason: 'Started', message: 'started', type: 'Normal' };
  t.is((await call(N1, 'POST', '/api/v1/namespaces/default/events', event)).status, 201);
});

test('the admission check leaves other users alone and a node denied elsewhere', (t) => {
  const bob: UserInfo = { name: 'bob', groups: ['system:authenticated'] };
  const attributes = { kind: 'resource', verb: 'update', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'default', name: 'p2', subresource: 'status' } as const;
  t.true(nodeRestriction({ ...attributes, user: bob }, { oldObject: { spec: { nodeName: 'n2' } } }).allowed);
  t.false(nodeRestriction({ ...attributes, user: N1 }, { oldObject: { spec: { nodeName: 'n2' } } }).allowed);
  t.false(nodeRestriction({ ...attributes, user: N1 }, { oldObject: { spec: {} } }).allowed, 'an unbound pod is not the node\'s');
  t.true(nodeRestriction({ kind: 'nonResource', user: N1, verb: 'get', path: '/healthz' }, {}).allowed);
  const secret = nodeRestriction({ kind: 'resource', user: N1, verb: 'create', apiGroup: '', apiVersion: 'v1', resource: 'secrets', namespace: 'default' }, { newObject: { metadata: { name: 's' } } });
  t.deepEqual(secret, { allowed: false, reason: 'secrets "s" is forbidden: node "n1" is not allowed to create secrets' });
});
