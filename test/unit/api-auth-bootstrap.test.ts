// The bootstrap RBAC policy: it passes the API's own validation (ensureObjects), and through the
// RBAC authorizer it gives the admin everything, every user discovery and can-i, anonymous only the
// public paths, and each component what it needs and no more.
import test from 'ava';
import type { RequestAttributes, UserInfo } from '../../src/api/auth-types.js';
import { bootstrapPolicy } from '../../src/api/auth/bootstrap-policy.js';
import { RbacAuthorizer, RbacCache } from '../../src/api/auth/rbac.js';
import type { RbacKind } from '../../src/api/rbac-sync.js';
import { startRbacSync } from '../../src/api/rbac-sync.js';
import { testApi } from './api-helpers.js';

function policyAuthorizer(superuserGroups?: readonly string[]): RbacAuthorizer {
  const cache = new RbacCache();
  for (const object of bootstrapPolicy()) cache.upsert(object['kind'] as RbacKind, object);
  return new RbacAuthorizer(cache, superuserGroups === undefined ? {} : { superuserGroups });
}

const authenticated = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });
const admin = authenticated('admin', 'system:masters');
const node = authenticated('system:node:n1', 'system:nodes');
const scheduler = authenticated('system:kube-scheduler');
const controllerManager = authenticated('system:kube-controller-manager');
const someone = authenticated('someone');
const anonymous: UserInfo = { name: 'system:anonymous', groups: ['system:unauthenticated'] };

function resource(user: UserInfo, verb: string, apiGroup: string, name: string, extra: { namespace?: string; name?: string; subresource?: string } = {}): RequestAttributes {
  return { kind: 'resource', user, verb, apiGroup, apiVersion: 'v1', resource: name, ...extra };
}
const path = (user: UserInfo, verb: string, url: string): RequestAttributes => ({ kind: 'nonResource', user, verb, path: url });

test('the policy is accepted by the API (defaulting and validation) and the RBAC sync loads all of it', async (t) => {
  const api = await testApi();
  await api.handler.ensureObjects(bootstrapPolicy());
  const cache = new RbacCache();
  const sync = startRbacSync(api.handler.objects, api.handler.registry, cache);
  await sync.synced;
  sync.stop();
  const policy = bootstrapPolicy();
  t.is(cache.clusterRoles.size, policy.filter((object) => object['kind'] === 'ClusterRole').length);
  t.is(cache.clusterRoleBindings.size, policy.filter((object) => object['kind'] === 'ClusterRoleBinding').length);
  t.is(cache.roles.get('kube-system')?.size, 3);
  t.is(cache.roleBindings.get('kube-system')?.size, 3);
});

const cases: ReadonlyArray<readonly [string, RequestAttributes, boolean]> = [
  ['admin (through the cluster-admin binding) deletes anything', resource(admin, 'delete', 'apps', 'deployments', { namespace: 'x', name: 'd' }), true],
  ['admin reads any path', path(admin, 'get', '/metrics'), true],
  ['a user reads discovery', path(someone, 'get', '/apis/apps/v1'), true],
  ['a user may ask can-i', resource(someone, 'create', 'authorization.k8s.io', 'selfsubjectaccessreviews'), true],
  ['a user has no resource access by default', resource(someone, 'list', '', 'pods', { namespace: 'default' }), false],
  ['anonymous reads /healthz', path(anonymous, 'get', '/healthz'), true],
  ['anonymous reads /version', path(anonymous, 'get', '/version'), true],
  ['anonymous may not read discovery', path(anonymous, 'get', '/api'), false],
  ['anonymous may not list pods', resource(anonymous, 'list', '', 'pods'), false],
  ['node reads pods', resource(node, 'list', '', 'pods'), true],
  ['node reads a pod', resource(node, 'get', '', 'pods', { namespace: 'default', name: 'p' }), true],
  ['node may not read secrets', resource(node, 'get', '', 'secrets', { namespace: 'default', name: 's' }), false],
  ['node may not list secrets', resource(node, 'list', '', 'secrets'), false],
  ['node updates node status', resource(node, 'patch', '', 'nodes', { name: 'n1', subresource: 'status' }), true],
  ['node creates its node', resource(node, 'create', '', 'nodes'), true],
  ['node renews a lease', resource(node, 'update', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease', name: 'n1' }), true],
  ['node updates pod status', resource(node, 'update', '', 'pods', { namespace: 'default', name: 'p', subresource: 'status' }), true],
  ['node may not bind pods', resource(node, 'create', '', 'pods', { namespace: 'default', name: 'p', subresource: 'binding' }), false],
  ['node may not create deployments', resource(node, 'create', 'apps', 'deployments', { namespace: 'default' }), false],
  ['node may not touch RBAC', resource(node, 'create', 'rbac.authorization.k8s.io', 'clusterrolebindings'), false],
  ['scheduler binds pods', resource(scheduler, 'create', '', 'pods', { namespace: 'default', name: 'p', subresource: 'binding' }), true],
  ['scheduler watches pods and nodes', resource(scheduler, 'watch', '', 'nodes'), true],
  ['scheduler may not update pods', resource(scheduler, 'update', '', 'pods', { namespace: 'default', name: 'p' }), false],
  ['scheduler may not read secrets', resource(scheduler, 'get', '', 'secrets', { namespace: 'default', name: 's' }), false],
  ['scheduler takes its own leader lease', resource(scheduler, 'update', 'coordination.k8s.io', 'leases', { namespace: 'kube-system', name: 'kube-scheduler' }), true],
  ['scheduler may not take the controller manager lease', resource(scheduler, 'update', 'coordination.k8s.io', 'leases', { namespace: 'kube-system', name: 'kube-controller-manager' }), false],
  ['scheduler renews a shard lease', resource(scheduler, 'patch', 'coordination.k8s.io', 'leases', { namespace: 'kube-system', name: 'default-scheduler-shard-1' }), true],
  ['scheduler lists the shard leases', resource(scheduler, 'list', 'coordination.k8s.io', 'leases', { namespace: 'kube-system' }), true],
  ['controller manager creates replicasets', resource(controllerManager, 'create', 'apps', 'replicasets', { namespace: 'default' }), true],
  ['controller manager creates pods', resource(controllerManager, 'create', '', 'pods', { namespace: 'default' }), true],
  ['controller manager updates deployment status', resource(controllerManager, 'update', 'apps', 'deployments', { namespace: 'default', name: 'd', subresource: 'status' }), true],
  ['controller manager finalizes namespaces', resource(controllerManager, 'update', '', 'namespaces', { name: 'gone', subresource: 'finalize' }), true],
  ['controller manager empties a namespace of secrets', resource(controllerManager, 'deletecollection', '', 'secrets', { namespace: 'gone' }), true],
  ['controller manager may not read secrets', resource(controllerManager, 'list', '', 'secrets', { namespace: 'gone' }), false],
  ['controller manager may not bind roles', resource(controllerManager, 'create', 'rbac.authorization.k8s.io', 'clusterrolebindings'), false],
  ['controller manager takes its own leader lease', resource(controllerManager, 'get', 'coordination.k8s.io', 'leases', { namespace: 'kube-system', name: 'kube-controller-manager' }), true],
];

for (const [what, attributes, expected] of cases) {
  test(`bootstrap policy: ${what}`, (t) => {
    // No superuser shortcut: the admin's rights must come from the cluster-admin binding itself.
    const decision = policyAuthorizer([]).authorize(attributes);
    t.is(decision.allowed, expected, decision.reason);
  });
}

test('the user-facing roles nest: view ⊂ edit ⊂ admin, and view cannot read secrets', (t) => {
  const cache = new RbacCache();
  for (const object of bootstrapPolicy()) cache.upsert(object['kind'] as RbacKind, object);
  const bind = (role: string, user: string): void =>
    cache.upsert('RoleBinding', { metadata: { name: `${user}-${role}`, namespace: 'team' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'User', name: user }] });
  bind('view', 'viewer');
  bind('edit', 'editor');
  bind('admin', 'owner');
  const rbac = new RbacAuthorizer(cache);
  const can = (user: string, verb: string, group: string, name: string): boolean => rbac.authorize(resource(authenticated(user), verb, group, name, { namespace: 'team' })).allowed;
  t.true(can('viewer', 'list', '', 'pods'));
  t.false(can('viewer', 'list', '', 'secrets'));
  t.false(can('viewer', 'create', '', 'pods'));
  t.true(can('editor', 'create', 'apps', 'deployments'));
  t.true(can('editor', 'get', '', 'secrets'));
  t.false(can('editor', 'create', 'rbac.authorization.k8s.io', 'rolebindings'));
  t.true(can('owner', 'create', 'rbac.authorization.k8s.io', 'rolebindings'));
  t.false(rbac.authorize(resource(authenticated('owner'), 'list', '', 'pods', { namespace: 'elsewhere' })).allowed);
});

test('whoami for everyone; tokens and pod streams for edit, not view; tokenreviews for system:auth-delegator', (t) => {
  const cache = new RbacCache();
  for (const object of bootstrapPolicy()) cache.upsert(object['kind'] as RbacKind, object);
  const bind = (role: string, user: string): void =>
    cache.upsert('RoleBinding', { metadata: { name: `${user}-${role}`, namespace: 'team' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role }, subjects: [{ kind: 'User', name: user }] });
  bind('view', 'viewer');
  bind('edit', 'editor');
  cache.upsert('ClusterRoleBinding', { metadata: { name: 'proxy-delegator' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' }, subjects: [{ kind: 'User', name: 'proxy' }] });
  const rbac = new RbacAuthorizer(cache, { superuserGroups: [] });
  const allowed = (attributes: RequestAttributes): boolean => rbac.authorize(attributes).allowed;
  t.true(allowed(resource(someone, 'create', 'authentication.k8s.io', 'selfsubjectreviews')));
  t.true(allowed(resource(authenticated('editor'), 'create', '', 'serviceaccounts', { namespace: 'team', name: 'robot', subresource: 'token' })));
  t.false(allowed(resource(authenticated('viewer'), 'create', '', 'serviceaccounts', { namespace: 'team', name: 'robot', subresource: 'token' })));
  for (const stream of ['exec', 'attach', 'portforward']) {
    t.true(allowed(resource(authenticated('editor'), 'create', '', 'pods', { namespace: 'team', name: 'p', subresource: stream })), stream);
    t.true(allowed(resource(authenticated('editor'), 'get', '', 'pods', { namespace: 'team', name: 'p', subresource: stream })), stream);
    t.false(allowed(resource(authenticated('viewer'), 'create', '', 'pods', { namespace: 'team', name: 'p', subresource: stream })), stream);
  }
  t.true(allowed(resource(authenticated('proxy'), 'create', 'authentication.k8s.io', 'tokenreviews')));
  t.true(allowed(resource(authenticated('proxy'), 'create', 'authorization.k8s.io', 'subjectaccessreviews')));
  t.false(allowed(resource(someone, 'create', 'authentication.k8s.io', 'tokenreviews')));
});
