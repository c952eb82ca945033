// The real kubectl against a whole cluster with its controllers running (ChaosCluster: stores, API
// server, controller manager, scheduler, simulated nodes): create deployment, rollout status /
// history / undo (the old ReplicaSet comes back, no third one), wait --for=condition=Available,
// scale, describe of a deployment, a replica set, a pod and a node with their events, rollout
// restart, rollout pause / resume, kubectl events, and delete of a namespace that holds a deployment, which the namespace
// controller finishes.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { clusterKubectl, kubectlMissingReason, runKubectl, tableRows } from './kubectl-helpers.js';

const KUBECTL_TIMEOUT_MS = 90_000;
const ROLLOUT_TIMEOUT = '60s';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`kubectl rollout tests skipped: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.serial.skip;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

kubectlTest('kubectl rollout status / history / undo, wait Available, scale, restart and namespace deletion with controllers running', async (t) => {
  t.timeout(600_000);
  // Simulated nodes only: `create deployment --image=nginx` has no node selector, and a process
  // node cannot run an nginx image.
  const cluster = await ChaosCluster.start({ config: { name: 'rollout', nodes: { simulatedProcesses: 1, nodesPerProcess: 3, processNodes: 0 } } });
  const home = mkdtempSync(join(tmpdir(), 'kplane-rollout-home-'));
  t.teardown(async () => {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const { env, kubectl, ok } = clusterKubectl(t, cluster, home, KUBECTL_TIMEOUT_MS);
  const replicaSetNames = async (namespace: string): Promise<string[]> =>
    tableRows(await ok(['get', 'rs', '-n', namespace, '-o', 'name'])).map((row) => row[0] ?? '').sort();

  // Wait for the nodes to be there before the first rollout (the API server may still be starting).
  for (let attempt = 0; attempt < 60; attempt++) {
    const nodes = await runKubectl(env, ['get', 'nodes', '-o', 'name']);
    if (nodes.code === 0 && tableRows(nodes.stdout).length === 3) break;
    await sleep(500);
  }

  t.regex(await ok(['create', 'deployment', 'web', '--image=nginx', '--replicas=3']), /deployment\.apps\/web created/);
  t.regex(await ok(['rollout', 'status', 'deployment/web', `--timeout=${ROLLOUT_TIMEOUT}`]), /successfully rolled out/);
  const firstReplicaSets = await replicaSetNames('default');
  t.is(firstReplicaSets.length, 1);

  t.regex(await ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.27']), /image updated/);
  t.regex(await ok(['rollout', 'status', 'deployment/web', `--timeout=${ROLLOUT_TIMEOUT}`]), /successfully rolled out/);
  t.is((await replicaSetNames('default')).length, 2);

  const revisions = async (): Promise<string[]> => {
    const history = await ok(['rollout', 'history', 'deployment/web']);
    return history.split('\n').filter((line) => /^\d+\s/.test(line.trim())).map((line) => line.trim().split(/\s+/)[0] ?? '');
  };
  t.deepEqual(await revisions(), ['1', '2']);

  t.regex(await ok(['rollout', 'undo', 'deployment/web']), /rolled back/);
  t.regex(await ok(['rollout', 'status', 'deployment/web', `--timeout=${ROLLOUT_TIMEOUT}`]), /successfully rolled out/);
  const afterUndo = await replicaSetNames('default');
  t.is(afterUndo.length, 2, `undo reuses the old ReplicaSet: ${afterUndo.join(', ')}`);
  t.true(afterUndo.includes(firstReplicaSets[0] ?? ''), 'the first ReplicaSet is still there');
  // Undo moves revision 1 forward to 3; the history keeps the one it left (2).
  t.deepEqual(await revisions(), ['2', '3']);
  t.regex(await ok(['get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), /^nginx$/);

  t.regex(await ok(['wait', '--for=condition=Available', 'deployment/web', '--timeout=60s']), /condition met/);

  t.regex(await ok(['scale', 'deployment/web', '--replicas=5']), /scaled/);
  t.regex(await ok(['rollout', 'status', 'deployment/web', `--timeout=${ROLLOUT_TIMEOUT}`]), /successfully rolled out/);
  t.is(await ok(['get', 'deployment', 'web', '-o', 'jsonpath={.status.readyReplicas}']), '5');

  // describe shows each object's events: the controllers', the scheduler's and the node agent's.
  const describedDeployment = await ok(['describe', 'deployment', 'web']);
  t.regex(describedDeployment, /^Events:\s*$/m);
  t.regex(describedDeployment, /Normal\s+ScalingReplicaSet\s+\S+\s+\S+\s+Scaled up replica set web-\w+ from 3 to 5/);
  const podName = (await ok(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
  const describedPod = await ok(['describe', 'pod', podName]);
  t.regex(describedPod, new RegExp(`Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned default/${podName} to \\S+`));
  const describedReplicaSet = await ok(['describe', 'rs', firstReplicaSets[0]?.replace(/^replicaset\.apps\//, '') ?? '']);
  t.regex(describedReplicaSet, /Normal\s+SuccessfulCreate\s+\S+\s+\S+\s+Created \d+ pod\(s\)/);
  const nodeName = (await ok(['get', 'pod', podName, '-o', 'jsonpath={.spec.nodeName}'])).trim();
  t.regex(await ok(['describe', 'node', nodeName]), /Normal\s+Starting\s+\S+\s+kubelet\s+Starting kplane node agent \(simulated\)\./);

  t.regex(await ok(['rollout', 'restart', 'deployment/web']), /restarted/);
  t.regex(await ok(['rollout', 'status', 'deployment/web', `--timeout=${ROLLOUT_TIMEOUT}`]), /successfully rolled out/);

  // pause: a template change makes no new ReplicaSet until resume; then the rollout completes.
  t.regex(await ok(['rollout', 'pause', 'deployment/web']), /paused/);
  const beforePause = await replicaSetNames('default');
  t.regex(await ok(['set', 'image', 'deployment/web', 'nginx=nginx:1.28']), /image updated/);
  await sleep(2_000);
  t.deepEqual(await replicaSetNames('default'), beforePause, 'no new ReplicaSet while paused');
  t.regex(await ok(['get', 'deployment', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}']), /DeploymentPaused/);
  t.regex(await ok(['rollout', 'resume', 'deployment/web']), /resumed/);
  t.regex(await ok(['rollout', 'status', 'deployment/web', `--timeout=${ROLLOUT_TIMEOUT}`]), /successfully rolled out/);
  t.is(await ok(['get', 'deployment', 'web', '-o', 'jsonpath={.status.updatedReplicas} {.spec.template.spec.containers[0].image}']), '5 nginx:1.28');
  // kubectl events lists a deployment's events (core/v1 events, filtered with --for).
  t.regex(await ok(['events', '--for', 'deployment/web']), /ScalingReplicaSet\s+Deployment\/web\s+Scaled/);

  // A namespace with a running deployment is deleted to the end by the namespace controller.
  t.regex(await ok(['create', 'namespace', 'doomed']), /namespace\/doomed created/);
  t.regex(await ok(['create', 'deployment', 'app', '--image=nginx', '--replicas=2', '-n', 'doomed']), /created/);
  t.regex(await ok(['rollout', 'status', 'deployment/app', '-n', 'doomed', `--timeout=${ROLLOUT_TIMEOUT}`]), /successfully rolled out/);
  t.regex(await ok(['delete', 'namespace', 'doomed', '--wait=false']), /namespace "doomed" deleted/);
  let gone = false;
  const deadline = Date.now() + 30_000;
  while (!gone && Date.now() < deadline) {
    const result = await runKubectl(env, ['get', 'namespace', 'doomed']);
    gone = result.code !== 0 && /NotFound|not found/.test(result.stderr);
    if (!gone) await sleep(500);
  }
  if (!gone) t.log((await kubectl(['get', 'namespace', 'doomed', '-o', 'yaml'])).stdout);
  t.true(gone, 'namespace doomed is gone within 30 s');
});
