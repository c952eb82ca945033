// Changing objects with the real kubectl: apply -f (create, then a strategic-merge patch, and the
// patch directives kubectl sends: $setElementOrder, $retainKeys, $deleteFromPrimitiveList, $patch),
// scale, label, annotate and delete, checked by what kubectl prints and what a later get returns.

import test from 'ava';
import { kubectlMissingReason, startKubectlEnv, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-edit tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;
test.before(async () => {
  if (missing === undefined) env = await startKubectlEnv();
});
test.after.always(async () => {
  await env?.close();
});

function deploymentYaml(replicas: number, image: string, extraContainer = false): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
  labels: {app: app}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
      - name: main
        image: ${image}
        env: [{name: MODE, value: one}]
${extraContainer ? '      - name: side\n        image: busybox\n' : ''}`;
}

async function jsonpath(resource: string, path: string): Promise<string> {
  const result = await env.kubectl(['get', resource, '-o', `jsonpath=${path}`]);
  return result.stdout;
}

kubectlTest('apply -f creates, a changed file patches, an unchanged one is left alone', async (t) => {
  const file = env.writeFile('app.yaml', deploymentYaml(1, 'nginx:1.26', true));
  const created = await env.kubectl(['apply', '--validate=false', '-f', file]);
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout, /deployment\.apps\/app created/);
  t.regex(await jsonpath('deploy/app', '{.metadata.annotations.kubectl\\.kubernetes\\.io/last-applied-configuration}'), /"image":"nginx:1.26"/);
  const unchanged = await env.kubectl(['apply', '--validate=false', '-f', file]);
  t.regex(unchanged.stdout, /deployment\.apps\/app unchanged/);
  env.writeFile('app.yaml', deploymentYaml(2, 'nginx:1.27'));
  const patched = await env.kubectl(['apply', '--validate=false', '-f', file, '-v=6']);
  t.is(patched.code, 0, patched.stderr);
  t.regex(patched.stdout, /deployment\.apps\/app configured/);
  t.regex(patched.stderr, /PATCH https:\/\/[^ ]+\/apis\/apps\/v1\/namespaces\/default\/deployments\/app/);
  t.is(await jsonpath('deploy/app', '{.spec.replicas} {.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value}'), '2 main nginx:1.27 one', 'the side container was removed by the patch; env kept');
  t.is(await jsonpath('deploy/app', '{.metadata.generation}'), '2');
});

function directivesYaml(recreate: boolean): string {
  const strategy = recreate ? '{type: Recreate}' : '{type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}';
  const finalizers = recreate ? '[example.com/keep]' : '[example.com/keep, example.com/drop]';
  const containers = recreate
    ? '      - {name: b, image: busybox:2, env: [{name: ONE, value: "1"}]}\n      - {name: c, image: busybox}\n'
    : '      - {name: a, image: busybox}\n      - {name: b, image: busybox, env: [{name: ONE, value: "1"}]}\n';
  return `apiVersion: apps/v1
kind: Deployment
metadata: {name: directives, finalizers: ${finalizers}}
spec:
  replicas: 1
  strategy: ${strategy}
  selector: {matchLabels: {app: directives}}
  template:
    metadata: {labels: {app: directives}}
    spec:
      containers:
${containers}`;
}

kubectlTest('apply -f sends strategic-merge directives: $retainKeys, $setElementOrder, $deleteFromPrimitiveList and $patch delete', async (t) => {
  const file = env.writeFile('directives.yaml', directivesYaml(false));
  const created = await env.kubectl(['apply', '-f', file]);
  t.is(created.code, 0, created.stderr);
  // A change made on the server, outside the file: apply must keep it.
  const setEnv = await env.kubectl(['set', 'env', 'deployment/directives', '-c', 'b', 'SERVER=kept']);
  t.is(setEnv.code, 0, setEnv.stderr);
  env.writeFile('directives.yaml', directivesYaml(true));
  const patched = await env.kubectl(['apply', '-f', file, '-v=8']);
  t.is(patched.code, 0, patched.stderr);
  t.regex(patched.stdout, /deployment\.apps\/directives configured/);
  // What kubectl sent (its request body at -v=8), so the test shows which directives it exercised.
  for (const directive of ['$retainKeys', '$setElementOrder/containers', '$deleteFromPrimitiveList/finalizers', '\\"$patch\\":\\"delete\\"']) t.true(patched.stderr.includes(directive), `kubectl sent ${directive}`);
  t.is(await jsonpath('deploy/directives', '{.spec.strategy}'), '{"type":"Recreate"}', 'rollingUpdate dropped by $retainKeys');
  t.is(await jsonpath('deploy/directives', '{.metadata.finalizers}'), '["example.com/keep"]');
  t.is(await jsonpath('deploy/directives', '{range .spec.template.spec.containers[*]}{.name}:{.image} {end}'), 'b:busybox:2 c:busybox ', 'a deleted, b patched, c added, in the file\'s order');
  t.is(await jsonpath('deploy/directives', '{.spec.template.spec.containers[0].env[*].name}'), 'ONE SERVER', "the server's env var survives the apply");
  // Let the object go: the finalizers would hold its deletion (no controller clears them here).
  t.is((await env.kubectl(['patch', 'deployment', 'directives', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]'])).code, 0);
  t.is((await env.kubectl(['delete', 'deployment', 'directives'])).code, 0);
});

kubectlTest('scale changes replicas through the scale subresource', async (t) => {
  const scaled = await env.kubectl(['scale', 'deployment/app', '--replicas=5']);
  t.is(scaled.code, 0, scaled.stderr);
  t.regex(scaled.stdout, /deployment\.apps\/app scaled/);
  t.is(await jsonpath('deploy/app', '{.spec.replicas}'), '5');
  const guarded = await env.kubectl(['scale', 'deployment/app', '--replicas=1', '--current-replicas=3']);
  t.not(guarded.code, 0, 'the --current-replicas precondition fails');
  t.is(await jsonpath('deploy/app', '{.spec.replicas}'), '5');
});

kubectlTest('label: add, refuse to overwrite without --overwrite, overwrite, remove', async (t) => {
  const added = await env.kubectl(['label', 'deployment', 'app', 'tier=frontend']);
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /deployment\.apps\/app labeled/);
  const refused = await env.kubectl(['label', 'deployment', 'app', 'tier=backend']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /already has a value \(frontend\)/);
  t.is((await env.kubectl(['label', 'deployment', 'app', 'tier=backend', '--overwrite'])).code, 0);
  t.is(await jsonpath('deploy/app', '{.metadata.labels.tier}'), 'backend');
  const removed = await env.kubectl(['label', 'deployment', 'app', 'tier-']);
  t.regex(removed.stdout, /deployment\.apps\/app unlabeled/);
  t.is(await jsonpath('deploy/app', '{.metadata.labels}'), '{"app":"app"}');
});

kubectlTest('annotate adds and removes annotations', async (t) => {
  const added = await env.kubectl(['annotate', 'deployment', 'app', 'owner=team-a', 'note=hello world']);
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /deployment\.apps\/app annotated/);
  t.is(await jsonpath('deploy/app', '{.metadata.annotations.owner}/{.metadata.annotations.note}'), 'team-a/hello world');
  t.is((await env.kubectl(['annotate', 'deployment', 'app', 'owner-'])).code, 0);
  t.is(await jsonpath('deploy/app', '{.metadata.annotations.owner}'), '');
});

kubectlTest('edit with a non-interactive KUBE_EDITOR, then wait --for=jsonpath sees the change', async (t) => {
  t.is((await env.kubectl(['create', 'configmap', 'editable', '--from-literal=mode=old'])).code, 0);
  const edited = await env.kubectl(['edit', 'configmap', 'editable', '--validate=false'], { env: { KUBE_EDITOR: 'sed -i s/old/new/' } });
  t.is(edited.code, 0, edited.stderr);
  t.regex(edited.stdout, /configmap\/editable edited/);
  const waited = await env.kubectl(['wait', '--for=jsonpath={.data.mode}=new', 'configmap/editable', '--timeout=30s']);
  t.is(waited.code, 0, waited.stderr);
  t.regex(waited.stdout, /configmap\/editable condition met/);
});

kubectlTest('delete by name and delete -f; --ignore-not-found', async (t) => {
  t.is((await env.kubectl(['create', 'configmap', 'doomed'])).code, 0);
  const deleted = await env.kubectl(['delete', 'configmap', 'doomed']);
  t.is(deleted.code, 0, deleted.stderr);
  t.regex(deleted.stdout, /configmap "doomed" deleted/);
  const missingAfter = await env.kubectl(['get', 'configmap', 'doomed']);
  t.regex(missingAfter.stderr, /Error from server \(NotFound\): configmaps "doomed" not found/);
  const byFile = await env.kubectl(['delete', '-f', env.writeFile('app.yaml', deploymentYaml(2, 'nginx:1.27'))]);
  t.is(byFile.code, 0, byFile.stderr);
  t.regex(byFile.stdout, /deployment\.apps "app" deleted/);
  const again = await env.kubectl(['delete', 'deployment', 'app']);
  t.not(again.code, 0);
  t.regex(again.stderr, /NotFound/);
  t.is((await env.kubectl(['delete', 'deployment', 'app', '--ignore-not-found'])).code, 0);
});
