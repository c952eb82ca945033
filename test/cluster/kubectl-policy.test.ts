// The real kubectl's `create pdb / priorityclass / quota / ingress` (protobuf request bodies) against
// the API server, `get` of each as a table, and what the admission plugins answer kubectl: a pod
// over its quota (403 "exceeded quota"), a pod naming an unknown PriorityClass, and a second
// globalDefault class. The built-in PriorityClasses exist from the start.

import test from 'ava';
import { kubectlMissingReason, startKubectlEnv, tableRows, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-policy tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;
test.before(async () => {
  if (missing === undefined) env = await startKubectlEnv();
});
test.after.always(async () => {
  await env?.close();
});

async function ok(args: string[]): Promise<string> {
  const result = await env.kubectl(args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

/** Rows of a table without the AGE cells (they move). */
function withoutAge(stdout: string): string[][] {
  const rows = tableRows(stdout);
  const age = rows[0]?.indexOf('AGE') ?? -1;
  return rows.map((row) => row.filter((_cell, index) => index !== age));
}

kubectlTest('create pdb sends protobuf; get pdb prints the budget columns', async (t) => {
  const created = await env.kubectl(['create', 'pdb', 'web', '--selector=app=web', '--min-available=2', '-v=8']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^poddisruptionbudget\.policy\/web created$/m);
  t.regex(created.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  t.regex(await ok(['create', 'pdb', 'db', '--selector=app=db', '--max-unavailable=25%']), /poddisruptionbudget\.policy\/db created/);
  t.deepEqual(withoutAge(await ok(['get', 'pdb'])), [
    ['NAME', 'MIN AVAILABLE', 'MAX UNAVAILABLE', 'ALLOWED DISRUPTIONS'],
    ['db', 'N/A', '25%', '0'],
    ['web', '2', 'N/A', '0'],
  ]);
  t.is(await ok(['get', 'poddisruptionbudget', 'db', '-o', 'jsonpath={.spec.maxUnavailable} {.spec.selector.matchLabels.app}']), '25% db');
});

kubectlTest('create priorityclass; get pc lists it beside the built-in classes; one globalDefault', async (t) => {
  const created = await env.kubectl(['create', 'priorityclass', 'high', '--value=1000', '--description=important work', '--preemption-policy=Never', '-v=8']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^priorityclass\.scheduling\.k8s\.io\/high created$/m);
  t.regex(created.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  t.regex(await ok(['create', 'priorityclass', 'everyday', '--value=10', '--global-default']), /created/);
  const second = await env.kubectl(['create', 'priorityclass', 'other', '--value=5', '--global-default']);
  t.not(second.code, 0);
  t.regex(second.stderr, /PriorityClass everyday is already marked as default\. Only one default can exist/);
  t.deepEqual(withoutAge(await ok(['get', 'pc'])), [
    ['NAME', 'VALUE', 'GLOBAL-DEFAULT', 'PREEMPTIONPOLICY'],
    ['everyday', '10', 'true', 'PreemptLowerPriority'],
    ['high', '1000', 'false', 'Never'],
    ['system-cluster-critical', '2000000000', 'false', 'PreemptLowerPriority'],
    ['system-node-critical', '2000001000', 'false', 'PreemptLowerPriority'],
  ]);
  t.regex(await ok(['run', 'important', '--image=busybox', '--overrides={"spec":{"priorityClassName":"high"}}']), /pod\/important created/);
  t.is(await ok(['get', 'pod', 'important', '-o', 'jsonpath={.spec.priority} {.spec.preemptionPolicy}']), '1000 Never');
  t.regex(await ok(['run', 'ordinary', '--image=busybox']), /created/);
  t.is(await ok(['get', 'pod', 'ordinary', '-o', 'jsonpath={.spec.priorityClassName} {.spec.priority}']), 'everyday 10');
  const unknown = await env.kubectl(['run', 'lost', '--image=busybox', '--overrides={"spec":{"priorityClassName":"nope"}}']);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /Error from server \(Forbidden\): pods "lost" is forbidden: no PriorityClass with name nope was found/);
  await ok(['delete', 'pod', 'important', 'ordinary', '--grace-period=0']);
  await ok(['delete', 'pc', 'everyday']);
});

kubectlTest('create quota --hard=pods=2: a third pod is refused with the quota message; get quota shows usage', async (t) => {
  await ok(['create', 'namespace', 'limited']);
  const created = await env.kubectl(['create', 'quota', 'q', '--hard=pods=2,requests.cpu=1,limits.memory=1Gi', '-n', 'limited', '-v=8']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^resourcequota\/q created$/m);
  t.regex(created.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  const overrides = (name: string): string =>
    `--overrides={"spec":{"containers":[{"name":"${name}","image":"busybox","resources":{"requests":{"cpu":"100m"},"limits":{"memory":"64Mi"}}}]}}`;
  t.regex(await ok(['run', 'one', '--image=busybox', '-n', 'limited', overrides('one')]), /pod\/one created/);
  t.regex(await ok(['run', 'two', '--image=busybox', '-n', 'limited', overrides('two')]), /pod\/two created/);
  const third = await env.kubectl(['run', 'three', '--image=busybox', '-n', 'limited', overrides('three')]);
  t.not(third.code, 0);
  t.regex(third.stderr, /Error from server \(Forbidden\): pods "three" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2/);
  t.deepEqual(withoutAge(await ok(['get', 'quota', '-n', 'limited'])), [
    ['NAME', 'REQUEST', 'LIMIT'],
    ['q', 'pods: 2/2, requests.cpu: 200m/1', 'limits.memory: 128Mi/1Gi'],
  ]);
  const undeclared = await env.kubectl(['run', 'bare', '--image=busybox', '-n', 'limited']);
  t.regex(undeclared.stderr, /pods "bare" is forbidden: failed quota: q: must specify limits\.memory,requests\.cpu/);
  t.regex(await ok(['create', 'quota', 'objects', '--hard=count/configmaps=1', '-n', 'limited']), /created/);
  t.regex(await ok(['create', 'configmap', 'first', '-n', 'limited']), /created/);
  const over = await env.kubectl(['create', 'configmap', 'second', '-n', 'limited']);
  t.regex(over.stderr, /configmaps "second" is forbidden: exceeded quota: objects, requested: count\/configmaps=1, used: count\/configmaps=1, limited: count\/configmaps=1/);
});

kubectlTest('create ingress sends protobuf; get ing prints class, hosts and ports; a bad backend is refused', async (t) => {
  const created = await env.kubectl(['create', 'ingress', 'site', '--class=nginx', '--rule=shop.example.com/cart*=cart:8080,tls=shop-tls', '--rule=/health=probe:http', '--default-backend=web:80', '-v=8']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^ingress\.networking\.k8s\.io\/site created$/m);
  t.regex(created.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  t.regex(await ok(['create', 'ingress', 'plain', '--rule=a.example.com/=web:80']), /created/);
  // ADDRESS stays empty (no ingress controller), so the rows are matched by column positions.
  const listed = (await ok(['get', 'ing'])).split('\n');
  t.regex(listed[0] ?? '', /^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE$/);
  t.regex(listed[1] ?? '', /^plain\s+<none>\s+a\.example\.com\s+80\s+\d+s$/);
  t.regex(listed[2] ?? '', /^site\s+nginx\s+shop\.example\.com\s+80, 443\s+\d+s$/);
  const portsAt = (listed[0] ?? '').indexOf('PORTS');
  t.is((listed[1] ?? '').indexOf('80'), portsAt, 'the empty ADDRESS cell keeps PORTS in its column');
  const stored = JSON.parse(await ok(['get', 'ingress', 'site', '-o', 'json'])) as { spec: { rules: { http: { paths: { path: string; pathType: string; backend: unknown }[] } }[]; tls: unknown[] } };
  t.deepEqual(stored.spec.rules[0]?.http.paths[0], { path: '/cart', pathType: 'Prefix', backend: { service: { name: 'cart', port: { number: 8080 } } } });
  t.deepEqual(stored.spec.rules[1]?.http.paths[0], { path: '/health', pathType: 'Exact', backend: { service: { name: 'probe', port: { name: 'http' } } } });
  t.deepEqual(stored.spec.tls, [{ hosts: ['shop.example.com'], secretName: 'shop-tls' }]);
  const bad = await env.kubectl(['create', 'ingress', 'bad', '--rule=x.example.com/=Bad_Name:80']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /Ingress\.networking\.k8s\.io "bad" is invalid: spec\.rules\[0\]\.http\.paths\[0\]\.backend\.service\.name/);
});
