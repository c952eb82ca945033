// The CronJob and HorizontalPodAutoscaler controllers in a whole cluster (`kplane up` through
// ChaosCluster, one process of two simulated nodes), driven through @kubernetes/client-node, on the
// real clock of the controller-manager process:
//   1. An HPA (min 2, max 4) on a Deployment of 1: the Deployment is raised to 2 and both pods run; the
//      metrics API (the simulated nodes' figures: half the request) gives 50 % of an 80 % target, so it
//      stays at 2; pods annotated to use 300 % of their request take it to 4.
//   2. A CronJob `* * * * *` whose pods `sleep 1`: at the next minute a Job named for that minute is
//      created with the scheduled-timestamp annotation; the Job controller runs it to Complete; the
//      CronJob's status then has lastScheduleTime = that minute, lastSuccessfulTime, and no active Job.
// About two minutes (the first run waits for a minute boundary; the scale-up for a rollout).

import test from 'ava';
import * as k8s from '@kubernetes/client-node';
import { clusterForFile } from './cluster-fixture.js';
import { eventually } from '../../src/testing/chaos/pod-invariants.js';

const NAMESPACE = 'default';
const WAIT_MS = 150_000;



const theCluster = clusterForFile(test, { config: { name: 'cronhpa', nodes: { simulatedProcesses: 1, nodesPerProcess: 2, processNodes: 0 } } });


const container = (command: string[] = []): k8s.V1Container => ({ name: 'app', image: 'busybox', ...(command.length === 0 ? {} : { command }), resources: { requests: { cpu: '10m' } } });

test.serial('an HPA raises a Deployment of 1 to minReplicas, then scales it on the CPU the simulated pods report', async (t) => {
  t.timeout(2 * WAIT_MS + 30_000);
  const kubeConfig = theCluster().kubeConfig();
  const apps = kubeConfig.makeApiClient(k8s.AppsV1Api);
  const autoscaling = kubeConfig.makeApiClient(k8s.AutoscalingV1Api);
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  await apps.createNamespacedDeployment({
    namespace: NAMESPACE,
    body: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { replicas: 1, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { terminationGracePeriodSeconds: 1, containers: [container()] } } } },
  });
  await autoscaling.createNamespacedHorizontalPodAutoscaler({
    namespace: NAMESPACE,
    body: { apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'web' }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 80 } },
  });
  const available = await eventually(() => apps.readNamespacedDeployment({ name: 'web', namespace: NAMESPACE }), (deployment) => deployment.spec?.replicas === 2 && deployment.status?.availableReplicas === 2, WAIT_MS);
  t.truthy(available, `the Deployment raised to 2 and available\n${theCluster().logTails(20)}`);
  // A simulated pod uses half its request: 50 % of an 80 % target asks for fewer than 2, so it stays at 2.
  const measured = await eventually(() => autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'web', namespace: NAMESPACE }), (object) => object.status?.currentCPUUtilizationPercentage === 50 && object.status.desiredReplicas === 2, WAIT_MS);
  t.truthy(measured, `status: 50 % utilization, 2 desired\n${theCluster().logTails(20)}`);
  const rescaled = (await core.listNamespacedEvent({ namespace: NAMESPACE })).items.filter((event) => event.involvedObject.name === 'web' && event.reason === 'SuccessfulRescale');
  t.true(rescaled.some((event) => event.message === 'New size: 2; reason: Current number of replicas below Spec.MinReplicas'));
  // Busy pods (30m used of 10m requested: 300 %): up to maxReplicas.
  const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace: NAMESPACE });
  const template = deployment.spec?.template ?? {};
  await apps.replaceNamespacedDeployment({ name: 'web', namespace: NAMESPACE, body: { ...deployment, spec: { ...deployment.spec, selector: deployment.spec?.selector ?? {}, template: { ...template, metadata: { ...template.metadata, annotations: { 'kplane.io/simulate-cpu': '30m' } } } } } });
  const busy = await eventually(() => apps.readNamespacedDeployment({ name: 'web', namespace: NAMESPACE }), (object) => object.spec?.replicas === 4, WAIT_MS);
  t.truthy(busy, `scaled to maxReplicas 4 on CPU\n${theCluster().logTails(20)}`);
  const events = (await core.listNamespacedEvent({ namespace: NAMESPACE })).items.filter((event) => event.involvedObject.name === 'web' && event.reason === 'SuccessfulRescale');
  t.true(events.some((event) => /^New size: [34]; reason: cpu resource utilization \(percentage of request\) above target$/.test(event.message ?? '')), events.map((event) => event.message).join('; '));
});

test.serial('a CronJob creates the Job of the next minute, which runs to Complete; the CronJob records it', async (t) => {
  t.timeout(WAIT_MS + 30_000);
  const kubeConfig = theCluster().kubeConfig();
  const batch = kubeConfig.makeApiClient(k8s.BatchV1Api);
  const created = await batch.createNamespacedCronJob({
    namespace: NAMESPACE,
    body: {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'tick' },
      spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [container(['sh', '-c', 'sleep 1'])] } } } } },
    },
  });
  const createdAt = created.metadata?.creationTimestamp === undefined ? Date.now() : new Date(created.metadata.creationTimestamp).getTime();
  const firstMinute = Math.floor(createdAt / 60_000) + 1;
  const jobs = await eventually(() => batch.listNamespacedJob({ namespace: NAMESPACE }), (list) => list.items.some((job) => job.metadata?.name === `tick-${firstMinute}`), WAIT_MS);
  t.truthy(jobs, `the Job tick-${firstMinute}\n${theCluster().logTails(20)}`);
  const job = jobs?.items.find((item) => item.metadata?.name === `tick-${firstMinute}`);
  t.is(job?.metadata?.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], new Date(firstMinute * 60_000).toISOString().replace('.000Z', 'Z'));
  t.is(job?.metadata?.ownerReferences?.[0]?.kind, 'CronJob');
  const recorded = await eventually(
    () => batch.readNamespacedCronJob({ name: 'tick', namespace: NAMESPACE }),
    (cronJob) => cronJob.status?.lastSuccessfulTime !== undefined && (cronJob.status.active ?? []).every((active) => active.name !== `tick-${firstMinute}`),
    WAIT_MS,
  );
  t.truthy(recorded, `lastSuccessfulTime set and the Job no longer active\n${theCluster().logTails(20)}`);
  t.is(new Date(recorded?.status?.lastScheduleTime ?? 0).getTime() >= firstMinute * 60_000, true, 'lastScheduleTime at or after the first run');
});
