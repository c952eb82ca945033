// The Deployment controller against the real API pipeline, with the ReplicaSet controller and stand-in
// node agents: rolling updates of several sizes and settings, where a watcher checks invariant 5 at
// EVERY pod event (pods, terminating ones included, ≤ replicas + maxSurge; available ≥ replicas −
// maxUnavailable); Recreate (no new pod while an old one exists); rollback to an old template reusing
// its ReplicaSet with the next revision; revisionHistoryLimit; the status `kubectl rollout status` reads.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { DEPLOYMENTS, metaOf, PODS, REPLICASETS, type ApiClient, type KubeObject } from '../../src/client/index.js';
import { DeploymentController, DESIRED_REPLICAS_ANNOTATION, MAX_REPLICAS_ANNOTATION, REVISION_ANNOTATION } from '../../src/controllers/deployment.js';
import { rollingLimits } from '../../src/controllers/deployment-plan.js';
import { isPodAvailable, isPodPresent, numberField, specOf, statusOf } from '../../src/controllers/machinery/objects.js';
import { ReplicaSetController } from '../../src/controllers/replicaset.js';
import { adminClient, deployment, eventually, FakeNodeAgent, runControllers, testApi, type RunningControllers } from './controllers-helpers.js';

interface Cluster {
  readonly client: ApiClient;
  readonly controllers: RunningControllers;
  readonly agents: FakeNodeAgent[];
  stop(): void;
}

async function cluster(seed: number, neverReady: (pod: KubeObject) => boolean = () => false): Promise<Cluster> {
  const api = await testApi();
  const client = adminClient(api);
  const env = { client, clock: systemClock, log: silentLogger() };
  const controllers = await runControllers(client, [new ReplicaSetController(env), new DeploymentController(env)]);
  const agents = [new FakeNodeAgent(client, 'node-a', seed, 20, neverReady), new FakeNodeAgent(client, 'node-b', seed + 1, 20, neverReady)];
  for (const agent of agents) await agent.start();
  return {
    client,
    controllers,
    agents,
    stop() {
      for (const agent of agents) agent.stop();
      controllers.stop();
    },
  };
}

function imageOf(pod: KubeObject): string {
  const containers = specOf(pod)['containers'];
  return Array.isArray(containers) ? String((containers[0] as { image?: unknown }).image) : '';
}

/** True when the Deployment is rolled out as `kubectl rollout status` decides it. */
async function rolledOut(client: ApiClient, name: string): Promise<boolean> {
  const object = await client.get(DEPLOYMENTS, 'default', name);
  const status = statusOf(object);
  const replicas = numberField(specOf(object), 'replicas', 1);
  return (
    numberField(status, 'observedGeneration', 0) >= (metaOf(object).generation ?? 0) &&
    numberField(status, 'updatedReplicas', -1) === replicas &&
    numberField(status, 'replicas', -1) === replicas &&
    numberField(status, 'availableReplicas', -1) === replicas
  );
}

async function pods(client: ApiClient, selector: string): Promise<KubeObject[]> {
  return (await client.list(PODS, { namespace: 'default', labelSelector: selector })).items;
}

/** Watches pods from now on and checks a predicate over the whole set at every event. */
async function watchEveryEvent(client: ApiClient, selector: string, check: (present: KubeObject[]) => string | undefined): Promise<{ violations: string[]; events: () => number; stop(): void }> {
  const listed = await client.list(PODS, { namespace: 'default', labelSelector: selector });
  const current = new Map(listed.items.map((pod) => [metaOf(pod).uid ?? '', pod] as const));
  const violations: string[] = [];
  let events = 0;
  const stream = await client.watch(PODS, { namespace: 'default', labelSelector: selector, resourceVersion: listed.resourceVersion }, (event) => {
    const pod = event.object as KubeObject;
    const uid = metaOf(pod).uid ?? '';
    if (event.type === 'DELETED') current.delete(uid);
    else if (event.type === 'ADDED' || event.type === 'MODIFIED') current.set(uid, pod);
    else return;
    events += 1;
    const problem = check([...current.values()].filter(isPodPresent));
    if (problem !== undefined && violations.length < 20) violations.push(`after ${event.type} ${metaOf(pod).name ?? ''}: ${problem}`);
  });
  return { violations, events: () => events, stop: () => stream.stop() };
}

const ROLLOUTS: readonly { readonly replicas: number; readonly maxSurge: number | string; readonly maxUnavailable: number | string; readonly seed: number }[] = [
  { replicas: 4, maxSurge: '25%', maxUnavailable: '25%', seed: 11 },
  { replicas: 5, maxSurge: 0, maxUnavailable: 2, seed: 12 },
  { replicas: 3, maxSurge: 2, maxUnavailable: 0, seed: 13 },
  { replicas: 10, maxSurge: '30%', maxUnavailable: '10%', seed: 14 },
  { replicas: 1, maxSurge: 0, maxUnavailable: '25%', seed: 15 },
];

for (const { replicas, maxSurge, maxUnavailable, seed } of ROLLOUTS) {
  test(`rolling update of ${replicas} with maxSurge ${maxSurge} and maxUnavailable ${maxUnavailable} keeps invariant 5 at every event (seed ${seed})`, async (t) => {
    t.log(`seed ${seed}`);
    const { client, stop } = await cluster(seed);
    const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } };
    await client.create(DEPLOYMENTS, 'default', deployment('web', replicas, { app: 'web' }, strategy));
    await eventually(() => rolledOut(client, 'web'), 'the first rollout');
    const limits = rollingLimits(replicas, maxSurge, maxUnavailable);
    const watcher = await watchEveryEvent(client, 'app=web', (present) => {
      const available = present.filter((pod) => isPodAvailable(pod, 0, Date.now())).length;
      if (present.length > replicas + limits.maxSurge) return `${present.length} pods > ${replicas} + ${limits.maxSurge}`;
      if (available < replicas - limits.maxUnavailable) return `${available} available < ${replicas} - ${limits.maxUnavailable}`;
      return undefined;
    });
    await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } });
    await eventually(async () => (await rolledOut(client, 'web')) && (await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:2'), 'the second rollout', 30_000);
    watcher.stop();
    t.deepEqual(watcher.violations, [], `seed ${seed}`);
    t.true(watcher.events() >= replicas * 3, 'the watcher saw the rollout');
    const status = statusOf(await client.get(DEPLOYMENTS, 'default', 'web'));
    const conditions = status['conditions'] as { type: string; status: string; reason: string }[];
    t.like(conditions.find((condition) => condition.type === 'Available'), { status: 'True' });
    t.like(conditions.find((condition) => condition.type === 'Progressing'), { status: 'True', reason: 'NewReplicaSetAvailable' });
    stop();
  });
}

test('Recreate stops every old pod before starting a new one', async (t) => {
  const { client, stop } = await cluster(21);
  await client.create(DEPLOYMENTS, 'default', deployment('web', 3, { app: 'web' }, { type: 'Recreate' }));
  await eventually(() => rolledOut(client, 'web'), 'the first rollout');
  const watcher = await watchEveryEvent(client, 'app=web', (present) => {
    const images = new Set(present.map(imageOf));
    return images.size > 1 ? `old and new pods together: ${[...images].join(', ')}` : undefined;
  });
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } });
  await eventually(async () => (await rolledOut(client, 'web')) && (await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:2'), 'the Recreate rollout', 20_000);
  watcher.stop();
  t.deepEqual(watcher.violations, []);
  stop();
});

test('rollback reuses the old ReplicaSet with the next revision; revisionHistoryLimit prunes old sets', async (t) => {
  const { client, stop } = await cluster(31);
  const d = deployment('web', 2, { app: 'web' });
  await client.create(DEPLOYMENTS, 'default', { ...d, spec: { ...(d['spec'] as object), revisionHistoryLimit: 1 } });
  await eventually(() => rolledOut(client, 'web'), 'revision 1');
  const setNames = async (): Promise<string[]> => (await client.list(REPLICASETS, { namespace: 'default' })).items.map((set) => metaOf(set).name ?? '').sort();
  const [first] = await setNames();
  const setImage = (image: string): Promise<KubeObject> => client.patch(DEPLOYMENTS, 'default', 'web', { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });
  await setImage('nginx:2');
  await eventually(async () => (await rolledOut(client, 'web')) && (await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:2'), 'revision 2');
  await setImage('nginx:1'); // what `kubectl rollout undo` does: the old template back
  await eventually(async () => (await rolledOut(client, 'web')) && (await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:1'), 'revision 3 (rollback)');
  const back = await client.get(REPLICASETS, 'default', first ?? '');
  t.is(metaOf(back).annotations?.[REVISION_ANNOTATION], '3');
  await eventually(async () => metaOf(await client.get(DEPLOYMENTS, 'default', 'web')).annotations?.[REVISION_ANNOTATION] === '3', 'the deployment revision annotation');
  await setImage('nginx:3');
  await eventually(async () => (await rolledOut(client, 'web')) && (await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:3'), 'revision 4');
  await eventually(async () => (await setNames()).length === 2, 'one old set kept (revisionHistoryLimit 1)');
  t.true((await setNames()).includes(first ?? ''), 'the newest old set (revision 3) is the one kept');
  stop();
});

test('a rollout that makes no progress for progressDeadlineSeconds is marked ProgressDeadlineExceeded', async (t) => {
  const api = await testApi();
  const client = adminClient(api);
  const env = { client, clock: systemClock, log: silentLogger() };
  const controllers = await runControllers(client, [new ReplicaSetController(env), new DeploymentController(env)]);
  const d = deployment('stuck', 2, { app: 'stuck' });
  await client.create(DEPLOYMENTS, 'default', { ...d, spec: { ...(d['spec'] as object), progressDeadlineSeconds: 1 } });
  // No node agent: the pods never become ready.
  await eventually(async () => {
    const conditions = (statusOf(await client.get(DEPLOYMENTS, 'default', 'stuck'))['conditions'] ?? []) as { type: string; status: string; reason: string }[];
    return conditions.some((condition) => condition.type === 'Progressing' && condition.status === 'False' && condition.reason === 'ProgressDeadlineExceeded');
  }, 'ProgressDeadlineExceeded', 20_000);
  t.pass();
  controllers.stop();
});

test('a paused Deployment does not roll out until resumed', async (t) => {
  const { client, stop } = await cluster(41);
  await client.create(DEPLOYMENTS, 'default', deployment('web', 2, { app: 'web' }));
  await eventually(() => rolledOut(client, 'web'), 'the first rollout');
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { paused: true, template: { spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } } });
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.true((await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:1'), 'nothing changes while paused');
  t.is((await client.list(REPLICASETS, { namespace: 'default' })).items.length, 1);
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { replicas: 3 } });
  await eventually(async () => (await pods(client, 'app=web')).filter((pod) => imageOf(pod) === 'nginx:1').length === 3, 'a paused Deployment still scales');
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { paused: false } });
  await eventually(async () => (await rolledOut(client, 'web')) && (await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:2'), 'the rollout after resume', 20_000);
  stop();
});

test('scaling mid-rollout spreads the change over the active ReplicaSets in proportion, within invariant 5', async (t) => {
  const seed = 51;
  t.log(`seed ${seed}`);
  // Pods of the image nginx:stuck never become ready: the rollout to it stalls with both sets active.
  const { client, stop } = await cluster(seed, (pod) => imageOf(pod) === 'nginx:stuck');
  const strategy = { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 0 } };
  await client.create(DEPLOYMENTS, 'default', deployment('web', 10, { app: 'web' }, strategy));
  await eventually(() => rolledOut(client, 'web'), 'the first rollout');
  let maxPods = 13;
  let minAvailable = 10;
  const watcher = await watchEveryEvent(client, 'app=web', (present) => {
    const available = present.filter((pod) => isPodAvailable(pod, 0, Date.now())).length;
    if (present.length > maxPods) return `${present.length} pods > ${maxPods}`;
    if (available < minAvailable) return `${available} available < ${minAvailable}`;
    return undefined;
  });
  const setImage = (image: string): Promise<KubeObject> => client.patch(DEPLOYMENTS, 'default', 'web', { spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });
  const sizes = async (): Promise<Record<string, number>> => {
    const sets = (await client.list(REPLICASETS, { namespace: 'default' })).items;
    return Object.fromEntries(sets.map((set) => [imageOfSet(set), numberField(specOf(set), 'replicas', 0)] as const));
  };
  await setImage('nginx:stuck');
  await eventually(async () => canonical(await sizes()) === canonical({ 'nginx:1': 10, 'nginx:stuck': 3 }), 'the stalled rollout (old 10, new 3)');

  // 10 → 20: 23 places, 10 more: round(10·23/13) = 18 and round(3·23/13) = 5.
  maxPods = 23;
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { replicas: 20 } });
  await eventually(async () => canonical(await sizes()) === canonical({ 'nginx:1': 18, 'nginx:stuck': 5 }), 'scaled up in proportion (18 and 5)');
  for (const set of (await client.list(REPLICASETS, { namespace: 'default' })).items) {
    t.is(metaOf(set).annotations?.[DESIRED_REPLICAS_ANNOTATION], '20', `${metaOf(set).name ?? ''} desired-replicas`);
    t.is(metaOf(set).annotations?.[MAX_REPLICAS_ANNOTATION], '23', `${metaOf(set).name ?? ''} max-replicas`);
  }
  await eventually(async () => (await pods(client, 'app=web')).filter((pod) => isPodAvailable(pod, 0, Date.now())).length === 18, 'the old set\'s 18 pods available');

  // 20 → 5: 8 places, 15 fewer: round(18·8/23) = 6 and round(5·8/23) = 2. The rollout step that follows may
  // then move one place (old 6 is one more available than 5 needs): every state of the sets is watched.
  const history: string[] = [];
  const byName = new Map<string, KubeObject>();
  const listed = await client.list(REPLICASETS, { namespace: 'default' });
  for (const set of listed.items) byName.set(metaOf(set).name ?? '', set);
  const setWatch = await client.watch(REPLICASETS, { namespace: 'default', resourceVersion: listed.resourceVersion }, (event) => {
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED') return;
    const set = event.object as KubeObject;
    byName.set(metaOf(set).name ?? '', set);
    history.push(canonical(Object.fromEntries([...byName.values()].map((each) => [imageOfSet(each), numberField(specOf(each), 'replicas', 0)] as const))));
  });
  minAvailable = 5;
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { replicas: 5 } });
  await eventually(async () => history.includes(canonical({ 'nginx:1': 6, 'nginx:stuck': 2 })), `scaled down in proportion (6 and 2); seen ${history.join(' ')}`);
  await eventually(async () => (await pods(client, 'app=web')).length === 8, 'the surplus pods gone');
  setWatch.stop();
  maxPods = 8;

  // A template that works: the rollout finishes at 5.
  await setImage('nginx:2');
  await eventually(async () => (await rolledOut(client, 'web')) && (await pods(client, 'app=web')).every((pod) => imageOf(pod) === 'nginx:2'), 'the rollout to nginx:2', 30_000);
  watcher.stop();
  t.deepEqual(watcher.violations, [], `seed ${seed}`);
  stop();
});

function imageOfSet(set: KubeObject): string {
  return String((specOf(set)['template'] as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image);
}

function canonical(sizes: Record<string, number>): string {
  return JSON.stringify(Object.entries(sizes).sort());
}

test('a paused Deployment with two active ReplicaSets scales them in proportion', async (t) => {
  const seed = 52;
  t.log(`seed ${seed}`);
  const { client, stop } = await cluster(seed, (pod) => imageOf(pod) === 'nginx:stuck');
  await client.create(DEPLOYMENTS, 'default', deployment('web', 4, { app: 'web' }, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } }));
  await eventually(() => rolledOut(client, 'web'), 'the first rollout');
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { template: { spec: { containers: [{ name: 'c', image: 'nginx:stuck' }] } } } });
  const sizes = async (): Promise<string> => {
    const sets = (await client.list(REPLICASETS, { namespace: 'default' })).items;
    return canonical(Object.fromEntries(sets.map((set) => [imageOfSet(set), numberField(specOf(set), 'replicas', 0)] as const)));
  };
  await eventually(async () => (await sizes()) === canonical({ 'nginx:1': 4, 'nginx:stuck': 1 }), 'the stalled rollout (old 4, new 1)');
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { paused: true } });
  // 4 → 8: 9 places, 4 more: round(4·9/5) = 7 and round(1·9/5) = 2.
  await client.patch(DEPLOYMENTS, 'default', 'web', { spec: { replicas: 8 } });
  await eventually(async () => (await sizes()) === canonical({ 'nginx:1': 7, 'nginx:stuck': 2 }), 'scaled in proportion while paused (7 and 2)');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(await sizes(), canonical({ 'nginx:1': 7, 'nginx:stuck': 2 }), 'and no rollout step follows while paused');
  stop();
});
