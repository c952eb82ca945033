// Shared setup for the tests that drive the real kubectl: an HTTPS API server over an in-process
// LocalStore with two token users (admin may do anything; "viewer" may only read), a kubeconfig
// with a context per user, a fresh HOME per run (kubectl caches discovery under ~/.kube/cache), and
// an async kubectl runner (the server lives in this process, so a synchronous exec would deadlock).

import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import type { UserInfo } from '../../src/api/auth-types.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer, testPki, tokenAuthenticator } from '../unit/api-helpers.js';

/** Why the kubectl tests are skipped, or undefined when kubectl is on the PATH. */
export function kubectlMissingReason(): string | undefined {
  const probe = spawnSync('kubectl', ['version', '--client=true'], { encoding: 'utf8', timeout: 20_000 });
  if (probe.error !== undefined) return `kubectl is not on the PATH (${probe.error.message})`;
  if (probe.status !== 0) return `kubectl version --client failed: ${probe.stderr.trim()}`;
  return undefined;
}

const VIEWER: UserInfo = { name: 'viewer', groups: ['system:authenticated'] };
const READ_VERBS = new Set(['get', 'list', 'watch']);

export interface KubectlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface KubectlEnv {
  readonly server: ApiServer;
  readonly dir: string;
  /** Run kubectl as admin (or `--context viewer`); never rejects, the exit code is in the result. */
  kubectl(args: readonly string[], options?: { readonly stdin?: string; readonly env?: Readonly<Record<string, string>> }): Promise<KubectlResult>;
  /** Start a long-running kubectl (get -w); stop() kills it and returns what it printed. */
  spawnKubectl(args: readonly string[]): { output(): string; stop(): Promise<string> };
  writeFile(name: string, text: string): string;
  close(): Promise<void>;
}

const KUBECTL_TIMEOUT_MS = 60_000;

export async function startKubectlEnv(): Promise<KubectlEnv> {
  const pki = testPki();
  const server = await startApiServer({
    store: new LocalStore(systemClock),
    tls: { key: pki.key, cert: pki.cert },
    host: '127.0.0.1',
    port: 0,
    authenticator: tokenAuthenticator({ 'admin-token': ADMIN, 'viewer-token': VIEWER }),
    // The viewer may only read (and ask what it may do: selfsubjectaccessreviews are creates).
    authorizer: ruleAuthorizer((attributes) => attributes.user.name === 'viewer' && attributes.kind === 'resource' && !READ_VERBS.has(attributes.verb) && attributes.resource !== 'selfsubjectaccessreviews'),
  });
  const dir = mkdtempSync(join(tmpdir(), 'kplane-kubectl-'));
  const home = join(dir, 'home');
  const kubeconfig = join(dir, 'kubeconfig');
  const ca = Buffer.from(pki.cert).toString('base64');
  writeFileSync(
    kubeconfig,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: kplane\n  cluster:\n    server: ${server.url}\n    certificate-authority-data: ${ca}`,
      'users:',
      '- name: admin\n  user:\n    token: admin-token',
      '- name: viewer\n  user:\n    token: viewer-token',
      'contexts:',
      '- name: admin\n  context: {cluster: kplane, user: admin, namespace: default}',
      '- name: viewer\n  context: {cluster: kplane, user: viewer, namespace: default}',
      'current-context: admin',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const env = { ...process.env, HOME: home, KUBECONFIG: kubeconfig };
  return {
    server,
    dir,
    kubectl: (args, options = {}) =>
      new Promise((resolve) => {
        const child = execFile('kubectl', [...args], { env: { ...env, ...options.env }, timeout: KUBECTL_TIMEOUT_MS, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
          resolve({ code, stdout, stderr });
        });
        if (options.stdin !== undefined) child.stdin?.end(options.stdin);
        else child.stdin?.end();
      }),
    spawnKubectl: (args) => {
      const child = spawn('kubectl', [...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      return {
        output: () => output,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
          return output;
        },
      };
    },
    writeFile: (name, text) => {
      const path = join(dir, name);
      writeFileSync(path, text);
      return path;
    },
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The rows of kubectl's table output as arrays of cells (split on runs of 2+ spaces). */
export function tableRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s{2,}/));
}

/** Poll until `condition` holds or the time is up (for output from a running kubectl). */
export async function eventually(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return condition();
}

/** Runs kubectl with `env` (a KUBECONFIG and a fresh HOME); never rejects, the exit code is in the result. */
export function runKubectl(env: NodeJS.ProcessEnv, args: readonly string[], timeoutMs = 90_000): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile('kubectl', [...args], { env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
    child.stdin?.end();
  });
}

export interface ClusterKubectl {
  readonly env: NodeJS.ProcessEnv;
  /** Runs kubectl and logs the command and what it printed to the test. */
  kubectl(args: readonly string[]): Promise<KubectlResult>;
  /** Runs kubectl, asserts it exits 0 (the failure shows the cluster's log tails) and returns stdout. */
  ok(args: readonly string[]): Promise<string>;
}

/** kubectl against a whole cluster (its kubeconfig in `kubeconfigDir`) with a fresh HOME. */
export function clusterKubectl(
  t: { log(...values: unknown[]): void; is(actual: unknown, expected: unknown, message?: string): void },
  cluster: { readonly dir: { readonly root: string }; logTails(lines: number): string },
  home: string,
  timeoutMs = 90_000,
): ClusterKubectl {
  const env = { ...process.env, HOME: home, KUBECONFIG: join(cluster.dir.root, 'kubeconfig') };
  const kubectl = async (args: readonly string[]): Promise<KubectlResult> => {
    const result = await runKubectl(env, args, timeoutMs);
    t.log(`$ kubectl ${args.join(' ')} -> ${result.code}\n${result.stdout}${result.stderr}`);
    return result;
  };
  return {
    env,
    kubectl,
    ok: async (args) => {
      const result = await kubectl(args);
      t.is(result.code, 0, `kubectl ${args.join(' ')} failed: ${result.stderr}\n${cluster.logTails(10)}`);
      return result.stdout;
    },
  };
}
