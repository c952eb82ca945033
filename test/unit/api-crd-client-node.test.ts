// CRDs through @kubernetes/client-node 1.4.0 against the real HTTPS server: the CRD created with
// ApiextensionsV1Api (Established), custom resources through CustomObjectsApi and the object API
// (KubernetesObjectApi finds the plural through discovery: merge patch and server-side apply), a
// schema violation as a 422, and the CRD's deletion taking its custom resources with it.

import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { startAdminApiServer } from './api-helpers.js';
import { cronTabCrd } from './crd-fixtures.js';

type CronTab = k8s.KubernetesObject & { spec?: { cronSpec?: string; replicas?: number; image?: string } };

const cronTab = (spec: NonNullable<CronTab['spec']>): CronTab => ({ apiVersion: 'stable.example.com/v1', kind: 'CronTab', metadata: { name: 'nightly', namespace: 'default' }, spec });

/** client-node's typed models name the schema extensions x_kubernetes_… (its serializer maps them back). */
function modelExtensions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(modelExtensions);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key.startsWith('x-kubernetes-') ? key.replaceAll('-', '_') : key, modelExtensions(inner)]),
  );
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error instanceof k8s.ApiException) return error.code;
    throw error;
  }
}

test('client-node: CRD, custom resources through CustomObjectsApi and KubernetesObjectApi, deletion', async (t) => {
  const { server, kubeConfig: kc } = await startAdminApiServer();
  t.teardown(() => server.close());
  const extensions = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);

  const crd = await extensions.createCustomResourceDefinition({ body: modelExtensions(cronTabCrd()) as k8s.V1CustomResourceDefinition });
  t.is(crd.metadata?.name, 'crontabs.stable.example.com');
  t.true(crd.status?.conditions?.some((condition) => condition.type === 'Established' && condition.status === 'True'));

  const where = { group: 'stable.example.com', version: 'v1', namespace: 'default', plural: 'crontabs' };
  await custom.createNamespacedCustomObject({ ...where, body: cronTab({ cronSpec: '0 3 * * *', replicas: 1 }) });
  const read = (await custom.getNamespacedCustomObject({ ...where, name: 'nightly' })) as CronTab;
  t.is(read.spec?.cronSpec, '0 3 * * *');

  const merged = await objects.patch(cronTab({ replicas: 2 }), undefined, undefined, 'client', undefined, k8s.PatchStrategy.MergePatch);
  t.is(merged.spec?.replicas, 2);
  const applied = await objects.patch(cronTab({ cronSpec: '0 3 * * *', image: 'backup:1' }), undefined, undefined, 'applier', true, k8s.PatchStrategy.ServerSideApply);
  t.is(applied.spec?.image, 'backup:1');
  const listed = (await custom.listNamespacedCustomObject(where)) as { items: CronTab[] };
  t.deepEqual(listed.items.map((item) => item.metadata?.name), ['nightly']);

  t.is(await statusOf(custom.createNamespacedCustomObject({ ...where, body: { ...cronTab({ cronSpec: '* * * * *', replicas: 50 }), metadata: { name: 'too-many' } } })), 422);

  await extensions.deleteCustomResourceDefinition({ name: 'crontabs.stable.example.com' });
  t.is(await statusOf(custom.getNamespacedCustomObject({ ...where, name: 'nightly' })), 404);
});
