// The transport-free pipeline (pipeline.ts + handlers) over LocalStore: CRUD with Kubernetes'
// status codes and messages, defaulting and validation, subresources, deletion semantics, lists with
// selectors and pages, and watches.
import test from 'ava';
import { ADMIN, ruleAuthorizer, testApi } from './api-helpers.js';
import type { ObjectWatchEvent } from '../../src/api/storage/watch.js';

type Json = { [field: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any

const pod = (name: string, labels: Record<string, string> = {}, extra: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels },
  spec: { containers: [{ name: 'main', image: 'nginx:1.27' }], ...extra },
});

const deployment = (name: string, replicas = 1): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'nginx' }] } },
  },
});

const body = (response: { body?: unknown }): Json => response.body as Json;

test('system namespaces exist from the start and discovery lists the served resources', async (t) => {
  const api = await testApi();
  const list = await api.call('GET', '/api/v1/namespaces');
  t.is(list.status, 200);
  t.deepEqual(body(list)['items'].map((item: Json) => item['metadata']['name']).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  t.is(body(list)['items'][0]['status']['phase'], 'Active');
  const core = body(await api.call('GET', '/api/v1'));
  const pods = core['resources'].find((r: Json) => r['name'] === 'pods');
  t.deepEqual(pods['shortNames'], ['po']);
  t.true(pods['namespaced']);
  t.truthy(core['resources'].find((r: Json) => r['name'] === 'pods/status'));
  const apps = body(await api.call('GET', '/apis/apps/v1'));
  const scale = apps['resources'].find((r: Json) => r['name'] === 'deployments/scale');
  t.is(scale['kind'], 'Scale');
  t.is(scale['group'], 'autoscaling');
  const groups = body(await api.call('GET', '/apis'));
  t.true(groups['groups'].some((g: Json) => g['name'] === 'rbac.authorization.k8s.io'));
  const aggregated = await api.call('GET', '/apis', undefined, { accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' });
  t.is(aggregated.headers?.['content-type'], 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList');
  t.is(body(aggregated)['kind'], 'APIGroupDiscoveryList');
  const version = body(await api.call('GET', '/version'));
  t.is(version['minor'], '32');
});

test('create fills in metadata and defaults, get returns it, a second create is 409 AlreadyExists', async (t) => {
  const api = await testApi();
  const created = await api.call('POST', '/api/v1/namespaces/default/pods', pod('web'));
  t.is(created.status, 201);
  const object = body(created);
  t.regex(object['metadata']['uid'], /^[0-9a-f-]{36}$/);
  t.regex(object['metadata']['resourceVersion'], /^[0-9]+$/);
  t.is(object['metadata']['namespace'], 'default');
  t.is(object['spec']['restartPolicy'], 'Always');
  t.is(object['spec']['dnsPolicy'], 'ClusterFirst');
  t.is(object['spec']['containers'][0]['terminationMessagePath'], '/dev/termination-log');
  t.is(object['status']['phase'], 'Pending');
  const got = await api.call('GET', '/api/v1/namespaces/default/pods/web');
  t.deepEqual(body(got), object);
  const again = await api.call('POST', '/api/v1/namespaces/default/pods', pod('web'));
  t.is(again.status, 409);
  t.is(body(again)['reason'], 'AlreadyExists');
  t.is(body(again)['message'], 'pods "web" already exists');
  const missing = await api.call('GET', '/api/v1/namespaces/default/pods/nope');
  t.is(missing.status, 404);
  t.is(body(missing)['message'], 'pods "nope" not found');
  const deploy = body(await api.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web')));
  t.is(deploy['spec']['strategy']['rollingUpdate']['maxSurge'], '25%');
  t.is(deploy['spec']['revisionHistoryLimit'], 10);
  const missingDeploy = await api.call('GET', '/apis/apps/v1/namespaces/default/deployments/nope');
  t.is(body(missingDeploy)['message'], 'deployments.apps "nope" not found');
});

test('validation answers 422 Invalid with causes; bad bodies and kinds answer 400; unknown resources 404', async (t) => {
  const api = await testApi();
  const bad = await api.call('POST', '/api/v1/namespaces/default/pods', { metadata: { name: 'Bad_Name' }, spec: { containers: [{ name: 'main' }] } });
  t.is(bad.status, 422);
  t.is(body(bad)['reason'], 'Invalid');
  t.is(body(bad)['details']['kind'], 'Pod');
  const fields = body(bad)['details']['causes'].map((c: Json) => c['field']);
  t.true(fields.includes('metadata.name'));
  t.true(fields.includes('spec.containers[0].image'));
  const mismatch = deployment('mm');
  mismatch['spec']['template']['metadata']['labels'] = { app: 'other' };
  const selector = await api.call('POST', '/apis/apps/v1/namespaces/default/deployments', mismatch);
  t.is(selector.status, 422);
  t.regex(body(selector)['message'], /selector` does not match template `labels`/);
  const negative = await api.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('neg', -1));
  t.is(negative.status, 422);
  t.is(body(negative)['details']['causes'][0]['field'], 'spec.replicas');
  t.is((await api.call('POST', '/api/v1/namespaces/default/pods', '{"metadata":')).status, 400);
  const wrongKind = await api.call('POST', '/api/v1/namespaces/default/pods', { ...pod('x'), kind: 'Service' });
  t.is(wrongKind.status, 400);
  t.regex(body(wrongKind)['message'], /does not match the expected kind/);
  // A JSON body labelled protobuf is a malformed protobuf body (no k8s\0 magic): 400 (issue 7 decodes protobuf).
  t.is((await api.call('POST', '/api/v1/namespaces/default/pods', pod('x'), { 'content-type': 'application/vnd.kubernetes.protobuf' })).status, 400);
  t.is((await api.call('GET', '/api/v1/namespaces/default/widgets')).status, 404);
  t.is((await api.call('GET', '/apis/nope.example.com/v1/things')).status, 404);
  const yaml = await api.call('POST', '/api/v1/namespaces/default/configmaps', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  a: "1"\n', { 'content-type': 'application/yaml' });
  t.is(yaml.status, 201);
  t.is(body(yaml)['data']['a'], '1');
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  t.is((await api.call('POST', '/api/v1/namespaces/default/configmaps', deep)).status, 400);
});

test('update: 409 on a stale resourceVersion, generation moves only on spec changes, status is kept off the main resource', async (t) => {
  const api = await testApi();
  const created = body(await api.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web')));
  const withLabel = structuredClone(created);
  withLabel['metadata']['labels'] = { tier: 'front' };
  withLabel['status'] = { replicas: 99 };
  const updated = await api.call('PUT', '/apis/apps/v1/namespaces/default/deployments/web', withLabel);
  t.is(updated.status, 200);
  t.is(body(updated)['metadata']['generation'], 1, 'a metadata change does not bump generation');
  t.is(body(updated)['status'], undefined, 'status written through the main resource is ignored');
  const stale = await api.call('PUT', '/apis/apps/v1/namespaces/default/deployments/web', created);
  t.is(stale.status, 409);
  t.is(body(stale)['message'], 'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again');
  const scaled = structuredClone(body(updated));
  scaled['spec']['replicas'] = 3;
  const bumped = body(await api.call('PUT', '/apis/apps/v1/namespaces/default/deployments/web', scaled));
  t.is(bumped['metadata']['generation'], 2);
  t.is(bumped['metadata']['uid'], created['metadata']['uid']);
  // A uid in the body is a precondition: another uid (the object was recreated) is a 409, for patches too.
  const otherUid = await api.call('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', { metadata: { uid: 'not-this-one' }, spec: { replicas: 4 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(otherUid.status, 409);
  t.regex(String(body(otherUid)['message']), /Precondition failed: UID in precondition: not-this-one/);
  const status = await api.call('PUT', '/apis/apps/v1/namespaces/default/deployments/web/status', { ...bumped, spec: { ...bumped['spec'], replicas: 7 }, status: { replicas: 3, observedGeneration: 2 } });
  t.is(status.status, 200);
  t.is(body(status)['status']['replicas'], 3);
  t.is(body(status)['spec']['replicas'], 3, 'the status subresource does not write spec');
  const podObject = body(await api.call('POST', '/api/v1/namespaces/default/pods', pod('p')));
  const changed = structuredClone(podObject);
  changed['spec']['restartPolicy'] = 'Never';
  const immutable = await api.call('PUT', '/api/v1/namespaces/default/pods/p', changed);
  t.is(immutable.status, 422);
  const image = structuredClone(podObject);
  image['spec']['containers'][0]['image'] = 'nginx:1.28';
  t.is((await api.call('PUT', '/api/v1/namespaces/default/pods/p', image)).status, 200);
});

test('patch: JSON patch, merge patch and strategic merge patch; scale subresource', async (t) => {
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'cm' }, data: { a: '1', b: '2' } });
  const merge = await api.call('PATCH', '/api/v1/namespaces/default/configmaps/cm', { data: { b: null, c: '3' } }, { 'content-type': 'application/merge-patch+json' });
  t.deepEqual(body(merge)['data'], { a: '1', c: '3' });
  const jsonPatch = await api.call('PATCH', '/api/v1/namespaces/default/configmaps/cm', [{ op: 'replace', path: '/data/a', value: 'x' }], { 'content-type': 'application/json-patch+json' });
  t.deepEqual(body(jsonPatch)['data'], { a: 'x', c: '3' });
  const failed = await api.call('PATCH', '/api/v1/namespaces/default/configmaps/cm', [{ op: 'test', path: '/data/a', value: 'nope' }], { 'content-type': 'application/json-patch+json' });
  t.true(failed.status >= 400 && failed.status < 500);
  await api.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web'));
  const smp = await api.call(
    'PATCH',
    '/apis/apps/v1/namespaces/default/deployments/web',
    { spec: { template: { spec: { containers: [{ name: 'main', image: 'nginx:1.28' }] } } } },
    { 'content-type': 'application/strategic-merge-patch+json' },
  );
  t.is(smp.status, 200);
  t.is(body(smp)['spec']['template']['spec']['containers'].length, 1);
  t.is(body(smp)['spec']['template']['spec']['containers'][0]['image'], 'nginx:1.28');
  t.is(body(smp)['metadata']['generation'], 2);
  const scale = await api.call('PATCH', '/apis/apps/v1/namespaces/default/deployments/web/scale', { spec: { replicas: 5 } }, { 'content-type': 'application/merge-patch+json' });
  t.is(scale.status, 200);
  t.is(body(scale)['kind'], 'Scale');
  t.is(body(scale)['spec']['replicas'], 5);
  t.is(body(scale)['status']['selector'], 'app=web');
  t.is(body(await api.call('GET', '/apis/apps/v1/namespaces/default/deployments/web'))['spec']['replicas'], 5);
  const stalePatch = await api.call('PATCH', '/api/v1/namespaces/default/configmaps/cm', { metadata: { resourceVersion: '1' }, data: { z: '1' } }, { 'content-type': 'application/merge-patch+json' });
  t.is(stalePatch.status, 409);
});

test('dryRun=All validates but does not store', async (t) => {
  const api = await testApi();
  const dry = await api.call('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', { metadata: { name: 'dry' } });
  t.is(dry.status, 201);
  t.is((await api.call('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
  t.is((await api.call('POST', '/api/v1/namespaces/default/configmaps?dryRun=Some', { metadata: { name: 'dry' } })).status, 400);
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'real' } });
  t.is((await api.call('DELETE', '/api/v1/namespaces/default/configmaps/real?dryRun=All')).status, 200);
  t.is((await api.call('GET', '/api/v1/namespaces/default/configmaps/real')).status, 200);
});

test('delete: finalizers hold an object, namespaces go Terminating and refuse new content, scheduled pods get a grace period', async (t) => {
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces', { metadata: { name: 'team' } });
  await api.call('POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'held', finalizers: ['example.com/hold'] } });
  const held = await api.call('DELETE', '/api/v1/namespaces/team/configmaps/held');
  t.is(held.status, 202);
  const stillThere = body(await api.call('GET', '/api/v1/namespaces/team/configmaps/held'));
  t.truthy(stillThere['metadata']['deletionTimestamp']);
  const released = await api.call('PATCH', '/api/v1/namespaces/team/configmaps/held', { metadata: { finalizers: null } }, { 'content-type': 'application/merge-patch+json' });
  t.is(released.status, 200);
  t.is((await api.call('GET', '/api/v1/namespaces/team/configmaps/held')).status, 404, 'removing the last finalizer deletes');
  const terminating = await api.call('DELETE', '/api/v1/namespaces/team');
  t.is(body(terminating)['status']['phase'], 'Terminating');
  const refused = await api.call('POST', '/api/v1/namespaces/team/configmaps', { metadata: { name: 'late' } });
  t.is(refused.status, 403);
  t.regex(body(refused)['message'], /being terminated/);
  const finalized = await api.call('PUT', '/api/v1/namespaces/team/finalize', { metadata: { name: 'team' }, spec: { finalizers: [] } });
  t.is(finalized.status, 200);
  t.is((await api.call('GET', '/api/v1/namespaces/team')).status, 404, 'the namespace controller finalizing it removes it');
  const noNamespace = await api.call('POST', '/api/v1/namespaces/ghost/configmaps', { metadata: { name: 'x' } });
  t.is(noNamespace.status, 404);
  t.is(body(noNamespace)['message'], 'namespaces "ghost" not found');
  await api.call('POST', '/api/v1/namespaces/default/pods', pod('bound', {}, { nodeName: 'n1' }));
  const graceful = await api.call('DELETE', '/api/v1/namespaces/default/pods/bound');
  t.is(graceful.status, 202);
  t.is(body(graceful)['metadata']['deletionGracePeriodSeconds'], 30);
  t.is((await api.call('GET', '/api/v1/namespaces/default/pods/bound')).status, 200);
  t.is((await api.call('DELETE', '/api/v1/namespaces/default/pods/bound', { gracePeriodSeconds: 0 })).status, 200);
  t.is((await api.call('GET', '/api/v1/namespaces/default/pods/bound')).status, 404);
  await api.call('POST', '/api/v1/namespaces/default/pods', pod('pending'));
  t.is((await api.call('DELETE', '/api/v1/namespaces/default/pods/pending')).status, 200, 'an unscheduled pod goes at once');
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'pre' } });
  const precondition = await api.call('DELETE', '/api/v1/namespaces/default/configmaps/pre', { preconditions: { uid: 'wrong' } });
  t.is(precondition.status, 409);
});

test('pods/binding assigns a node once', async (t) => {
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces/default/pods', pod('p'));
  const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p' }, target: { kind: 'Node', name: 'n1' } };
  t.is((await api.call('POST', '/api/v1/namespaces/default/pods/p/binding', binding)).status, 201);
  const bound = body(await api.call('GET', '/api/v1/namespaces/default/pods/p'));
  t.is(bound['spec']['nodeName'], 'n1');
  t.is((await api.call('POST', '/api/v1/namespaces/default/pods/p/binding', binding)).status, 409);
});

test('lists: label and field selectors, pages with continue tokens at one revision, 410 for a compacted token', async (t) => {
  const api = await testApi();
  for (let i = 0; i < 7; i++) await api.call('POST', '/api/v1/namespaces/default/pods', pod(`p${i}`, { app: i % 2 === 0 ? 'web' : 'db' }, i < 2 ? { nodeName: 'n1' } : {}));
  const web = body(await api.call('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb'));
  t.deepEqual(web['items'].map((p: Json) => p['metadata']['name']), ['p0', 'p2', 'p4', 'p6']);
  const setBased = body(await api.call('GET', '/api/v1/namespaces/default/pods?labelSelector=app+in+%28db%29'));
  t.is(setBased['items'].length, 3);
  const onNode = body(await api.call('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1'));
  t.deepEqual(onNode['items'].map((p: Json) => p['metadata']['name']), ['p0', 'p1']);
  t.is((await api.call('GET', '/api/v1/pods?fieldSelector=spec.bogus%3D1')).status, 400);
  const names: string[] = [];
  let token: string | undefined;
  let pages = 0;
  let firstRevision: string | undefined;
  do {
    const page = body(await api.call('GET', `/api/v1/namespaces/default/pods?limit=3&labelSelector=app%3Dweb${token === undefined ? '' : `&continue=${token}`}`));
    names.push(...page['items'].map((p: Json) => p['metadata']['name']));
    firstRevision ??= page['metadata']['resourceVersion'];
    t.is(page['metadata']['resourceVersion'], firstRevision, 'every page reads the same revision');
    token = page['metadata']['continue'];
    pages++;
    if (pages === 1) await api.call('POST', '/api/v1/namespaces/default/pods', pod('p9', { app: 'web' }));
  } while (token !== undefined && pages < 10);
  t.deepEqual(names, ['p0', 'p2', 'p4', 'p6'], 'a page set is a consistent snapshot');
  t.is(pages, 2);
  const first = body(await api.call('GET', '/api/v1/namespaces/default/pods?limit=2'));
  const revision = Number(first['metadata']['resourceVersion']);
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'bump' } });
  await api.store.compact(revision + 1);
  const gone = await api.call('GET', `/api/v1/namespaces/default/pods?limit=2&continue=${first['metadata']['continue']}`);
  t.is(gone.status, 410);
  t.is(body(gone)['reason'], 'Expired');
  t.is((await api.call('GET', '/api/v1/namespaces/default/pods?continue=garbage!!')).status, 400);
});

function collect(api: Awaited<ReturnType<typeof testApi>>, path: string): Promise<{ events: ObjectWatchEvent[]; ended: Promise<void>; stop: () => void; ready: Promise<void> }> {
  return (async () => {
    const response = await api.call('GET', path);
    if (!('watch' in response)) throw new Error(`not a watch: ${JSON.stringify(response)}`);
    const events: ObjectWatchEvent[] = [];
    let resolveEnd: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (resolveEnd = resolve));
    const running = await response.watch({ event: (event) => events.push(event), end: () => resolveEnd() });
    return { events, ended, stop: () => running.stop(), ready: Promise.resolve() };
  })();
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

test('watch: initial ADDED list, then ADDED/MODIFIED/DELETED in order, selector exits as DELETED, bookmarks', async (t) => {
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces/default/pods', pod('before', { app: 'web' }));
  const watch = await collect(api, '/api/v1/namespaces/default/pods?watch=1&labelSelector=app%3Dweb&allowWatchBookmarks=true');
  await api.call('POST', '/api/v1/namespaces/default/pods', pod('a', { app: 'web' }));
  await api.call('POST', '/api/v1/namespaces/default/pods', pod('other', { app: 'db' }));
  await api.call('PATCH', '/api/v1/namespaces/default/pods/a', { metadata: { annotations: { x: 'y' } } }, { 'content-type': 'application/merge-patch+json' });
  await api.call('PATCH', '/api/v1/namespaces/default/pods/before', { metadata: { labels: { app: 'gone' } } }, { 'content-type': 'application/merge-patch+json' });
  await api.call('DELETE', '/api/v1/namespaces/default/pods/a');
  await waitFor(() => watch.events.filter((e) => e.type !== 'BOOKMARK').length >= 5 && watch.events.some((e) => e.type === 'BOOKMARK'));
  watch.stop();
  const seen = watch.events.filter((e) => e.type !== 'BOOKMARK').map((e) => `${e.type} ${(e.object as Json)['metadata']['name']}`);
  t.deepEqual(seen, ['ADDED before', 'ADDED a', 'MODIFIED a', 'DELETED before', 'DELETED a']);
  const bookmark = watch.events.find((e) => e.type === 'BOOKMARK');
  t.truthy(bookmark);
  t.regex((bookmark?.object as Json)['metadata']['resourceVersion'], /^[0-9]+$/);
});

test('watch: from a resourceVersion replays later changes only; a compacted one gets ERROR 410; timeoutSeconds ends it', async (t) => {
  const api = await testApi();
  const created = body(await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c' } }));
  const revision = created['metadata']['resourceVersion'];
  await api.call('PUT', '/api/v1/namespaces/default/configmaps/c', { metadata: { name: 'c' }, data: { a: '1' } });
  const replay = await collect(api, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${revision}`);
  await waitFor(() => replay.events.length >= 1);
  replay.stop();
  t.deepEqual(replay.events.map((e) => e.type), ['MODIFIED']);
  await api.call('PUT', '/api/v1/namespaces/default/configmaps/c', { metadata: { name: 'c' }, data: { a: '2' } });
  const current = Number(body(await api.call('GET', '/api/v1/namespaces/default/configmaps/c'))['metadata']['resourceVersion']);
  await api.store.compact(current);
  const old = await collect(api, `/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${revision}`);
  await old.ended;
  t.is(old.events.length, 1);
  t.is(old.events[0]?.type, 'ERROR');
  t.is((old.events[0]?.object as Json)['code'], 410);
  t.regex((old.events[0]?.object as Json)['message'], /too old resource version/);
  const keepAlive = setInterval(() => undefined, 100); // systemClock timers are unref'd; a server's socket keeps the loop alive
  const timed = await collect(api, `/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1&resourceVersion=${current}`);
  await timed.ended;
  clearInterval(keepAlive);
  t.pass();
});

test('authorization denials are 403 with Kubernetes wording; selfsubjectaccessreviews answer with the decision', async (t) => {
  const api = await testApi(ruleAuthorizer((attributes) => attributes.kind === 'resource' && attributes.resource === 'secrets'));
  const bob = { name: 'bob', groups: ['system:authenticated'] };
  const denied = await api.call('GET', '/api/v1/namespaces/default/secrets/s', undefined, {}, bob);
  t.is(denied.status, 403);
  t.is(body(denied)['message'], 'secrets "s" is forbidden: User "bob" cannot get resource "secrets" in API group "" in the namespace "default"');
  const review = await api.call('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SelfSubjectAccessReview',
    spec: { resourceAttributes: { verb: 'list', resource: 'secrets', namespace: 'default' } },
  }, {}, bob);
  t.is(review.status, 201);
  t.false(body(review)['status']['allowed']);
  t.is(ADMIN.name, 'admin');
});

test('2,000 generated bad requests: every one gets a 4xx Status (never 5xx) and a rejected write leaves the store unchanged', async (t) => {
  const fc = await import('fast-check');
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'target' }, data: { a: '1' } });
  await api.call('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('target'));
  const paths = [
    '/api/v1/namespaces/default/configmaps',
    '/api/v1/namespaces/default/configmaps/target',
    '/api/v1/namespaces/default/pods',
    '/apis/apps/v1/namespaces/default/deployments',
    '/apis/apps/v1/namespaces/default/deployments/target',
    '/apis/apps/v1/namespaces/default/deployments/target/scale',
    '/apis/apps/v1/namespaces/default/deployments/target/status',
    '/api/v1/namespaces/nope/pods',
    '/api/v1/namespaces',
    '/apis/example.com/v1/widgets',
    '/api/v1/namespaces/default/pods?labelSelector=',
    '/api/v1/namespaces/default/pods?fieldSelector=',
    '/api/v1/namespaces/default/pods?limit=',
    '/api/v1/namespaces/default/pods?continue=',
    '/api/v1/namespaces/default/pods?resourceVersion=',
  ];
  const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.string(), fc.integer());
  const objectBody = fc.record(
    {
      apiVersion: fc.oneof(fc.constant('v1'), fc.constant('apps/v1'), fc.string()),
      kind: fc.oneof(fc.constantFrom('ConfigMap', 'Pod', 'Deployment', 'Scale'), fc.string()),
      metadata: fc.oneof(value, fc.record({ name: fc.oneof(fc.string(), value), labels: fc.oneof(value, fc.dictionary(fc.string(), fc.string())), resourceVersion: fc.oneof(fc.string(), value) }, { requiredKeys: [] })),
      spec: value,
      data: value,
      status: value,
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    objectBody.map((object) => JSON.stringify(object)),
    fc.array(fc.record({ op: fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'move', 'copy', 'test'), fc.string()), path: fc.oneof(fc.string(), fc.constantFrom('/data/a', '/metadata', '/spec/replicas', '/x/y/z')), value, from: fc.string() }, { requiredKeys: [] })).map((ops) => JSON.stringify(ops)),
    fc.string(),
    fc.json(),
  );
  const seed = Date.now();
  t.log(`seed ${seed}`);
  let serverErrors = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...paths),
      fc.string({ maxLength: 20 }),
      fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'),
      fc.constantFrom('application/json', 'application/yaml', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json', 'text/html'),
      body,
      async (path, suffix, method, contentType, text) => {
        const before = await api.store.range({ key: '/registry/', rangeEnd: '/registry0' });
        const withQuery = path.endsWith('=') ? path + encodeURIComponent(suffix) : path;
        const response = await api.call(method, withQuery, text, { 'content-type': contentType });
        // Kubernetes answers a list from a resourceVersion ahead of the store with 504 Timeout ("Too large resource version").
        const tooLarge = response.status === 504 && /^Too large resource version/.test(String((response.body as Json | undefined)?.['message']));
        if (response.status >= 500 && !tooLarge) {
          serverErrors++;
          throw new Error(`${method} ${withQuery} ${contentType} ${text} → ${response.status} ${JSON.stringify(response.body)}`);
        }
        if ('watch' in response) return;
        if (response.status >= 400) {
          const status = response.body as Json;
          if (status['kind'] !== 'Status' || status['code'] !== response.status) throw new Error('a failure must be a Status');
          const after = await api.store.range({ key: '/registry/', rangeEnd: '/registry0' });
          if (after.header.revision !== before.header.revision) throw new Error(`a rejected ${method} changed the store`);
        }
      },
    ),
    { numRuns: 2000, seed },
  );
  t.is(serverErrors, 0);
});

test('generateName, deletecollection with a selector, cluster-scoped nodes with status, leases and RBAC objects', async (t) => {
  const api = await testApi();
  const generated = body(await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { generateName: 'gen-' } }));
  t.regex(generated['metadata']['name'], /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  for (const name of ['a', 'b', 'c']) await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name, labels: { drop: name === 'c' ? 'no' : 'yes' } } });
  const dropped = await api.call('DELETE', '/api/v1/namespaces/default/configmaps?labelSelector=drop%3Dyes');
  t.is(dropped.status, 200);
  const left = body(await api.call('GET', '/api/v1/namespaces/default/configmaps'))['items'].map((c: Json) => c['metadata']['name']).sort();
  t.deepEqual(left, ['c', generated['metadata']['name']].sort());
  const node = await api.call('POST', '/api/v1/nodes', { metadata: { name: 'n1' }, status: { capacity: { cpu: '4' } } });
  t.is(node.status, 201);
  t.is(body(node)['status']['capacity']['cpu'], '4', 'a node registers with its status');
  t.is((await api.call('GET', '/api/v1/namespaces/default/nodes/n1')).status, 404, 'cluster-scoped kinds have no namespaced path');
  const ready = await api.call('PATCH', '/api/v1/nodes/n1/status', { status: { conditions: [{ type: 'Ready', status: 'True' }] } }, { 'content-type': 'application/merge-patch+json' });
  t.is(body(ready)['status']['conditions'][0]['type'], 'Ready');
  const lease = await api.call('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', { metadata: { name: 'n1' }, spec: { holderIdentity: 'n1', leaseDurationSeconds: 40 } });
  t.is(lease.status, 201);
  const role = await api.call('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'system:reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] });
  t.is(role.status, 201);
  t.is((await api.call('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:reader')).status, 200);
  t.is((await api.call('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status, 405);
});

test('concurrent unconditional patches of one object all land (read-modify-write retries on conflict)', async (t) => {
  const api = await testApi();
  await api.call('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'shared' }, data: {} });
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => api.call('PATCH', '/api/v1/namespaces/default/configmaps/shared', { data: { [`k${i}`]: String(i) } }, { 'content-type': 'application/merge-patch+json' })),
  );
  t.deepEqual(results.map((r) => r.status), Array.from({ length: 20 }, () => 200));
  const final = body(await api.call('GET', '/api/v1/namespaces/default/configmaps/shared'));
  t.is(Object.keys(final['data']).length, 20);
});
