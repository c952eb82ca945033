// `kubectl get` against the API server: server-side Tables (columns per kind, -o wide), the other
// output formats, label selectors, sorting (includeObject=Object), paging, -A, and get -w.

import test from 'ava';
import { eventually, kubectlMissingReason, startKubectlEnv, tableRows, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-get tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;

const OBJECTS = `
apiVersion: v1
kind: Node
metadata:
  name: node-1
  labels: {node-role.kubernetes.io/control-plane: ""}
status:
  conditions: [{type: Ready, status: "True"}]
  nodeInfo: {kubeletVersion: v1.32.0, osImage: kplane, kernelVersion: "6.1", containerRuntimeVersion: none}
  addresses: [{type: InternalIP, address: 10.0.0.1}]
---
apiVersion: v1
kind: Pod
metadata: {name: pod-b, labels: {app: web, tier: front}}
spec: {containers: [{name: main, image: nginx}], nodeName: node-1}
---
apiVersion: v1
kind: Pod
metadata: {name: pod-a, labels: {app: db}}
spec: {containers: [{name: main, image: postgres}]}
---
apiVersion: v1
kind: Pod
metadata: {name: pod-c, labels: {app: cache}}
spec: {containers: [{name: main, image: redis}, {name: side, image: busybox}]}
`;

test.before(async () => {
  if (missing !== undefined) return;
  env = await startKubectlEnv();
  const created = await env.kubectl(['create', '--validate=false', '-f', env.writeFile('objects.yaml', OBJECTS)]);
  if (created.code !== 0) throw new Error(`setup failed: ${created.stderr}`);
  const status = await env.kubectl([
    'patch', 'pod', 'pod-b', '--subresource=status', '--type=merge',
    '-p', JSON.stringify({ status: { phase: 'Running', podIP: '10.1.0.7', containerStatuses: [{ name: 'main', image: 'nginx', imageID: '', ready: true, restartCount: 1, state: { running: {} } }] } }),
  ]);
  if (status.code !== 0) throw new Error(`status patch failed: ${status.stderr}`);
});
test.after.always(async () => {
  await env?.close();
});

kubectlTest('get pods prints NAME READY STATUS RESTARTS AGE; -o wide adds IP NODE NOMINATED NODE READINESS GATES', async (t) => {
  const plain = await env.kubectl(['get', 'pods']);
  t.is(plain.code, 0, plain.stderr);
  const rows = tableRows(plain.stdout);
  t.deepEqual(rows[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  const podB = rows.find((row) => row[0] === 'pod-b');
  t.deepEqual(podB?.slice(0, 4), ['pod-b', '1/1', 'Running', '1']);
  t.regex(podB?.[4] ?? '', /^\d+s$/);
  t.deepEqual(rows.find((row) => row[0] === 'pod-c')?.slice(0, 3), ['pod-c', '0/2', 'Pending']);
  const wide = await env.kubectl(['get', 'pods', '-o', 'wide']);
  const wideRows = tableRows(wide.stdout);
  t.deepEqual(wideRows[0], ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES']);
  t.deepEqual(wideRows.find((row) => row[0] === 'pod-b')?.slice(5), ['10.1.0.7', 'node-1', '<none>', '<none>']);
});

kubectlTest('get nodes, namespaces and deployments print their kube columns', async (t) => {
  const nodes = tableRows((await env.kubectl(['get', 'nodes'])).stdout);
  t.deepEqual(nodes[0], ['NAME', 'STATUS', 'ROLES', 'AGE', 'VERSION']);
  t.deepEqual([nodes[1]?.[0], nodes[1]?.[1], nodes[1]?.[2], nodes[1]?.[4]], ['node-1', 'Ready', 'control-plane', 'v1.32.0']);
  const wideNodes = tableRows((await env.kubectl(['get', 'nodes', '-o', 'wide'])).stdout);
  t.deepEqual(wideNodes[0]?.slice(5), ['INTERNAL-IP', 'EXTERNAL-IP', 'OS-IMAGE', 'KERNEL-VERSION', 'CONTAINER-RUNTIME']);
  t.is(wideNodes[1]?.[5], '10.0.0.1');
  const namespaces = tableRows((await env.kubectl(['get', 'ns'])).stdout);
  t.deepEqual(namespaces[0], ['NAME', 'STATUS', 'AGE']);
  t.deepEqual(namespaces.slice(1).map((row) => row[0]), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  t.true(namespaces.slice(1).every((row) => row[1] === 'Active'));
  const none = await env.kubectl(['get', 'deployments']);
  t.regex(none.stderr, /No resources found in default namespace\./);
  t.is((await env.kubectl(['create', 'deployment', 'web', '--image=nginx', '--replicas=2'])).code, 0);
  const deployments = tableRows((await env.kubectl(['get', 'deploy'])).stdout);
  t.deepEqual(deployments[0], ['NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
  t.deepEqual(deployments[1]?.slice(0, 4), ['web', '0/2', '0', '0']);
  const wideDeployments = tableRows((await env.kubectl(['get', 'deploy', '-o', 'wide'])).stdout);
  t.deepEqual(wideDeployments[1]?.slice(5), ['nginx', 'nginx', 'app=web']);
});

kubectlTest('-o yaml, -o jsonpath, -o custom-columns and -o name', async (t) => {
  const yaml = await env.kubectl(['get', 'pod', 'pod-a', '-o', 'yaml']);
  t.is(yaml.code, 0, yaml.stderr);
  t.regex(yaml.stdout, /^kind: Pod$/m);
  t.regex(yaml.stdout, /^ {2}name: pod-a$/m);
  t.regex(yaml.stdout, /image: postgres/);
  const jsonpath = await env.kubectl(['get', 'pods', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image}{"\\n"}{end}']);
  t.deepEqual(jsonpath.stdout.trim().split('\n').sort(), ['pod-a=postgres', 'pod-b=nginx', 'pod-c=redis']);
  const columns = tableRows((await env.kubectl(['get', 'pods', '--sort-by=.metadata.name', '-o', 'custom-columns=POD:.metadata.name,IMAGE:.spec.containers[0].image'])).stdout);
  t.deepEqual(columns, [['POD', 'IMAGE'], ['pod-a', 'postgres'], ['pod-b', 'nginx'], ['pod-c', 'redis']]);
  const names = await env.kubectl(['get', 'pods', '-o', 'name']);
  t.deepEqual(names.stdout.trim().split('\n').sort(), ['pod/pod-a', 'pod/pod-b', 'pod/pod-c']);
});

kubectlTest('--show-labels and set-based -l selectors', async (t) => {
  const labels = tableRows((await env.kubectl(['get', 'pods', '--show-labels'])).stdout);
  t.is(labels[0]?.at(-1), 'LABELS');
  t.is(labels.find((row) => row[0] === 'pod-b')?.at(-1), 'app=web,tier=front');
  const inSet = tableRows((await env.kubectl(['get', 'pods', '-l', 'app in (web,db)'])).stdout);
  t.deepEqual(inSet.slice(1).map((row) => row[0]).sort(), ['pod-a', 'pod-b']);
  const notIn = tableRows((await env.kubectl(['get', 'pods', '-l', 'app notin (web),!tier'])).stdout);
  t.deepEqual(notIn.slice(1).map((row) => row[0]).sort(), ['pod-a', 'pod-c']);
  const exists = tableRows((await env.kubectl(['get', 'pods', '-l', 'tier'])).stdout);
  t.deepEqual(exists.slice(1).map((row) => row[0]), ['pod-b']);
  const nothing = await env.kubectl(['get', 'pods', '-l', 'app=none']);
  t.regex(nothing.stderr, /No resources found in default namespace\./);
});

kubectlTest('--sort-by (full objects in rows), --chunk-size=2 paging and -A', async (t) => {
  const byImage = tableRows((await env.kubectl(['get', 'pods', '--sort-by=.spec.containers[0].image'])).stdout);
  t.deepEqual(byImage.slice(1).map((row) => row[0]), ['pod-b', 'pod-a', 'pod-c'], 'nginx < postgres < redis');
  const byName = await env.kubectl(['get', 'pods', '--sort-by=.metadata.name', '-o', 'name']);
  t.deepEqual(byName.stdout.trim().split('\n'), ['pod/pod-a', 'pod/pod-b', 'pod/pod-c']);
  const chunked = await env.kubectl(['get', 'pods', '--chunk-size=2', '-v=6']);
  t.is(chunked.code, 0, chunked.stderr);
  t.deepEqual(tableRows(chunked.stdout).slice(1).map((row) => row[0]), ['pod-a', 'pod-b', 'pod-c']);
  t.regex(chunked.stderr, /pods\?continue=[^&\s]+&limit=2/, 'the second page was asked for with a continue token');
  t.is(tableRows(chunked.stdout).filter((row) => row[0] === 'NAME').length, 1, 'one header across pages');
  const all = tableRows((await env.kubectl(['get', 'pods', '-A'])).stdout);
  t.deepEqual(all[0], ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE']);
  t.true(all.slice(1).every((row) => row[0] === 'default'));
});

kubectlTest('get -w prints the list, then later changes as rows', async (t) => {
  t.is((await env.kubectl(['create', 'configmap', 'early'])).code, 0);
  const watching = env.spawnKubectl(['get', 'configmaps', '-w']);
  t.true(await eventually(() => /early\s+0\s+\d+s/.test(watching.output()), 30_000), watching.output());
  t.regex(watching.output(), /NAME\s+DATA\s+AGE/);
  t.is((await env.kubectl(['create', 'configmap', 'late', '--from-literal=a=1', '--from-literal=b=2'])).code, 0);
  const seen = await eventually(() => /late\s+2\s+\d+s/.test(watching.output()), 30_000);
  t.is((await env.kubectl(['label', 'configmap', 'late', 'x=y'])).code, 0);
  const seenTwice = await eventually(() => (watching.output().match(/late\s+2/g) ?? []).length >= 2, 30_000);
  const output = await watching.stop();
  t.true(seen, output);
  t.true(seenTwice, output);
});
