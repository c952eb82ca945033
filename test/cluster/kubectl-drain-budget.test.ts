// The real kubectl drain against a whole cluster with its controllers (ChaosCluster: stores, API
// server, controller manager with the disruption controller, scheduler, simulated nodes): a
// Deployment's three pods all on one node, a PodDisruptionBudget with minAvailable = replicas − 1,
// and `kubectl drain` of that node: the API server refuses evictions beyond the budget with 429
// (kubectl prints "Cannot evict pod as it would violate the pod's disruption budget." and retries),
// the pods go one at a time as replacements become ready elsewhere, and the drain completes.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosCluster } from '../../src/testing/chaos/chaos-cluster.js';
import { clusterKubectl, kubectlMissingReason, runKubectl, tableRows } from './kubectl-helpers.js';

const KUBECTL_TIMEOUT_MS = 240_000;

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`kubectl drain budget test skipped: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.serial.skip;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

kubectlTest('kubectl drain of a node holding a Deployment under a PodDisruptionBudget evicts its pods one at a time and completes', async (t) => {
  t.timeout(600_000);
  const cluster = await ChaosCluster.start({ config: { name: 'drain-pdb', nodes: { simulatedProcesses: 1, nodesPerProcess: 3, processNodes: 0 } } });
  const home = mkdtempSync(join(tmpdir(), 'kplane-drain-home-'));
  t.teardown(async () => {
    await cluster.stop();
    rmSync(home, { recursive: true, force: true });
  });
  const { env, kubectl, ok } = clusterKubectl(t, cluster, home, KUBECTL_TIMEOUT_MS);

  let nodes: string[] = [];
  for (let attempt = 0; attempt < 120 && nodes.length < 3; attempt++) {
    const listed = await runKubectl(env, ['get', 'nodes', '-o', 'name']);
    nodes = listed.code === 0 ? tableRows(listed.stdout).map((row) => (row[0] ?? '').replace(/^node\//, '')) : [];
    if (nodes.length < 3) await sleep(500);
  }
  t.is(nodes.length, 3, 'three nodes registered');
  const [target, ...others] = nodes as [string, ...string[]];

  // All three pods on one node: the others are cordoned while the Deployment rolls out.
  for (const node of others) await ok(['cordon', node]);
  t.regex(await ok(['create', 'deployment', 'web', '--image=nginx', '--replicas=3']), /deployment\.apps\/web created/);
  t.regex(await ok(['rollout', 'status', 'deployment/web', '--timeout=120s']), /successfully rolled out/);
  const placed = await ok(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}']);
  t.deepEqual([...new Set(placed.trim().split('\n'))], [target]);
  for (const node of others) await ok(['uncordon', node]);

  t.regex(await ok(['create', 'pdb', 'web', '--selector=app=web', '--min-available=2']), /poddisruptionbudget\.policy\/web created/);
  let allowed = '';
  for (let attempt = 0; attempt < 120 && allowed !== '1'; attempt++) {
    allowed = (await runKubectl(env, ['get', 'pdb', 'web', '-o', 'jsonpath={.status.disruptionsAllowed}'])).stdout.trim();
    if (allowed !== '1') await sleep(500);
  }
  t.is(allowed, '1', 'the disruption controller allows one disruption');
  const table = tableRows(await ok(['get', 'pdb']));
  t.deepEqual(table[0], ['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS', 'AGE']);
  t.deepEqual(table[1]?.slice(0, 4), ['web', '2', 'N/A', '1']);

  const drained = await kubectl(['drain', target, '--grace-period=1', '--timeout=200s']);
  t.is(drained.code, 0, `drain failed: ${drained.stderr}\n${cluster.logTails(20)}`);
  t.regex(drained.stdout, new RegExp(`node/${target} drained`));
  t.is((drained.stdout.match(/pod\/web-\S+ evicted/g) ?? []).length, 3, 'all three pods evicted');
  t.regex(drained.stderr, /Cannot evict pod as it would violate the pod's disruption budget\./, 'some evictions waited for the budget');

  t.regex(await ok(['rollout', 'status', 'deployment/web', '--timeout=120s']), /successfully rolled out/);
  const after = await ok(['get', 'pods', '-l', 'app=web', '-o', 'jsonpath={range .items[*]}{.spec.nodeName}{"\\n"}{end}']);
  t.false(after.trim().split('\n').includes(target), 'no pod left on the drained node');
});
