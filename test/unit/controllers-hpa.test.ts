// The HorizontalPodAutoscaler: the autoscaling/v1 resource (defaults, validation, the kubectl table) and
// its controller against the real API pipeline with a virtual clock: replicas below minReplicas are
// raised and above maxReplicas lowered through the target's scale subresource (a Deployment, a
// StatefulSet, a custom resource), a target at 0 stays at 0, within bounds it reports that CPU metrics
// are unavailable, status records current/desired replicas and lastScaleTime, and a missing target is
// reported.

import test from 'ava';
import { silentLogger } from '../../src/actors/index.js';
import { VirtualClock } from '../../src/actors/sim/virtual-clock.js';
import { DEPLOYMENTS, EVENTS, STATEFULSETS, type ApiClient, type KubeObject } from '../../src/client/index.js';
import { HORIZONTALPODAUTOSCALERS, HorizontalPodAutoscalerController, HPA_SYNC_PERIOD_MS, METRICS_UNAVAILABLE_MESSAGE, replicasWithinBounds } from '../../src/controllers/hpa.js';
import { EventRecorder } from '../../src/controllers/machinery/event-recorder.js';
import { numberField, specOf, statusOf } from '../../src/controllers/machinery/objects.js';
import { adminClient, deployment, eventually, podTemplate, runControllers, testApi } from './controllers-helpers.js';

const START_MS = Date.UTC(2025, 0, 1);

function autoscaler(name: string, target: { kind: string; name: string; apiVersion?: string }, minReplicas: number | undefined, maxReplicas: number): KubeObject {
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', ...target }, ...(minReplicas === undefined ? {} : { minReplicas }), maxReplicas, targetCPUUtilizationPercentage: 80 },
  };
}

async function startHpa(client: ApiClient): Promise<{ clock: VirtualClock; stop(): void }> {
  const clock = new VirtualClock(START_MS);
  const log = silentLogger();
  const controller = new HorizontalPodAutoscalerController({ client, clock, log, events: new EventRecorder(client, 'horizontal-pod-autoscaler', clock, log) });
  const running = await runControllers(client, [controller], clock);
  return { clock, stop: () => running.stop() };
}

async function replicasOf(client: ApiClient, type = DEPLOYMENTS, name = 'web'): Promise<number> {
  return numberField(specOf(await client.get(type, 'default', name)), 'replicas', -1);
}

async function eventReasons(client: ApiClient, name: string): Promise<Map<string, string>> {
  const reasons = new Map<string, string>();
  for (const event of (await client.list(EVENTS, { namespace: 'default' })).items) {
    const involved = event['involvedObject'] as { kind?: string; name?: string };
    if (involved.kind === 'HorizontalPodAutoscaler' && involved.name === name) reasons.set(String(event['reason']), String(event['message']));
  }
  return reasons;
}

test('replicasWithinBounds: below, above, inside, and zero', (t) => {
  t.deepEqual(replicasWithinBounds(1, 2, 5), { desired: 2, reason: 'Current number of replicas below Spec.MinReplicas' });
  t.deepEqual(replicasWithinBounds(9, 2, 5), { desired: 5, reason: 'Current number of replicas above Spec.MaxReplicas' });
  t.deepEqual(replicasWithinBounds(3, 2, 5), { desired: 3, reason: undefined });
  t.deepEqual(replicasWithinBounds(0, 2, 5), { desired: 0, reason: undefined });
});

test('the resource: minReplicas defaults to 1; bad bounds and a missing target are refused', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const created = await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('web', { kind: 'Deployment', name: 'web' }, undefined, 3));
  t.is(specOf(created)['minReplicas'], 1);
  const refused = async (spec: KubeObject): Promise<string> => {
    const answer = await api.call('POST', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'bad' }, spec });
    t.is(answer.status, 422);
    return JSON.stringify(answer.body);
  };
  t.regex(await refused({ scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 0, maxReplicas: 3 }), /spec.minReplicas.*must be greater than or equal to 1/);
  t.regex(await refused({ scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 4, maxReplicas: 3 }), /spec.maxReplicas.*must be greater than or equal to `minReplicas`/);
  t.regex(await refused({ maxReplicas: 3 }), /spec.scaleTargetRef/);
  t.regex(await refused({ scaleTargetRef: { kind: 'Deployment' }, maxReplicas: 3 }), /spec.scaleTargetRef.name/);
  // Short name, category and the status subresource are served.
  const discovery = (await api.call('GET', '/apis/autoscaling/v1')).body as { resources: { name: string; shortNames?: string[]; categories?: string[] }[] };
  const entry = discovery.resources.find((resource) => resource.name === 'horizontalpodautoscalers');
  t.deepEqual(entry?.shortNames, ['hpa']);
  t.deepEqual(entry?.categories, ['all']);
  t.true(discovery.resources.some((resource) => resource.name === 'horizontalpodautoscalers/status'));
});

test('the table: NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE, with cpu: <unknown>/80%', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('web', { kind: 'Deployment', name: 'web' }, 2, 5));
  await client.patch(HORIZONTALPODAUTOSCALERS, 'default', 'web', { status: { currentReplicas: 2, desiredReplicas: 2 } }, 'merge', 'status');
  const answer = await api.call('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });
  const table = answer.body as { columnDefinitions: { name: string; type: string }[]; rows: { cells: unknown[] }[] };
  t.deepEqual(table.columnDefinitions.map((column) => column.name), ['Name', 'Reference', 'Targets', 'MinPods', 'MaxPods', 'Replicas', 'Age']);
  t.deepEqual(table.rows[0]?.cells.slice(0, 6), ['web', 'Deployment/web', 'cpu: <unknown>/80%', '2', 5, 2]);
});

test('keeps a Deployment within [min, max] through its scale subresource and says CPU metrics are unavailable', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  await client.create(DEPLOYMENTS, 'default', deployment('web', 1, { app: 'web' }));
  const hpa = await startHpa(client);
  await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('web', { kind: 'Deployment', name: 'web' }, 2, 5));
  await eventually(async () => (await replicasOf(client)) === 2, 'raised to minReplicas');
  await eventually(async () => {
    const status = statusOf(await client.get(HORIZONTALPODAUTOSCALERS, 'default', 'web'));
    return status['currentReplicas'] === 1 && status['desiredReplicas'] === 2 && status['lastScaleTime'] === new Date(START_MS).toISOString().replace('.000Z', 'Z');
  }, 'status after the rescale');
  t.is((await eventReasons(client, 'web')).get('SuccessfulRescale'), 'New size: 2; reason: Current number of replicas below Spec.MinReplicas');

  // Next sync: within bounds, so it would read metrics, and there are none.
  await hpa.clock.advance(HPA_SYNC_PERIOD_MS);
  await eventually(async () => (await eventReasons(client, 'web')).get('FailedGetResourceMetric') === METRICS_UNAVAILABLE_MESSAGE, 'FailedGetResourceMetric');
  await eventually(async () => statusOf(await client.get(HORIZONTALPODAUTOSCALERS, 'default', 'web'))['currentReplicas'] === 2, 'status currentReplicas 2');
  t.is(await replicasOf(client), 2);

  // Someone scales it above maxReplicas: lowered at the next sync, not before.
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { replicas: 9 } });
  await hpa.clock.advance(HPA_SYNC_PERIOD_MS);
  await eventually(async () => (await replicasOf(client)) === 5, 'lowered to maxReplicas');
  t.is((await eventReasons(client, 'web')).get('SuccessfulRescale'), 'New size: 5; reason: Current number of replicas above Spec.MaxReplicas');

  // Scaled to 0 by hand: autoscaling is off for it, it stays at 0.
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { replicas: 0 } });
  await hpa.clock.advance(HPA_SYNC_PERIOD_MS);
  await eventually(async () => statusOf(await client.get(HORIZONTALPODAUTOSCALERS, 'default', 'web'))['currentReplicas'] === 0, 'status sees 0');
  await hpa.clock.advance(HPA_SYNC_PERIOD_MS);
  t.is(await replicasOf(client), 0);

  // A new spec is acted on at once (no wait for the sync period).
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { replicas: 1 } });
  await client.patch(HORIZONTALPODAUTOSCALERS, 'default', 'web', { spec: { minReplicas: 3 } });
  await eventually(async () => (await replicasOf(client)) === 3, 'raised to the new minReplicas');
  hpa.stop();
});

test('scales any kind with a scale subresource (a StatefulSet) and reports a missing target', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  await client.create(STATEFULSETS, 'default', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 6, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: podTemplate({ app: 'db' }) } });
  const hpa = await startHpa(client);
  await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('db', { kind: 'StatefulSet', name: 'db' }, 1, 4));
  await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('ghost', { kind: 'Deployment', name: 'ghost' }, 1, 4));
  await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('odd', { kind: 'Widget', name: 'w', apiVersion: 'example.com/v1' }, 1, 4));
  await eventually(async () => (await replicasOf(client, STATEFULSETS, 'db')) === 4, 'StatefulSet lowered to 4');
  await eventually(async () => (await eventReasons(client, 'ghost')).get('FailedGetScale')?.includes('not found') === true, 'missing Deployment reported');
  await eventually(async () => (await eventReasons(client, 'odd')).get('FailedGetScale')?.includes('no matches for kind "Widget" in group "example.com"') === true, 'unknown kind reported');
  t.pass();
  hpa.stop();
});

test('scales a custom resource through the scale paths its CRD names (.spec.size)', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const crd = await api.call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
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
          subresources: { status: {}, scale: { specReplicasPath: '.spec.size', statusReplicasPath: '.status.count' } },
          schema: { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 0 } } }, status: { type: 'object', properties: { count: { type: 'integer' } } } } } },
        },
      ],
    },
  });
  t.is(crd.status, 201, JSON.stringify(crd.body));
  const DATABASES = { group: 'db.example.com', version: 'v1', resource: 'databases', kind: 'Database', namespaced: true };
  await eventually(async () => (await api.call('GET', '/apis/db.example.com/v1')).status === 200, 'the CRD served');
  await client.create(DATABASES, 'default', { apiVersion: 'db.example.com/v1', kind: 'Database', metadata: { name: 'main' }, spec: { size: 1 } });
  const hpa = await startHpa(client);
  await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('main', { apiVersion: 'db.example.com/v1', kind: 'Database', name: 'main' }, 3, 6));
  await eventually(async () => numberField(specOf(await client.get(DATABASES, 'default', 'main')), 'size', -1) === 3, '.spec.size raised to 3');
  t.pass();
  hpa.stop();
  api.handler.close();
});
