// How `kplane chaos` turns a TARGET into processes, on hand-made probes: names, roles, the `node`
// alias, the Raft roles (the leader of the highest term, the lowest-numbered follower), dead processes
// skipped, and a clear error listing what exists.
import test from 'ava';
import type { ClusterProbe, ProcessProbe } from '../../src/cluster/chaos-probe.js';
import { ChaosError, resolveTargets } from '../../src/cluster/chaos.js';

function replica(name: string, pid: number, role: 'leader' | 'follower' | 'candidate', term: number, alive = true): ProcessProbe {
  const id = Number(name.slice('store-'.length));
  return {
    name, role: 'store', pid, ports: {}, restarts: 0, status: 'running', alive,
    replica: { reachable: true, id, term, role, leader: 0, commitIndex: 10, appliedIndex: 10, revision: 5 },
  };
}

function other(name: string, role: string, pid: number, alive = true): ProcessProbe {
  return { name, role, pid, ports: {}, restarts: 0, status: 'running', alive };
}

function probe(processes: ProcessProbe[]): ClusterProbe {
  return { dir: '/tmp/x', configName: 'test', launcherPid: 1, launcherAlive: true, ready: true, processes };
}

const cluster = probe([
  replica('store-1', 101, 'leader', 3), // a deposed leader that has not heard of term 4 yet
  replica('store-2', 102, 'follower', 4),
  replica('store-3', 103, 'leader', 4),
  other('apiserver-1', 'apiserver', 201),
  other('sim-nodes-1', 'node-agent', 301),
  other('node-1', 'node-agent', 302, false),
]);

const names = (entries: readonly ProcessProbe[]): string[] => entries.map((entry) => entry.name);

test('names, roles and the node alias; dead processes are not targets', (t) => {
  t.deepEqual(names(resolveTargets('store-2', cluster)), ['store-2']);
  t.deepEqual(names(resolveTargets('store', cluster)), ['store-1', 'store-2', 'store-3']);
  t.deepEqual(names(resolveTargets('apiserver', cluster)), ['apiserver-1']);
  t.deepEqual(names(resolveTargets('node', cluster)), ['sim-nodes-1']);
  t.deepEqual(names(resolveTargets('node-agent', cluster)), ['sim-nodes-1']);
});

test('store-leader is the leader of the highest term; store-follower the first follower', (t) => {
  t.deepEqual(names(resolveTargets('store-leader', cluster)), ['store-3']);
  t.deepEqual(names(resolveTargets('store-follower', cluster)), ['store-2']);
});

test('a target that matches nothing is a ChaosError naming what exists', (t) => {
  const error = t.throws(() => resolveTargets('node-1', cluster), { instanceOf: ChaosError });
  t.regex(error?.message ?? '', /no running process matches "node-1" \(processes: .*node-1; roles: store, apiserver, node-agent, node, store-leader, store-follower\)/);
  const leaderless = probe([replica('store-1', 101, 'candidate', 5), replica('store-2', 102, 'candidate', 5)]);
  t.throws(() => resolveTargets('store-leader', leaderless), { instanceOf: ChaosError });
});
