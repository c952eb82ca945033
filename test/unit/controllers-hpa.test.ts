// The HorizontalPodAutoscaler: the autoscaling/v1 resource (defaults, validation, the kubectl table) and
// its controller against the real API pipeline with a virtual clock: replicas below minReplicas are
// raised and above maxReplicas lowered through the target's scale subresource (a Deployment, a
// StatefulSet, a custom resource), a target at 0 stays at 0; without a metrics API (this API server
// reaches no node agents) it says CPU metrics are unavailable; with one (faked here) it scales on CPU
// utilization, down only after the stabilization window; status and events; a missing target.

import test from 'ava';
import { silentLogger } from '../../src/actors/index.js';
import { VirtualClock } from '../../src/actors/sim/virtual-clock.js';
import { ApiClient, DEPLOYMENTS, EVENTS, LocalApiTransport, PODS, STATEFULSETS, type ApiAnswer, type ApiCall, type ApiTransport, type KubeObject, type WatchStream, type WireWatchEvent } from '../../src/client/index.js';
import { HORIZONTALPODAUTOSCALERS, HorizontalPodAutoscalerController, HPA_SYNC_PERIOD_MS, METRICS_UNAVAILABLE_PREFIX, replicasWithinBounds } from '../../src/controllers/hpa.js';
import { SCALE_DOWN_STABILIZATION_MS } from '../../src/controllers/hpa-replicas.js';
import { EventRecorder } from '../../src/controllers/machinery/event-recorder.js';
import { numberField, specOf, statusOf } from '../../src/controllers/machinery/objects.js';
import { ADMIN, adminClient, deployment, eventually, podTemplate, readyStatus, runControllers, sleep, testApi } from './controllers-helpers.js';

const START_MS = Date.UTC(2025, 0, 1);

function autoscaler(name: string, target: { kind: string; name: string; apiVersion?: string }, minReplicas: number | undefined, maxReplicas: number): KubeObject {
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', ...target }, ...(minReplicas === undefined ? {} : { minReplicas }), maxReplicas, targetCPUUtilizationPercentage: 80 },
  };
}

/** Answers metrics.k8s.io pod lists from `usageMillis` (CPU by pod name); everything else goes to the real pipeline. */
class FakeMetricsTransport implements ApiTransport {
  readonly usageMillis = new Map<string, number>();
  constructor(private readonly inner: ApiTransport) {}
  async call(request: ApiCall): Promise<ApiAnswer> {
    const prefix = '/apis/metrics.k8s.io/v1beta1/namespaces/';
    if (request.method !== 'GET' || !request.path.startsWith(prefix)) return this.inner.call(request);
    const namespace = request.path.slice(prefix.length).split('/')[0] ?? '';
    const labelSelector = new URLSearchParams(request.query ?? '').get('labelSelector') ?? '';
    const pods = (await new ApiClient(this.inner).list(PODS, { namespace, labelSelector })).items;
    const items = pods.flatMap((pod) => {
      const name = String((pod['metadata'] as { name?: string }).name);
      const cpu = this.usageMillis.get(name);
      return cpu === undefined ? [] : [{ metadata: { name, namespace }, timestamp: '2025-01-01T00:00:00Z', window: '15s', containers: [{ name: 'c', usage: { cpu: `${cpu * 1_000_000}n`, memory: '4Mi' } }] }];
    });
    return { status: 200, body: { kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1', metadata: {}, items } };
  }
  watch(request: ApiCall, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    return this.inner.watch(request, onEvent);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
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
  // This API server reaches no node agents: the metrics API answers 503.
  await eventually(async () => (await eventReasons(client, 'web')).get('FailedGetResourceMetric') === `${METRICS_UNAVAILABLE_PREFIX}this API server cannot reach node agents for metrics`, 'FailedGetResourceMetric');
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

test('scales on CPU utilization from the metrics API: up by the ratio, down only after 5 minutes of lower recommendations', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const metrics = new FakeMetricsTransport(new LocalApiTransport(api.handler, ADMIN));
  await client.create(DEPLOYMENTS, 'default', deployment('web', 2, { app: 'web' }));
  // The pods the scale's selector picks (no ReplicaSet controller here: their number stays 2).
  for (const name of ['web-a', 'web-b']) {
    await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx', resources: { requests: { cpu: '100m' } } }] } });
    await client.patch(PODS, 'default', name, { status: readyStatus(Date.now()) }, 'merge', 'status');
    metrics.usageMillis.set(name, 150);
  }
  const hpa = await startHpa(new ApiClient(metrics));
  await client.create(HORIZONTALPODAUTOSCALERS, 'default', autoscaler('web', { kind: 'Deployment', name: 'web' }, 1, 5));
  // 150 % of an 80 % target on 2 pods: ceil(1.875 × 2) = 4.
  await eventually(async () => (await replicasOf(client)) === 4, 'scaled up to 4');
  t.is((await eventReasons(client, 'web')).get('SuccessfulRescale'), 'New size: 4; reason: cpu resource utilization (percentage of request) above target');
  await eventually(async () => statusOf(await client.get(HORIZONTALPODAUTOSCALERS, 'default', 'web'))['currentCPUUtilizationPercentage'] === 150, 'utilization in status');
  const table = (await api.call('GET', '/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' })).body as { rows: { cells: unknown[] }[] };
  t.is(table.rows[0]?.cells[2], 'cpu: 150%/80%');

  // Load drops to 20 %: the recommendation is 1, but the 4 of the last 5 minutes holds it.
  const scaledUpAt = hpa.clock.now();
  for (const name of ['web-a', 'web-b']) metrics.usageMillis.set(name, 20);
  let droppedAt: number | undefined;
  for (let sync = 0; sync < 40 && droppedAt === undefined; sync++) {
    await hpa.clock.advance(HPA_SYNC_PERIOD_MS);
    await sleep(20); // the sync the timer started finishes (and sets the next timer)
    if ((await replicasOf(client)) === 1) droppedAt = hpa.clock.now();
  }
  t.not(droppedAt, undefined, 'scaled down to 1');
  t.true((droppedAt ?? 0) - scaledUpAt >= SCALE_DOWN_STABILIZATION_MS, `not before the 5-minute window (after ${(droppedAt ?? 0) - scaledUpAt} ms)`);
  t.is(statusOf(await client.get(HORIZONTALPODAUTOSCALERS, 'default', 'web'))['currentCPUUtilizationPercentage'], 20);
  t.is((await eventReasons(client, 'web')).get('SuccessfulRescale'), 'New size: 1; reason: All metrics below target');
  hpa.stop();
});
