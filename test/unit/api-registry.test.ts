// The resource registry: lookups, defaulting and validation rules per resource.
import test from 'ava';
import { defaultRegistry, type JsonObject } from '../../src/api/registry/index.js';
import { validateObject } from '../../src/api/handlers/validate.js';
import { ApiError } from '../../src/api/status.js';
import { apiResourceList } from '../../src/api/handlers/discovery.js';

const registry = defaultRegistry();
const def = (group: string, plural: string) => {
  const found = registry.lookup(group, 'v1', plural);
  if (found === undefined) throw new Error(`no ${plural}`);
  return found;
};

function invalidFields(group: string, plural: string, object: JsonObject, old?: JsonObject): string[] {
  try {
    validateObject(def(group, plural), object, old);
    return [];
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return (error.details?.causes ?? []).map((cause) => cause.field);
  }
}

test('every required resource is served with kind, list kind, short names and scope', (t) => {
  const expected: Array<[string, string, string, boolean]> = [
    ['', 'namespaces', 'Namespace', false],
    ['', 'pods', 'Pod', true],
    ['', 'nodes', 'Node', false],
    ['', 'configmaps', 'ConfigMap', true],
    ['', 'secrets', 'Secret', true],
    ['', 'services', 'Service', true],
    ['', 'serviceaccounts', 'ServiceAccount', true],
    ['', 'events', 'Event', true],
    ['', 'endpoints', 'Endpoints', true],
    ['apps', 'deployments', 'Deployment', true],
    ['apps', 'replicasets', 'ReplicaSet', true],
    ['apps', 'statefulsets', 'StatefulSet', true],
    ['apps', 'daemonsets', 'DaemonSet', true],
    ['coordination.k8s.io', 'leases', 'Lease', true],
    ['rbac.authorization.k8s.io', 'roles', 'Role', true],
    ['rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false],
    ['rbac.authorization.k8s.io', 'rolebindings', 'RoleBinding', true],
    ['rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false],
    ['authorization.k8s.io', 'selfsubjectaccessreviews', 'SelfSubjectAccessReview', false],
    ['authentication.k8s.io', 'selfsubjectreviews', 'SelfSubjectReview', false],
    ['authentication.k8s.io', 'tokenreviews', 'TokenReview', false],
    ['events.k8s.io', 'events', 'Event', true],
  ];
  for (const [group, plural, kind, namespaced] of expected) {
    const found = def(group, plural);
    t.is(found.kind, kind);
    t.is(found.listKind, `${kind}List`);
    t.is(found.namespaced, namespaced, plural);
  }
  t.deepEqual(def('apps', 'deployments').shortNames, ['deploy']);
  t.deepEqual(def('', 'pods').subresources.map((s) => s.name), ['status', 'binding', 'log', 'eviction', 'exec', 'attach', 'portforward']);
  t.deepEqual(def('', 'serviceaccounts').subresources.map((s) => s.name), ['token']);
  t.deepEqual(def('authorization.k8s.io', 'selfsubjectaccessreviews').verbs, ['create']);
  const appsList = apiResourceList(registry, 'apps', 'v1') as { resources: Array<{ name: string }> };
  t.true(appsList.resources.some((r) => r.name === 'statefulsets/scale'));
  t.false(appsList.resources.some((r) => r.name === 'daemonsets/scale'));
});

test('pod defaulting and validation', (t) => {
  const pods = def('', 'pods');
  const pod: JsonObject = { metadata: { name: 'p' }, spec: { containers: [{ name: 'main', image: 'nginx', ports: [{ containerPort: 80 }] }] } };
  pods.defaults?.(pod);
  const spec = pod['spec'] as JsonObject;
  t.is(spec['restartPolicy'], 'Always');
  t.is(spec['dnsPolicy'], 'ClusterFirst');
  t.is(spec['terminationGracePeriodSeconds'], 30);
  const container = (spec['containers'] as JsonObject[])[0] as JsonObject;
  t.is(container['terminationMessagePath'], '/dev/termination-log');
  t.is(container['imagePullPolicy'], 'Always', 'an untagged image pulls Always');
  t.is(((container['ports'] as JsonObject[])[0] as JsonObject)['protocol'], 'TCP');
  t.deepEqual(invalidFields('', 'pods', pod), []);
  t.deepEqual(invalidFields('', 'pods', { metadata: { name: 'p' }, spec: { containers: [] } }), ['spec.containers']);
  t.deepEqual(invalidFields('', 'pods', { metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x' }, { name: 'a', image: 'y' }] } }), ['spec.containers[1].name']);
  t.deepEqual(invalidFields('', 'pods', { metadata: { name: 'p' }, spec: { restartPolicy: 'Sometimes', containers: [{ name: 'a', image: 'x' }] } }), ['spec.restartPolicy']);
  t.deepEqual(invalidFields('', 'pods', { metadata: { name: '-bad' }, spec: { containers: [{ name: 'a', image: 'x' }] } }), ['metadata.name']);
  t.deepEqual(invalidFields('', 'pods', { metadata: { name: 'p', labels: { 'bad key!': 'v' } }, spec: { containers: [{ name: 'a', image: 'x' }] } }), ['metadata.labels']);
  const old: JsonObject = structuredClone(pod);
  const newImage = structuredClone(pod);
  ((newImage['spec'] as JsonObject)['containers'] as JsonObject[])[0]!['image'] = 'nginx:2';
  t.deepEqual(invalidFields('', 'pods', newImage, old), []);
  const newPolicy = structuredClone(pod);
  (newPolicy['spec'] as JsonObject)['restartPolicy'] = 'Never';
  t.deepEqual(invalidFields('', 'pods', newPolicy, old), ['spec']);
  // Resource amounts are Kubernetes quantities.
  const withResources = (requests: JsonObject): JsonObject => ({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a', image: 'x', resources: { requests, limits: { memory: '1Gi' } } }] } });
  t.deepEqual(invalidFields('', 'pods', withResources({ cpu: '100m', memory: '512Mi', 'example.com/gpu': 2 })), []);
  t.deepEqual(invalidFields('', 'pods', withResources({ cpu: 'lots' })), ['spec.containers[0].resources.requests[cpu]']);
  // Key order and null-vs-absent do not make an update a change (client-node serializes in its own order).
  const reordered: JsonObject = { metadata: old['metadata'], spec: Object.fromEntries(Object.entries(old['spec'] as JsonObject).reverse()) };
  t.deepEqual(invalidFields('', 'pods', reordered, old), []);
});

test('deployment defaulting, selector rules and immutability', (t) => {
  const deployments = def('apps', 'deployments');
  const deployment: JsonObject = {
    metadata: { name: 'd' },
    spec: { selector: { matchLabels: { app: 'd' } }, template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'i:1' }] } } },
  };
  deployments.defaults?.(deployment);
  const spec = deployment['spec'] as JsonObject;
  t.is(spec['replicas'], 1);
  t.is(spec['revisionHistoryLimit'], 10);
  t.deepEqual(spec['strategy'], { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  t.deepEqual(invalidFields('apps', 'deployments', deployment), []);
  const mismatched = structuredClone(deployment);
  ((mismatched['spec'] as JsonObject)['template'] as JsonObject)['metadata'] = { labels: { app: 'other' } };
  t.deepEqual(invalidFields('apps', 'deployments', mismatched), ['spec.template.metadata.labels']);
  const noSelector = structuredClone(deployment);
  delete (noSelector['spec'] as JsonObject)['selector'];
  t.true(invalidFields('apps', 'deployments', noSelector).includes('spec.selector'));
  const moved = structuredClone(deployment);
  (moved['spec'] as JsonObject)['selector'] = { matchLabels: { app: 'd', extra: 'x' } };
  ((moved['spec'] as JsonObject)['template'] as JsonObject)['metadata'] = { labels: { app: 'd', extra: 'x' } };
  t.deepEqual(invalidFields('apps', 'deployments', moved, deployment), ['spec.selector']);
  t.deepEqual(invalidFields('apps', 'deployments', { ...deployment, spec: { ...spec, replicas: 'three' } }), ['spec.replicas']);
});

test('names: namespaces are DNS labels, RBAC names may contain colons, secrets need base64, bindings need a known roleRef kind', (t) => {
  t.deepEqual(invalidFields('', 'namespaces', { metadata: { name: 'a.b' } }), ['metadata.name']);
  t.deepEqual(invalidFields('', 'namespaces', { metadata: { name: 'team-a' } }), []);
  t.deepEqual(invalidFields('rbac.authorization.k8s.io', 'clusterroles', { metadata: { name: 'system:node' }, rules: [{ verbs: ['get'] }] }), []);
  t.deepEqual(invalidFields('', 'configmaps', { metadata: { name: 'UPPER' } }), ['metadata.name']);
  t.deepEqual(invalidFields('', 'secrets', { metadata: { name: 's' }, data: { k: 'not base64!' } }), ['data[k]']);
  t.deepEqual(
    invalidFields('rbac.authorization.k8s.io', 'rolebindings', { metadata: { name: 'b' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Thing', name: 'r' } }),
    ['roleRef.kind'],
  );
  const secret: JsonObject = { metadata: { name: 's' }, stringData: { password: 'hunter2' } };
  def('', 'secrets').defaults?.(secret);
  t.deepEqual(secret['data'], { password: Buffer.from('hunter2').toString('base64') });
  t.is(secret['stringData'], undefined);
  t.is(secret['type'], 'Opaque');
});
