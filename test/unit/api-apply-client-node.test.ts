// Server-side apply through @kubernetes/client-node 1.4.0's object API (KubernetesObjectApi.patch
// with PatchStrategy.ServerSideApply) against the real HTTPS server: create when absent, a conflict
// for a second manager (409 with Kubernetes' message), and force taking the field over.
import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { startAdminApiServer } from './api-helpers.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const configMap = (data: Record<string, string>): k8s.KubernetesObject & { data: Record<string, string> } => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings', namespace: 'default' },
  data,
});

test('KubernetesObjectApi server-side apply: create, conflict between managers, force', async (t) => {
  const { server, kubeConfig: kc } = await startAdminApiServer();
  t.teardown(() => server.close());
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const created = (await objects.patch(configMap({ mode: 'fast' }), undefined, undefined, 'alice', false, k8s.PatchStrategy.ServerSideApply)) as Json;
  t.is(created['data']['mode'], 'fast');
  t.is(created['metadata']['managedFields'][0]['manager'], 'alice');

  let conflict: { code: number; body: Json } | undefined;
  try {
    await objects.patch(configMap({ mode: 'slow' }), undefined, undefined, 'bob', false, k8s.PatchStrategy.ServerSideApply);
  } catch (error) {
    if (!(error instanceof k8s.ApiException)) throw error;
    const raw = (error as k8s.ApiException<unknown>).body;
    conflict = { code: error.code, body: (typeof raw === 'string' ? JSON.parse(raw) : raw) as Json };
  }
  t.is(conflict?.code, 409);
  t.is(conflict?.body['message'], 'Apply failed with 1 conflict: conflict with "alice": .data.mode');

  const forced = (await objects.patch(configMap({ mode: 'slow' }), undefined, undefined, 'bob', true, k8s.PatchStrategy.ServerSideApply)) as Json;
  t.is(forced['data']['mode'], 'slow');
  t.deepEqual(
    (forced['metadata']['managedFields'] as Json[]).map((entry) => entry['manager']),
    ['bob'],
    'alice owned only data.mode, so her entry is gone',
  );
});
