// The process runtime: containers as local child processes through the real API pipeline.
// `sh -c 'echo hello; sleep 600'` runs and logs hello; deleting the pod ends the process within its
// grace period (SIGKILL for one that ignores SIGTERM); a crashing container backs off with growing
// restart counts; Never/OnFailure end the pod Succeeded or Failed; a container without a command is
// refused clearly; a restarted agent adopts its running children instead of starting them twice.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { silentLogger, systemClock } from '../../src/actors/index.js';
import { ApiClient, isNotFound, LocalApiTransport, PODS, type KubeObject } from '../../src/client/index.js';
import { ProcessNode } from '../../src/node-agent/process.js';
import { ADMIN, testApi, type TestApi } from './api-helpers.js';

interface ContainerStatus {
  readonly restartCount: number;
  readonly state: { readonly running?: unknown; readonly waiting?: { reason: string; message?: string }; readonly terminated?: { exitCode: number; reason: string } };
  readonly lastState?: { readonly terminated?: { exitCode: number } };
}
interface PodStatus {
  readonly phase?: string;
  readonly conditions?: { type: string; status: string }[];
  readonly containerStatuses?: ContainerStatus[];
}

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Harness {
  readonly api: TestApi;
  readonly admin: ApiClient;
  readonly dataDir: string;
  agent(): ProcessNode;
  status(name: string): Promise<PodStatus>;
  gone(name: string): Promise<boolean>;
  run(name: string, containers: KubeObject[], spec?: KubeObject): Promise<void>;
  cleanup(): void;
}

async function harness(): Promise<Harness> {
  const api = await testApi();
  const admin = new ApiClient(new LocalApiTransport(api.handler, ADMIN));
  const dataDir = mkdtempSync(join(tmpdir(), 'kplane-process-node-'));
  const agents: ProcessNode[] = [];
  const make = (): ProcessNode => {
    const agent = new ProcessNode({
      client: new ApiClient(new LocalApiTransport(api.handler, { name: 'system:node:local', groups: ['system:nodes', 'system:authenticated'] })),
      clock: systemClock,
      log: silentLogger(),
      spec: { name: 'local', capacity: { cpu: '4', memory: '8Gi', pods: 110 } },
      dataDir,
      crashLoopBackoffInitialMs: 100,
      crashLoopBackoffMaxMs: 400,
    });
    agents.push(agent);
    return agent;
  };
  return {
    api,
    admin,
    dataDir,
    agent: make,
    status: async (name) => ((await admin.get(PODS, 'default', name))['status'] ?? {}) as PodStatus,
    gone: async (name) => {
      try {
        await admin.get(PODS, 'default', name);
        return false;
      } catch (error) {
        return isNotFound(error);
      }
    },
    run: async (name, containers, spec = {}) => {
      await admin.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers, ...spec } });
      await admin.bind('default', name, 'local');
    },
    cleanup: () => {
      for (const agent of agents) agent.stop({ killPods: true });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const shell = (name: string, script: string): KubeObject => ({ name, image: 'none', command: ['sh', '-c'], args: [script] });

test('sh -c "echo hello; sleep 600" runs, logs hello, and ends within its grace period when the pod is deleted', async (t) => {
  const h = await harness();
  const agent = h.agent();
  await agent.start();
  await h.run('hello', [shell('main', 'echo hello; sleep 600')], { terminationGracePeriodSeconds: 30 });
  await eventually(async () => (await h.status('hello')).conditions?.find((condition) => condition.type === 'Ready')?.status === 'True', 'hello running and ready');
  t.is((await h.status('hello')).phase, 'Running');
  const logFile = agent.logPath('default', 'hello', 'main') ?? '';
  await eventually(() => readFileSync(logFile, 'utf8') === 'hello\n', 'hello in the log');
  const state = JSON.parse(readFileSync(join(logFile, '..', '..', 'state.json'), 'utf8')) as { containers: { main: { pid: number } } };
  const pid = state.containers.main.pid;
  t.true(isAlive(pid));
  const deletedAt = Date.now();
  await h.admin.delete(PODS, 'default', 'hello');
  await eventually(() => h.gone('hello'), 'the pod removed by its node');
  t.true(Date.now() - deletedAt < 20_000, 'ended by SIGTERM, well within the 30 s grace period');
  t.false(isAlive(pid), 'the process is gone');
  h.cleanup();
});

test('a process that ignores SIGTERM is killed when its grace period ends', async (t) => {
  const h = await harness();
  await h.agent().start();
  await h.run('stubborn', [shell('main', 'trap "" TERM; while true; do sleep 0.1; done')], { terminationGracePeriodSeconds: 1 });
  await eventually(async () => (await h.status('stubborn')).phase === 'Running', 'stubborn running');
  const deletedAt = Date.now();
  await h.admin.delete(PODS, 'default', 'stubborn');
  await eventually(() => h.gone('stubborn'), 'the pod removed after SIGKILL');
  const tookMs = Date.now() - deletedAt;
  t.true(tookMs >= 900 && tookMs < 20_000, `killed once the 1 s grace period ended, not before (took ${tookMs} ms)`);
  h.cleanup();
});

test('a crashing container backs off with growing restart counts; Never and OnFailure end the pod', async (t) => {
  const h = await harness();
  await h.agent().start();
  await h.run('crasher', [shell('main', 'echo boom; exit 3')]);
  let sawBackOff = false;
  await eventually(async () => {
    const container = (await h.status('crasher')).containerStatuses?.[0];
    if (container?.state.waiting?.reason === 'CrashLoopBackOff') sawBackOff = true;
    return (container?.restartCount ?? 0) >= 3;
  }, 'three restarts');
  const container = (await h.status('crasher')).containerStatuses?.[0];
  t.is(container?.lastState?.terminated?.exitCode, 3);
  t.true(sawBackOff || container?.state.waiting?.reason === 'CrashLoopBackOff', 'CrashLoopBackOff shown while backing off');
  await h.run('once-ok', [shell('main', 'exit 0')], { restartPolicy: 'Never' });
  await h.run('once-bad', [shell('main', 'exit 4')], { restartPolicy: 'Never' });
  await h.run('retry-ok', [shell('main', 'exit 0')], { restartPolicy: 'OnFailure' });
  await eventually(async () => (await h.status('once-ok')).phase === 'Succeeded', 'once-ok succeeded');
  await eventually(async () => (await h.status('once-bad')).phase === 'Failed', 'once-bad failed');
  await eventually(async () => (await h.status('retry-ok')).phase === 'Succeeded', 'retry-ok succeeded without restarts');
  t.is((await h.status('once-bad')).containerStatuses?.[0]?.state.terminated?.exitCode, 4);
  t.is((await h.status('retry-ok')).containerStatuses?.[0]?.restartCount, 0);
  h.cleanup();
});

test('a container without a command is refused with a clear reason (no images here)', async (t) => {
  const h = await harness();
  await h.agent().start();
  await h.run('imageonly', [{ name: 'web', image: 'nginx' }]);
  await eventually(async () => (await h.status('imageonly')).containerStatuses?.[0]?.state.waiting?.reason === 'CreateContainerConfigError', 'the refusal');
  const status = await h.status('imageonly');
  t.is(status.phase, 'Pending');
  t.regex(status.containerStatuses?.[0]?.state.waiting?.message ?? '', /command is required/);
  h.cleanup();
});

test('a restarted agent adopts its running children instead of starting them again', async (t) => {
  const h = await harness();
  const first = h.agent();
  await first.start();
  await h.run('long', [shell('main', 'sleep 600')]);
  await eventually(async () => (await h.status('long')).phase === 'Running', 'long running');
  const stateFile = join(h.dataDir, 'pods', String(((await h.admin.get(PODS, 'default', 'long'))['metadata'] as { uid: string }).uid), 'state.json');
  const pid = (JSON.parse(readFileSync(stateFile, 'utf8')) as { containers: { main: { pid: number } } }).containers.main.pid;
  first.stop(); // the agent goes away; its child keeps running
  const second = h.agent();
  await second.start();
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = (JSON.parse(readFileSync(stateFile, 'utf8')) as { containers: { main: { pid: number } } }).containers.main.pid;
  t.is(after, pid, 'the same process, not a second one');
  t.true(isAlive(pid));
  t.is((await h.status('long')).containerStatuses?.[0]?.restartCount, 0);
  await h.admin.delete(PODS, 'default', 'long', { gracePeriodSeconds: 2 });
  await eventually(() => h.gone('long'), 'the adopted pod removed');
  await eventually(() => !isAlive(pid), 'the adopted process ended');
  h.cleanup();
});

test('exec probes: readiness gates the Ready condition, a failing liveness probe restarts the container', async (t) => {
  const h = await harness();
  await h.agent().start();
  const flag = join(h.dataDir, 'ready-flag');
  const readiness = { exec: { command: ['sh', '-c', `test -f ${flag}`] }, periodSeconds: 1 };
  await h.run('gated', [{ ...shell('main', 'sleep 600'), readinessProbe: readiness }]);
  await eventually(async () => (await h.status('gated')).phase === 'Running', 'gated running');
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is((await h.status('gated')).conditions?.find((condition) => condition.type === 'Ready')?.status, 'False', 'not ready while the probe fails');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(flag, '');
  await eventually(async () => (await h.status('gated')).conditions?.find((condition) => condition.type === 'Ready')?.status === 'True', 'ready once the probe passes');
  await h.run('unhealthy', [{ ...shell('main', 'sleep 600'), livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 } }]);
  await eventually(async () => ((await h.status('unhealthy')).containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'a restart after the liveness probe failed');
  h.cleanup();
});
