// The RBAC authorizer as a table of allow/deny cases: verbs, groups, resources and subresources
// (incl. `*` and `*/sub`), resourceNames, namespaced vs cluster bindings, ServiceAccount subjects,
// non-resource URLs, missing roles, aggregation, the superuser group, cache removal, and properties.
import test from 'ava';
import * as fc from 'fast-check';
import type { RequestAttributes, UserInfo } from '../../src/api/auth-types.js';
import { createRbacAuthorizer } from '../../src/api/auth/rbac.js';
import type { JsonObject } from '../../src/api/registry/types.js';

const RBAC = 'rbac.authorization.k8s.io/v1';
const ref = (kind: string, name: string): JsonObject => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name });

const objects: ReadonlyArray<readonly ['Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding', JsonObject]> = [
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'pod-reader' }, rules: [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods'] }] }],
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'status-writer' }, rules: [{ verbs: ['update', 'patch'], apiGroups: ['', 'apps'], resources: ['*/status'] }] }],
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'scaler' }, rules: [{ verbs: ['*'], apiGroups: ['apps'], resources: ['deployments/scale'] }] }],
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'one-configmap' }, rules: [{ verbs: ['get', 'update'], apiGroups: [''], resources: ['configmaps'], resourceNames: ['settings'] }] }],
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'metrics' }, rules: [{ verbs: ['get'], nonResourceURLs: ['/metrics', '/debug/*'] }] }],
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'node-reader' }, rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['nodes'] }] }],
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'monitoring' }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'kplane.dev/aggregate-to-monitoring': 'true' } }] }, rules: [] }],
  ['ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'lease-reader', labels: { 'kplane.dev/aggregate-to-monitoring': 'true' } }, rules: [{ verbs: ['get'], apiGroups: ['coordination.k8s.io'], resources: ['leases'] }] }],
  ['Role', { apiVersion: RBAC, kind: 'Role', metadata: { name: 'secret-admin', namespace: 'team' }, rules: [{ verbs: ['*'], apiGroups: [''], resources: ['secrets'] }] }],
  // alice reads pods everywhere; in "team" she also manages secrets.
  ['ClusterRoleBinding', { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: 'alice-pods' }, roleRef: ref('ClusterRole', 'pod-reader'), subjects: [{ kind: 'User', name: 'alice' }] }],
  ['RoleBinding', { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'alice-secrets', namespace: 'team' }, roleRef: ref('Role', 'secret-admin'), subjects: [{ kind: 'User', name: 'alice' }] }],
  // group dev: pod status and deployment scale, only in "team" (a RoleBinding to a ClusterRole).
  ['RoleBinding', { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'dev-status', namespace: 'team' }, roleRef: ref('ClusterRole', 'status-writer'), subjects: [{ kind: 'Group', name: 'dev' }] }],
  ['RoleBinding', { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'dev-scale', namespace: 'team' }, roleRef: ref('ClusterRole', 'scaler'), subjects: [{ kind: 'Group', name: 'dev' }] }],
  ['RoleBinding', { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'sa-settings', namespace: 'team' }, roleRef: ref('ClusterRole', 'one-configmap'), subjects: [{ kind: 'ServiceAccount', name: 'app' }] }],
  ['ClusterRoleBinding', { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: 'prom' }, roleRef: ref('ClusterRole', 'metrics'), subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }] }],
  ['ClusterRoleBinding', { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: 'prom-aggregated' }, roleRef: ref('ClusterRole', 'monitoring'), subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' }] }],
  ['ClusterRoleBinding', { apiVersion: RBAC, kind: 'ClusterRoleBinding', metadata: { name: 'dangling' }, roleRef: ref('ClusterRole', 'does-not-exist'), subjects: [{ kind: 'User', name: 'mallory' }] }],
  ['RoleBinding', { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'nodes-in-ns', namespace: 'team' }, roleRef: ref('ClusterRole', 'node-reader'), subjects: [{ kind: 'User', name: 'bob' }] }],
];

function authorizer() {
  const { authorizer: rbac, cache } = createRbacAuthorizer();
  for (const [kind, object] of objects) cache.upsert(kind, object);
  return { rbac, cache };
}

const who = (name: string, ...groups: string[]): UserInfo => ({ name, groups: [...groups, 'system:authenticated'] });
const alice = who('alice');
const dana = who('dana', 'dev');
const bob = who('bob');
const app = who('system:serviceaccount:team:app');
const otherApp = who('system:serviceaccount:other:app');
const prometheus = who('system:serviceaccount:monitoring:prometheus');
const root = who('root', 'system:masters');

function resource(user: UserInfo, verb: string, apiGroup: string, resourceName: string, extra: { namespace?: string; name?: string; subresource?: string } = {}): RequestAttributes {
  return { kind: 'resource', user, verb, apiGroup, apiVersion: 'v1', resource: resourceName, ...extra };
}
const path = (user: UserInfo, verb: string, url: string): RequestAttributes => ({ kind: 'nonResource', user, verb, path: url });

const cases: ReadonlyArray<readonly [string, RequestAttributes, boolean]> = [
  ['cluster binding: list pods in any namespace', resource(alice, 'list', '', 'pods'), true],
  ['cluster binding: get a pod in a namespace', resource(alice, 'get', '', 'pods', { namespace: 'x', name: 'p' }), true],
  ['verb not in the rule', resource(alice, 'delete', '', 'pods', { namespace: 'x', name: 'p' }), false],
  ['group mismatch (apps pods)', resource(alice, 'get', 'apps', 'pods', { namespace: 'x', name: 'p' }), false],
  ['a rule on pods does not cover pods/status', resource(alice, 'get', '', 'pods', { namespace: 'x', name: 'p', subresource: 'status' }), false],
  ['role binding: secrets in its namespace', resource(alice, 'create', '', 'secrets', { namespace: 'team' }), true],
  ['role binding: not in another namespace', resource(alice, 'get', '', 'secrets', { namespace: 'other', name: 's' }), false],
  ['role binding: not across all namespaces', resource(alice, 'list', '', 'secrets'), false],
  ['*/status covers pods/status', resource(dana, 'patch', '', 'pods', { namespace: 'team', name: 'p', subresource: 'status' }), true],
  ['*/status covers apps deployments/status', resource(dana, 'update', 'apps', 'deployments', { namespace: 'team', name: 'd', subresource: 'status' }), true],
  ['*/status does not cover the main resource', resource(dana, 'update', '', 'pods', { namespace: 'team', name: 'p' }), false],
  ['*/status does not cover another subresource', resource(dana, 'update', '', 'pods', { namespace: 'team', name: 'p', subresource: 'binding' }), false],
  ['deployments/scale with verb *', resource(dana, 'get', 'apps', 'deployments', { namespace: 'team', name: 'd', subresource: 'scale' }), true],
  ['deployments/scale does not cover deployments', resource(dana, 'get', 'apps', 'deployments', { namespace: 'team', name: 'd' }), false],
  ['group subject outside its namespace', resource(dana, 'patch', '', 'pods', { namespace: 'prod', name: 'p', subresource: 'status' }), false],
  ['resourceNames: the named object', resource(app, 'get', '', 'configmaps', { namespace: 'team', name: 'settings' }), true],
  ['resourceNames: another object', resource(app, 'get', '', 'configmaps', { namespace: 'team', name: 'other' }), false],
  ['resourceNames: list has no name', resource(app, 'list', '', 'configmaps', { namespace: 'team' }), false],
  ['resourceNames: create has no name', resource(app, 'create', '', 'configmaps', { namespace: 'team' }), false],
  ['ServiceAccount subject defaults to the binding namespace', resource(otherApp, 'get', '', 'configmaps', { namespace: 'team', name: 'settings' }), false],
  ['ServiceAccount with namespace in a cluster binding', path(prometheus, 'get', '/metrics'), true],
  ['nonResourceURL prefix with *', path(prometheus, 'get', '/debug/pprof/heap'), true],
  ['nonResourceURL: verb must match', path(prometheus, 'post', '/metrics'), false],
  ['nonResourceURL: other path', path(prometheus, 'get', '/metricsx'), false],
  ['nonResourceURL: a resource rule never matches a path', path(alice, 'get', '/api/v1/pods'), false],
  ['aggregated ClusterRole carries the selected rules', resource(prometheus, 'get', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease', name: 'n1' }), true],
  ['a RoleBinding to a ClusterRole of a cluster-scoped kind does not grant the cluster scope', resource(bob, 'get', '', 'nodes', { name: 'n1' }), false],
  ['superuser group', resource(root, 'delete', 'anything.example.com', 'widgets', { name: 'w' }), true],
  ['superuser group on paths', path(root, 'delete', '/whatever'), true],
  ['unknown user', resource(who('nobody'), 'get', '', 'pods', { namespace: 'x', name: 'p' }), false],
];

for (const [what, attributes, expected] of cases) {
  test(`rbac: ${what}`, (t) => {
    const decision = authorizer().rbac.authorize(attributes);
    t.is(decision.allowed, expected, decision.reason);
  });
}

test('decisions carry reasons in Kubernetes wording', (t) => {
  const { rbac } = authorizer();
  t.is(rbac.authorize(resource(alice, 'list', '', 'pods')).reason, 'RBAC: allowed by ClusterRoleBinding "alice-pods" of ClusterRole "pod-reader" to User "alice"');
  t.is(rbac.authorize(resource(alice, 'get', '', 'secrets', { namespace: 'team', name: 's' })).reason, 'RBAC: allowed by RoleBinding "alice-secrets/team" of Role "secret-admin" to User "alice"');
  t.is(rbac.authorize(path(prometheus, 'get', '/metrics')).reason, 'RBAC: allowed by ClusterRoleBinding "prom" of ClusterRole "metrics" to ServiceAccount "prometheus/monitoring"');
  t.is(rbac.authorize(resource(alice, 'delete', '', 'pods', { namespace: 'x', name: 'p' })).reason, '');
  t.is(rbac.authorize(resource(who('mallory'), 'get', '', 'pods', { namespace: 'x', name: 'p' })).reason, 'RBAC: clusterrole.rbac.authorization.k8s.io "does-not-exist" not found');
});

test('removing a binding or a role takes its permissions away', (t) => {
  const { rbac, cache } = authorizer();
  const request = resource(alice, 'get', '', 'secrets', { namespace: 'team', name: 's' });
  t.true(rbac.authorize(request).allowed);
  cache.remove('Role', 'team', 'secret-admin');
  const denied = rbac.authorize(request);
  t.false(denied.allowed);
  t.is(denied.reason, 'RBAC: role.rbac.authorization.k8s.io "secret-admin" not found');
  cache.remove('ClusterRoleBinding', undefined, 'alice-pods');
  t.false(rbac.authorize(resource(alice, 'list', '', 'pods')).allowed);
  cache.remove('ClusterRole', undefined, 'lease-reader');
  t.false(rbac.authorize(resource(prometheus, 'get', 'coordination.k8s.io', 'leases', { namespace: 'kube-node-lease', name: 'n1' })).allowed);
});

test('an upsert replaces the earlier version of an object', (t) => {
  const { rbac, cache } = authorizer();
  cache.upsert('ClusterRole', { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'pod-reader' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] });
  t.true(rbac.authorize(resource(alice, 'get', '', 'pods', { namespace: 'x', name: 'p' })).allowed);
  t.false(rbac.authorize(resource(alice, 'list', '', 'pods')).allowed);
});

test('properties (fast-check): more rules never deny what fewer allowed; a full wildcard allows all; no binding denies all', (t) => {
  const path = fc.constantFrom('/api', '/api/v1', '/apis/apps', '/healthz', '/metrics', '/debug/x');
  const rule = fc.record({
    verbs: fc.array(fc.constantFrom('get', 'list', 'create', 'update', '*'), { maxLength: 3 }),
    apiGroups: fc.array(fc.constantFrom('', 'apps', '*'), { maxLength: 2 }),
    resources: fc.array(fc.constantFrom('pods', 'pods/status', '*/status', 'secrets', 'deployments', 'deployments/scale', '*'), { maxLength: 3 }),
    resourceNames: fc.array(fc.constantFrom('a', 'b'), { maxLength: 1 }),
    nonResourceURLs: fc.array(fc.constantFrom('/api', '/api/*', '/healthz', '*'), { maxLength: 2 }),
  });
  const attributes = fc.oneof(
    fc.record({ verb: fc.constantFrom('get', 'list', 'create', 'update', 'delete'), apiGroup: fc.constantFrom('', 'apps'), resource: fc.constantFrom('pods', 'secrets', 'deployments'), subresource: fc.option(fc.constantFrom('status', 'scale'), { nil: undefined }), namespace: fc.option(fc.constantFrom('team', 'other'), { nil: undefined }), name: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }) }).map(
      (value): RequestAttributes => ({
        kind: 'resource',
        user: who('u'),
        verb: value.verb,
        apiGroup: value.apiGroup,
        apiVersion: 'v1',
        resource: value.resource,
        ...(value.subresource === undefined ? {} : { subresource: value.subresource }),
        ...(value.namespace === undefined ? {} : { namespace: value.namespace }),
        ...(value.name === undefined ? {} : { name: value.name }),
      }),
    ),
    fc.record({ verb: fc.constantFrom('get', 'post'), path }).map((value): RequestAttributes => ({ kind: 'nonResource', user: who('u'), ...value })),
  );
  const withRules = (rules: readonly unknown[], namespaced: boolean) => {
    const { authorizer: rbac, cache } = createRbacAuthorizer();
    if (namespaced) {
      cache.upsert('Role', { metadata: { name: 'r', namespace: 'team' }, rules });
      cache.upsert('RoleBinding', { metadata: { name: 'b', namespace: 'team' }, roleRef: ref('Role', 'r'), subjects: [{ kind: 'User', name: 'u' }] });
    } else {
      cache.upsert('ClusterRole', { metadata: { name: 'r' }, rules });
      cache.upsert('ClusterRoleBinding', { metadata: { name: 'b' }, roleRef: ref('ClusterRole', 'r'), subjects: [{ kind: 'Group', name: 'system:authenticated' }] });
    }
    return rbac;
  };
  fc.assert(
    fc.property(fc.array(rule, { maxLength: 4 }), fc.array(rule, { maxLength: 3 }), fc.boolean(), attributes, (rules, more, namespaced, request) => {
      const fewer = withRules(rules, namespaced).authorize(request).allowed;
      const larger = withRules([...rules, ...more], namespaced).authorize(request).allowed;
      if (fewer && !larger) return false;
      if (createRbacAuthorizer().authorizer.authorize(request).allowed) return false;
      const everything = withRules([{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }, { verbs: ['*'], nonResourceURLs: ['*'] }], false);
      return everything.authorize(request).allowed;
    }),
    { numRuns: 1000 },
  );
  t.pass();
});
