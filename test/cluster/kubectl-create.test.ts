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

kubectlTest('create job sends protobuf; the Job gets its generated selector, and get jobs prints its columns', async (t) => {
  const created = await env.kubectl(['create', 'job', 'once', '--image=busybox', '-v=8', '--', 'sh', '-c', 'sleep 1']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^job\.batch\/once created$/m);
  t.regex(created.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/, 'the body went as protobuf');
  const job = (await jsonOf(['get', 'job', 'once'])) as {
    metadata: { uid: string };
    spec: { completions: number; parallelism: number; backoffLimit: number; selector: unknown; template: { metadata: { labels: Record<string, string> }; spec: { restartPolicy: string; containers: { name: string; image: string; command: string[] }[] } } };
  };
  t.like(job.spec, { completions: 1, parallelism: 1, backoffLimit: 6 });
  t.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': job.metadata.uid } });
  t.is(job.spec.template.metadata.labels['batch.kubernetes.io/job-name'], 'once');
  t.is(job.spec.template.spec.restartPolicy, 'Never');
  t.like(job.spec.template.spec.containers[0], { name: 'once', image: 'busybox', command: ['sh', '-c', 'sleep 1'] });
  const listed = await env.kubectl(['get', 'jobs']);
  t.regex(listed.stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/m);
  t.regex(listed.stdout, /^once\s+Running\s+0\/1\s+\d+s$/m, 'no controller runs here: Running, no duration yet');
  const wide = await env.kubectl(['get', 'job', 'once', '-o', 'wide']);
  t.regex(wide.stdout, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m);
  t.regex(wide.stdout, new RegExp(`^once\\s+Running\\s+0/1\\s+\\d+s\\s+once\\s+busybox\\s+batch\\.kubernetes\\.io/controller-uid=${job.metadata.uid}$`, 'm'));
  const described = await env.kubectl(['describe', 'job', 'once']);
  t.is(described.code, 0, described.stderr);
  t.regex(described.stdout, /^Parallelism:\s+1$/m);
  t.regex(described.stdout, /^Completions:\s+1$/m);
  t.regex(described.stdout, /^Backoff Limit:\s+6$/m);
  t.regex(described.stdout, /^Pods Statuses:\s+0 Active (\(0 Ready\) )?\/ 0 Succeeded \/ 0 Failed$/m);
  t.regex(described.stdout, /^Labels:\s+batch\.kubernetes\.io\/controller-uid=/m, 'the Job carries its pods\' labels');
  const always = await env.kubectl(['create', '-f', '-'], { stdin: JSON.stringify({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bad' }, spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } } }) });
  t.not(always.code, 0);
  t.regex(always.stderr, /spec\.template\.spec\.restartPolicy/);
});

kubectlTest('create cronjob, get cj (wide), and create job --from=cronjob', async (t) => {
  const created = await env.kubectl(['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/1 * * * *', '--', 'true']);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /^cronjob\.batch\/tick created$/m);
  const cronJob = (await jsonOf(['get', 'cronjob', 'tick'])) as { spec: Record<string, unknown> };
  t.like(cronJob.spec, { schedule: '*/1 * * * *', concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1 });
  const listed = await env.kubectl(['get', 'cj']);
  t.regex(listed.stdout, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE$/m);
  t.regex(listed.stdout, /^tick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\d+s$/m);
  const wide = await env.kubectl(['get', 'cj', 'tick', '-o', 'wide']);
  t.regex(wide.stdout, /^tick\s+.*\s+tick\s+busybox\s+<none>$/m);
  const badSchedule = await env.kubectl(['create', 'cronjob', 'oops', '--image=busybox', '--schedule=every minute']);
  t.not(badSchedule.code, 0);
  t.regex(badSchedule.stderr, /spec\.schedule/);
  const describedCronJob = await env.kubectl(['describe', 'cronjob', 'tick']);
  t.is(describedCronJob.code, 0, describedCronJob.stderr);
  t.regex(describedCronJob.stdout, /^Schedule:\s+\*\/1 \* \* \* \*$/m);
  t.regex(describedCronJob.stdout, /^Concurrency Policy:\s+Allow$/m);
  const manual = await env.kubectl(['create', 'job', 'tick-manual', '--from=cronjob/tick']);
  t.is(manual.code, 0, manual.stderr);
  t.regex(manual.stdout, /^job\.batch\/tick-manual created$/m);
  const job = (await jsonOf(['get', 'job', 'tick-manual'])) as { metadata: { annotations?: Record<string, string>; ownerReferences?: { kind: string; name: string; controller?: boolean }[] }; spec: { template: { spec: { containers: { command: string[] }[] } } } };
  t.is(job.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
  t.like(job.metadata.ownerReferences?.[0], { kind: 'CronJob', name: 'tick', controller: true });
  t.deepEqual(job.spec.template.spec.containers[0]?.command, ['true']);
});

kubectlTest('explain job.spec and cronjob.spec print the batch/v1 field descriptions', async (t) => {
  const job = await env.kubectl(['explain', 'job.spec']);
  t.is(job.code, 0, job.stderr);
  t.regex(job.stdout, /GROUP:\s+batch\n/);
  t.regex(job.stdout, /KIND:\s+Job\n/);
  t.regex(job.stdout, /VERSION:\s+v1\n/);
  t.regex(job.stdout, /FIELD: spec <JobSpec>/);
  t.regex(job.stdout, /backoffLimit\s+<integer>/);
  t.regex(job.stdout, /Specifies the number of retries before marking this job failed/);
  t.regex(job.stdout, /template\s+<PodTemplateSpec> -required-/);
  const cronJob = await env.kubectl(['explain', 'cronjob.spec.concurrencyPolicy']);
  t.is(cronJob.code, 0, cronJob.stderr);
  t.regex(cronJob.stdout, /Specifies how to treat concurrent executions of a Job/);
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
