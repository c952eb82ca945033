// The scale subresource of a custom resource whose CRD puts its replicas elsewhere than
// spec.replicas: get and update of /scale follow specReplicasPath, statusReplicasPath and
// labelSelectorPath from the CRD's subresources.scale.

import test from 'ava';
import type { JsonObject } from '../../src/api/registry/types.js';
import { testApi } from './api-helpers.js';

const DATABASES = '/apis/db.example.com/v1/namespaces/default/databases';
const MERGE = { 'content-type': 'application/merge-patch+json' };

function databaseCrd(): JsonObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'databases.db.example.com' },
    spec: {
      group: 'db.example.com',
      scope: 'Namespaced',
      names: { plural: 'databases', singular: 'database', kind: 'Database' },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {}, scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.ready.count', labelSelectorPath: '.status.selector' } },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer', minimum: 0 }, engine: { type: 'string' } } },
                status: { type: 'object', properties: { ready: { type: 'object', properties: { count: { type: 'integer' } } }, selector: { type: 'string' } } },
              },
            },
          },
        },
      ],
    },
  };
}

interface Scale {
  readonly kind: string;
  readonly spec: { readonly replicas: number };
  readonly status: { readonly replicas: number; readonly selector: string };
}

test('a CRD scale subresource reads and writes the paths its CRD names (.spec.size)', async (t) => {
  const api = await testApi();
  t.teardown(() => api.handler.close());
  const crd = await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', databaseCrd());
  t.is(crd.status, 201, JSON.stringify(crd.body));
  const created = await api.call('POST', DATABASES, { apiVersion: 'db.example.com/v1', kind: 'Database', metadata: { name: 'main' }, spec: { size: 2, engine: 'pg' } });
  t.is(created.status, 201, JSON.stringify(created.body));

  const before = await api.call('GET', `${DATABASES}/main/scale`);
  t.is(before.status, 200, JSON.stringify(before.body));
  t.like(before.body as Scale, { kind: 'Scale', spec: { replicas: 2 }, status: { replicas: 0, selector: '' } });

  const status = await api.call('PATCH', `${DATABASES}/main/status`, { status: { ready: { count: 1 }, selector: 'app=main' } }, MERGE);
  t.is(status.status, 200, JSON.stringify(status.body));
  const withStatus = await api.call('GET', `${DATABASES}/main/scale`);
  t.like(withStatus.body as Scale, { spec: { replicas: 2 }, status: { replicas: 1, selector: 'app=main' } });

  const put = await api.call('PUT', `${DATABASES}/main/scale`, { kind: 'Scale', apiVersion: 'autoscaling/v1', metadata: { name: 'main', namespace: 'default' }, spec: { replicas: 5 } });
  t.is(put.status, 200, JSON.stringify(put.body));
  t.is((put.body as Scale).spec.replicas, 5);
  const afterPut = (await api.call('GET', `${DATABASES}/main`)).body as { spec: JsonObject };
  t.deepEqual(afterPut.spec, { size: 5, engine: 'pg' }, 'the replicas land at .spec.size, and nowhere else');

  const patched = await api.call('PATCH', `${DATABASES}/main/scale`, { spec: { replicas: 3 } }, MERGE);
  t.is(patched.status, 200, JSON.stringify(patched.body));
  t.like(patched.body as Scale, { spec: { replicas: 3 }, status: { replicas: 1, selector: 'app=main' } });
  const afterPatch = (await api.call('GET', `${DATABASES}/main`)).body as { spec: JsonObject };
  t.is(afterPatch.spec['size'], 3);
  t.is(afterPatch.spec['replicas'], undefined);
});
