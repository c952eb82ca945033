// The real kubectl's `create <generator>` subcommands (protobuf request bodies) and `auth can-i`
// against the API server: what kubectl prints, and what the server stored.

import test from 'ava';
import { kubectlMissingReason, startKubectlEnv, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-create tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;
test.before(async () => {
  if (missing === undefined) env = await startKubectlEnv();
});
test.after.always(async () => {
  await env?.close();
});

async function jsonOf(args: string[]): Promise<Record<string, unknown>> {
  const result = await env.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

kubectlTest('create namespace sends protobuf and the namespace exists', async (t) => {
  const created = await env.kubectl(['create', 'namespace', 'team-a', '-v=8']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^namespace\/team-a created$/m);
  t.regex(created.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/, 'the body went as protobuf');
  const again = await env.kubectl(['create', 'namespace', 'team-a']);
  t.not(again.code, 0);
  t.regex(again.stderr, /Error from server \(AlreadyExists\): namespaces "team-a" already exists/);
  const listed = await env.kubectl(['get', 'ns', 'team-a']);
  t.regex(listed.stdout, /team-a\s+Active\s+\d+s/);
});

kubectlTest('create deployment with --image, --port and --replicas', async (t) => {
  const created = await env.kubectl(['create', 'deployment', 'web', '--image=nginx:1.27', '--port=80', '--replicas=3']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /deployment\.apps\/web created/);
  const deployment = (await jsonOf(['get', 'deployment', 'web'])) as { metadata: { labels: Record<string, string> }; spec: { replicas: number; selector: unknown; template: { spec: { containers: { name: string; image: string; ports: unknown[] }[] } } } };
  t.deepEqual(deployment.metadata.labels, { app: 'web' });
  t.is(deployment.spec.replicas, 3);
  t.deepEqual(deployment.spec.selector, { matchLabels: { app: 'web' } });
  t.like(deployment.spec.template.spec.containers[0], { name: 'nginx', image: 'nginx:1.27', ports: [{ containerPort: 80, protocol: 'TCP' }] });
});

kubectlTest('create configmap --from-literal keeps every value, empty ones too', async (t) => {
  const created = await env.kubectl(['create', 'configmap', 'settings', '--from-literal=mode=fast', '--from-literal=empty=', '-n', 'default']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /configmap\/settings created/);
  const configMap = await jsonOf(['get', 'configmap', 'settings']);
  t.deepEqual(configMap['data'], { mode: 'fast', empty: '' });
});

kubectlTest('create secret generic stores base64 data and the Opaque type', async (t) => {
  const created = await env.kubectl(['create', 'secret', 'generic', 'creds', '--from-literal=user=admin', '--from-literal=password=s3cr3t']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /secret\/creds created/);
  const secret = await jsonOf(['get', 'secret', 'creds']);
  t.is(secret['type'], 'Opaque');
  t.deepEqual(secret['data'], { user: Buffer.from('admin').toString('base64'), password: Buffer.from('s3cr3t').toString('base64') });
  const printed = await env.kubectl(['get', 'secret', 'creds']);
  t.regex(printed.stdout, /creds\s+Opaque\s+2\s+\d+s/);
});

kubectlTest('create service clusterip maps --tcp to ports and selects by name', async (t) => {
  const created = await env.kubectl(['create', 'service', 'clusterip', 'front', '--tcp=80:8080']);
  t.is(created.code, 0, created.stderr);
  const service = (await jsonOf(['get', 'service', 'front'])) as { spec: { type: string; selector: unknown; ports: unknown[] } };
  t.is(service.spec.type, 'ClusterIP');
  t.deepEqual(service.spec.selector, { app: 'front' });
  t.like(service.spec.ports[0], { name: '80-8080', port: 80, targetPort: 8080, protocol: 'TCP' });
});

kubectlTest('create serviceaccount, role, rolebinding, clusterrole and clusterrolebinding', async (t) => {
  for (const args of [
    ['create', 'serviceaccount', 'robot'],
    ['create', 'role', 'reader', '--verb=get,list', '--resource=pods,deployments.apps', '--resource-name=one'],
    ['create', 'rolebinding', 'read', '--role=reader', '--user=bob', '--group=devs', '--serviceaccount=default:robot'],
    ['create', 'clusterrole', 'logs', '--verb=get', '--non-resource-url=/logs'],
    ['create', 'clusterrole', 'combined', '--aggregation-rule=rbac.example.com/aggregate=true'],
    ['create', 'clusterrolebinding', 'logs', '--clusterrole=logs', '--user=alice'],
  ]) {
    const created = await env.kubectl(args);
    t.is(created.code, 0, `${args.join(' ')}: ${created.stderr}`);
    t.regex(created.stdout, / created$/m);
  }
  const role = await jsonOf(['get', 'role', 'reader']);
  t.deepEqual(role['rules'], [
    { apiGroups: [''], resources: ['pods'], resourceNames: ['one'], verbs: ['get', 'list'] },
    { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['one'], verbs: ['get', 'list'] },
  ]);
  const binding = await jsonOf(['get', 'rolebinding', 'read']);
  t.deepEqual(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' });
  t.deepEqual(binding['subjects'], [
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' },
    { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'devs' },
    { kind: 'ServiceAccount', name: 'robot', namespace: 'default' },
  ]);
  t.deepEqual((await jsonOf(['get', 'clusterrole', 'logs']))['rules'], [{ nonResourceURLs: ['/logs'], verbs: ['get'] }]);
  t.deepEqual((await jsonOf(['get', 'clusterrole', 'combined']))['aggregationRule'], { clusterRoleSelectors: [{ matchLabels: { 'rbac.example.com/aggregate': 'true' } }] });
  const printed = await env.kubectl(['get', 'rolebinding', 'read', '-o', 'wide']);
  t.regex(printed.stdout, /read\s+Role\/reader\s+\d+s\s+bob\s+devs\s+default\/robot/);
});

kubectlTest('create job fails clearly: batch/v1 is not served', async (t) => {
  const created = await env.kubectl(['create', 'job', 'once', '--image=busybox']);
  t.not(created.code, 0);
  t.regex(created.stderr, /the server could not find the requested resource/);
});

kubectlTest('auth can-i answers yes and no', async (t) => {
  const yes = await env.kubectl(['auth', 'can-i', 'create', 'deployments']);
  t.is(yes.code, 0, yes.stderr);
  t.is(yes.stdout.trim(), 'yes');
  const viewerRead = await env.kubectl(['--context', 'viewer', 'auth', 'can-i', 'list', 'pods']);
  t.is(viewerRead.stdout.trim(), 'yes');
  const no = await env.kubectl(['--context', 'viewer', 'auth', 'can-i', 'delete', 'pods']);
  t.is(no.code, 1, 'can-i exits 1 for no');
  t.is(no.stdout.trim(), 'no');
  const denied = await env.kubectl(['--context', 'viewer', 'create', 'namespace', 'nope']);
  t.not(denied.code, 0);
  t.regex(denied.stderr, /Error from server \(Forbidden\)/);
});
