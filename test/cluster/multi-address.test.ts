// A cluster spread over "hosts" on one machine (docs/multi-host.md): the store replicas on 127.0.0.2
// (one of them bound to every interface while advertising 127.0.0.2), the API server on 127.0.0.3,
// started as two `kplane up --only` groups from one config, each in its own cluster directory (as two
// machines would have), the second one given the first one's credentials by `kplane export-credentials`.
// @kubernetes/client-node drives it with the kubeconfig the second group wrote (so the API server's
// certificate names 127.0.0.3), each group's `status` lists its share only, and `down` of each group
// leaves no process behind. Linux routes all of 127/8 to the loopback interface, so these addresses
// exist without any set-up.
import test from 'ava';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ClusterDir, isAlive } from '../../src/cluster/cluster-dir.js';
import type { ClusterConfigInput } from '../../src/cluster/config.js';
import { freePortRange, runCli } from '../../src/testing/chaos/chaos-cluster.js';

const STORE_HOST = '127.0.0.2';
const API_HOST = '127.0.0.3';
const WAIT_MS = 30_000;

/** True when something accepts a TCP connection at host:port. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls `read` until `accept` holds or the time is up; returns the last value read (errors count as "not yet"). */
async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = WAIT_MS): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (accept(last)) return last;
    } catch {
      // not serving yet; try again
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return last;
}

/** `kplane down` of one group; returns the processes (and launcher) of that group still alive after it. */
async function downGroup(dir: ClusterDir): Promise<string[]> {
  const before = dir.readState();
  const result = await runCli(['down', '--dir', dir.root]);
  if (result.code !== 0) return [`kplane down failed: ${result.output}`];
  const survivors: string[] = [];
  for (const state of [before, dir.readState()]) {
    if (state === undefined) continue;
    if (isAlive(state.launcherPid)) survivors.push(`launcher (pid ${state.launcherPid})`);
    for (const entry of state.processes) if (isAlive(entry.pid)) survivors.push(`${entry.name} (pid ${entry.pid})`);
  }
  for (const state of [before, dir.readState()]) {
    for (const pid of [state?.launcherPid, ...(state?.processes ?? []).map((entry) => entry.pid)]) if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
  }
  return survivors;
}

test('two `up --only` groups on different loopback addresses make one cluster that kubectl drives, and each `down` leaves no orphans', async (t) => {
  t.timeout(180_000);
  const root = mkdtempSync(join(tmpdir(), 'kplane-multi-'));
  const base = await freePortRange(5);
  const input: ClusterConfigInput = {
    name: 'multi',
    store: { replicas: 3, basePort: base, host: STORE_HOST },
    apiServer: { count: 1, host: API_HOST, port: base + 3, actorPort: base + 4 },
    scheduler: { shards: 1 },
    nodes: { simulatedProcesses: 1, nodesPerProcess: 2, processNodes: 0 },
    // One replica binds every interface and advertises the store host (--listen-host).
    processes: { 'store-3': { listen: '0.0.0.0', advertise: STORE_HOST } },
  };
  const configFile = join(root, 'cluster.json');
  writeFileSync(configFile, JSON.stringify(input));
  const storeHost = new ClusterDir(join(root, 'host-a'));
  const apiHost = new ClusterDir(join(root, 'host-b'));
  t.teardown(async () => {
    await downGroup(apiHost);
    await downGroup(storeHost);
    if (process.env['KPLANE_CHAOS_KEEP'] !== '1') rmSync(root, { recursive: true, force: true });
  });

  const exported = await runCli(['export-credentials', apiHost.root, '--dir', storeHost.root, '--config', configFile]);
  t.is(exported.code, 0, exported.output);
  const storeUp = await runCli(['up', '--detach', '--only', 'store', '--dir', storeHost.root, '--config', configFile]);
  t.is(storeUp.code, 0, storeUp.output);
  const restUp = await runCli(['up', '--detach', '--only', 'apiserver,controller-manager-1,scheduler,node-agent', '--dir', apiHost.root, '--config', configFile]);
  t.is(restUp.code, 0, restUp.output);

  // Each group's state lists its share only.
  t.deepEqual(storeHost.readState()?.processes.map((entry) => entry.name), ['store-1', 'store-2', 'store-3']);
  t.deepEqual(apiHost.readState()?.processes.map((entry) => entry.name), ['apiserver-1', 'controller-manager-1', 'scheduler', 'sim-nodes-1']);
  t.false(existsSync(join(apiHost.root, 'store-1')), 'no folder for another host\'s process');
  const status = await runCli(['status', '--json', '--dir', storeHost.root]);
  t.is(status.code, 0, status.output);
  t.true(status.output.includes('"store-1"') && !status.output.includes('"apiserver-1"'), status.output);

  // Bound where the config says, and not elsewhere.
  t.true(await accepts(STORE_HOST, base), 'store-1 listens on 127.0.0.2');
  t.false(await accepts('127.0.0.1', base), 'store-1 does not listen on 127.0.0.1');
  t.true(await accepts('127.0.0.1', base + 2), 'store-3 (listen 0.0.0.0) answers on 127.0.0.1 too');
  t.true(await accepts(API_HOST, base + 3), 'the API server listens on 127.0.0.3');
  t.false(await accepts('127.0.0.1', base + 3), 'the API server does not listen on 127.0.0.1');

  const kc = new k8s.KubeConfig();
  kc.loadFromFile(join(apiHost.root, 'kubeconfig'));
  t.is(kc.getCurrentCluster()?.server, `https://${API_HOST}:${base + 3}`);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const nodes = await eventually(
    () => core.listNode(),
    (list) => list.items.filter((node) => node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length === 2,
  );
  t.deepEqual(nodes?.items.map((node) => node.metadata?.name).sort(), ['sim-1-1', 'sim-1-2']);
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'placed' }, data: { where: 'two hosts' } } });
  const read = await core.readNamespacedConfigMap({ namespace: 'default', name: 'placed' });
  t.is(read.data?.['where'], 'two hosts');

  t.deepEqual(await downGroup(apiHost), [], 'no process of the API group outlives its down');
  t.deepEqual(await downGroup(storeHost), [], 'no process of the store group outlives its down');
});

test('`up --only` refuses a name that is not a process or role of the config', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kplane-multi-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const configFile = join(root, 'cluster.json');
  writeFileSync(configFile, JSON.stringify({ name: 'multi', store: { basePort: 29_990 } }));
  const result = await runCli(['up', '--detach', '--only', 'store-1,store-9', '--dir', join(root, 'dir'), '--config', configFile]);
  t.is(result.code, 2, result.output);
  t.regex(result.output, /--only: store-9 is not a process or role/);
});
