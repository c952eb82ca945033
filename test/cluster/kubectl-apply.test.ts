// The real kubectl against kplane's OpenAPI v3, fieldValidation and server-side apply: explain
// prints the registry's descriptions; apply, create -f, replace -f and edit validate on the server with no
// --validate=false (unknown fields: Kubernetes' strict decoding error, or Warning lines); and
// apply --server-side creates, re-applies, conflicts with a second --field-manager, takes fields
// over with --force-conflicts, and removes what a manager stops applying.

import test from 'ava';
import { kubectlMissingReason, startKubectlEnv, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-apply tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;
test.before(async () => {
  if (missing === undefined) env = await startKubectlEnv();
});
test.after.always(async () => {
  await env?.close();
});

function deploymentYaml(name: string, options: { replicas?: number; image?: string; extra?: string; labels?: string; side?: boolean } = {}): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
${options.labels === undefined ? '' : `  labels: ${options.labels}\n`}spec:
${options.replicas === undefined ? '' : `  replicas: ${options.replicas}\n`}${options.extra ?? ''}  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: nginx
        image: ${options.image ?? 'nginx:1.26'}
        ports: [{containerPort: 80}]
${options.side === true ? '      - name: side\n        image: busybox\n' : ''}`;
}

async function jsonpath(resource: string, path: string): Promise<string> {
  return (await env.kubectl(['get', resource, '-o', `jsonpath=${path}`])).stdout;
}

kubectlTest('explain prints the registry descriptions from OpenAPI v3', async (t) => {
  const strategy = await env.kubectl(['explain', 'deployment.spec.strategy']);
  t.is(strategy.code, 0, strategy.stderr);
  t.regex(strategy.stdout, /KIND:\s+Deployment/);
  t.regex(strategy.stdout, /The deployment strategy to use to replace existing pods with new ones\./);
  t.regex(strategy.stdout, /FIELD: strategy <DeploymentStrategy>/);
  t.regex(strategy.stdout, /rollingUpdate\s+<RollingUpdateDeployment>/);
  t.regex(strategy.stdout, /enum: Recreate, RollingUpdate/);
  const image = await env.kubectl(['explain', 'pod.spec.containers.image']);
  t.is(image.code, 0, image.stderr);
  t.regex(image.stdout, /Container image name\./);
});

kubectlTest('apply, replace -f, edit and create -f validate on the server with no --validate=false', async (t) => {
  const file = env.writeFile('v.yaml', deploymentYaml('valid', { replicas: 1 }));
  const applied = await env.kubectl(['apply', '-f', file, '-v=6']);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, /deployment\.apps\/valid created/);
  t.regex(applied.stderr, /fieldValidation=Strict/, 'kubectl left validation to the server');
  t.notRegex(applied.stderr, /failed to download openapi/);
  const replaced = await env.kubectl(['replace', '-f', env.writeFile('v.yaml', deploymentYaml('valid', { replicas: 2 }))]);
  t.is(replaced.code, 0, replaced.stderr);
  t.regex(replaced.stdout, /deployment\.apps\/valid replaced/);
  t.is(await jsonpath('deploy/valid', '{.spec.replicas}'), '2');
  const edited = await env.kubectl(['edit', 'deploy/valid'], { env: { KUBE_EDITOR: "sed -i 's/replicas: 2$/replicas: 3/'" } });
  t.is(edited.code, 0, edited.stderr);
  t.regex(edited.stdout, /deployment\.apps\/valid edited/);
  t.is(await jsonpath('deploy/valid', '{.spec.replicas}'), '3');
  const created = await env.kubectl(['create', '-f', env.writeFile('c.yaml', deploymentYaml('created'))]);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /deployment\.apps\/created created/);

  const bad = env.writeFile('bad.yaml', deploymentYaml('bad', { extra: '  foo: bar\n' }));
  const strict = await env.kubectl(['apply', '-f', bad]);
  t.not(strict.code, 0);
  t.regex(strict.stderr, /Error from server \(BadRequest\): error when creating ".*bad\.yaml": Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec\.foo"/);
  const warned = await env.kubectl(['create', '--validate=warn', '-f', bad]);
  t.is(warned.code, 0, warned.stderr);
  t.regex(warned.stderr, /Warning: unknown field "spec\.foo"/);
});

kubectlTest('apply --server-side: create, conflict with a second manager, --force-conflicts, removal of dropped fields', async (t) => {
  const file = env.writeFile('ssa.yaml', deploymentYaml('ssa', { replicas: 2, labels: '{team: a}', side: true }));
  const created = await env.kubectl(['apply', '--server-side', '-f', file]);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /deployment\.apps\/ssa serverside-applied/);
  t.is(await jsonpath('deploy/ssa', '{.metadata.managedFields[0].manager}/{.metadata.managedFields[0].operation}'), 'kubectl/Apply');
  t.is(await jsonpath('deploy/ssa', '{.spec.template.spec.containers[*].name}'), 'nginx side');

  const other = env.writeFile('other.yaml', deploymentYaml('ssa', { replicas: 5 }));
  const conflict = await env.kubectl(['apply', '--server-side', '--field-manager=other', '-f', other]);
  t.not(conflict.code, 0);
  t.regex(conflict.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.spec\.replicas/);
  t.regex(conflict.stderr, /--force-conflicts/, 'kubectl explains how to resolve it');
  t.is(await jsonpath('deploy/ssa', '{.spec.replicas}'), '2');

  const forced = await env.kubectl(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', other]);
  t.is(forced.code, 0, forced.stderr);
  t.is(await jsonpath('deploy/ssa', '{.spec.replicas}'), '5');
  t.is(await jsonpath('deploy/ssa', '{.metadata.managedFields[*].manager}'), 'kubectl other');

  // kubectl stops applying replicas (now other's), the label and the side container.
  const shrunk = await env.kubectl(['apply', '--server-side', '-f', env.writeFile('ssa.yaml', deploymentYaml('ssa'))]);
  t.is(shrunk.code, 0, shrunk.stderr);
  t.is(
    await jsonpath('deploy/ssa', '{.spec.replicas} {.metadata.labels.team}|{.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].image}'),
    '5 |nginx nginx:1.26',
    'replicas kept (owned by other); the label and the side container removed',
  );
  // The image is co-owned by other now: changing it is a conflict too.
  const image = await env.kubectl(['apply', '--server-side', '-f', env.writeFile('ssa.yaml', deploymentYaml('ssa', { image: 'nginx:1.27' }))]);
  t.regex(image.stderr, /conflict with "other": \.spec\.template\.spec\.containers\[name="nginx"\]\.image/);
  const yaml = await env.kubectl(['get', 'deploy/ssa', '-o', 'yaml', '--show-managed-fields']);
  t.regex(yaml.stdout, /k:\{"name":"nginx"\}:/);
  t.regex(yaml.stdout, /fieldsType: FieldsV1/);
});

kubectlTest('diff (client- and server-side dry run) and server-side apply of cluster-scoped and data kinds', async (t) => {
  const file = env.writeFile('diff.yaml', deploymentYaml('diffed', { replicas: 1 }));
  t.is((await env.kubectl(['apply', '-f', file])).code, 0);
  env.writeFile('diff.yaml', deploymentYaml('diffed', { replicas: 4 }));
  for (const extra of [[], ['--server-side']]) {
    const diff = await env.kubectl(['diff', ...extra, '-f', file]);
    t.is(diff.code, 1, `diff ${extra.join(' ')} exits 1 when there are differences: ${diff.stderr}`);
    t.regex(diff.stdout, /^-  replicas: 1$/m);
    t.regex(diff.stdout, /^\+  replicas: 4$/m);
  }
  t.is(await jsonpath('deploy/diffed', '{.spec.replicas}'), '1', 'diff changed nothing');

  const objects = env.writeFile(
    'objects.yaml',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: applied, labels: {owner: ssa}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: applied}\ndata: {mode: fast, level: "3"}\n',
  );
  const applied = await env.kubectl(['apply', '--server-side', '-f', objects]);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, /namespace\/applied serverside-applied/);
  t.regex(applied.stdout, /configmap\/settings serverside-applied/);
  env.writeFile('objects.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: applied}\ndata: {mode: slow}\n');
  t.is((await env.kubectl(['apply', '--server-side', '-f', objects])).code, 0);
  t.is((await env.kubectl(['get', 'cm/settings', '-n', 'applied', '-o', 'jsonpath={.data}'])).stdout, '{"mode":"slow"}', 'the dropped key is gone');
});
