// pods/log and pods/eviction through the real pipeline. The logs come from a real ProcessNode running
// `sh -c …` children (its readLog is the reader, in process); one test goes over real WsTransports
// instead: the API server's actor system asks a dial-only node's log actor (the production path).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { createActorSystem, Prng, silentLogger, systemClock, type ActorSystem, type MessageProtocol } from '../../src/actors/index.js';
import { WsTransport } from '../../src/actors/ws-transport.js';
import { apiEndpointBehavior } from '../../src/api/actor-face/endpoint.js';
import { API_CLIENT_PROTOCOL, API_ENDPOINT_PATH, API_SERVER_PROTOCOL, mergeProtocols } from '../../src/api/actor-face/protocol.js';
import { actorPodLogReader, type PodLogReader } from '../../src/api/handlers/logs.js';
import type { ApiRequest, ApiResponse, TextSink } from '../../src/api/handlers/types.js';
import { createApiHandler, type ApiHandler } from '../../src/api/pipeline.js';
import { ActorApiTransport, ApiClient, isNotFound, LocalApiTransport, NODES, PODS, type KubeObject } from '../../src/client/index.js';
import { NODE_LOGS_PATH, NODE_LOGS_PROTOCOL, nodeLogsBehavior, simulatedLogSource, tailLinesOf } from '../../src/node-agent/logs.js';
import { ProcessNode } from '../../src/node-agent/process.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer } from './api-helpers.js';

async function eventually(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface Harness {
  readonly handler: ApiHandler;
  readonly admin: ApiClient;
  readonly agent: ProcessNode;
  get(path: string): Promise<ApiResponse>;
  post(path: string, body: unknown): Promise<ApiResponse>;
  run(name: string, script: string, containers?: number): Promise<void>;
  cleanup(): void;
}

async function harness(): Promise<Harness> {
  const store = new LocalStore(systemClock);
  const dataDir = mkdtempSync(join(tmpdir(), 'kplane-pod-logs-'));
  let agent: ProcessNode | undefined;
  const inProcess: PodLogReader = { read: (_node, request) => Promise.resolve((agent as ProcessNode).readLog(request)) };
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer(), podLogs: inProcess, logFollowPollMs: 50 });
  await handler.ensureSystemNamespaces();
  const admin = new ApiClient(new LocalApiTransport(handler, ADMIN));
  agent = new ProcessNode({
    client: new ApiClient(new LocalApiTransport(handler, { name: 'system:node:local', groups: ['system:nodes', 'system:authenticated'] })),
    clock: systemClock,
    log: silentLogger(),
    spec: { name: 'local', capacity: { cpu: '4', memory: '8Gi', pods: 110 } },
    dataDir,
    agentNode: 'local-agent',
  });
  await agent.start();
  const request = (method: string, path: string, body?: unknown): Promise<ApiResponse> => {
    const [pathname, search] = path.split('?');
    const call: ApiRequest = {
      method,
      path: pathname ?? '/',
      query: new URLSearchParams(search ?? ''),
      headers: { 'content-type': 'application/json', accept: 'application/json, */*' },
      user: ADMIN,
      ...(body === undefined ? {} : { body: new TextEncoder().encode(JSON.stringify(body)) }),
    };
    return handler.handle(call);
  };
  const started = agent;
  return {
    handler,
    admin,
    agent: started,
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
    run: async (name, script, containers = 1) => {
      const specs = Array.from({ length: containers }, (_, index) => ({ name: index === 0 ? 'main' : `side-${index}`, image: 'none', command: ['sh', '-c'], args: [script] }));
      await admin.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: specs, terminationGracePeriodSeconds: 1 } });
      await admin.bind('default', name, 'local');
      await eventually(async () => (((await admin.get(PODS, 'default', name))['status'] ?? {}) as { phase?: string }).phase !== 'Pending', `${name} started`);
    },
    cleanup: () => {
      started.stop({ killPods: true });
      handler.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function textOf(response: ApiResponse): string {
  if (!('text' in response)) throw new Error(`expected text, got ${JSON.stringify(response)}`);
  return response.text;
}

async function logText(h: Harness, path: string, expected: string): Promise<string> {
  let last = '';
  await eventually(async () => {
    const response = await h.get(path);
    last = 'text' in response ? response.text : JSON.stringify('body' in response ? response.body : undefined);
    return last === expected;
  }, `${path} to answer ${JSON.stringify(expected)} (last: ${JSON.stringify(last)})`);
  return last;
}

test('tailLinesOf keeps the last lines, with or without a final newline', (t) => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  const text = (data: Uint8Array): string => new TextDecoder().decode(data);
  t.is(text(tailLinesOf(bytes('a\nb\nc\n'), 2)), 'b\nc\n');
  t.is(text(tailLinesOf(bytes('a\nb\nc'), 1)), 'c');
  t.is(text(tailLinesOf(bytes('a\nb\n'), 5)), 'a\nb\n');
  t.is(text(tailLinesOf(bytes('a\nb\n'), 0)), '');
});

test('pods/log answers the container output as text, tailLines cuts it, and errors are Statuses', async (t) => {
  const h = await harness();
  t.teardown(() => h.cleanup());
  await h.run('hello', 'echo hello; echo world; sleep 600');
  t.is(await logText(h, '/api/v1/namespaces/default/pods/hello/log', 'hello\nworld\n'), 'hello\nworld\n');
  const all = await h.get('/api/v1/namespaces/default/pods/hello/log?container=main');
  t.is(all.status, 200);
  t.is(all.headers?.['content-type'], 'text/plain');
  t.is(textOf(await h.get('/api/v1/namespaces/default/pods/hello/log?tailLines=1')), 'world\n');
  t.is(textOf(await h.get('/api/v1/namespaces/default/pods/hello/log?limitBytes=3')), 'hel');
  t.is((await h.get('/api/v1/namespaces/default/pods/hello/log?container=nope')).status, 400);
  t.is((await h.get('/api/v1/namespaces/default/pods/hello/log?tailLines=-1')).status, 400);
  t.is((await h.get('/api/v1/namespaces/default/pods/missing/log')).status, 404);
  t.is((await h.get('/api/v1/namespaces/default/pods/hello/log?previous=true')).status, 400, 'no previous run yet');
  t.is((await h.post('/api/v1/namespaces/default/pods/hello/log', {})).status, 405);

  await h.admin.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'unbound' }, spec: { containers: [{ name: 'main', image: 'none' }] } });
  const unbound = await h.get('/api/v1/namespaces/default/pods/unbound/log');
  t.is(unbound.status, 400);
  t.regex(JSON.stringify('body' in unbound ? unbound.body : ''), /does not have a host assigned/);
});

test('timestamps, sinceTime and sinceSeconds: each line stamped with the time the agent saw it written', async (t) => {
  const h = await harness();
  t.teardown(() => h.cleanup());
  // The second line comes well after the agent's recorder has seen the first (it looks every 250 ms).
  await h.run('stamped', 'echo first; sleep 1; echo second; sleep 600');
  await logText(h, '/api/v1/namespaces/default/pods/stamped/log', 'first\nsecond\n');
  const stamped = textOf(await h.get('/api/v1/namespaces/default/pods/stamped/log?timestamps=true'));
  const lines = stamped.split('\n').filter((line) => line !== '');
  t.is(lines.length, 2, stamped);
  const parsed = lines.map((line) => /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z) (.*)$/.exec(line));
  t.deepEqual(parsed.map((match) => match?.[2]), ['first', 'second'], stamped);
  const [firstTime, secondTime] = parsed.map((match) => match?.[1] ?? '');
  t.true(Date.parse(secondTime ?? '') > Date.parse(firstTime ?? ''), `the second line is later: ${stamped}`);
  // The recorded times stay the same on every read.
  t.is(textOf(await h.get('/api/v1/namespaces/default/pods/stamped/log?timestamps=true')), stamped);
  t.is(textOf(await h.get(`/api/v1/namespaces/default/pods/stamped/log?sinceTime=${encodeURIComponent(secondTime ?? '')}`)), 'second\n');
  t.is(textOf(await h.get('/api/v1/namespaces/default/pods/stamped/log?timestamps=true&tailLines=1')), `${lines[1] ?? ''}\n`);
  t.is(textOf(await h.get('/api/v1/namespaces/default/pods/stamped/log?sinceSeconds=3600')), 'first\nsecond\n');
  t.is((await h.get('/api/v1/namespaces/default/pods/stamped/log?sinceSeconds=0')).status, 400);
  t.is((await h.get('/api/v1/namespaces/default/pods/stamped/log?sinceTime=yesterday')).status, 400);
  t.is((await h.get('/api/v1/namespaces/default/pods/stamped/log?sinceTime=2026-02-30T00:00:00Z')).status, 400, 'a date that does not exist');
  t.is((await h.get(`/api/v1/namespaces/default/pods/stamped/log?sinceSeconds=5&sinceTime=${encodeURIComponent(firstTime ?? '')}`)).status, 400);
});

test('previous=true reads the run before a restart', async (t) => {
  const h = await harness();
  t.teardown(() => h.cleanup());
  await h.run('crasher', 'echo run-started; exit 1');
  t.is(await logText(h, '/api/v1/namespaces/default/pods/crasher/log?previous=true', 'run-started\n'), 'run-started\n');
});

test('a pod with two containers needs ?container=', async (t) => {
  const h = await harness();
  t.teardown(() => h.cleanup());
  await h.run('pair', 'echo from-$0; sleep 600', 2);
  const response = await h.get('/api/v1/namespaces/default/pods/pair/log');
  t.is(response.status, 400);
  t.regex(JSON.stringify('body' in response ? response.body : ''), /choose one of: \[main side-1\]/);
  t.is(await logText(h, '/api/v1/namespaces/default/pods/pair/log?container=side-1', 'from-sh\n'), 'from-sh\n');
});

test('follow=true streams later lines until the pod is deleted; the stream stops when the client leaves', async (t) => {
  const h = await harness();
  t.teardown(() => h.cleanup());
  await h.run('ticker', 'i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.1; done');
  await logText(h, '/api/v1/namespaces/default/pods/ticker/log?tailLines=0', '');
  const response = await h.get('/api/v1/namespaces/default/pods/ticker/log?follow=true&tailLines=1');
  t.is(response.status, 200);
  if (!('text' in response) || response.follow === undefined) throw new Error('expected a followed text response');
  let received = response.text;
  let ended = false;
  const sink: TextSink = {
    write: (text) => {
      received += text;
    },
    end: () => {
      ended = true;
    },
  };
  const running = response.follow(sink);
  await eventually(() => (received.match(/tick-\d+\n/g) ?? []).length >= 4, 'later ticks streamed');
  const ticks = (received.match(/tick-(\d+)/g) ?? []).map((tick) => Number(tick.slice('tick-'.length)));
  t.deepEqual(
    ticks,
    ticks.map((_, index) => (ticks[0] ?? 0) + index),
    'consecutive lines, none lost or repeated',
  );
  running.stop();
  const after = received.length;
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.is(received.length, after, 'nothing written after stop()');
  t.false(ended);

  // A second follower ends by itself once the pod is gone.
  const second = await h.get('/api/v1/namespaces/default/pods/ticker/log?follow=true&tailLines=0');
  if (!('text' in second) || second.follow === undefined) throw new Error('expected a followed text response');
  let secondEnded = false;
  second.follow({ write: () => undefined, end: () => (secondEnded = true) });
  await h.admin.delete(PODS, 'default', 'ticker');
  await eventually(() => secondEnded, 'the follow ends with the pod');
});

test('pods/eviction deletes the pod (its grace period from deleteOptions) and answers 201', async (t) => {
  const h = await harness();
  t.teardown(() => h.cleanup());
  await h.run('evictee', 'sleep 600');
  const wrongName = await h.post('/api/v1/namespaces/default/pods/evictee/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'other', namespace: 'default' } });
  t.is(wrongName.status, 400);
  const wrongKind = await h.post('/api/v1/namespaces/default/pods/evictee/eviction', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'evictee' } });
  t.is(wrongKind.status, 400);
  const answer = await h.post('/api/v1/namespaces/default/pods/evictee/eviction', {
    apiVersion: 'policy/v1',
    kind: 'Eviction',
    metadata: { name: 'evictee', namespace: 'default' },
    deleteOptions: { gracePeriodSeconds: 0 },
  });
  t.is(answer.status, 201);
  t.like('body' in answer ? answer.body : {}, { kind: 'Status', status: 'Success' });
  await eventually(async () => {
    try {
      await h.admin.get(PODS, 'default', 'evictee');
      return false;
    } catch (error) {
      return isNotFound(error);
    }
  }, 'the evicted pod gone');
  t.is((await h.post('/api/v1/namespaces/default/pods/evictee/eviction', { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'evictee' } })).status, 404);
});

test('the node records its agent address, and discovery lists pods/log and pods/eviction', async (t) => {
  const h = await harness();
  t.teardown(() => h.cleanup());
  const node: KubeObject = await h.admin.get(NODES, undefined, 'local');
  t.is((node['metadata'] as { annotations?: Record<string, string> }).annotations?.['kplane.io/agent-node'], 'local-agent');
  const legacy = await h.get('/api/v1');
  const names = ((('body' in legacy ? legacy.body : {}) as { resources?: { name: string }[] }).resources ?? []).map((resource) => resource.name);
  t.true(names.includes('pods/log'));
  t.true(names.includes('pods/eviction'));
});

// ---- over the actor transport ----

const SECRET = 'api-pod-logs-test-secret-0123456789';

async function startSystem(t: { teardown(fn: () => unknown): void }, name: string, protocol: MessageProtocol, listen: boolean): Promise<{ system: ActorSystem; transport: WsTransport }> {
  const transport = new WsTransport({
    node: name,
    incarnation: `${name}-${process.pid}`,
    secret: SECRET,
    ...(listen ? { listen: { host: '127.0.0.1', port: 0 } } : {}),
    log: silentLogger(),
    clock: systemClock,
    reconnectBackoffMinMs: 20,
    reconnectBackoffMaxMs: 200,
  });
  await transport.start();
  const system = createActorSystem({ node: transport.local.node, incarnation: transport.local.incarnation, clock: systemClock, random: new Prng(11), log: silentLogger(), transport, protocol, onRootFailure: () => undefined });
  t.teardown(async () => {
    await system.terminate();
    await transport.close();
  });
  return { system, transport };
}

test('the API server asks a dial-only node agent for logs over the connection the agent opened', async (t) => {
  const store = new LocalStore(systemClock);
  const server = await startSystem(t, 'apiserver', API_SERVER_PROTOCOL, true);
  const handler = createApiHandler({ store, authorizer: ruleAuthorizer(), podLogs: actorPodLogReader(() => server.system, 5_000) });
  t.teardown(() => handler.close());
  await handler.ensureSystemNamespaces();
  const endpoint = server.system.spawn(apiEndpointBehavior({ handler, secretPeerUsers: new Map([['sim-1', { name: 'system:node:sim-1', groups: ['system:nodes'] }]]) }), { name: API_ENDPOINT_PATH.slice('/user/'.length) });
  const agent = await startSystem(t, 'sim-1', mergeProtocols(API_CLIENT_PROTOCOL, NODE_LOGS_PROTOCOL), false);
  agent.system.spawn(nodeLogsBehavior({ current: simulatedLogSource }), { name: NODE_LOGS_PATH.slice('/user/'.length) });
  // The agent's own API call opens its connection (as every node agent's first /readyz does).
  const agentClient = new ApiClient(new ActorApiTransport({ system: agent.system, endpoint, clock: systemClock, callTimeoutMs: 5_000 }));
  t.teardown(() => agentClient.close());
  const admin = new ApiClient(new LocalApiTransport(handler, ADMIN));
  await admin.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'sim-1' } });
  await admin.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'app', image: 'none' }] } });
  await admin.bind('default', 'web', 'sim-1');
  await agentClient.get(PODS, 'default', 'web');

  const request = (query: string): Promise<ApiResponse> =>
    handler.handle({ method: 'GET', path: '/api/v1/namespaces/default/pods/web/log', query: new URLSearchParams(query), headers: {}, user: ADMIN });
  const full = textOf(await request(''));
  t.regex(full, /simulated container app of pod default\/web started/);
  t.is(full.split('\n').length, 4);
  t.is(textOf(await request('tailLines=1&container=app')), 'simulated container app has nothing more to say\n');
});
