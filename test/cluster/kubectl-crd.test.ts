// A CustomResourceDefinition through the real kubectl: `apply -f crd.yaml`, then a custom resource
// applied, listed as a table with its printer columns, got by short name, explained from the
// OpenAPI document, an invalid one refused with the field named, and the CRD's deletion removing
// its custom resources.

import test from 'ava';
import { kubectlMissingReason, startKubectlEnv, tableRows, type KubectlEnv } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-crd tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

let env: KubectlEnv;

const CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: crontabs.stable.example.com
spec:
  group: stable.example.com
  scope: Namespaced
  names:
    plural: crontabs
    singular: crontab
    kind: CronTab
    shortNames: [ct]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    additionalPrinterColumns:
    - name: Spec
      type: string
      jsonPath: .spec.cronSpec
    - name: Replicas
      type: integer
      jsonPath: .spec.replicas
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: CronTabSpec says when and what the cron tab runs.
            required: [cronSpec]
            properties:
              cronSpec:
                type: string
                description: The schedule, in cron format.
              image:
                type: string
                description: The image the cron tab runs.
              replicas:
                type: integer
                minimum: 1
                maximum: 10
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
`;

const CRON_TAB = `
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: nightly
spec:
  cronSpec: "0 3 * * *"
  image: backup:1
  replicas: 2
`;

const INVALID_CRON_TAB = `
apiVersion: stable.example.com/v1
kind: CronTab
metadata:
  name: too-many
spec:
  cronSpec: "* * * * *"
  replicas: 50
`;

test.before(async () => {
  if (missing !== undefined) return;
  env = await startKubectlEnv();
});

test.after.always(async () => {
  if (missing !== undefined) return;
  await env.close();
});

kubectlTest('kubectl apply -f crd.yaml, then a custom resource through apply, get, get <shortName> and explain', async (t) => {
  const crd = await env.kubectl(['apply', '-f', env.writeFile('crd.yaml', CRD)]);
  t.is(crd.code, 0, crd.stderr);
  t.regex(crd.stdout, /customresourcedefinition.apiextensions.k8s.io\/crontabs.stable.example.com created/);
  const applied = await env.kubectl(['apply', '-f', env.writeFile('crontab.yaml', CRON_TAB)]);
  t.is(applied.code, 0, applied.stderr);
  t.regex(applied.stdout, /crontab.stable.example.com\/nightly created/);
  const again = await env.kubectl(['apply', '-f', env.writeFile('crontab.yaml', CRON_TAB.replace('replicas: 2', 'replicas: 3'))]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /configured/);

  const listed = await env.kubectl(['get', 'crontabs']);
  t.is(listed.code, 0, listed.stderr);
  const rows = tableRows(listed.stdout);
  t.deepEqual(rows[0], ['NAME', 'SPEC', 'REPLICAS', 'AGE']);
  t.deepEqual(rows[1]?.slice(0, 3), ['nightly', '0 3 * * *', '3']);

  const short = await env.kubectl(['get', 'ct', 'nightly', '-o', 'jsonpath={.spec.image}']);
  t.is(short.code, 0, short.stderr);
  t.is(short.stdout, 'backup:1');

  const crds = await env.kubectl(['get', 'crd']);
  t.is(crds.code, 0, crds.stderr);
  t.regex(crds.stdout, /crontabs.stable.example.com/);

  const explained = await env.kubectl(['explain', 'crontab.spec']);
  t.is(explained.code, 0, explained.stderr);
  t.regex(explained.stdout, /KIND:\s+CronTab/);
  t.regex(explained.stdout, /CronTabSpec says when and what the cron tab runs/);
  t.regex(explained.stdout, /cronSpec\s+<string> -required-/);
  t.regex(explained.stdout, /The image the cron tab runs/);
});

kubectlTest('patch --type=merge and label work on custom resources; strategic merge is refused', async (t) => {
  const merged = await env.kubectl(['patch', 'ct', 'nightly', '--type=merge', '-p', '{"spec":{"image":"backup:2"}}']);
  t.is(merged.code, 0, merged.stderr);
  const labeled = await env.kubectl(['label', 'ct', 'nightly', 'tier=batch']);
  t.is(labeled.code, 0, labeled.stderr);
  const shown = await env.kubectl(['get', 'ct', 'nightly', '-o', 'jsonpath={.spec.image} {.metadata.labels.tier}']);
  t.is(shown.stdout, 'backup:2 batch');
  const strategic = await env.kubectl(['patch', 'ct', 'nightly', '-p', '{"spec":{"image":"backup:3"}}']);
  t.not(strategic.code, 0);
  t.regex(strategic.stderr, /strategic-merge-patch|unknown format/);
});

kubectlTest('an invalid custom resource is refused with the field named', async (t) => {
  const refused = await env.kubectl(['apply', '-f', env.writeFile('invalid.yaml', INVALID_CRON_TAB)]);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /spec\.replicas/);
  t.regex(refused.stderr, /less than or equal to 10/);
  const absent = await env.kubectl(['get', 'crontab', 'too-many']);
  t.not(absent.code, 0);
});

kubectlTest('deleting the CRD deletes its custom resources and stops serving them', async (t) => {
  const deleted = await env.kubectl(['delete', 'crd', 'crontabs.stable.example.com']);
  t.is(deleted.code, 0, deleted.stderr);
  const gone = await env.kubectl(['get', 'crontabs']);
  t.not(gone.code, 0);
  // With discovery cached, kubectl lists and gets 404; with a fresh cache it no longer knows the type.
  t.regex(gone.stderr, /the server doesn't have a resource type "crontabs"|the server could not find the requested resource/);
  // Recreated, the resource comes back empty: the old custom resources were deleted with the CRD.
  t.is((await env.kubectl(['apply', '-f', env.writeFile('crd.yaml', CRD)])).code, 0);
  const empty = await env.kubectl(['get', 'crontabs']);
  t.is(empty.code, 0, empty.stderr);
  t.regex(empty.stderr, /No resources found in default namespace/);
});
