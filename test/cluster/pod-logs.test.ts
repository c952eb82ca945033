// pods/log and pods/eviction on a whole cluster (`kplane up` through ChaosCluster): a process node runs
// real `sh -c` children and the API server asks its node agent for their output over the actor
// transport. kubectl logs prints the output (all, --tail=1, --timestamps, --since, and -f with a later line), client-node's
// readNamespacedPodLog reads it too, a simulated node answers its synthetic lines, kubectl top shows
// both nodes' usage (metrics.k8s.io), and kubectl drain evicts the pods of the process node through
// pods/eviction.

import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { kubectlMissingReason, tableRows } from './kubectl-helpers.js';
import { SIMULATE_CPU_ANNOTATION, SIMULATE_MEMORY_ANNOTATION } from '../../src/node-agent/stats.js';
import { eventually as pollUntil } from '../../src/testing/chaos/pod-invariants.js';

const NAMESPACE = 'default';
const PROCESS_NODE = 'node-1';
const WAIT_MS = 30_000;
const KUBECTL_TIMEOUT_MS = 60_000;

/** Polls `read` until `accept` holds or WAIT_MS is up (pod-invariants' `eventually` with this file's bound). */
const eventually = <T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = WAIT_MS): Promise<T | undefined> => pollUntil(read, accept, timeoutMs);

interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function kubectlRunner(kubeconfig: string, home: string): (args: readonly string[]) => Promise<KubectlResult> {
  return (args) =>
    new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: home }, timeout: KUBECTL_TIMEOUT_MS }, (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      });
    });
}

function processPod(name: string, script: string): k8s.V1Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { nodeName: PROCESS_NODE, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'none', command: ['sh', '-c', script] }] } };
}

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`pod-logs cluster test skipped: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.serial.skip;

kubectlTest('kubectl logs (all, --tail, -f), client-node readNamespacedPodLog and kubectl drain on a real cluster', async (t) => {
  const cluster = await ChaosCluster.start({ config: { name: 'pod-logs', nodes: { simulatedProcesses: 1, nodesPerProcess: 1, processNodes: 1 } } });
  const home = mkdtempSync(join(tmpdir(), 'kplane-pod-logs-home-'));
  t.teardown(async () => {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const logsOnFailure = (): string => cluster.logTails(15);
  const kubeconfig = join(cluster.dir.root, 'kubeconfig');
  const kubectl = kubectlRunner(kubeconfig, home);
  const core = cluster.kubeConfig().makeApiClient(k8s.CoreV1Api);

  await core.createNamespacedPod({ namespace: NAMESPACE, body: processPod('hello', 'echo hello; echo second; sleep 600') });
  await core.createNamespacedPod({ namespace: NAMESPACE, body: processPod('ticker', 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done') });

  const all = await eventually(() => kubectl(['logs', 'hello']), (result) => result.code === 0 && result.stdout === 'hello\nsecond\n');
  t.is(all?.stdout, 'hello\nsecond\n', `kubectl logs hello: ${JSON.stringify(all)}\n${logsOnFailure()}`);
  const tail = await kubectl(['logs', 'hello', '--tail=1']);
  t.is(tail.stdout, 'second\n', tail.stderr);
  // --timestamps: each line with the time the node agent saw it written; --since keeps recent lines.
  const stamped = await kubectl(['logs', 'hello', '--timestamps']);
  t.regex(stamped.stdout, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z hello\n\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z second\n$/, stamped.stderr);
  t.is((await kubectl(['logs', 'hello', '--since=1h'])).stdout, 'hello\nsecond\n');

  const fromClient = await eventually(() => core.readNamespacedPodLog({ name: 'hello', namespace: NAMESPACE, container: 'main' }), (text) => text === 'hello\nsecond\n');
  t.is(fromClient, 'hello\nsecond\n');
  t.is(await core.readNamespacedPodLog({ name: 'hello', namespace: NAMESPACE, tailLines: 1 }), 'second\n');

  // -f: the stream stays open and shows lines written after it started.
  await eventually(() => kubectl(['logs', 'ticker', '--tail=1']), (result) => /tick-\d+/.test(result.stdout));
  const follower = spawn('kubectl', ['--kubeconfig', kubeconfig, 'logs', '-f', 'ticker', '--tail=1'], { env: { ...process.env, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let followed = '';
  let followErrors = '';
  follower.stdout.on('data', (chunk: Buffer) => (followed += chunk.toString('utf8')));
  follower.stderr.on('data', (chunk: Buffer) => (followErrors += chunk.toString('utf8')));
  t.teardown(() => {
    if (follower.exitCode === null) follower.kill('SIGKILL');
  });
  const ticks = (): number[] => [...followed.matchAll(/tick-(\d+)/g)].map((match) => Number(match[1]));
  await eventually(
    () => Promise.resolve(ticks()),
    (seen) => seen.length >= 4,
    20_000,
  );
  const seen = ticks();
  t.true(seen.length >= 4, `kubectl logs -f showed later lines: ${JSON.stringify(followed)} ${followErrors}\n${logsOnFailure()}`);
  t.deepEqual(
    seen,
    seen.map((_, index) => (seen[0] ?? 0) + index),
    'one line per tick, in order, none repeated',
  );
  t.is(follower.exitCode, null, 'the -f stream is still open');
  follower.kill('SIGTERM');

  // A simulated node answers synthetic lines.
  await core.createNamespacedPod({ namespace: NAMESPACE, body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'sim', annotations: { [SIMULATE_CPU_ANNOTATION]: '250m', [SIMULATE_MEMORY_ANNOTATION]: '64Mi' } }, spec: { nodeSelector: { 'kplane.io/node-agent': 'simulated' }, containers: [{ name: 'app', image: 'nginx' }] } } });
  const simulated = await eventually(() => kubectl(['logs', 'sim']), (result) => result.code === 0);
  t.regex(simulated?.stdout ?? '', /simulated container app of pod default\/sim started/, JSON.stringify(simulated));

  // kubectl top: metrics.k8s.io from the node agents. The simulated pod reports what its annotations
  // say; the process node measures its containers' processes and the machine from /proc.
  const topPods = await eventually(() => kubectl(['top', 'pod', '--no-headers']), (result) => result.code === 0 && tableRows(result.stdout).length === 3);
  const podRows = new Map(tableRows(topPods?.stdout ?? '').map((row) => [row[0], row]));
  t.deepEqual(podRows.get('sim'), ['sim', '250m', '64Mi'], `kubectl top pod: ${JSON.stringify(topPods)}\n${logsOnFailure()}`);
  for (const name of ['hello', 'ticker']) t.regex(podRows.get(name)?.slice(1).join(' ') ?? '', /^\d+m [1-9]\d*Mi$/, `${name}: a real process uses some memory`);
  const topNodes = await kubectl(['top', 'node', '--no-headers']);
  t.is(topNodes.code, 0, topNodes.stderr);
  const nodeRows = new Map(tableRows(topNodes.stdout).map((row) => [row[0], row]));
  t.regex(nodeRows.get(PROCESS_NODE)?.slice(1).join(' ') ?? '', /^\d+m \d+% [1-9]\d*Mi \d+%$/, topNodes.stdout);
  // The simulated node: its pod's 250m and 64Mi plus its system's 100m and 512Mi.
  t.regex(nodeRows.get('sim-1-1')?.slice(1).join(' ') ?? '', /^350m \d+% 576Mi \d+%$/, topNodes.stdout);

  // drain evicts the process node's pods (pods/eviction) and they go away.
  const drain = await kubectl(['drain', PROCESS_NODE, '--force', '--grace-period=1', '--timeout=60s']);
  t.is(drain.code, 0, `${drain.stdout}\n${drain.stderr}\n${logsOnFailure()}`);
  t.regex(drain.stdout, /evicted/);
  const left = await eventually(
    () => core.listNamespacedPod({ namespace: NAMESPACE, fieldSelector: `spec.nodeName=${PROCESS_NODE}` }),
    (list) => list.items.length === 0,
  );
  t.is(left?.items.length, 0, 'the drained node has no pods left');
});
