// The plan of a cluster whose store group changed with `kplane join` / `leave` (StoreMembers in the
// cluster directory): joined replicas start with --join and the group's bootstrap voters, removed ones
// are not started, every process's --replicas names the current replicas; `--only` accepts a joined
// name; the replica process refuses a --join that would bootstrap a second configuration.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterDir } from '../../src/cluster/cluster-dir.js';
import { defineCluster } from '../../src/cluster/config.js';
import { planCluster, UnknownProcessError } from '../../src/cluster/plan.js';
import { storeReplicaId } from '../../src/cluster/store-membership.js';
import { parseConfig } from '../../src/store/replica/main-config.js';

function withDir(t: { teardown(fn: () => void): void }): ClusterDir {
  const root = mkdtempSync(join(tmpdir(), 'kplane-members-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = new ClusterDir(root);
  dir.ensure();
  return dir;
}

function argAfter(args: readonly string[], flag: string): string | undefined {
  const index = args.indexOf(flag);
  return index < 0 ? undefined : args[index + 1];
}

test('joined replicas are planned with --join and the bootstrap voters; removed ones are not started', (t) => {
  const dir = withDir(t);
  const config = defineCluster({ processes: { 'store-4': { advertise: '127.0.0.2' } } });
  t.deepEqual(dir.readMembers(), { joined: [], removed: [] });
  dir.writeMembers({ joined: [4, 5], removed: [2] });
  const specs = new Map(planCluster(config, dir).processes.map((spec) => [spec.name, spec]));
  t.deepEqual([...specs.keys()].filter((name) => name.startsWith('store-')), ['store-1', 'store-3', 'store-4', 'store-5']);
  const replicas = '1=store-1@127.0.0.1:7101,3=store-3@127.0.0.1:7103,4=store-4@127.0.0.2:7104,5=store-5@127.0.0.1:7105';
  for (const name of ['store-1', 'store-4', 'apiserver-1']) t.is(argAfter(specs.get(name)?.args ?? [], '--replicas'), replicas, name);
  t.is(argAfter(specs.get('store-4')?.args ?? [], '--voters'), '1,2,3');
  t.true(specs.get('store-4')?.args.includes('--join'));
  t.false(specs.get('store-1')?.args.includes('--join'));
  t.is(argAfter(specs.get('store-1')?.args ?? [], '--voters'), '1,2,3');
  // A joined replica belongs to this directory's share whatever --only says; --only may name it.
  t.deepEqual(planCluster(config, dir, ['apiserver']).processes.map((spec) => spec.name), ['store-4', 'store-5', 'apiserver-1']);
  t.deepEqual(planCluster(config, dir, ['store-5']).processes.map((spec) => spec.name), ['store-4', 'store-5']);
  t.throws(() => planCluster(config, dir, ['store-6']), { instanceOf: UnknownProcessError });
});

test('store-N names and the replica process: --join must not be a bootstrap voter, a non-voter must --join', (t) => {
  t.is(storeReplicaId('store-4'), 4);
  for (const bad of ['store-0', 'store-x', 'apiserver-1', undefined]) t.throws(() => storeReplicaId(bad), { message: /store-N/ });
  const base = ['--replicas', '1=store-1@127.0.0.1:7101,2=store-2@127.0.0.1:7102,4=store-4@127.0.0.1:7104', '--data-dir', '/tmp/x', '--voters', '1,2'];
  const env = { KPLANE_CLUSTER_SECRET: 's' };
  t.true(parseConfig(['--id', '4', '--join', ...base], env).join);
  t.deepEqual(parseConfig(['--id', '4', '--join', ...base], env).bootstrapVoters, [1, 2]);
  t.throws(() => parseConfig(['--id', '1', '--join', ...base], env), { message: /bootstrap voters/ });
  t.throws(() => parseConfig(['--id', '4', ...base], env), { message: /--join/ });
  t.deepEqual(parseConfig(['--id', '1', '--replicas', '1=store-1@127.0.0.1:7101', '--data-dir', '/tmp/x'], env).bootstrapVoters, [1]);
});
