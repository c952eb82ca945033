// Service account tokens on a real `kplane up` cluster with two API servers: `kplane up` makes the
// key pair in pki/ (sa.key, sa.pub), both API server processes load it, so a token one of them
// issues authenticates on the other; deleting the ServiceAccount ends the token on both. The
// controller manager makes each namespace's `default` ServiceAccount.

import test from 'ava';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { defineCluster, type ClusterConfigInput } from '../../src/cluster/config.js';
import { eventually } from '../../src/testing/chaos/pod-invariants.js';
import { freePortRange, runCli } from '../../src/testing/chaos/chaos-cluster.js';

const STORE_REPLICAS = 1;
const API_SERVERS = 2;

/** A kubeconfig for `server` that authenticates with `token` only (or the admin certificate when absent). */
function kubeConfigFor(adminConfig: string, server: string, token?: string): k8s.KubeConfig {
  const admin = new k8s.KubeConfig();
  admin.loadFromFile(adminConfig);
  const cluster = admin.getCurrentCluster();
  const user = admin.getCurrentUser();
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server, ...(cluster?.caData === undefined ? {} : { caData: cluster.caData }), skipTLSVerify: false }],
    users: [token === undefined ? { name: 'u', ...(user?.certData === undefined ? {} : { certData: user.certData }), ...(user?.keyData === undefined ? {} : { keyData: user.keyData }) } : { name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kc;
}

async function whoami(kc: k8s.KubeConfig): Promise<string | number> {
  try {
    const review = await kc.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    return review.status?.userInfo?.username ?? '';
  } catch (error) {
    if (error instanceof k8s.ApiException) return error.code;
    throw error;
  }
}

test.serial('a token from one API server authenticates on the other; both load pki/sa.key', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'kplane-sa-tokens-'));
  const dir = join(root, 'cluster');
  const base = await freePortRange(STORE_REPLICAS + 2 * API_SERVERS);
  const input: ClusterConfigInput = {
    name: 'sa-tokens',
    store: { replicas: STORE_REPLICAS, basePort: base },
    apiServer: { count: API_SERVERS, port: base + STORE_REPLICAS, actorPort: base + STORE_REPLICAS + API_SERVERS },
    scheduler: { shards: 1 },
    nodes: { simulatedProcesses: 0, processNodes: 0 },
  };
  const config = defineCluster(input);
  const configFile = join(root, 'config.json');
  writeFileSync(configFile, JSON.stringify(input));
  t.teardown(async () => {
    await runCli(['down', '--dir', dir]);
    rmSync(root, { recursive: true, force: true });
  });
  const up = await runCli(['up', '--detach', '--dir', dir, '--config', configFile]);
  t.is(up.code, 0, up.output);
  t.true(existsSync(join(dir, 'pki', 'sa.pub')));
  t.is(statSync(join(dir, 'pki', 'sa.key')).mode & 0o777, 0o600);

  const adminConfig = join(dir, 'kubeconfig');
  const urls = Array.from({ length: API_SERVERS }, (_, index) => `https://127.0.0.1:${config.apiServer.port + index}`);
  const [first = '', second = ''] = urls;
  const admin = kubeConfigFor(adminConfig, first).makeApiClient(k8s.CoreV1Api);
  const created = await eventually(
    () => admin.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'robot' } } }),
    (account) => account.metadata?.uid !== undefined,
    60_000,
  );
  t.truthy(created, 'the ServiceAccount was created');
  // The controller manager's service account controller gives every namespace a `default` account.
  const defaultAccount = await eventually(() => admin.readNamespacedServiceAccount({ namespace: 'kube-system', name: 'default' }), (account) => account.metadata?.uid !== undefined, 60_000);
  t.truthy(defaultAccount, 'kube-system has its default ServiceAccount');
  const issued = await admin.createNamespacedServiceAccountToken({ namespace: 'default', name: 'robot', body: { spec: { audiences: [] } } });
  const token = issued.status?.token ?? '';
  t.regex(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

  for (const url of urls) t.is(await whoami(kubeConfigFor(adminConfig, url, token)), 'system:serviceaccount:default:robot', url);

  await admin.deleteNamespacedServiceAccount({ namespace: 'default', name: 'robot' });
  const rejected = await eventually(
    () => whoami(kubeConfigFor(adminConfig, second, token)),
    (answer) => answer === 401,
    30_000,
  );
  t.is(rejected, 401);
  t.is(await whoami(kubeConfigFor(adminConfig, first, token)), 401);
});
