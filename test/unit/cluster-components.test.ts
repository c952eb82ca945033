// The launcher's plan for the cluster's component processes, and the argument checks the component
// processes make before they touch the network (src/cluster/{plan,component}.ts, the component mains).
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterDir } from '../../src/cluster/cluster-dir.js';
import { ComponentArgsError, parseComponentArgs } from '../../src/cluster/component.js';
import { defineCluster } from '../../src/cluster/config.js';
import { apiServerActorNode, planCluster } from '../../src/cluster/plan.js';
import { parseNodeNames } from '../../src/node-agent/main.js';
import { parseProfileArgument } from '../../src/scheduler/main.js';

function tempDir(t: { teardown(fn: () => void): void }): ClusterDir {
  const root = mkdtempSync(join(tmpdir(), 'kplane-plan-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = new ClusterDir(root);
  dir.ensure();
  return dir;
}

function argOf(args: readonly string[], option: string): string | undefined {
  const index = args.indexOf(option);
  return index < 0 ? undefined : args[index + 1];
}

test('the default plan starts every component after the API server, nothing missing', (t) => {
  const dir = tempDir(t);
  const config = defineCluster({});
  const plan = planCluster(config, dir);
  t.deepEqual(plan.missing, []);
  t.deepEqual(
    plan.processes.map((process) => `${process.name}:${process.role}`),
    ['store-1:store', 'store-2:store', 'store-3:store', 'apiserver-1:apiserver', 'controller-manager-1:controller-manager', 'scheduler:scheduler', 'sim-nodes-1:node-agent', 'node-1:node-agent'],
  );
  const components = plan.processes.slice(4);
  for (const component of components) {
    t.is(argOf(component.args, '--api-server'), 'apiserver-1@127.0.0.1:7201');
    t.is(argOf(component.args, '--name'), component.name);
    t.is(argOf(component.args, '--dir'), dir.root);
    t.deepEqual(component.env, {}, 'components prove themselves with certificates, not the cluster secret');
  }
  const scheduler = components.find((process) => process.name === 'scheduler');
  t.is(argOf(scheduler?.args ?? [], '--shards'), '2');
  t.deepEqual(parseProfileArgument(argOf(scheduler?.args ?? [], '--profile')), config.scheduler.profile);
  const pool = components.find((process) => process.name === 'sim-nodes-1');
  t.is(argOf(pool?.args ?? [], '--mode'), 'simulated');
  t.is(argOf(pool?.args ?? [], '--nodes'), 'sim-1-1,sim-1-2,sim-1-3');
  t.is(argOf(pool?.args ?? [], '--cpu'), '4');
  const processNode = components.find((process) => process.name === 'node-1');
  t.is(argOf(processNode?.args ?? [], '--mode'), 'process');
  t.is(argOf(processNode?.args ?? [], '--nodes'), 'node-1');
  t.is(argOf(processNode?.args ?? [], '--data-dir'), join(dir.root, 'node-1', 'data'));
});

test('the plan follows the config: counts, node names, and components spread over the API servers', (t) => {
  const dir = tempDir(t);
  const config = defineCluster({
    apiServer: { count: 2, port: 16443, actorPort: 17201 },
    controllerManager: { count: 2 },
    scheduler: { shards: 4 },
    nodes: { simulatedProcesses: 2, nodesPerProcess: 2, processNodes: 0, capacity: { cpu: '8', memory: '16Gi', pods: 50 } },
  });
  const components = planCluster(config, dir).processes.filter((process) => process.role !== 'store' && process.role !== 'apiserver');
  t.deepEqual(
    components.map((process) => process.name),
    ['controller-manager-1', 'controller-manager-2', 'scheduler', 'sim-nodes-1', 'sim-nodes-2'],
  );
  t.deepEqual(
    components.map((process) => argOf(process.args, '--api-server')),
    [apiServerActorNode(config, 0), apiServerActorNode(config, 1), apiServerActorNode(config, 0), apiServerActorNode(config, 1), apiServerActorNode(config, 0)],
  );
  t.is(apiServerActorNode(config, 1), 'apiserver-2@127.0.0.1:17202');
  t.is(argOf(components[2]?.args ?? [], '--shards'), '4');
  t.is(argOf(components[4]?.args ?? [], '--nodes'), 'sim-2-1,sim-2-2');
  t.deepEqual([argOf(components[4]?.args ?? [], '--cpu'), argOf(components[4]?.args ?? [], '--memory'), argOf(components[4]?.args ?? [], '--pods')], ['8', '16Gi', '50']);
});

test('component arguments are checked before anything starts, with errors that name the option', (t) => {
  const good = parseComponentArgs('scheduler', ['--dir', '/d', '--name', 'scheduler', '--api-server', 'apiserver-1@127.0.0.1:7201', '--shards', '3'], { shards: { type: 'string' } });
  t.deepEqual(good.common, { dir: '/d', name: 'scheduler', apiServer: 'apiserver-1@127.0.0.1:7201', logLevel: 'info' });
  t.is(good.values['shards'], '3');
  const missing = t.throws(() => parseComponentArgs('scheduler', ['--dir', '/d', '--name', 's'], {}), { instanceOf: ComponentArgsError });
  t.regex(missing.message, /scheduler: --api-server is required/);
  t.throws(() => parseComponentArgs('scheduler', ['--dir', '/d', '--name', 's', '--api-server', 'a', '--log-level', 'loud'], {}), { message: /--log-level must be one of/ });
  t.throws(() => parseComponentArgs('scheduler', ['--dir', '/d', '--bogus', 'x'], {}), { instanceOf: ComponentArgsError });
  t.deepEqual(parseNodeNames('sim-1-1,sim-1-2'), ['sim-1-1', 'sim-1-2']);
  t.throws(() => parseNodeNames(''), { message: /names no node/ });
  t.throws(() => parseNodeNames('a,a'), { message: /twice/ });
  t.throws(() => parseNodeNames('Bad_Name'), { message: /DNS-1123/ });
  t.throws(() => parseProfileArgument('{"plugins":{"NoSuchPlugin":true}}'), { message: /unknown plugin "NoSuchPlugin"/ });
  t.throws(() => parseProfileArgument('{"weights":{"LeastAllocated":"heavy"}}'), { message: /weights must map plugin names to numbers/ });
  t.throws(() => parseProfileArgument('not json'), { message: /--profile is not JSON/ });
});

test('node agents get the config labels and taints, and a label naming their pool', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kplane-placement-'));
  try {
    const dir = new ClusterDir(root);
    dir.ensure();
    const config = defineCluster({ nodes: { simulatedProcesses: 1, processNodes: 0, labels: { zone: 'a' }, taints: [{ key: 'gpu', effect: 'NoSchedule' }] } });
    const pool = planCluster(config, dir).processes.find((spec) => spec.role === 'node-agent');
    const args = pool?.args ?? [];
    const labels = JSON.parse(args[args.indexOf('--labels') + 1] ?? '{}') as Record<string, string>;
    t.deepEqual(labels, { zone: 'a', 'kplane.io/pool': pool?.name ?? '' });
    t.deepEqual(JSON.parse(args[args.indexOf('--taints') + 1] ?? '[]'), [{ key: 'gpu', effect: 'NoSchedule' }]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
