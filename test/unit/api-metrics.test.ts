// The API server's /metrics: the real HTTPS server with the cluster's security (token file, RBAC with
// the bootstrap policy) over LocalStore. Anonymous gets 401, a user without the monitoring role 403,
// system:monitoring and the admin a Prometheus text page whose every line parses; request counts by
// verb, resource and code, latency histograms, in-flight requests, watches and store call latency
// move as requests are made. Beside it, the pure parts: labels, the series bound, the store wrapper;
// and /readyz, which asks the store.
import test from 'ava';
import { appendFileSync, mkdtempSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterSecurity } from '../../src/api/auth/cluster-security.js';
import { ensureTokenFile } from '../../src/api/auth/token-file.js';
import { ApiMetrics, MAX_REQUEST_SERIES, OTHER_LABEL, parseMetrics, requestLabels, sumSamples, type MetricSample } from '../../src/api/metrics.js';
import { createApiHandler } from '../../src/api/pipeline.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import type { StoreClient } from '../../src/store/client.js';

const MONITOR_TOKEN = 'monitor-token-0123456789';
const BOB_TOKEN = 'bob-token-0123456789';

interface Harness {
  readonly server: ApiServer;
  readonly ca: string;
  readonly adminToken: string;
}

async function startHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-api-metrics-'));
  appendFileSync(ensureTokenFile(dir).path, `${MONITOR_TOKEN},prometheus,prometheus-uid,"system:monitoring"\n${BOB_TOKEN},bob,bob-uid\n`);
  const security = clusterSecurity(dir);
  const server = await startApiServer({ store: new LocalStore(systemClock), host: '127.0.0.1', port: 0, ...security.serverOptions });
  return { server, ca: security.pki.caCert, adminToken: security.tokens.adminToken ?? '' };
}

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

function call(harness: Harness, method: string, path: string, token: string | undefined, body?: unknown): Promise<Reply> {
  const url = new URL(path, harness.server.url);
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = httpsRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: `${url.pathname}${url.search}`,
        method,
        ca: harness.ca,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          accept: 'text/plain;version=0.0.4;q=0.9,*/*;q=0.1',
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, contentType: String(response.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

async function scrape(harness: Harness, token = MONITOR_TOKEN): Promise<MetricSample[]> {
  const reply = await call(harness, 'GET', '/metrics', token);
  if (reply.status !== 200) throw new Error(`scrape answered ${reply.status}: ${reply.body}`);
  return parseMetrics(reply.body);
}

const configMap = (name: string): unknown => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { key: 'value' } });

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('requestLabels: canonical verbs, group, resource and subresource; non-resource paths carry none', (t) => {
  const none = new URLSearchParams();
  t.deepEqual(requestLabels('GET', '/api/v1/namespaces/default/pods', none), { verb: 'LIST', group: '', resource: 'pods', subresource: '' });
  t.deepEqual(requestLabels('GET', '/api/v1/namespaces/default/pods', new URLSearchParams('watch=1')), { verb: 'WATCH', group: '', resource: 'pods', subresource: '' });
  t.deepEqual(requestLabels('GET', '/apis/apps/v1/namespaces/a/deployments/d/scale', none), { verb: 'GET', group: 'apps', resource: 'deployments', subresource: 'scale' });
  t.deepEqual(requestLabels('post', '/api/v1/namespaces/default/configmaps', none), { verb: 'POST', group: '', resource: 'configmaps', subresource: '' });
  t.deepEqual(requestLabels('GET', '/healthz', none), { verb: 'GET', group: '', resource: '', subresource: '' });
});

test('parseMetrics reads label escapes back and refuses malformed lines', (t) => {
  const samples = parseMetrics('# HELP x y\nx_total{a="q\\"uote",b="back\\\\slash"} 3\ny 1.5\nz_bucket{le="+Inf"} 2\n');
  t.deepEqual(samples[0], { name: 'x_total', labels: { a: 'q"uote', b: 'back\\slash' }, value: 3 });
  t.is(samples[1]?.value, 1.5);
  t.is(samples[2]?.labels['le'], '+Inf');
  t.throws(() => parseMetrics('bad line with spaces here'));
  t.throws(() => parseMetrics('x{a=unquoted} 1'));
});

test('label sets from URLs are bounded: past MAX_REQUEST_SERIES they fold into <other>', (t) => {
  const metrics = new ApiMetrics({ nowMs: () => 0 });
  const total = MAX_REQUEST_SERIES + 50;
  for (let i = 0; i < total; i++) metrics.startRequest('GET', `/api/v1/made-up-${i}`, new URLSearchParams()).finish(404);
  const samples = parseMetrics(metrics.render());
  const requestSeries = samples.filter((sample) => sample.name === 'apiserver_request_total');
  t.is(requestSeries.length, MAX_REQUEST_SERIES + 1);
  t.is(sumSamples(samples, 'apiserver_request_total'), total);
  t.is(sumSamples(samples, 'apiserver_request_total', { resource: OTHER_LABEL }), 50);
});

test('instrumentStore times each store call and counts failures by operation and code', async (t) => {
  const metrics = new ApiMetrics({ nowMs: () => 0 });
  const store = metrics.instrumentStore(new LocalStore(systemClock));
  await store.put({ key: 'a', value: new TextEncoder().encode('1') });
  await store.range({ key: 'a' });
  await store.range({ key: 'b' });
  const failing = metrics.instrumentStore({
    range: () => Promise.reject(Object.assign(new Error('no leader'), { code: 'UNAVAILABLE' })),
  } as unknown as StoreClient);
  await t.throwsAsync(failing.range({ key: 'a' }), { message: 'no leader' });
  const samples = parseMetrics(metrics.render());
  t.is(sumSamples(samples, 'kplane_apiserver_store_request_duration_seconds_count', { operation: 'put' }), 1);
  t.is(sumSamples(samples, 'kplane_apiserver_store_request_duration_seconds_count', { operation: 'range' }), 3);
  t.is(sumSamples(samples, 'kplane_apiserver_store_request_errors_total', { operation: 'range', code: 'UNAVAILABLE' }), 1);
});

test('/metrics over HTTPS: 401 anonymous, 403 without the monitoring role, text for system:monitoring and the admin', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.server.close());
  t.is((await call(harness, 'GET', '/metrics', undefined)).status, 401);
  const denied = await call(harness, 'GET', '/metrics', BOB_TOKEN);
  t.is(denied.status, 403);
  t.regex(denied.body, /cannot get path \\"\/metrics\\"/);
  const allowed = await call(harness, 'GET', '/metrics', MONITOR_TOKEN);
  t.is(allowed.status, 200);
  t.regex(allowed.contentType, /^text\/plain; version=0\.0\.4/);
  t.true(parseMetrics(allowed.body).length > 0);
  t.is((await call(harness, 'GET', '/metrics', harness.adminToken)).status, 200);
  t.is((await call(harness, 'POST', '/metrics', harness.adminToken)).status, 405);
  // The scrape counts itself as in flight while it renders; it is the only request then.
  const samples = await scrape(harness);
  t.is(sumSamples(samples, 'apiserver_current_inflight_requests', { request_kind: 'readOnly' }), 1);
  t.is(sumSamples(samples, 'apiserver_current_inflight_requests', { request_kind: 'mutating' }), 0);
  // The earlier denials were counted by code.
  t.is(sumSamples(samples, 'apiserver_request_total', { verb: 'GET', resource: '', code: '401' }), 1);
  t.is(sumSamples(samples, 'apiserver_request_total', { verb: 'GET', resource: '', code: '403' }), 1);
});

test('request counts, latency histograms and store call latency move as requests are made', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.server.close());
  const token = harness.adminToken;
  const before = await scrape(harness);
  const path = '/api/v1/namespaces/default/configmaps';
  for (const name of ['one', 'two', 'three']) t.is((await call(harness, 'POST', path, token, configMap(name))).status, 201);
  t.is((await call(harness, 'POST', path, token, configMap('one'))).status, 409);
  t.is((await call(harness, 'GET', `${path}/two`, token)).status, 200);
  t.is((await call(harness, 'GET', `${path}/missing`, token)).status, 404);
  t.is((await call(harness, 'GET', path, token)).status, 200);
  const after = await scrape(harness);
  const delta = (name: string, where: Record<string, string>): number => sumSamples(after, name, where) - sumSamples(before, name, where);
  const configmaps = { group: '', resource: 'configmaps', subresource: '' };
  t.is(delta('apiserver_request_total', { ...configmaps, verb: 'POST', code: '201' }), 3);
  t.is(delta('apiserver_request_total', { ...configmaps, verb: 'POST', code: '409' }), 1);
  t.is(delta('apiserver_request_total', { ...configmaps, verb: 'GET', code: '200' }), 1);
  t.is(delta('apiserver_request_total', { ...configmaps, verb: 'GET', code: '404' }), 1);
  t.is(delta('apiserver_request_total', { ...configmaps, verb: 'LIST', code: '200' }), 1);
  t.is(delta('apiserver_request_duration_seconds_count', { ...configmaps, verb: 'POST' }), 4);
  t.is(delta('apiserver_request_duration_seconds_bucket', { ...configmaps, verb: 'POST', le: '+Inf' }), 4);
  t.true(delta('apiserver_request_duration_seconds_sum', { ...configmaps, verb: 'POST' }) > 0);
  // Each create is one store transaction (the 409 too: a failed compare); gets and lists are ranges.
  t.true(delta('kplane_apiserver_store_request_duration_seconds_count', { operation: 'txn' }) >= 4);
  t.true(delta('kplane_apiserver_store_request_duration_seconds_count', { operation: 'range' }) >= 3);
  // Buckets are cumulative: each bucket holds at least the one before it.
  const buckets = after.filter((sample) => sample.name === 'apiserver_request_duration_seconds_bucket' && sample.labels['resource'] === 'configmaps' && sample.labels['verb'] === 'POST');
  for (let i = 1; i < buckets.length; i++) t.true((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0));
});

test('an open watch shows in the watchers gauge, its events are counted, and it is counted out when it ends', async (t) => {
  const harness = await startHarness();
  t.teardown(() => harness.server.close());
  const token = harness.adminToken;
  const url = new URL('/api/v1/namespaces/default/configmaps?watch=1', harness.server.url);
  let received = '';
  const watch = httpsRequest({ hostname: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: 'GET', ca: harness.ca, headers: { authorization: `Bearer ${token}` } }, (response) => {
    response.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
    });
    response.on('error', () => undefined);
  });
  watch.on('error', () => undefined);
  watch.end();
  const watchers = async (): Promise<number> => sumSamples(await scrape(harness), 'apiserver_registered_watchers', { resource: 'configmaps' });
  await eventually(async () => (await watchers()) === 1, 'the watch to be counted');
  t.is((await call(harness, 'POST', '/api/v1/namespaces/default/configmaps', token, configMap('watched'))).status, 201);
  await eventually(() => Promise.resolve(received.includes('"watched"')), 'the watch event');
  t.true(sumSamples(await scrape(harness), 'apiserver_watch_events_total', { resource: 'configmaps' }) >= 1);
  watch.destroy();
  await eventually(async () => (await watchers()) === 0, 'the watch to be counted out');
  t.is(sumSamples(await scrape(harness), 'apiserver_request_total', { verb: 'WATCH', resource: 'configmaps' }), 1);
});

test('/readyz asks the store: 200 while it answers a linearizable read, 500 naming the cause when it does not', async (t) => {
  const store = new LocalStore(systemClock);
  let failing = false;
  const answering = store.range.bind(store);
  store.range = (request) => (failing ? Promise.reject(Object.assign(new Error('no leader'), { code: 'UNAVAILABLE' })) : answering(request));
  const handler = createApiHandler({ store, authorizer: { authorize: () => ({ allowed: false, reason: 'nobody' }) } });
  const readyz = { method: 'GET', path: '/readyz', query: new URLSearchParams(), headers: {}, user: { name: 'system:anonymous', groups: ['system:unauthenticated'] } };
  t.is((await handler.handle(readyz)).status, 200);
  failing = true;
  const notReady = await handler.handle(readyz);
  t.is(notReady.status, 500);
  t.true('text' in notReady && notReady.text.includes('no leader'));
  handler.close();
});
