// End to end: the real HTTPS API server with clusterSecurity (the cluster PKI, the token file
// authenticator, the RBAC authorizer kept current by rbac-sync, the bootstrap policy and node
// restriction), driven by @kubernetes/client-node 1.4.0 (and kubectl when it is on the PATH): the
// admin creates a pod, a node cannot read secrets, anonymous gets 401, SelfSubjectAccessReview
// answers per RBAC, and a RoleBinding created through the API takes effect.
import test from 'ava';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { clusterSecurity } from '../../src/api/auth/cluster-security.js';
import { ensureTokenFile } from '../../src/api/auth/token-file.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import type { ClusterPki } from '../../src/cluster/pki.js';
import { otherPki, clientCertificate } from './api-helpers.js';

type Json = { [field: string]: unknown };
const BOB_TOKEN = 'bob-token-0123456789';

interface Cluster {
  readonly dir: string;
  readonly server: ApiServer;
  readonly pki: ClusterPki;
  readonly adminToken: string;
  writeKubeconfig(serverUrl: string): string;
}

async function startCluster(): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-auth-e2e-'));
  appendFileSync(ensureTokenFile(dir).path, `${BOB_TOKEN},bob,bob-uid\n`);
  const security = clusterSecurity(dir);
  const server = await startApiServer({ store: new LocalStore(systemClock), host: '127.0.0.1', port: 0, ...security.serverOptions });
  return { dir, server, pki: security.pki, adminToken: security.tokens.adminToken ?? '', writeKubeconfig: security.writeKubeconfig };
}

type Credential = { readonly token: string } | { readonly cert: string; readonly key: string } | undefined;

function kubeconfig(cluster: Cluster, credential: Credential): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  const user =
    credential === undefined
      ? { name: 'u' }
      : 'token' in credential
        ? { name: 'u', token: credential.token }
        : { name: 'u', certData: Buffer.from(credential.cert).toString('base64'), keyData: Buffer.from(credential.key).toString('base64') };
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: cluster.server.url, caData: Buffer.from(cluster.pki.caCert).toString('base64'), skipTLSVerify: false }],
    users: [user],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

async function failure(promise: Promise<unknown>): Promise<{ code: number; body: Json }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const raw = (error as k8s.ApiException<unknown>).body;
      return { code: error.code, body: typeof raw === 'string' ? (JSON.parse(raw) as Json) : (raw as Json) };
    }
    throw error;
  }
  throw new Error('expected the call to fail');
}

/** A raw GET with no credentials (client-node always sends what its kubeconfig has). */
function anonymousGet(cluster: Cluster, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(path, cluster.server.url);
    const request = httpsRequest({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'GET', ca: cluster.pki.caCert }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

async function canI(kc: k8s.KubeConfig, resourceAttributes: k8s.V1ResourceAttributes): Promise<boolean> {
  const review = await kc.makeApiClient(k8s.AuthorizationV1Api).createSelfSubjectAccessReview({ body: { spec: { resourceAttributes } } });
  return review.status?.allowed ?? false;
}

test('admin by token and by certificate; a node cannot read secrets; anonymous is 401 except on public paths', async (t) => {
  const cluster = await startCluster();
  try {
    const adminCore = kubeconfig(cluster, { token: cluster.adminToken }).makeApiClient(k8s.CoreV1Api);
    const pod = await adminCore.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { nodeName: 'n1', containers: [{ name: 'main', image: 'nginx' }] } } });
    t.truthy(pod.metadata?.uid);
    await adminCore.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'db' }, stringData: { password: 'x' } } });
    const byCertificate = kubeconfig(cluster, cluster.pki.admin).makeApiClient(k8s.CoreV1Api);
    t.is((await byCertificate.readNamespacedPod({ namespace: 'default', name: 'web' })).metadata?.name, 'web');

    const node = kubeconfig(cluster, cluster.pki.nodeCertificate('n1')).makeApiClient(k8s.CoreV1Api);
    t.is((await node.listNamespacedPod({ namespace: 'default' })).items.length, 1);
    const secrets = await failure(node.listNamespacedSecret({ namespace: 'default' }));
    t.is(secrets.code, 403);
    t.is(secrets.body['reason'], 'Forbidden');
    t.is(secrets.body['message'], 'secrets is forbidden: User "system:node:n1" cannot list resource "secrets" in API group "" in the namespace "default"');
    const secret = await failure(node.readNamespacedSecret({ namespace: 'default', name: 'db' }));
    t.is(secret.code, 403);
    t.is(secret.body['message'], 'secrets "db" is forbidden: User "system:node:n1" cannot get resource "secrets" in API group "" in the namespace "default"');
    // Node restriction on top of RBAC: its own pod's status yes, another node's object no.
    await node.patchNamespacedPodStatus({ namespace: 'default', name: 'web', body: [{ op: 'add', path: '/status/phase', value: 'Running' }] });
    t.is((await failure(node.createNode({ body: { metadata: { name: 'n2' } } }))).code, 403);

    const anonymous = await failure(kubeconfig(cluster, undefined).makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' }));
    t.is(anonymous.code, 401);
    t.is((await anonymousGet(cluster, '/api/v1/namespaces/default/pods')).status, 401);
    t.is((await anonymousGet(cluster, '/healthz')).status, 200);
    t.is((await anonymousGet(cluster, '/version')).status, 200);
    t.is((await failure(kubeconfig(cluster, { token: 'wrong' }).makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' }))).code, 401);
    // A certificate from another CA does not get in, whatever it says.
    const forged = clientCertificate(otherPki(), 'admin', ['system:masters']);
    t.is((await failure(kubeconfig(cluster, forged).makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' }))).code, 401);
  } finally {
    await cluster.server.close();
  }
});

test('SelfSubjectAccessReview answers per RBAC, and a RoleBinding made through the API takes effect', async (t) => {
  const cluster = await startCluster();
  try {
    const admin = kubeconfig(cluster, { token: cluster.adminToken });
    const node = kubeconfig(cluster, cluster.pki.nodeCertificate('n1'));
    const bob = kubeconfig(cluster, { token: BOB_TOKEN });
    t.true(await canI(admin, { verb: 'delete', resource: 'secrets', namespace: 'default' }));
    t.true(await canI(node, { verb: 'list', resource: 'pods' }));
    t.false(await canI(node, { verb: 'get', resource: 'secrets', namespace: 'default' }));
    const scheduler = kubeconfig(cluster, cluster.pki.scheduler);
    t.true(await canI(scheduler, { verb: 'create', resource: 'pods', subresource: 'binding', namespace: 'default' }));
    t.false(await canI(bob, { verb: 'list', resource: 'pods', namespace: 'default' }));
    t.is((await failure(bob.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' }))).code, 403);

    await admin.makeApiClient(k8s.RbacAuthorizationV1Api).createNamespacedRoleBinding({
      namespace: 'default',
      body: { metadata: { name: 'bob-view' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'bob' }] },
    });
    let allowed = false;
    for (let attempt = 0; attempt < 200 && !allowed; attempt++) {
      allowed = await canI(bob, { verb: 'list', resource: 'pods', namespace: 'default' });
      if (!allowed) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    t.true(allowed, 'the binding reached the authorizer through rbac-sync');
    t.is((await bob.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'default' })).kind, 'PodList');
    t.false(await canI(bob, { verb: 'list', resource: 'pods', namespace: 'kube-system' }));
    t.false(await canI(bob, { verb: 'get', resource: 'secrets', namespace: 'default' }));
  } finally {
    await cluster.server.close();
  }
});

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

test('kubectl accepts the admin kubeconfig (client certificate over TLS; a review through --raw)', async (t) => {
  const probe = await run('kubectl', ['version', '--client'], process.env);
  if (probe.code !== 0) {
    t.log(`kubectl is not runnable here (${probe.stderr.trim() || `exit ${probe.code}`}): checking the kubeconfig with client-node only`);
  }
  const cluster = await startCluster();
  try {
    const path = cluster.writeKubeconfig(cluster.server.url);
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(path);
    t.true(await canI(kc, { verb: 'create', resource: 'pods', namespace: 'default' }));
    if (probe.code !== 0) return;
    const env = { ...process.env, HOME: cluster.dir, KUBECONFIG: path };
    const cache = ['--cache-dir', join(cluster.dir, 'cache')];
    const raw = await run('kubectl', ['get', '--raw', '/api', ...cache], env);
    t.is(raw.code, 0, raw.stderr);
    t.is((JSON.parse(raw.stdout) as Json)['kind'], 'APIVersions');
    // `kubectl auth can-i` sends its review as protobuf (issue 7's decoder); the same review as JSON:
    const reviewPath = join(cluster.dir, 'review.json');
    writeFileSync(reviewPath, JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'pods', namespace: 'default' } } }));
    const review = await run('kubectl', ['create', '--raw', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', '-f', reviewPath, ...cache], env);
    t.is(review.code, 0, review.stderr);
    t.is(((JSON.parse(review.stdout) as Json)['status'] as Json)['allowed'], true);
  } finally {
    await cluster.server.close();
  }
});
