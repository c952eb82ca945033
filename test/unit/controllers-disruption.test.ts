// The disruption controller: a budget's status from its pods and their controllers' scale
// (computeBudgetStatus, pure), and the controller against the real API with the Deployment and
// ReplicaSet controllers running: the status follows the pods, and evicting every pod of a
// Deployment under a budget (minAvailable = replicas − 1) goes one pod at a time, the others refused
// with 429 until the replacement is ready, as `kubectl drain` sees it.

import test from 'ava';
import { PODS, type KubeObject } from '../../src/client/index.js';
import { PODDISRUPTIONBUDGETS } from '../../src/client/resources-policy.js';
import { DeploymentController } from '../../src/controllers/deployment.js';
import { computeBudgetStatus, DisruptionController, DISRUPTED_POD_TIMEOUT_MS } from '../../src/controllers/disruption.js';
import { isBeingDeleted, isPodReady, nameOf, timestampOf } from '../../src/controllers/machinery/objects.js';
import { ReplicaSetController } from '../../src/controllers/replicaset.js';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { adminClient, agentLoop, deployment, eventually, runControllers, testApi } from './controllers-helpers.js';

const NOW_MS = Date.parse('2026-01-01T00:00:00Z');

function pod(name: string, options: { ready?: boolean; owner?: string; deleting?: boolean } = {}): KubeObject {
  return {
    metadata: {
      name,
      namespace: 'default',
      labels: { app: 'web' },
      ...(options.owner === undefined ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: options.owner, uid: `uid-${options.owner}`, controller: true }] }),
      ...(options.deleting === true ? { deletionTimestamp: timestampOf(NOW_MS) } : {}),
    },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: options.ready === false ? 'False' : 'True' }] },
  };
}

function budget(spec: KubeObject, status: KubeObject = {}): KubeObject {
  return { metadata: { name: 'web', namespace: 'default', generation: 1 }, spec: { selector: { matchLabels: { app: 'web' } }, ...spec }, status };
}

const scaleFour = (): { uid: string; replicas: number } => ({ uid: 'uid-rs', replicas: 4 });

test('minAvailable as a number counts the pods that exist; percentages and maxUnavailable the controllers’ scale', (t) => {
  const pods = [pod('a', { owner: 'rs' }), pod('b', { owner: 'rs' }), pod('c', { owner: 'rs', ready: false }), pod('d', { owner: 'rs', deleting: true })];
  const byNumber = computeBudgetStatus(budget({ minAvailable: 1 }), pods, scaleFour, NOW_MS);
  t.like(byNumber, { expectedPods: 4, desiredHealthy: 1, currentHealthy: 2, disruptionsAllowed: 1 });
  const byPercent = computeBudgetStatus(budget({ minAvailable: '50%' }), pods, scaleFour, NOW_MS);
  t.like(byPercent, { expectedPods: 4, desiredHealthy: 2, currentHealthy: 2, disruptionsAllowed: 0 });
  const byMaxUnavailable = computeBudgetStatus(budget({ maxUnavailable: '25%' }), pods, scaleFour, NOW_MS);
  t.like(byMaxUnavailable, { expectedPods: 4, desiredHealthy: 3, disruptionsAllowed: 0 });
  const none = computeBudgetStatus(budget({ maxUnavailable: 1 }), [], scaleFour, NOW_MS);
  t.like(none, { expectedPods: 0, disruptionsAllowed: 0 }, 'nothing expected: no disruption allowed');
});

test('a pod with no controller makes a scale-relative budget fail safe', (t) => {
  const status = computeBudgetStatus(budget({ maxUnavailable: 1 }), [pod('lonely')], () => 'found no controller ref for pod "lonely"', NOW_MS);
  t.is(status.disruptionsAllowed, 0);
  t.regex(status.failure ?? '', /no controller ref/);
});

test('disruptedPods keep an evicted pod out of the healthy count until it is deleted or the entry expires', (t) => {
  const recent = timestampOf(NOW_MS - 1000);
  const old = timestampOf(NOW_MS - DISRUPTED_POD_TIMEOUT_MS - 1000);
  const pods = [pod('a', { owner: 'rs' }), pod('b', { owner: 'rs' }), pod('c', { owner: 'rs' }), pod('gone-soon', { owner: 'rs', deleting: true })];
  const status = computeBudgetStatus(budget({ minAvailable: 1 }, { disruptedPods: { a: recent, b: old, 'gone-soon': recent, vanished: recent } }), pods, scaleFour, NOW_MS);
  t.deepEqual(status.disruptedPods, { a: recent });
  t.is(status.currentHealthy, 2);
  t.is(status.nextExpiryMs, Date.parse(recent) + DISRUPTED_POD_TIMEOUT_MS);
});

test('the controller keeps the status, and evicting a Deployment’s pods under minAvailable = replicas − 1 goes one at a time', async (t) => {
  t.timeout(120_000);
  const api = await testApi();
  const client = adminClient(api);
  const log = silentLogger();
  const controllers = await runControllers(client, [
    new DeploymentController({ client, clock: systemClock, log }),
    new ReplicaSetController({ client, clock: systemClock, log }),
    new DisruptionController({ client, clock: systemClock, log }),
  ]);
  const agent = agentLoop(client, 'default', 300);
  t.teardown(() => {
    agent.stop();
    controllers.stop();
    api.handler.close();
  });
  await client.create(PODDISRUPTIONBUDGETS, 'default', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } });
  await client.create({ group: 'apps', version: 'v1', resource: 'deployments', kind: 'Deployment', namespaced: true }, 'default', deployment('web', 3, { app: 'web' }));
  const budgetStatus = async (): Promise<KubeObject> => ((await client.get(PODDISRUPTIONBUDGETS, 'default', 'web'))['status'] ?? {}) as KubeObject;
  await eventually(async () => (await budgetStatus())['disruptionsAllowed'] === 1, 'the budget allowing one disruption', 60_000);
  const status = await budgetStatus();
  t.like(status, { currentHealthy: 3, desiredHealthy: 2, expectedPods: 3, observedGeneration: 1 });
  t.like((status['conditions'] as KubeObject[])[0], { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods' });

  // Drain: evict every original pod, retrying refusals as kubectl drain does.
  const original = (await client.list(PODS, { namespace: 'default' })).items.map(nameOf);
  t.is(original.length, 3);
  let refusals = 0;
  const remaining = new Set(original);
  const deadline = Date.now() + 90_000;
  while (remaining.size > 0 && Date.now() < deadline) {
    for (const name of [...remaining]) {
      const answer = await api.call('POST', `/api/v1/namespaces/default/pods/${name}/eviction`, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name } });
      if (answer.status === 201 || answer.status === 404) {
        remaining.delete(name);
        // Never fewer than minAvailable ready pods besides the one just evicted.
        const ready = (await client.list(PODS, { namespace: 'default' })).items.filter((item) => !isBeingDeleted(item) && isPodReady(item));
        t.true(ready.length >= 2, `after evicting ${name}: ${ready.length} ready pods`);
      } else {
        t.is(answer.status, 429, JSON.stringify(answer.body));
        refusals++;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  t.is(remaining.size, 0, 'every original pod evicted');
  t.true(refusals > 0, 'some evictions had to wait for a replacement');
  await eventually(async () => (await budgetStatus())['currentHealthy'] === 3, 'three healthy pods again', 60_000);
});
