// A Job on a whole cluster (`kplane up` through ChaosCluster, one process of two simulated nodes),
// driven by the real kubectl: a Job of completions 3 and parallelism 2 whose pods `sleep 2` is created
// from YAML, `kubectl wait --for=condition=complete` returns, and the Job, its three Succeeded pods and
// `kubectl get job` show the run, and `kubectl logs job/pi` reads one of its pods. The simulated nodes
// end the pods as their command says.

import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { kubectlMissingReason } from './kubectl-helpers.js';

const KUBECTL_TIMEOUT_MS = 180_000;

interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function kubectlRunner(kubeconfig: string, home: string): (args: readonly string[], stdin?: string) => Promise<KubectlResult> {
  return (args, stdin) =>
    new Promise((resolve) => {
      const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { ...process.env, HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), KUBECTL_TIMEOUT_MS);
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr });
      });
      child.stdin.end(stdin ?? '');
    });
}

const JOB = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'pi' },
  spec: {
    completions: 3,
    parallelism: 2,
    template: { spec: { restartPolicy: 'Never', terminationGracePeriodSeconds: 1, containers: [{ name: 'pi', image: 'busybox', command: ['sh', '-c', 'sleep 2'], resources: { requests: { cpu: '10m' } } }] } },
  },
};

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`jobs cluster test skipped: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.serial.skip;

kubectlTest('a Job of completions 3, parallelism 2 runs to Complete and kubectl wait --for=condition=complete returns', async (t) => {
  const cluster = await ChaosCluster.start({ config: { name: 'jobs', nodes: { simulatedProcesses: 1, nodesPerProcess: 2, processNodes: 0 } } });
  const home = mkdtempSync(join(tmpdir(), 'kplane-jobs-home-'));
  t.teardown(async () => {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const kubectl = kubectlRunner(join(cluster.dir.root, 'kubeconfig'), home);

  const created = await kubectl(['create', '-f', '-'], JSON.stringify(JOB));
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /job\.batch\/pi created/);
  const waited = await kubectl(['wait', '--for=condition=complete', 'job/pi', '--timeout=150s']);
  t.is(waited.code, 0, `kubectl wait: ${waited.stderr}\n${cluster.logTails(20)}`);
  t.regex(waited.stdout, /job\.batch\/pi condition met/);

  const job = JSON.parse((await kubectl(['get', 'job', 'pi', '-o', 'json'])).stdout) as { status: { succeeded?: number; failed?: number; active?: number; startTime?: string; completionTime?: string } };
  t.is(job.status.succeeded, 3);
  t.is(job.status.failed ?? 0, 0);
  t.is(job.status.active ?? 0, 0);
  t.truthy(job.status.startTime);
  t.truthy(job.status.completionTime);
  const pods = JSON.parse((await kubectl(['get', 'pods', '-l', 'batch.kubernetes.io/job-name=pi', '-o', 'json'])).stdout) as { items: { status: { phase: string } }[] };
  t.deepEqual(
    pods.items.map((pod) => pod.status.phase),
    ['Succeeded', 'Succeeded', 'Succeeded'],
  );
  const logs = await kubectl(['logs', 'job/pi']);
  t.is(logs.code, 0, `kubectl logs job/pi finds a pod of the Job: ${logs.stderr}`);
  const printed = await kubectl(['get', 'job', 'pi']);
  t.regex(printed.stdout, /^pi\s+Complete\s+3\/3\s+\d+s\s+\d+s$/m, printed.stdout);
});
