// Per-process addresses and `kplane up --only` (docs/multi-host.md): what the config resolves each
// process's listen and advertise address to, what the plan passes to the processes, which share
// `--only` selects, and the refusals that name the bad field or name.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterDir } from '../../src/cluster/cluster-dir.js';
import { clusterProcessNames, ConfigError, defineCluster, processAddress, type ClusterConfigInput } from '../../src/cluster/config.js';
import { apiServerActorNode, apiServerUrl, planCluster, replicaListArgument, UnknownProcessError } from '../../src/cluster/plan.js';

function withDir(t: { teardown(fn: () => void): void }): ClusterDir {
  const root = mkdtempSync(join(tmpdir(), 'kplane-placement-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = new ClusterDir(root);
  dir.ensure();
  return dir;
}

function argAfter(args: readonly string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index < 0 ? undefined : args[index + 1];
}

test('every address defaults to host; sections and processes override it; listen defaults to advertise', (t) => {
  const plain = defineCluster({ host: '10.0.0.5' });
  t.deepEqual(processAddress(plain, 'store-1'), { listen: '10.0.0.5', advertise: '10.0.0.5' });
  t.is(plain.apiServer.host, '10.0.0.5', 'the API servers follow host unless set themselves');
  const placed = defineCluster({
    store: { host: '127.0.0.2' },
    apiServer: { host: '127.0.0.3' },
    processes: { 'store-2': { advertise: '10.0.0.12', listen: '0.0.0.0' }, 'node-1': { advertise: '10.0.0.20' } },
  });
  t.deepEqual(processAddress(placed, 'store-1'), { listen: '127.0.0.2', advertise: '127.0.0.2' });
  t.deepEqual(processAddress(placed, 'store-2'), { listen: '0.0.0.0', advertise: '10.0.0.12' });
  t.deepEqual(processAddress(placed, 'apiserver-1'), { listen: '127.0.0.3', advertise: '127.0.0.3' });
  t.deepEqual(processAddress(placed, 'scheduler'), { listen: '127.0.0.1', advertise: '127.0.0.1' });
  t.is(replicaListArgument(placed), `1=store-1@127.0.0.2:7101,2=store-2@10.0.0.12:7102,3=store-3@127.0.0.2:7103`);
  t.is(apiServerUrl(placed), 'https://127.0.0.3:6443');
  t.is(apiServerActorNode(placed), 'apiserver-1@127.0.0.3:7201');
  t.is(apiServerUrl(defineCluster({ apiServer: { host: '::1' } })), 'https://[::1]:6443');
});

test('the plan passes the advertise address, and --listen-host only where listen differs', (t) => {
  const dir = withDir(t);
  const config = defineCluster({ processes: { 'store-3': { listen: '0.0.0.0' }, 'apiserver-1': { listen: '0.0.0.0', advertise: '10.0.0.3' } } });
  const specs = new Map(planCluster(config, dir).processes.map((spec) => [spec.name, spec]));
  t.is(argAfter(specs.get('store-1')?.args ?? [], '--listen-host'), undefined);
  t.is(argAfter(specs.get('store-3')?.args ?? [], '--listen-host'), '0.0.0.0');
  const api = specs.get('apiserver-1')?.args ?? [];
  t.is(argAfter(api, '--host'), '10.0.0.3');
  t.is(argAfter(api, '--listen-host'), '0.0.0.0');
  t.is(argAfter(specs.get('scheduler')?.args ?? [], '--api-server'), 'apiserver-1@10.0.0.3:7201');
});

test('--only selects process names and roles, keeps the start order, and refuses unknown names', (t) => {
  const dir = withDir(t);
  const config = defineCluster({ controllerManager: { count: 2 }, nodes: { simulatedProcesses: 1, processNodes: 1 } });
  const names = (only: readonly string[]): string[] => planCluster(config, dir, only).processes.map((spec) => spec.name);
  t.deepEqual(names(['store']), ['store-1', 'store-2', 'store-3']);
  t.deepEqual(names(['node-1', 'store-2', 'apiserver']), ['store-2', 'apiserver-1', 'node-1']);
  t.deepEqual(names(['node-agent', 'controller-manager-2']), ['controller-manager-2', 'sim-nodes-1', 'node-1']);
  t.deepEqual(planCluster(config, dir).processes.map((spec) => spec.name), clusterProcessNames(config));
  const error = t.throws(() => planCluster(config, dir, ['store-1', 'store-4']), { instanceOf: UnknownProcessError });
  t.regex(error?.message ?? '', /store-4 is not a process or role/);
  t.throws(() => planCluster(config, dir, []), { instanceOf: UnknownProcessError });
});

const refusals: Array<[string, ClusterConfigInput, string]> = [
  ['an unknown process', { processes: { 'apiserver-4': { advertise: '10.0.0.1' } } }, 'processes.apiserver-4'],
  ['an unknown field', { processes: { 'store-1': { port: 1 } as unknown as { advertise: string } } }, 'processes.store-1.port'],
  ['a blank listen address', { processes: { 'apiserver-1': { listen: ' ' } } }, 'processes.apiserver-1.listen'],
  ['a wildcard advertise address', { processes: { 'store-1': { advertise: '0.0.0.0' } } }, 'processes.store-1.advertise'],
  ['a wildcard store.host', { store: { host: '::' } }, 'store.host'],
  ['a wildcard host', { host: '0.0.0.0' }, 'host'],
];
for (const [title, input, field] of refusals) {
  test(`refuses ${title}, naming ${field}`, (t) => {
    const error = t.throws(() => defineCluster(input), { instanceOf: ConfigError });
    t.is(error?.field, field);
  });
}

test('processes.store-N beyond store.replicas is allowed (a replica that joins with kplane join), and addresses it', (t) => {
  const config = defineCluster({ processes: { 'store-4': { advertise: '127.0.0.2' } } });
  t.deepEqual(processAddress(config, 'store-4'), { listen: '127.0.0.2', advertise: '127.0.0.2' });
});
