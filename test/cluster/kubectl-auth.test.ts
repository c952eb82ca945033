// The real kubectl against an API server with the cluster's real security (clusterSecurity: PKI,
// token file, RBAC with the bootstrap policy): `auth whoami` for the admin's certificate and for a
// token user; `create token` for a ServiceAccount, then that token as the user of `auth whoami`,
// `auth can-i` (following a RoleBinding made for it) and `get`; and the message kubectl prints for
// `exec`, `attach`, `port-forward` and `cp` on a cluster with no container runtime.

import test from 'ava';
import { execFile } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { clusterSecurity } from '../../src/api/auth/cluster-security.js';
import { ensureTokenFile } from '../../src/api/auth/token-file.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { eventually } from '../../src/testing/chaos/pod-invariants.js';
import { kubectlMissingReason, tableRows, type KubectlResult } from './kubectl-helpers.js';

const missing = kubectlMissingReason();
if (missing !== undefined) console.log(`SKIP kubectl-auth tests: ${missing}`);
const kubectlTest = missing === undefined ? test.serial : test.skip;

const BOB_TOKEN = 'bob-token-0123456789';
const KUBECTL_TIMEOUT_MS = 60_000;
const NO_RUNTIME = (subresource: string): RegExp => new RegExp(`kplane runs no container runtime: pods/${subresource} is not supported \\(see docs/kubectl\\.md\\)`);

let dir: string;
let server: ApiServer;
let env: NodeJS.ProcessEnv;

test.before(async () => {
  if (missing !== undefined) return;
  dir = mkdtempSync(join(tmpdir(), 'kplane-kubectl-auth-'));
  appendFileSync(ensureTokenFile(dir).path, `${BOB_TOKEN},bob,bob-uid,devs\n`);
  const security = clusterSecurity(dir);
  server = await startApiServer({ store: new LocalStore(systemClock), host: '127.0.0.1', port: 0, ...security.serverOptions });
  const kubeconfig = security.writeKubeconfig(server.url);
  // Contexts for a token user and for a user with no credentials of its own (for --token=…).
  const config = parseYaml(readFileSync(kubeconfig, 'utf8')) as { clusters: { name: string }[]; users: unknown[]; contexts: unknown[] };
  const cluster = config.clusters[0]?.name ?? '';
  const jane = security.pki.issueClientCertificate('jane', ['qa']);
  const base64 = (pem: string): string => Buffer.from(pem).toString('base64');
  config.users.push({ name: 'bob', user: { token: BOB_TOKEN } }, { name: 'bare', user: {} }, { name: 'jane', user: { 'client-certificate-data': base64(jane.cert), 'client-key-data': base64(jane.key) } });
  for (const user of ['bob', 'bare', 'jane']) config.contexts.push({ name: user, context: { cluster, user, namespace: 'default' } });
  writeFileSync(kubeconfig, JSON.stringify(config), { mode: 0o600 });
  env = { ...process.env, HOME: join(dir, 'home'), KUBECONFIG: kubeconfig };
});

test.after.always(async () => {
  await server?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

function kubectl(args: readonly string[]): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', [...args], { env, timeout: KUBECTL_TIMEOUT_MS, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, stdout, stderr });
    });
    child.stdin?.end();
  });
}

/** The ATTRIBUTE → VALUE rows of `kubectl auth whoami`. */
function whoamiTable(stdout: string): Map<string, string> {
  const rows = tableRows(stdout);
  return new Map(rows.slice(1).map((cells) => [cells[0] ?? '', cells.slice(1).join(' ')]));
}

kubectlTest('auth whoami prints the admin (client certificate) as a table and as YAML', async (t) => {
  const table = await kubectl(['auth', 'whoami']);
  t.is(table.code, 0, table.stderr);
  t.deepEqual(tableRows(table.stdout)[0], ['ATTRIBUTE', 'VALUE']);
  const rows = whoamiTable(table.stdout);
  t.is(rows.get('Username'), 'admin');
  t.is(rows.get('Groups'), '[system:masters system:authenticated]');
  const yaml = await kubectl(['auth', 'whoami', '-o', 'yaml']);
  t.is(yaml.code, 0, yaml.stderr);
  const review = parseYaml(yaml.stdout) as { apiVersion: string; kind: string; status: { userInfo: { username: string; groups: string[] } } };
  t.is(review.apiVersion, 'authentication.k8s.io/v1');
  t.is(review.kind, 'SelfSubjectReview');
  t.deepEqual(review.status.userInfo, { username: 'admin', groups: ['system:masters', 'system:authenticated'] });
});

kubectlTest('auth whoami as a token user or a certificate user with fewer rights prints that user', async (t) => {
  const result = await kubectl(['--context', 'bob', 'auth', 'whoami']);
  t.is(result.code, 0, result.stderr);
  const rows = whoamiTable(result.stdout);
  t.is(rows.get('Username'), 'bob');
  t.is(rows.get('UID'), 'bob-uid');
  t.is(rows.get('Groups'), '[devs system:authenticated]');
  const byCertificate = whoamiTable((await kubectl(['--context', 'jane', 'auth', 'whoami'])).stdout);
  t.is(byCertificate.get('Username'), 'jane');
  t.is(byCertificate.get('Groups'), '[qa system:authenticated]');
  const denied = await kubectl(['--context', 'bob', 'get', 'pods']);
  t.not(denied.code, 0);
  t.regex(denied.stderr, /Error from server \(Forbidden\): pods is forbidden: User "bob" cannot list resource "pods"/);
});

kubectlTest('create token: the token is the service account for whoami, can-i follows its RoleBinding, and it dies with the account', async (t) => {
  // No controller manager runs here (its service account controller would make `default`), so the test does.
  t.is((await kubectl(['create', 'serviceaccount', 'default'])).code, 0);
  const created = await kubectl(['create', 'token', 'default']);
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const as = (args: readonly string[]): Promise<KubectlResult> => kubectl(['--context', 'bare', `--token=${token}`, ...args]);

  const who = await as(['auth', 'whoami']);
  t.is(who.code, 0, who.stderr);
  const rows = whoamiTable(who.stdout);
  t.is(rows.get('Username'), 'system:serviceaccount:default:default');
  t.is(rows.get('Groups'), '[system:serviceaccounts system:serviceaccounts:default system:authenticated]');
  t.regex(rows.get('UID') ?? '', /^[0-9a-f-]{36}$/);

  const before = await as(['auth', 'can-i', 'list', 'pods']);
  t.is(before.stdout.trim(), 'no');
  const bound = await kubectl(['create', 'rolebinding', 'default-view', '--clusterrole=view', '--serviceaccount=default:default']);
  t.is(bound.code, 0, bound.stderr);
  const answer = await eventually(async () => (await as(['auth', 'can-i', 'list', 'pods'])).stdout.trim(), (text) => text === 'yes', 30_000);
  t.is(answer, 'yes', 'can-i follows the RoleBinding');
  t.is((await as(['auth', 'can-i', 'list', 'pods', '-n', 'kube-system'])).stdout.trim(), 'no');
  t.is((await as(['auth', 'can-i', 'create', 'pods'])).stdout.trim(), 'no');
  const listed = await as(['get', 'pods']);
  t.is(listed.code, 0, listed.stderr);

  const tooShort = await kubectl(['create', 'token', 'default', '--duration=5m']);
  t.not(tooShort.code, 0);
  t.regex(tooShort.stderr, /TokenRequest\.authentication\.k8s\.io "default" is invalid: spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/);
  const forVault = await kubectl(['create', 'token', 'default', '--audience=vault', '--duration=20m']);
  t.is(forVault.code, 0, forVault.stderr);
  t.regex((await kubectl(['--context', 'bare', `--token=${forVault.stdout.trim()}`, 'get', 'pods'])).stderr, /Unauthorized/, 'a token for another audience is not for this server');

  // A user without serviceaccounts/token may not mint one.
  const bobToken = await kubectl(['--context', 'bob', 'create', 'token', 'default']);
  t.not(bobToken.code, 0);
  t.regex(bobToken.stderr, /serviceaccounts "default" is forbidden: User "bob" cannot create resource "serviceaccounts\/token" in API group "" in the namespace "default"/);

  t.is((await kubectl(['delete', 'serviceaccount', 'default'])).code, 0);
  const gone = await as(['auth', 'whoami']);
  t.not(gone.code, 0);
  t.regex(gone.stderr, /You must be logged in to the server \(Unauthorized\)/);
  const garbage = await kubectl(['--context', 'bare', '--token=abc.def.ghi', 'auth', 'whoami']);
  t.regex(garbage.stderr, /Unauthorized/);
});

kubectlTest('exec, attach, port-forward and cp print why they cannot work, and RBAC still comes first', async (t) => {
  t.is((await kubectl(['run', 'web', '--image=nginx:1.27'])).code, 0);
  // port-forward only tries a Running pod; there is no node agent here, so set the phase by hand.
  const running = await kubectl(['patch', 'pod', 'web', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
  t.is(running.code, 0, running.stderr);

  const exec = await kubectl(['exec', 'web', '--', 'ls', '/']);
  t.not(exec.code, 0);
  t.regex(exec.stderr, /Error from server \(BadRequest\): /);
  t.regex(exec.stderr, NO_RUNTIME('exec'));

  const attach = await kubectl(['attach', 'web']);
  t.not(attach.code, 0);
  t.regex(attach.stderr, NO_RUNTIME('attach'));

  const forward = await kubectl(['port-forward', 'pod/web', '0:80']);
  t.not(forward.code, 0);
  t.regex(forward.stderr, NO_RUNTIME('portforward'));

  const copyOut = await kubectl(['cp', 'web:/etc/hosts', join(dir, 'hosts')]);
  t.not(copyOut.code, 0);
  t.regex(copyOut.stderr, NO_RUNTIME('exec'));
  const copyIn = await kubectl(['cp', join(dir, 'home'), 'web:/tmp/home']);
  t.not(copyIn.code, 0);
  t.regex(copyIn.stderr, NO_RUNTIME('exec'));

  const missingPod = await kubectl(['exec', 'nope', '--', 'ls']);
  t.regex(missingPod.stderr, /Error from server \(NotFound\): pods "nope" not found/);

  // bob may not even get the pod; with a Role that allows get on pods but not pods/exec, exec is 403.
  t.is((await kubectl(['create', 'role', 'pod-reader', '--verb=get,list', '--resource=pods'])).code, 0);
  t.is((await kubectl(['create', 'rolebinding', 'bob-pod-reader', '--role=pod-reader', '--user=bob'])).code, 0);
  const denied = await eventually(() => kubectl(['--context', 'bob', 'exec', 'web', '--', 'ls']), (result) => /Forbidden/.test(result.stderr), 30_000);
  t.regex(denied?.stderr ?? '', /Error from server \(Forbidden\): pods "web" is forbidden: User "bob" cannot create resource "pods\/exec" in API group "" in the namespace "default"/);
});
