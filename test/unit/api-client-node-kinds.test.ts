// Every built-in kind the API serves, through @kubernetes/client-node 1.4.0's generic object API
// (KubernetesObjectApi, the one `kubectl apply`-like tools use): create, read, list, merge patch,
// replace with the read resourceVersion (and a 409 with a stale one), delete, then 404.

import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { systemClock } from '../../src/actors/clock.js';
import { startApiServer } from '../../src/api/server.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer, testPki, tokenAuthenticator } from './api-helpers.js';

const TOKEN = 'kinds-admin-token';
const labels = { app: 'web' };
const template = { metadata: { labels }, spec: { containers: [{ name: 'main', image: 'nginx:1.27' }] } };
const rule = [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }];
const subjects = [{ kind: 'User', name: 'bob', apiGroup: 'rbac.authorization.k8s.io' }];

/** One valid object per kind; `namespaced` objects go to the `kinds` namespace. */
const OBJECTS: readonly k8s.KubernetesObject[] = [
  { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'kinds' }, spec: template.spec } as k8s.KubernetesObject,
  { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'kinds' }, data: { a: 'b' } } as k8s.KubernetesObject,
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'kinds' }, data: { a: Buffer.from('b').toString('base64') } } as k8s.KubernetesObject,
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'kinds' }, spec: { selector: labels, ports: [{ port: 80 }] } } as k8s.KubernetesObject,
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: 'kinds' } },
  {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: 'ev', namespace: 'kinds' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'kinds' },
    reason: 'Tested',
    message: 'an event',
    type: 'Normal',
  } as k8s.KubernetesObject,
  { apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'ev2', namespace: 'kinds' }, eventTime: '2026-01-01T00:00:00.000000Z', reason: 'Tested', action: 'Test', reportingController: 'kplane.io/test', reportingInstance: 'test', type: 'Normal' } as k8s.KubernetesObject,
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l', namespace: 'kinds' }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } } as k8s.KubernetesObject,
  { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'kinds' }, spec: { replicas: 1, selector: { matchLabels: labels }, template } } as k8s.KubernetesObject,
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'kinds' }, spec: { replicas: 1, selector: { matchLabels: labels }, template } } as k8s.KubernetesObject,
  { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'ss', namespace: 'kinds' }, spec: { replicas: 1, serviceName: 'svc', selector: { matchLabels: labels }, template } } as k8s.KubernetesObject,
  { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds', namespace: 'kinds' }, spec: { selector: { matchLabels: labels }, template } } as k8s.KubernetesObject,
  { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'kinds' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } } } } as k8s.KubernetesObject,
  { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj', namespace: 'kinds' }, spec: { schedule: '0 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } } } } } } as k8s.KubernetesObject,
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r', namespace: 'kinds' }, rules: rule } as k8s.KubernetesObject,
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'cr' }, rules: rule } as k8s.KubernetesObject,
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb', namespace: 'kinds' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' }, subjects } as k8s.KubernetesObject,
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'crb' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cr' }, subjects } as k8s.KubernetesObject,
];

async function statusCode(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof k8s.ApiException) return error.code;
    throw error;
  }
}

test('client-node KubernetesObjectApi: create, read, list, patch, replace, delete of every built-in kind', async (t) => {
  const pki = testPki();
  const server = await startApiServer({
    store: new LocalStore(systemClock),
    tls: { key: pki.key, cert: pki.cert, ca: pki.cert },
    host: '127.0.0.1',
    port: 0,
    authenticator: tokenAuthenticator({ [TOKEN]: ADMIN }),
    authorizer: ruleAuthorizer(),
  });
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: server.url, caData: Buffer.from(pki.cert).toString('base64'), skipTLSVerify: false }],
      users: [{ name: 'u', token: TOKEN }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kinds' } });
    for (const object of OBJECTS) {
      const what = `${object.apiVersion ?? ''} ${object.kind ?? ''}`;
      const created = await objects.create(object);
      t.truthy(created.metadata?.uid, `${what}: created with a uid`);
      const key = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata?.name, namespace: object.metadata?.namespace } } as k8s.KubernetesObject & { metadata: { name: string } };
      const read = await objects.read(key);
      t.is(read.metadata?.resourceVersion, created.metadata?.resourceVersion, `${what}: read back`);
      const listed = await objects.list(object.apiVersion ?? '', object.kind ?? '', object.metadata?.namespace);
      t.true(listed.items.some((item) => item.metadata?.name === object.metadata?.name), `${what}: listed`);
      const patched = await objects.patch({ ...key, metadata: { ...key.metadata, labels: { patched: 'yes' } } }, undefined, undefined, undefined, undefined, k8s.PatchStrategy.MergePatch);
      t.is(patched.metadata?.labels?.['patched'], 'yes', `${what}: merge patch`);
      const replaced = await objects.replace({ ...patched, metadata: { ...patched.metadata, annotations: { replaced: 'yes' } } });
      t.is(replaced.metadata?.annotations?.['replaced'], 'yes', `${what}: replace`);
      t.is(await statusCode(objects.replace({ ...patched, metadata: { ...patched.metadata, annotations: { stale: 'yes' } } })), 409, `${what}: a stale replace is 409`);
      await objects.delete(key, undefined, undefined, 0);
      t.is(await statusCode(objects.read(key)), 404, `${what}: gone after delete`);
    }
  } finally {
    await server.close();
  }
});
