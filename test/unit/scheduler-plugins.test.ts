// Each plugin's rule, as tables: a pod, some nodes (and their pods), and which nodes pass the filters
// or win the scores; plus kube-scheduler's FailedScheduling message shape.

import test from 'ava';
import { Prng } from '../../src/actors/random.js';
import { failureMessage, feasibleNodesToFind, Framework } from '../../src/scheduler/framework.js';
import { buildSnapshot, toPodInfo, type Json } from '../../src/scheduler/model.js';
import { buildProfile } from '../../src/scheduler/plugins/index.js';
import { DEFAULT_CLUSTER_CONFIG } from '../../src/cluster/config.js';

interface NodeOptions {
  readonly labels?: Record<string, string>;
  readonly taints?: { key: string; value?: string; effect: string }[];
  readonly unschedulable?: boolean;
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: number;
}

function node(name: string, options: NodeOptions = {}): Json {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...options.labels } },
    spec: { ...(options.taints !== undefined ? { taints: options.taints } : {}), ...(options.unschedulable === true ? { unschedulable: true } : {}) },
    status: { allocatable: { cpu: options.cpu ?? '4', memory: options.memory ?? '8Gi', pods: String(options.pods ?? 110) } },
  };
}

function pod(name: string, spec: Json = {}, labels: Record<string, string> = {}, cpu = '100m', memory = '128Mi'): Json {
  return {
    metadata: { name, namespace: 'default', labels, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { containers: [{ name: 'c', image: 'i', resources: { requests: { cpu, memory } } }], ...spec },
  };
}

function feasible(incoming: Json, nodes: Json[], pods: Json[] = [], plugins?: Record<string, boolean>): string[] {
  const snapshot = buildSnapshot(nodes, pods);
  const framework = new Framework(buildProfile(plugins === undefined ? {} : { plugins }), new Prng(1));
  const info = toPodInfo(incoming);
  const cycle = framework.schedule(info, snapshot);
  if (cycle.kind === 'unschedulable') return [];
  // Every node the filters accept (schedule() picks one; filterNode tells about each).
  return snapshot.nodes.filter((candidate) => framework.filterNode(cycle.state, info, candidate) === undefined).map((candidate) => candidate.name);
}

function message(incoming: Json, nodes: Json[], pods: Json[] = []): string {
  const result = new Framework(buildProfile(), new Prng(1)).schedule(toPodInfo(incoming), buildSnapshot(nodes, pods));
  return result.kind === 'unschedulable' ? result.message : `scheduled on ${result.node}`;
}

const bound = (name: string, nodeName: string, labels: Record<string, string> = {}, spec: Json = {}, cpu = '100m'): Json => pod(name, { nodeName, ...spec }, labels, cpu);

test('NodeUnschedulable: cordoned nodes only take pods tolerating the unschedulable taint', (t) => {
  const nodes = [node('a', { unschedulable: true }), node('b')];
  t.deepEqual(feasible(pod('p'), nodes), ['b']);
  t.deepEqual(feasible(pod('p', { tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }] }), nodes), ['a', 'b']);
  t.is(message(pod('p'), [node('a', { unschedulable: true })]), '0/1 nodes are available: 1 node(s) were unschedulable.');
});

test('NodeName: a pod naming a node fits only it', (t) => {
  t.deepEqual(feasible(pod('p', { nodeName: 'b' }), [node('a'), node('b')]), ['b']);
});

test('NodeResourcesFit: cpu, memory and pod slots, counting the pods already there', (t) => {
  const cases: [Json, Json[], Json[], string[]][] = [
    [pod('p', {}, {}, '2'), [node('a', { cpu: '1' }), node('b', { cpu: '2' })], [], ['b']],
    [pod('p', {}, {}, '1'), [node('a', { cpu: '2' })], [bound('q', 'a', {}, {}, '1500m')], []],
    [pod('p', {}, {}, '500m'), [node('a', { cpu: '2' })], [bound('q', 'a', {}, {}, '1500m')], ['a']],
    [pod('p', {}, {}, '100m', '2Gi'), [node('a', { memory: '1Gi' }), node('b', { memory: '2Gi' })], [], ['b']],
    [pod('p'), [node('a', { pods: 1 }), node('b', { pods: 2 })], [bound('q', 'a'), bound('r', 'b')], ['b']],
  ];
  for (const [incoming, nodes, pods, expected] of cases) t.deepEqual(feasible(incoming, nodes, pods), expected);
  t.is(message(pod('p', {}, {}, '3', '9Gi'), [node('a'), node('b', { cpu: '8' })]), '0/2 nodes are available: 2 Insufficient memory.');
});

test('NodeAffinity: nodeSelector, required terms (ORed terms, ANDed expressions, Gt/Lt, matchFields)', (t) => {
  const nodes = [node('a', { labels: { zone: 'z1', gen: '3' } }), node('b', { labels: { zone: 'z2', gen: '5' } }), node('c')];
  const required = (terms: Json[]): Json => ({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  const cases: [Json, string[]][] = [
    [pod('p', { nodeSelector: { zone: 'z1' } }), ['a']],
    [pod('p', required([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z1', 'z2'] }] }])), ['a', 'b']],
    [pod('p', required([{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z1'] }] }])), ['b', 'c']],
    [pod('p', required([{ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }])), ['c']],
    [pod('p', required([{ matchExpressions: [{ key: 'gen', operator: 'Gt', values: ['4'] }] }])), ['b']],
    [pod('p', required([{ matchExpressions: [{ key: 'gen', operator: 'Lt', values: ['4'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['c'] }] }])), ['a', 'c']],
    [pod('p', { nodeSelector: { zone: 'z1' }, ...required([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['z2'] }] }]) }), []],
  ];
  for (const [incoming, expected] of cases) t.deepEqual(feasible(incoming, nodes), expected);
  t.is(message(pod('p', { nodeSelector: { zone: 'nowhere' } }), nodes), "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.");
});

test('NodeAffinity: preferred terms win the score', (t) => {
  const nodes = [node('a', { labels: { disk: 'hdd' } }), node('b', { labels: { disk: 'ssd' } }), node('c', { labels: { disk: 'hdd' } })];
  const preferring = pod('p', { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'disk', operator: 'In', values: ['ssd'] }] } }] } } });
  for (let seed = 0; seed < 10; seed++) {
    const result = new Framework(buildProfile(), new Prng(seed)).schedule(toPodInfo(preferring), buildSnapshot(nodes, []));
    t.is(result.kind === 'scheduled' ? result.node : '', 'b');
  }
});

test('TaintToleration: NoSchedule/NoExecute need a toleration (Equal, Exists, empty effect); PreferNoSchedule only scores', (t) => {
  const nodes = [node('a', { taints: [{ key: 'gpu', value: 'yes', effect: 'NoSchedule' }] }), node('b', { taints: [{ key: 'spot', effect: 'NoExecute' }] }), node('c', { taints: [{ key: 'slow', effect: 'PreferNoSchedule' }] })];
  const cases: [Json[], string[]][] = [
    [[], ['c']],
    [[{ key: 'gpu', operator: 'Equal', value: 'yes', effect: 'NoSchedule' }], ['a', 'c']],
    [[{ key: 'gpu', operator: 'Equal', value: 'no', effect: 'NoSchedule' }], ['c']],
    [[{ key: 'spot', operator: 'Exists' }], ['b', 'c']],
    [[{ operator: 'Exists' }], ['a', 'b', 'c']],
    [[{ key: 'gpu', operator: 'Exists', effect: 'NoExecute' }], ['c']],
  ];
  for (const [tolerations, expected] of cases) t.deepEqual(feasible(pod('p', { tolerations }), nodes), expected, JSON.stringify(tolerations));
  t.is(message(pod('p'), nodes.slice(0, 2)), '0/2 nodes are available: 1 node(s) had untolerated taint {gpu: yes}, 1 node(s) had untolerated taint {spot: }.');
  const plain = [node('x', { taints: [{ key: 'slow', effect: 'PreferNoSchedule' }] }), node('y')];
  for (let seed = 0; seed < 10; seed++) {
    const result = new Framework(buildProfile(), new Prng(seed)).schedule(toPodInfo(pod('p')), buildSnapshot(plain, []));
    t.is(result.kind === 'scheduled' ? result.node : '', 'y');
  }
});

test('InterPodAffinity: required anti-affinity both ways, and affinity with the first-of-group rule', (t) => {
  const zones = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z1' } }), node('c', { labels: { zone: 'z2' } })];
  const anti = (topologyKey: string): Json => ({ affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'web' } }, topologyKey }] } } });
  const affinity = (topologyKey: string): Json => ({ affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey }] } } });
  t.deepEqual(feasible(pod('p', anti('kubernetes.io/hostname'), { app: 'web' }), zones, [bound('w1', 'a', { app: 'web' })]), ['b', 'c']);
  t.deepEqual(feasible(pod('p', anti('zone'), { app: 'web' }), zones, [bound('w1', 'a', { app: 'web' })]), ['c']);
  // Symmetry: an existing pod's anti-affinity keeps the incoming pod (which has no terms) away.
  t.deepEqual(feasible(pod('p', {}, { app: 'web' }), zones, [bound('w1', 'c', { app: 'other' }, anti('zone'))]), ['a', 'b']);
  // Another namespace does not count.
  const elsewhere = { ...bound('w1', 'a', { app: 'web' }), metadata: { name: 'w1', namespace: 'other', labels: { app: 'web' } } };
  t.deepEqual(feasible(pod('p', anti('zone'), { app: 'web' }), zones, [elsewhere]), ['a', 'b', 'c']);
  t.deepEqual(feasible(pod('p', affinity('zone')), zones, [bound('d1', 'c', { app: 'db' })]), ['c']);
  t.deepEqual(feasible(pod('p', affinity('zone')), zones, []), [], 'no db pod and the pod is not one itself');
  t.deepEqual(feasible(pod('p', affinity('zone'), { app: 'db' }), zones, []), ['a', 'b', 'c'], 'first of its group');
  t.is(message(pod('p', anti('zone'), { app: 'web' }), zones.slice(0, 2), [bound('w1', 'a', { app: 'web' })]), "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.");
});

test('PodTopologySpread: maxSkew over eligible domains, missing labels, ScheduleAnyway scoring', (t) => {
  const zones = [node('a', { labels: { zone: 'z1' } }), node('b', { labels: { zone: 'z2' } }), node('c')];
  const spread = (maxSkew: number, whenUnsatisfiable = 'DoNotSchedule'): Json => ({ topologySpreadConstraints: [{ maxSkew, topologyKey: 'zone', whenUnsatisfiable, labelSelector: { matchLabels: { app: 'web' } } }] });
  const existing = [bound('w1', 'a', { app: 'web' }), bound('w2', 'a', { app: 'web' }), bound('w3', 'b', { app: 'web' })];
  t.deepEqual(feasible(pod('p', spread(1), { app: 'web' }), zones, existing), ['b']);
  t.deepEqual(feasible(pod('p', spread(2), { app: 'web' }), zones, existing), ['a', 'b']);
  const full = [bound('w1', 'a', { app: 'web' }), bound('w2', 'a', { app: 'web' }), bound('w5', 'a', { app: 'web' }), bound('w3', 'd', { app: 'web' }), bound('w4', 'd', { app: 'web' })];
  t.is(
    message(pod('p', spread(1), { app: 'web' }), [zones[0] as Json, zones[2] as Json, node('d', { labels: { zone: 'z2' }, pods: 2 })], full),
    "0/3 nodes are available: 1 Too many pods, 1 node(s) didn't match pod topology spread constraints, 1 node(s) didn't match pod topology spread constraints (missing required label).",
  );
  for (let seed = 0; seed < 10; seed++) {
    const result = new Framework(buildProfile(), new Prng(seed)).schedule(toPodInfo(pod('p', spread(1, 'ScheduleAnyway'), { app: 'web' })), buildSnapshot(zones.slice(0, 2), existing));
    t.is(result.kind === 'scheduled' ? result.node : '', 'b');
  }
});

test('LeastAllocated and BalancedAllocation prefer the emptier, better balanced node', (t) => {
  const nodes = [node('busy'), node('idle')];
  const pods = [bound('q', 'busy', {}, {}, '3')];
  for (let seed = 0; seed < 10; seed++) {
    const result = new Framework(buildProfile(), new Prng(seed)).schedule(toPodInfo(pod('p')), buildSnapshot(nodes, pods));
    t.is(result.kind === 'scheduled' ? result.node : '', 'idle');
  }
  // With both scores off, ties are broken by the seed and every node gets chosen by some seed.
  const chosen = new Set<string>();
  for (let seed = 0; seed < 40; seed++) {
    const result = new Framework(buildProfile({ weights: { LeastAllocated: 0, BalancedAllocation: 0 } }), new Prng(seed)).schedule(toPodInfo(pod('p')), buildSnapshot(nodes, pods));
    if (result.kind === 'scheduled') chosen.add(result.node);
  }
  t.deepEqual([...chosen].sort(), ['busy', 'idle']);
});

test('a profile turns plugins off; unknown plugin names are refused', (t) => {
  const tainted = [node('a', { taints: [{ key: 'x', effect: 'NoSchedule' }] })];
  t.deepEqual(feasible(pod('p'), tainted), []);
  t.deepEqual(feasible(pod('p'), tainted, [], { TaintToleration: false }), ['a']);
  t.throws(() => buildProfile({ plugins: { NoSuchPlugin: true } }), { message: /unknown plugin "NoSuchPlugin"/ });
});

test('the failure message sorts reasons as kube-scheduler does; the scan size is adaptive', (t) => {
  t.is(failureMessage(5, new Map([['node(s) had untolerated taint {a: b}', 2], ['Insufficient cpu', 3]])), '0/5 nodes are available: 2 node(s) had untolerated taint {a: b}, 3 Insufficient cpu.');
  t.is(feasibleNodesToFind(50), 50);
  t.is(feasibleNodesToFind(1000), 420);
  t.is(feasibleNodesToFind(5000), 500);
});

test('the cluster config’s default scheduler profile builds', (t) => {
  const profile = buildProfile(DEFAULT_CLUSTER_CONFIG.scheduler.profile);
  t.true(profile.plugins.some((plugin) => plugin.name === 'NodeResourcesFit'));
  t.is(profile.weights['LeastAllocated'], DEFAULT_CLUSTER_CONFIG.scheduler.profile.weights['LeastAllocated']);
});
