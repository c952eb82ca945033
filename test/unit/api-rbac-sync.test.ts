// startRbacSync keeps an RBAC cache current from the store: initial objects, changes, deletions.
import test from 'ava';
import { startRbacSync, type RbacKind } from '../../src/api/rbac-sync.js';
import { testApi } from './api-helpers.js';

type Json = { [field: string]: unknown };

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('the RBAC cache follows creates, updates and deletes of all four kinds', async (t) => {
  const api = await testApi();
  await api.call('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'early' }, rules: [] });
  const cache = new Map<string, Json>();
  const sync = startRbacSync(api.handler.objects, api.handler.registry, {
    upsert: (kind: RbacKind, object: Json) => cache.set(`${kind}/${String((object['metadata'] as Json)['namespace'] ?? '')}/${String((object['metadata'] as Json)['name'])}`, object),
    remove: (kind: RbacKind, namespace: string | undefined, name: string) => cache.delete(`${kind}/${namespace ?? ''}/${name}`),
  });
  await sync.synced;
  t.true(cache.has('ClusterRole//early'));
  await api.call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles', { metadata: { name: 'r' }, rules: [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }] });
  await api.call('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', {
    metadata: { name: 'rb' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
    subjects: [{ kind: 'User', name: 'bob' }],
  });
  await api.call('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    metadata: { name: 'crb' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'early' },
    subjects: [{ kind: 'Group', name: 'g' }],
  });
  await api.call('DELETE', '/apis/rbac.authorization.k8s.io/v1/clusterroles/early');
  await waitUntil(() => cache.size === 3 && !cache.has('ClusterRole//early'));
  t.deepEqual([...cache.keys()].sort(), ['ClusterRoleBinding//crb', 'Role/default/r', 'RoleBinding/default/rb']);
  sync.stop();
});

test('ensureObjects creates missing bootstrap objects once and leaves existing ones alone', async (t) => {
  const api = await testApi();
  const policy = [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cluster-admin' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'cluster-admin' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'Group', name: 'system:masters' }],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'lease-holder', namespace: 'kube-system' }, rules: [] },
  ];
  await api.handler.ensureObjects(policy);
  const first = (await api.call('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin')).body as Json;
  await api.call('PATCH', '/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin', { metadata: { labels: { edited: 'yes' } } }, { 'content-type': 'application/merge-patch+json' });
  await api.handler.ensureObjects(policy);
  const second = (await api.call('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin')).body as Json;
  t.is((second['metadata'] as Json)['uid'], (first['metadata'] as Json)['uid']);
  t.deepEqual((second['metadata'] as Json)['labels'], { edited: 'yes' }, 'an existing object is not overwritten');
  t.is((await api.call('GET', '/apis/rbac.authorization.k8s.io/v1/namespaces/kube-system/roles/lease-holder')).status, 200);
  await t.throwsAsync(api.handler.ensureObjects([{ apiVersion: 'v9', kind: 'Nope', metadata: { name: 'x' } }]));
});
