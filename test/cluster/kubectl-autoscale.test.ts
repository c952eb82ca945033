// kubectl autoscale and get hpa against the API server, with the HorizontalPodAutoscaler controller
// running in this process (over the server's own pipeline, real clock): `kubectl autoscale` sends a
// protobuf HorizontalPodAutoscaler, `get hpa` prints kubectl's columns with `cpu: <unknown>/80%` (no
// metrics API), the controller raises the Deployment to minReplicas, describe shows the events, explain
// prints the schema's descriptions, and the server refuses maxReplicas below minReplicas.

import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { ApiClient, LocalApiTransport } from '../../src/client/index.js';
import { HorizontalPodAutoscalerController } from '../../src/controllers/hpa.js';
import { EventRecorder } from '../../src/controllers/machinery/event-recorder.js';
import { ADMIN } from '../unit/api-helpers.js';
import { eventually, runControllers, type RunningControllers } from '../unit/controllers-helpers.js';
import { kubectlMissingReason, startKubectlEnv, tableRows, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-autoscale tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;
let controllers: RunningControllers | undefined;

test.before(async () => {
  if (missing !== undefined) return;
  env = await startKubectlEnv();
  const client = new ApiClient(new LocalApiTransport(env.server.handler, ADMIN));
  const log = silentLogger();
  controllers = await runControllers(client, [new HorizontalPodAutoscalerController({ client, clock: systemClock, log, events: new EventRecorder(client, 'horizontal-pod-autoscaler', systemClock, log) })]);
});
test.after.always(async () => {
  controllers?.stop();
  await env?.close();
});

kubectlTest('autoscale creates an HPA (protobuf), get hpa shows its columns, and the Deployment is raised to --min', async (t) => {
  const created = await env.kubectl(['create', 'deployment', 'web', '--image=nginx']);
  t.is(created.code, 0, created.stderr);
  const autoscaled = await env.kubectl(['autoscale', 'deployment', 'web', '--min=2', '--max=5', '--cpu-percent=80', '-v=8']);
  t.is(autoscaled.code, 0, autoscaled.stderr);
  t.regex(autoscaled.stdout, /horizontalpodautoscaler\.autoscaling\/web autoscaled/);
  t.regex(autoscaled.stderr, /POST https:\S+\/apis\/autoscaling\/v1\/namespaces\/default\/horizontalpodautoscalers/);
  t.regex(autoscaled.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/, 'the HPA is sent as protobuf');
  await eventually(async () => (await env.kubectl(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.replicas}'])).stdout === '2', 'the Deployment raised to 2 replicas', 30_000);
  await eventually(async () => (await env.kubectl(['get', 'hpa', 'web', '-o', 'jsonpath={.status.desiredReplicas}'])).stdout === '2', 'the HPA status', 30_000);
  const rows = tableRows((await env.kubectl(['get', 'hpa'])).stdout);
  t.deepEqual(rows[0], ['NAME', 'REFERENCE', 'TARGETS', 'MINPODS', 'MAXPODS', 'REPLICAS', 'AGE']);
  t.deepEqual(rows[1]?.slice(0, 5), ['web', 'Deployment/web', 'cpu: <unknown>/80%', '2', '5']);
  // REPLICAS is what the controller saw at its last sync: 1 before its rescale, 2 after the next.
  t.true(['1', '2'].includes(rows[1]?.[5] ?? ''), `REPLICAS ${rows[1]?.[5] ?? ''}`);
  const described = await env.kubectl(['describe', 'hpa', 'web']);
  t.is(described.code, 0, described.stderr);
  t.regex(described.stdout, /SuccessfulRescale\s+.*New size: 2; reason: Current number of replicas below Spec\.MinReplicas/);
  const explained = await env.kubectl(['explain', 'hpa.spec.minReplicas']);
  t.is(explained.code, 0, explained.stderr);
  t.regex(explained.stdout, /minReplicas is the lower limit for the number of replicas/);
  // kubectl checks --min/--max itself; the server refuses bad bounds in a manifest.
  const manifest = 'apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: bad}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 3\n  maxReplicas: 2\n';
  const refused = await env.kubectl(['create', '-f', env.writeFile('bad-hpa.yaml', manifest)]);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /spec\.maxReplicas: Invalid value: 2: must be greater than or equal to `minReplicas`/);
});
