// The HTTPS side of `npm run bench:api`: a bearer-token client on a keep-alive agent (one socket per
// concurrent client), watch streams that report each event line as it arrives, and the API server
// child process (dist/src/api/main.js over the bench's store replicas, optionally under
// node --cpu-prof). Kept apart from the phases in api.ts so those read as the measurements only.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureTokenFile } from '../src/api/auth/token-file.js';
import { CLUSTER_SECRET_ENV } from '../src/cluster/plan.js';
import type { ReplicaCluster } from '../src/testing/replica-cluster.js';

const API_MAIN_PATH = fileURLToPath(new URL('../src/api/main.js', import.meta.url));
const READY_TIMEOUT_MS = 120_000;
/** Lines of the child's stderr kept for the failure message. */
const MAX_CHILD_LOG_LINES = 50;

export interface Reply {
  readonly status: number;
  readonly body: string;
}

export class ApiClient {
  readonly agent: Agent;
  /** Watches: a socket each (no keep-alive pool), TLS sessions resumed from the agent's cache. */
  private readonly watchAgent: Agent;

  constructor(
    readonly url: string,
    ca: string,
    private readonly token: string,
    maxSockets: number,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets, ca });
    this.watchAgent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY, ca });
  }

  /** One request; resolves once the whole body is in (the latency a client sees). */
  call(method: string, path: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = httpsRequest(
        new URL(path, this.url),
        {
          method,
          agent: this.agent,
          headers: { authorization: `Bearer ${this.token}`, accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });
  }

  /** Like call, but rejects unless the status is `expected`. */
  async expect(expected: number, method: string, path: string, body?: unknown): Promise<Reply> {
    const reply = await this.call(method, path, body);
    if (reply.status !== expected) throw new Error(`${method} ${path}: ${reply.status} ${reply.body.slice(0, 300)}`);
    return reply;
  }

  /**
   * A watch stream on its own socket (every watch holds its connection); `onLine` gets each
   * event line. Resolves once the response headers are in, i.e. the watch is open.
   */
  watch(path: string, onLine: (line: string) => void): Promise<{ stop(): void }> {
    return new Promise((resolve, reject) => {
      const request = httpsRequest(new URL(path, this.url), { method: 'GET', agent: this.watchAgent, headers: { authorization: `Bearer ${this.token}` } }, (response: IncomingMessage) => {
        if (response.statusCode !== 200) {
          reject(new Error(`watch ${path}: ${response.statusCode ?? 0}`));
          response.resume();
          return;
        }
        let pending = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          pending += chunk;
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            onLine(pending.slice(0, newline));
            pending = pending.slice(newline + 1);
            newline = pending.indexOf('\n');
          }
        });
        response.on('error', () => undefined);
        resolve({ stop: () => request.destroy() });
      });
      request.on('error', reject);
      request.end();
    });
  }

  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface ApiServerChild {
  readonly url: string;
  readonly ca: string;
  readonly adminToken: string;
  /** SIGTERM, then wait for the exit (a --cpu-prof profile is written then). */
  stop(): Promise<void>;
}

/**
 * Forks the API server process over `cluster` with a fresh cluster dir (it makes the PKI and the
 * token file there), waits for its ready message, and reads the CA and the admin token back.
 */
export async function startApiServerChild(cluster: ReplicaCluster, dir: string, options: { readonly cpuProfile: boolean }): Promise<ApiServerChild> {
  const [port, actorPort] = [await freePort(), await freePort()];
  const replicas = cluster.replicas.map((replica) => `${replica.id}=${replica.node}`).join(',');
  const args = ['--dir', dir, '--name', 'apiserver-bench', '--replicas', replicas, '--port', String(port), '--actor-port', String(actorPort), '--log-level', 'warn'];
  const child: ChildProcess = fork(API_MAIN_PATH, args, {
    env: { ...process.env, [CLUSTER_SECRET_ENV]: cluster.secret },
    execArgv: options.cpuProfile ? ['--cpu-prof', '--cpu-prof-dir', dir] : [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const logLines: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    logLines.push(...chunk.split('\n').filter((line) => line !== ''));
    logLines.splice(0, Math.max(0, logLines.length - MAX_CHILD_LOG_LINES));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the API server was not ready in ${READY_TIMEOUT_MS} ms:\n${logLines.join('\n')}`)), READY_TIMEOUT_MS);
    child.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'kplane.ready') {
        clearTimeout(timer);
        resolve(String((message as { url?: unknown }).url));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the API server exited (${String(code ?? signal)}):\n${logLines.join('\n')}`));
    });
  });
  const adminToken = ensureTokenFile(dir).adminToken;
  if (adminToken === undefined) throw new Error(`no admin token in ${dir}/tokens.csv`);
  return {
    url,
    ca: readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8'),
    adminToken,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
