// The controller manager runs as `system:kube-controller-manager` under the real RBAC authorizer and the
// bootstrap policy (least privilege: it may not read secrets): every controller's informers sync, leader
// election works on its own Lease, and a Deployment, a StatefulSet, a DaemonSet, an autoscaler, a CronJob,
// garbage collection and a namespace deletion all complete. A permission the controllers lack shows up here as a stall.

import test from 'ava';
import { startRbacSync } from '../../src/api/rbac-sync.js';
import { bootstrapPolicy } from '../../src/api/auth/bootstrap-policy.js';
import { createRbacAuthorizer } from '../../src/api/auth/rbac.js';
import { createActorSystem, Prng, silentLogger, systemClock } from '../../src/actors/index.js';
import { CONFIGMAPS, CRONJOBS, DAEMONSETS, JOBS, DEPLOYMENTS, isNotFound, LocalApiTransport, NAMESPACES, NODES, PODS, SECRETS, STATEFULSETS } from '../../src/client/index.js';
import { HORIZONTALPODAUTOSCALERS } from '../../src/controllers/hpa.js';
import { isBeingDeleted, numberField, statusOf } from '../../src/controllers/machinery/objects.js';
import { CONTROLLER_MANAGER_SUPERVISION, controllerManager } from '../../src/controllers/manager.js';
import { PODDISRUPTIONBUDGETS, RESOURCEQUOTAS } from '../../src/client/resources-policy.js';
import { adminClient, agentLoop, deployment, eventually, testApi } from './controllers-helpers.js';

const CONTROLLER_MANAGER = { name: 'system:kube-controller-manager', groups: ['system:authenticated'] };

async function gone(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return false;
  } catch (error) {
    if (isNotFound(error)) return true;
    throw error;
  }
}

async function statusNumber(read: () => Promise<{ [field: string]: unknown }>, field: string): Promise<number> {
  return numberField(statusOf(await read()), field, -1);
}

test('every controller works with the controller manager’s least-privilege role', async (t) => {
  const { authorizer, cache } = createRbacAuthorizer();
  const api = await testApi(authorizer);
  await api.handler.ensureObjects(bootstrapPolicy());
  const sync = startRbacSync(api.handler.objects, api.handler.registry, cache);
  await sync.synced;
  const admin = adminClient(api);
  const system = createActorSystem({ node: 'cm', clock: systemClock, random: new Prng(3), log: silentLogger(), onRootFailure: (error) => t.fail(String(error)) });
  let leading = false;
  system.spawn(
    controllerManager({
      transport: new LocalApiTransport(api.handler, CONTROLLER_MANAGER),
      identity: 'cm-1',
      leaderElection: { leaseDurationMs: 1_200, renewDeadlineMs: 800, retryPeriodMs: 150 },
      onLeadershipChange: (value) => (leading = value),
    }),
    { name: 'controller-manager', supervision: CONTROLLER_MANAGER_SUPERVISION },
  );
  await eventually(() => leading, 'leads with its own Lease');
  const agents = agentLoop(admin, 'team');
  await admin.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', labels: { role: 'worker' } } });
  await admin.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } });
  await admin.create(SECRETS, 'team', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { a: 'b' } });
  await admin.create(CONFIGMAPS, 'team', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
  await admin.create(DEPLOYMENTS, 'team', deployment('web', 2, { app: 'web' }));
  await admin.create(STATEFULSETS, 'team', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 2, serviceName: 'db', selector: { matchLabels: { app: 'db' } }, template: { metadata: { labels: { app: 'db' } }, spec: { containers: [{ name: 'c', image: 'db' }] } } } });
  await admin.create(DAEMONSETS, 'team', { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' }, spec: { selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'agent' }] } } } });
  await eventually(async () => (await statusNumber(() => admin.get(DEPLOYMENTS, 'team', 'web'), 'availableReplicas')) === 2, 'the Deployment available', 20_000);
  await eventually(async () => (await statusNumber(() => admin.get(STATEFULSETS, 'team', 'db'), 'readyReplicas')) === 2, 'the StatefulSet ready', 20_000);
  await eventually(async () => (await statusNumber(() => admin.get(DAEMONSETS, 'team', 'agent'), 'numberReady')) === 1, 'the DaemonSet ready', 20_000);
  // The disruption and resource quota controllers write their status; the namespace deletion below empties both kinds.
  await admin.create(PODDISRUPTIONBUDGETS, 'team', { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: 'web' } } } });
  await eventually(async () => (await statusNumber(() => admin.get(PODDISRUPTIONBUDGETS, 'team', 'web'), 'disruptionsAllowed')) === 1, 'the budget’s status written', 20_000);
  await admin.create(RESOURCEQUOTAS, 'team', { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q' }, spec: { hard: { pods: '100', secrets: '10' } } });
  await eventually(async () => ((await admin.get(RESOURCEQUOTAS, 'team', 'q'))['status'] as { used?: { pods?: string } } | undefined)?.used?.pods === '5', 'the quota counted by the controller', 20_000);
  // The autoscaler reads discovery and the StatefulSet's scale, and writes it.
  await admin.create(HORIZONTALPODAUTOSCALERS, 'team', { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'db' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, minReplicas: 3, maxReplicas: 4 } });
  await eventually(async () => (await statusNumber(() => admin.get(STATEFULSETS, 'team', 'db'), 'readyReplicas')) === 3, 'the StatefulSet raised to minReplicas by the autoscaler', 20_000);
  await eventually(async () => (await statusNumber(() => admin.get(HORIZONTALPODAUTOSCALERS, 'team', 'db'), 'desiredReplicas')) === 3, 'the autoscaler’s status', 20_000);
  // A CronJob whose last run was two minutes ago: the run due since then creates a Job at once.
  await admin.create(CRONJOBS, 'team', { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'tick' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } } });
  await admin.patch(CRONJOBS, 'team', 'tick', { status: { lastScheduleTime: new Date(Date.now() - 120_000).toISOString().replace(/\.\d{3}Z$/, 'Z') } }, 'merge', 'status');
  await eventually(async () => (await admin.list(JOBS, { namespace: 'team' })).items.length >= 1, 'the CronJob’s Job', 20_000);
  await admin.delete(DEPLOYMENTS, 'team', 'web');
  await eventually(async () => (await admin.list(PODS, { namespace: 'team', labelSelector: 'app=web' })).items.filter((pod) => !isBeingDeleted(pod)).length === 0, 'the Deployment’s pods collected', 20_000);
  await admin.delete(NAMESPACES, undefined, 'team');
  await eventually(() => gone(() => admin.get(NAMESPACES, undefined, 'team')), 'the namespace emptied (secrets too) and removed', 20_000);
  t.true(leading);
  agents.stop();
  await system.terminate();
  sync.stop();
});
