// The Job controller against the real API pipeline, with simulated nodes running the pods (a pod's
// command decides how it ends: `sleep N`, `exit K`): completions with bounded parallelism, backoff to
// Failed, the active deadline, suspend and resume, Indexed Jobs, work queues, the TTL after finishing,
// no duplicate pods across a controller restart or a slow watch (expectations), and cascading deletion.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { ApiClient, CRONJOBS, EVENTS, isNotFound, JOBS, LocalApiTransport, metaOf, NAMESPACES, NODES, PODS, type KubeObject } from '../../src/client/index.js';
import { GarbageCollector } from '../../src/controllers/garbage-collector.js';
import { NamespaceController } from '../../src/controllers/namespace.js';
import { JobController } from '../../src/controllers/job.js';
import { conditionsOf } from '../../src/controllers/job-status.js';
import { EventRecorder } from '../../src/controllers/machinery/event-recorder.js';
import { controllerRefOf, isBeingDeleted, numberField, podNodeName, statusOf, uidOf } from '../../src/controllers/machinery/objects.js';
import { SimulatedNodePool, uniformNodes } from '../../src/node-agent/simulated.js';
import { ADMIN, adminClient, eventually, runControllers, sleep, SlowWatchTransport, testApi, type TestApi } from './controllers-helpers.js';

function job(name: string, spec: KubeObject, command: string[], restartPolicy = 'Never'): KubeObject {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name },
    spec: { ...spec, template: { spec: { restartPolicy, containers: [{ name: 'main', image: 'busybox', command }] } } },
  };
}

function jobController(client: ApiClient): JobController {
  const log = silentLogger();
  return new JobController({ client, clock: systemClock, log, events: new EventRecorder(client, 'job-controller', systemClock, log), backoffBaseMs: 20 });
}

/** Simulated nodes (on the real clock) and a binder that puts every new pod on one of them. */
async function nodes(api: TestApi, client: ApiClient): Promise<{ stop(): void }> {
  const pool = new SimulatedNodePool(uniformNodes('sim', 2, { cpu: '8', memory: '16Gi', pods: 110 }), {
    clientFor: () => new ApiClient(new LocalApiTransport(api.handler, ADMIN)),
    clock: systemClock,
    log: silentLogger(),
  });
  await pool.start();
  let next = 0;
  const stream = await client.watch(PODS, {}, (event) => {
    const pod = event.object as KubeObject;
    if (event.type !== 'ADDED' || podNodeName(pod) !== undefined || isBeingDeleted(pod)) return;
    void client.bind(metaOf(pod).namespace ?? 'default', metaOf(pod).name ?? '', `sim-${next++ % 2}`).catch(() => undefined);
  });
  return {
    stop() {
      stream.stop();
      pool.stop();
    },
  };
}

async function jobPods(client: ApiClient, name: string): Promise<KubeObject[]> {
  return (await client.list(PODS, { namespace: 'default', labelSelector: `batch.kubernetes.io/job-name=${name}` })).items;
}

/** Every pod ever created (distinct uids) and the most active (not finished, not deleting) at once. */
async function podWatch(client: ApiClient): Promise<{ created(): number; mostActive(): number; stop(): void }> {
  const created = new Set<string>();
  const active = new Set<string>();
  let most = 0;
  const stream = await client.watch(PODS, {}, (event) => {
    const pod = event.object as KubeObject;
    const uid = uidOf(pod);
    if (event.type === 'ADDED') created.add(uid);
    const phase = (statusOf(pod)['phase'] as string | undefined) ?? 'Pending';
    if (event.type === 'DELETED' || isBeingDeleted(pod) || phase === 'Succeeded' || phase === 'Failed') active.delete(uid);
    else active.add(uid);
    most = Math.max(most, active.size);
  });
  return { created: () => created.size, mostActive: () => most, stop: () => stream.stop() };
}

async function conditionTypes(client: ApiClient, name: string): Promise<string[]> {
  return conditionsOf(await client.get(JOBS, 'default', name))
    .filter((condition) => condition.status === 'True')
    .map((condition) => condition.type);
}

async function reasons(client: ApiClient, name: string): Promise<string[]> {
  const events = (await client.list(EVENTS, { namespace: 'default' })).items.filter((event) => (event['involvedObject'] as { name?: string } | undefined)?.name === name);
  return events.map((event) => String(event['reason']));
}

test('completions 3 with parallelism 2: at most 2 pods at once, then Complete with times and events', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const watch = await podWatch(client);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  const created = await client.create(JOBS, 'default', job('pi', { completions: 3, parallelism: 2 }, ['sh', '-c', 'sleep 0.2']));
  await eventually(async () => (await conditionTypes(client, 'pi')).includes('Complete'), 'the job complete');
  const finished = await client.get(JOBS, 'default', 'pi');
  const status = statusOf(finished);
  t.like(status, { succeeded: 3, active: 0, failed: 0 });
  t.deepEqual(await conditionTypes(client, 'pi'), ['SuccessCriteriaMet', 'Complete']);
  t.true(Date.parse(String(status['completionTime'])) >= Date.parse(String(status['startTime'])), 'startTime then completionTime');
  t.is(watch.created(), 3, 'exactly three pods');
  t.true(watch.mostActive() <= 2, `never more than parallelism pods active (saw ${watch.mostActive()})`);
  for (const pod of await jobPods(client, 'pi')) {
    t.is(controllerRefOf(pod)?.uid, uidOf(created));
    t.regex(metaOf(pod).name ?? '', /^pi-[a-z0-9]{5}$/);
  }
  await eventually(async () => {
    const seen = await reasons(client, 'pi');
    return seen.includes('SuccessfulCreate') && seen.includes('Completed');
  }, 'SuccessfulCreate and Completed events');
  running.stop();
  agents.stop();
  watch.stop();
});

test('failing pods are replaced until backoffLimit, then the Job is Failed (BackoffLimitExceeded)', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(JOBS, 'default', job('flaky', { backoffLimit: 2 }, ['sh', '-c', 'exit 1']));
  await eventually(async () => (await conditionTypes(client, 'flaky')).includes('Failed'), 'the job failed');
  const finished = await client.get(JOBS, 'default', 'flaky');
  t.like(statusOf(finished), { failed: 3, succeeded: 0, active: 0 });
  const failed = conditionsOf(finished).find((condition) => condition.type === 'Failed');
  t.is(failed?.reason, 'BackoffLimitExceeded');
  t.false((await conditionTypes(client, 'flaky')).includes('Complete'));
  await sleep(200);
  t.is((await jobPods(client, 'flaky')).length, 3, 'no pod after the failure');
  await eventually(async () => (await reasons(client, 'flaky')).includes('BackoffLimitExceeded'), 'a BackoffLimitExceeded event');
  running.stop();
  agents.stop();
});

test('OnFailure pods restart in place; their restarts count toward backoffLimit', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(JOBS, 'default', job('retry', { backoffLimit: 1 }, ['sh', '-c', 'exit 2'], 'OnFailure'));
  await eventually(async () => (await conditionTypes(client, 'retry')).includes('Failed'), 'the job failed', 30_000);
  t.is(conditionsOf(await client.get(JOBS, 'default', 'retry')).find((condition) => condition.type === 'Failed')?.reason, 'BackoffLimitExceeded');
  t.is((await jobPods(client, 'retry')).length, 1, 'one pod, restarted in place');
  running.stop();
  agents.stop();
});

test('activeDeadlineSeconds fails a running Job (DeadlineExceeded) and deletes its pods', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(JOBS, 'default', job('slow', { activeDeadlineSeconds: 1, parallelism: 2, completions: 2 }, ['sleep', '600']));
  await eventually(async () => (await jobPods(client, 'slow')).length === 2, 'two pods');
  await eventually(async () => (await conditionTypes(client, 'slow')).includes('Failed'), 'the job failed');
  t.is(conditionsOf(await client.get(JOBS, 'default', 'slow')).find((condition) => condition.type === 'Failed')?.reason, 'DeadlineExceeded');
  await eventually(async () => (await jobPods(client, 'slow')).length === 0, 'its pods deleted');
  running.stop();
  agents.stop();
});

test('a suspended Job creates no pods; resuming runs it; suspending deletes its active pods', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(JOBS, 'default', job('later', { suspend: true, completions: 2, parallelism: 2 }, ['sleep', '600']));
  await eventually(async () => (await conditionTypes(client, 'later')).includes('Suspended'), 'Suspended');
  await sleep(200);
  t.is((await jobPods(client, 'later')).length, 0);
  t.is(statusOf(await client.get(JOBS, 'default', 'later'))['startTime'], undefined, 'no startTime while suspended');
  await client.patch(JOBS, 'default', 'later', { spec: { suspend: false } });
  await eventually(async () => (await jobPods(client, 'later')).filter((pod) => !isBeingDeleted(pod)).length === 2, 'two pods after resuming');
  const resumed = conditionsOf(await client.get(JOBS, 'default', 'later')).find((condition) => condition.type === 'Suspended');
  t.like(resumed, { status: 'False', reason: 'JobResumed' });
  t.truthy(statusOf(await client.get(JOBS, 'default', 'later'))['startTime']);
  await client.patch(JOBS, 'default', 'later', { spec: { suspend: true } });
  await eventually(async () => (await jobPods(client, 'later')).length === 0, 'active pods deleted on suspend');
  await eventually(async () => numberField(statusOf(await client.get(JOBS, 'default', 'later')), 'active', -1) === 0 && (await conditionTypes(client, 'later')).includes('Suspended'), 'suspended again, none active');
  running.stop();
  agents.stop();
});

test('an Indexed Job runs one pod per index with its hostname and index, and lists completedIndexes', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(JOBS, 'default', job('idx', { completionMode: 'Indexed', completions: 3, parallelism: 3 }, ['sleep', '0.1']));
  await eventually(async () => (await conditionTypes(client, 'idx')).includes('Complete'), 'the job complete');
  t.like(statusOf(await client.get(JOBS, 'default', 'idx')), { succeeded: 3, completedIndexes: '0-2' });
  const pods = await jobPods(client, 'idx');
  const indexes = pods.map((pod) => metaOf(pod).annotations?.['batch.kubernetes.io/job-completion-index']).sort();
  t.deepEqual(indexes, ['0', '1', '2']);
  for (const pod of pods) {
    const index = metaOf(pod).labels?.['batch.kubernetes.io/job-completion-index'];
    const spec = pod['spec'] as { hostname?: string; containers: { env?: { name: string; value: string }[] }[] };
    t.is(spec.hostname, `idx-${index ?? ''}`);
    t.deepEqual(spec.containers[0]?.env, [{ name: 'JOB_COMPLETION_INDEX', value: index ?? '' }]);
    t.regex(metaOf(pod).name ?? '', new RegExp(`^idx-${index ?? ''}-[a-z0-9]{5}$`));
  }
  running.stop();
  agents.stop();
});

test('a work-queue Job (no completions) is Complete once a pod succeeded and none is running', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(JOBS, 'default', job('queue', { parallelism: 2 }, ['sleep', '0.1']));
  await eventually(async () => (await conditionTypes(client, 'queue')).includes('Complete'), 'the job complete');
  t.like(statusOf(await client.get(JOBS, 'default', 'queue')), { succeeded: 2, active: 0 }, 'the second pod was left to finish');
  running.stop();
  agents.stop();
});

test('ttlSecondsAfterFinished deletes the finished Job', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(JOBS, 'default', job('brief', { ttlSecondsAfterFinished: 1 }, ['true']));
  await eventually(async () => (await conditionTypes(client, 'brief').catch((): string[] => [])).includes('Complete'), 'the job complete');
  await eventually(async () => {
    try {
      await client.get(JOBS, 'default', 'brief');
      return false;
    } catch (error) {
      return isNotFound(error);
    }
  }, 'the job deleted after its TTL');
  t.pass();
  running.stop();
  agents.stop();
});

test('no duplicate pods across a controller restart or with a slow pod watch', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const watch = await podWatch(client);
  const agents = await nodes(api, client);
  const slowClient = new ApiClient(new SlowWatchTransport(new LocalApiTransport(api.handler, ADMIN), 300));
  let running = await runControllers(slowClient, [jobController(slowClient)]);
  await client.create(JOBS, 'default', job('steady', { completions: 4, parallelism: 4 }, ['sleep', '600']));
  await eventually(async () => (await jobPods(client, 'steady')).length === 4, 'four pods');
  await sleep(600);
  t.is(watch.created(), 4, 'the slow watch made no duplicates');
  running.stop();
  running = await runControllers(client, [jobController(client)]);
  await eventually(async () => numberField(statusOf(await client.get(JOBS, 'default', 'steady')), 'active', -1) === 4, 'status active 4');
  await sleep(300);
  t.is(watch.created(), 4, 'a restarted controller made no duplicates');
  running.stop();
  agents.stop();
  watch.stop();
});

test('deleting a Job removes its pods (garbage collector), and a namespace with Jobs and CronJobs empties', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const agents = await nodes(api, client);
  const log = silentLogger();
  const running = await runControllers(client, [jobController(client), new GarbageCollector({ client, log }), new NamespaceController({ client, log, recheckMs: 50 })]);
  await client.create(JOBS, 'default', job('doomed', { completions: 2, parallelism: 2 }, ['sleep', '600']));
  await eventually(async () => (await jobPods(client, 'doomed')).length === 2, 'two pods');
  await client.delete(JOBS, 'default', 'doomed', { propagationPolicy: 'Background' });
  await eventually(async () => (await jobPods(client, 'doomed')).length === 0, 'its pods collected');
  await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'batch-ns' } });
  await client.create(JOBS, 'batch-ns', job('inside', {}, ['sleep', '600']));
  await client.create(CRONJOBS, 'batch-ns', { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'tick' }, spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } } } });
  await eventually(async () => (await client.list(PODS, { namespace: 'batch-ns' })).items.length === 1, 'the job pod in batch-ns');
  await client.delete(NAMESPACES, undefined, 'batch-ns');
  await eventually(async () => {
    try {
      await client.get(NAMESPACES, undefined, 'batch-ns');
      return false;
    } catch (error) {
      return isNotFound(error);
    }
  }, 'the namespace removed');
  t.is((await client.list(CRONJOBS, { namespace: 'batch-ns' })).items.length, 0);
  running.stop();
  agents.stop();
});

test('podReplacementPolicy: TerminatingOrFailed replaces a terminating pod at once, Failed only once it is gone', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const running = await runControllers(client, [jobController(client)]);
  await client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'ghost' } });
  /** The Job's one pod, bound to a node without an agent and deleted gracefully: it stays terminating. */
  const terminateOnePod = async (name: string): Promise<string> => {
    await eventually(async () => (await jobPods(client, name)).length === 1, `${name}: a pod`);
    const pod = (await jobPods(client, name))[0];
    const podName = metaOf(pod ?? {}).name ?? '';
    await client.bind('default', podName, 'ghost');
    await client.delete(PODS, 'default', podName, { gracePeriodSeconds: 30 });
    return podName;
  };
  await client.create(JOBS, 'default', job('eager', { podReplacementPolicy: 'TerminatingOrFailed' }, ['sleep', '600']));
  await terminateOnePod('eager');
  await eventually(async () => (await jobPods(client, 'eager')).filter((pod) => !isBeingDeleted(pod)).length === 1, 'a replacement while the first terminates');
  await client.create(JOBS, 'default', job('patient', { podReplacementPolicy: 'Failed' }, ['sleep', '600']));
  const first = await terminateOnePod('patient');
  await eventually(async () => numberField(statusOf(await client.get(JOBS, 'default', 'patient')), 'terminating', -1) === 1, 'terminating 1 in status');
  await sleep(300);
  t.is((await jobPods(client, 'patient')).length, 1, 'no replacement while it terminates');
  await client.delete(PODS, 'default', first, { gracePeriodSeconds: 0 });
  await eventually(async () => (await jobPods(client, 'patient')).filter((pod) => !isBeingDeleted(pod)).length === 1, 'a replacement once it is gone');
  running.stop();
});
