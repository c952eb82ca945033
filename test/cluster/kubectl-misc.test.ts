// More of kubectl's everyday commands against the API server: version, api-resources, run, expose,
// get all, describe, cordon/uncordon/taint, set image, rollout restart, patch (three types),
// replace, drain (pods/eviction), events, namespace deletion, cluster-info and proxy.

import test from 'ava';
import { kubectlMissingReason, startKubectlEnv, tableRows, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-misc tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;

const NODE = `apiVersion: v1
kind: Node
metadata: {name: node-1, labels: {zone: a}}
status:
  conditions: [{type: Ready, status: "True"}]
  nodeInfo: {kubeletVersion: v1.32.0}
`;

test.before(async () => {
  if (missing !== undefined) return;
  env = await startKubectlEnv();
  const node = await env.kubectl(['create', '--validate=false', '-f', env.writeFile('node.yaml', NODE)]);
  if (node.code !== 0) throw new Error(`setup failed: ${node.stderr}`);
});
test.after.always(async () => {
  await env?.close();
});

async function ok(t: { is: (actual: unknown, expected: unknown, message?: string) => void }, args: string[]): Promise<string> {
  const result = await env.kubectl(args);
  t.is(result.code, 0, `kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

kubectlTest('version prints the server version with no skew warning; api-versions; api-resources lists short names', async (t) => {
  const version = await env.kubectl(['version']);
  t.is(version.code, 0, version.stderr);
  t.regex(version.stdout, /Server Version: v1\.32\./);
  t.notRegex(version.stdout + version.stderr, /WARNING: version difference/);
  const versions = (await ok(t, ['api-versions'])).trim().split('\n');
  for (const expected of ['apps/v1', 'authorization.k8s.io/v1', 'coordination.k8s.io/v1', 'rbac.authorization.k8s.io/v1', 'v1']) t.true(versions.includes(expected), expected);
  const resources = tableRows(await ok(t, ['api-resources']));
  t.deepEqual(resources[0], ['NAME', 'SHORTNAMES', 'APIVERSION', 'NAMESPACED', 'KIND']);
  t.deepEqual(resources.find((row) => row[0] === 'deployments'), ['deployments', 'deploy', 'apps/v1', 'true', 'Deployment']);
  t.deepEqual(resources.find((row) => row[0] === 'nodes'), ['nodes', 'no', 'v1', 'false', 'Node']);
});

kubectlTest('run, expose and get all', async (t) => {
  t.regex(await ok(t, ['run', 'solo', '--image=nginx', '--labels=app=solo']), /pod\/solo created/);
  t.regex(await ok(t, ['create', 'deployment', 'web', '--image=nginx']), /created/);
  t.regex(await ok(t, ['expose', 'deployment', 'web', '--port=80', '--target-port=8080']), /service\/web exposed/);
  const all = await ok(t, ['get', 'all']);
  t.regex(all, /^pod\/solo\s+0\/1\s+Pending\s+0\s+\d+s$/m);
  t.regex(all, /^deployment\.apps\/web\s+0\/1\s+0\s+0\s+\d+s$/m);
  t.regex(all, /^service\/web\s+ClusterIP\s+\S+\s+<none>\s+80\/TCP\s+\d+s$/m);
});

kubectlTest('describe pod, deployment and node', async (t) => {
  const pod = await ok(t, ['describe', 'pod', 'solo']);
  t.regex(pod, /^Name:\s+solo$/m);
  t.regex(pod, /^Labels:\s+app=solo$/m);
  t.regex(pod, /Image:\s+nginx/);
  const deployment = await ok(t, ['describe', 'deployment', 'web']);
  t.regex(deployment, /^Name:\s+web$/m);
  t.regex(deployment, /^Selector:\s+app=web$/m);
  t.regex(deployment, /^StrategyType:\s+RollingUpdate$/m);
  const node = await ok(t, ['describe', 'node', 'node-1']);
  t.regex(node, /^Name:\s+node-1$/m);
  t.regex(node, /^Labels:\s+zone=a$/m);
});

kubectlTest('cordon, uncordon and taint a node', async (t) => {
  t.regex(await ok(t, ['cordon', 'node-1']), /node\/node-1 cordoned/);
  t.regex(tableRows(await ok(t, ['get', 'node', 'node-1']))[1]?.[1] ?? '', /^Ready,SchedulingDisabled$/);
  t.regex(await ok(t, ['uncordon', 'node-1']), /node\/node-1 uncordoned/);
  t.regex(await ok(t, ['taint', 'nodes', 'node-1', 'dedicated=infra:NoSchedule']), /node\/node-1 tainted/);
  t.is(await ok(t, ['get', 'node', 'node-1', '-o', 'jsonpath={.spec.taints[0].key}={.spec.taints[0].value}:{.spec.taints[0].effect}']), 'dedicated=infra:NoSchedule');
  t.regex(await ok(t, ['taint', 'nodes', 'node-1', 'dedicated-']), /untainted/);
});

kubectlTest('set image, rollout restart and patch (strategic, merge, json)', async (t) => {
  t.regex(await ok(t, ['set', 'image', 'deployment/web', 'nginx=nginx:1.27']), /image updated/);
  t.is(await ok(t, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}']), 'nginx:1.27');
  t.regex(await ok(t, ['rollout', 'restart', 'deployment/web']), /restarted/);
  t.regex(await ok(t, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.metadata.annotations}']), /kubectl\.kubernetes\.io\/restartedAt/);
  t.regex(await ok(t, ['patch', 'deployment', 'web', '-p', '{"spec":{"replicas":3}}']), /patched/);
  t.regex(await ok(t, ['patch', 'deployment', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"patched":"merge"}}}']), /patched/);
  t.regex(await ok(t, ['patch', 'deployment', 'web', '--type=json', '-p', '[{"op":"replace","path":"/spec/replicas","value":4}]']), /patched/);
  t.is(await ok(t, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas} {.metadata.labels.patched}']), '4 merge');
});

kubectlTest('replace -f swaps the object and a stale resourceVersion conflicts', async (t) => {
  t.regex(await ok(t, ['create', 'configmap', 'swap', '--from-literal=a=1']), /created/);
  const file = env.writeFile('swap.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: swap}\ndata: {b: "2"}\n');
  t.regex(await ok(t, ['replace', '--validate=false', '-f', file]), /configmap\/swap replaced/);
  t.is(await ok(t, ['get', 'configmap', 'swap', '-o', 'jsonpath={.data}']), '{"b":"2"}');
  const stale = env.writeFile('stale.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: swap, resourceVersion: "1"}\ndata: {c: "3"}\n');
  const conflict = await env.kubectl(['replace', '--validate=false', '-f', stale]);
  t.not(conflict.code, 0);
  t.regex(conflict.stderr, /Error from server \(Conflict\)/);
});

kubectlTest('drain evicts through pods/eviction', async (t) => {
  await ok(t, ['run', 'bound', '--image=nginx', '--overrides={"spec":{"nodeName":"node-1"}}']);
  const drained = await env.kubectl(['drain', 'node-1', '--force', '--grace-period=0', '--timeout=30s', '-v=8']);
  t.is(drained.code, 0, drained.stderr.split('\n').filter((line) => !line.includes('round_trippers')).join('\n'));
  t.regex(drained.stdout, /pod\/bound evicted/);
  t.regex(drained.stdout, /node\/node-1 drained/);
  t.regex(drained.stderr, /POST https:\/\/\S+\/pods\/bound\/eviction/);
  const pods = await env.kubectl(['get', 'pod', 'bound']);
  t.regex(pods.stderr, /NotFound/);
  await ok(t, ['uncordon', 'node-1']);
});

kubectlTest('get events prints LAST SEEN TYPE REASON OBJECT MESSAGE', async (t) => {
  const event = `apiVersion: v1
kind: Event
metadata: {name: solo.1, namespace: default}
involvedObject: {kind: Pod, name: solo, namespace: default}
reason: Scheduled
message: Successfully assigned default/solo to node-1
type: Normal
source: {component: default-scheduler}
firstTimestamp: "2026-01-01T00:00:00Z"
lastTimestamp: "2026-01-01T00:00:00Z"
count: 1
`;
  await ok(t, ['create', '--validate=false', '-f', env.writeFile('event.yaml', event)]);
  const rows = tableRows(await ok(t, ['get', 'events']));
  t.deepEqual(rows[0], ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  t.deepEqual(rows[1]?.slice(1), ['Normal', 'Scheduled', 'pod/solo', 'Successfully assigned default/solo to node-1']);
});

// Finishing a namespace deletion is the namespace controller's job (src/controllers), which this
// server-only test does not run: here the namespace goes Terminating and refuses new content.
kubectlTest('delete namespace --wait=false marks it Terminating', async (t) => {
  await ok(t, ['create', 'namespace', 'scratch']);
  await ok(t, ['create', 'configmap', 'inside', '-n', 'scratch']);
  const deleted = await env.kubectl(['delete', 'namespace', 'scratch', '--wait=false']);
  t.is(deleted.code, 0, deleted.stderr);
  t.regex(deleted.stdout, /namespace "scratch" deleted/);
  t.regex(await ok(t, ['get', 'namespace', 'scratch']), /scratch\s+Terminating/);
  const refused = await env.kubectl(['create', 'configmap', 'late', '-n', 'scratch']);
  t.regex(refused.stderr, /because it is being terminated/);
});

kubectlTest('cluster-info names the control plane; proxy serves the API on a local port', async (t) => {
  const info = await ok(t, ['cluster-info']);
  t.regex(info, new RegExp(`Kubernetes control plane\\S* is running at \\S*${env.server.url.replace(/[.]/g, '\\.')}`));

  const proxy = env.spawnKubectl(['proxy', '--port=0']);
  t.teardown(() => proxy.stop());
  let port: string | undefined;
  for (let attempt = 0; attempt < 100 && port === undefined; attempt++) {
    port = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(proxy.output())?.[1];
    if (port === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (port === undefined) return t.fail(`kubectl proxy printed no address: ${proxy.output()}`);
  // Plain HTTP to the proxy, which adds the kubeconfig's credentials and speaks TLS to the server.
  const response = await fetch(`http://127.0.0.1:${port}/api/v1/nodes/node-1`);
  t.is(response.status, 200);
  const node = (await response.json()) as { kind?: string; metadata?: { name?: string } };
  t.is(node.kind, 'Node');
  t.is(node.metadata?.name, 'node-1');
  const version = (await (await fetch(`http://127.0.0.1:${port}/version`)).json()) as { minor?: string };
  t.is(version.minor, '32');
});
