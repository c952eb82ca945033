// A store replica group as real OS processes on loopback, for process-level tests and benchmarks.
//
//   const cluster = await ReplicaCluster.start();           // 3 replicas, free ports, temp data dirs
//   const client = await cluster.client();                  // a RemoteStoreClient (closed by stopAll)
//   const leader = await cluster.leaderId();                // polls the replicas' status
//   await cluster.kill(leader);                             // SIGKILL (or pass 'SIGTERM'); waits for exit
//   await cluster.restart(leader);                          // same id, port and data dir; waits until ready
//   await cluster.stopAll();                                // SIGTERM everyone, close clients, delete data
//
// Each replica is `node dist/src/store/replica/main.js` started with child_process.fork; start and
// restart wait for its `kplane.ready` IPC message. Ports are chosen once (free at start) and kept
// across restarts, because a replica's node id (`replica-N@127.0.0.1:PORT`) is its address.
// Each replica's output (pino JSON lines) is kept, the last MAX_LOG_LINES lines, for failure messages
// (`logs(id)`). Children are SIGKILLed if the parent process exits without stopAll.

import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NodeId } from '../actors/index.js';
import { CLUSTER_SECRET_ENV } from '../cluster/plan.js';
import { RemoteStoreClient, type RemoteStoreClientOptions } from '../store/client/remote-store-client.js';
import type { ReplicaAddress } from '../store/replica/protocol.js';

export const MAX_LOG_LINES = 400;
export const READY_TIMEOUT_MS = 20_000;
const MAIN_PATH = fileURLToPath(new URL('../store/replica/main.js', import.meta.url));

export interface ReplicaClusterOptions {
  /** Number of replicas (default 3). */
  readonly size?: number;
  /** Default: a random test secret. */
  readonly secret?: string;
  /** Replica log level (default 'info'). */
  readonly logLevel?: string;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  /** More arguments for every replica (see main.ts). */
  readonly extraArgs?: readonly string[];
  /** Where the data dirs go (default: a new temp dir, deleted by stopAll). */
  readonly dataRoot?: string;
}

export interface ReplicaExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

interface ReplicaProcess {
  readonly address: ReplicaAddress;
  readonly dataDir: string;
  child: ChildProcess | undefined;
  readonly logLines: string[];
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

export class ReplicaCluster {
  private readonly clients: RemoteStoreClient[] = [];
  private stopped = false;

  private constructor(
    private readonly processes: ReplicaProcess[],
    private readonly options: ReplicaClusterOptions,
    readonly secret: string,
    private readonly dataRoot: string,
    private readonly ownsDataRoot: boolean,
  ) {}

  static async start(options: ReplicaClusterOptions = {}): Promise<ReplicaCluster> {
    const size = options.size ?? 3;
    const secret = options.secret ?? `replica-cluster-secret-${process.pid}-${Date.now()}`;
    const ownsDataRoot = options.dataRoot === undefined;
    const dataRoot = options.dataRoot ?? (await mkdtemp(join(tmpdir(), 'kplane-replicas-')));
    const ports = await freePorts(size);
    const processes: ReplicaProcess[] = ports.map((port, index) => ({
      address: { id: index + 1, node: `replica-${index + 1}@127.0.0.1:${port}` },
      dataDir: join(dataRoot, `replica-${index + 1}`),
      child: undefined,
      logLines: [],
    }));
    const cluster = new ReplicaCluster(processes, options, secret, dataRoot, ownsDataRoot);
    try {
      await Promise.all(processes.map((replica) => cluster.launch(replica)));
    } catch (error) {
      await cluster.stopAll();
      throw error;
    }
    return cluster;
  }

  /** Every replica's id and node. */
  get replicas(): readonly ReplicaAddress[] {
    return this.processes.map((replica) => replica.address);
  }

  get nodes(): readonly NodeId[] {
    return this.processes.map((replica) => replica.address.node);
  }

  nodeOf(id: number): NodeId {
    return this.replica(id).address.node;
  }

  isRunning(id: number): boolean {
    const child = this.replica(id).child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** A client of this cluster; closed by stopAll. */
  async client(options: Partial<RemoteStoreClientOptions> = {}): Promise<RemoteStoreClient> {
    const client = await RemoteStoreClient.connect({ replicas: this.nodes, secret: this.secret, ...options });
    this.clients.push(client);
    return client;
  }

  /**
   * Sends `signal` to a replica and waits until it has exited (SIGKILL after 5 s if it lingers).
   * Resolves with how it exited (undefined if it was not running).
   */
  async kill(id: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<ReplicaExit | undefined> {
    const child = this.replica(id).child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return undefined;
    const exited = new Promise<ReplicaExit>((resolve) => child.once('exit', (code, exitSignal) => resolve({ code, signal: exitSignal })));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    const exit = await exited;
    clearTimeout(timer);
    return exit;
  }

  /** Starts a stopped replica again (same id, port, data dir); a running one is stopped (SIGTERM) first. */
  async restart(id: number): Promise<void> {
    await this.kill(id, 'SIGTERM');
    await this.launch(this.replica(id));
  }

  /**
   * The id of the replica that leads: polls every running replica's status until one says it is the
   * leader and no running replica knows of a higher term. Rejects after timeoutMs.
   */
  async leaderId(timeoutMs = 15_000): Promise<number> {
    const probe = await this.probeClient();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const statuses = await Promise.all(
        this.processes.filter((replica) => this.isRunning(replica.address.id)).map((replica) => probe.status(replica.address.node, 500).catch(() => undefined)),
      );
      const known = statuses.filter((status) => status !== undefined);
      const maxTerm = Math.max(0, ...known.map((status) => status.term));
      const leader = known.find((status) => status.role === 'leader' && status.term === maxTerm);
      if (leader !== undefined) return leader.id;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no leader within ${timeoutMs} ms\n${this.allLogs()}`);
  }

  /** The last lines a replica printed (its pino log). */
  logs(id: number): string {
    return this.replica(id).logLines.join('\n');
  }

  allLogs(): string {
    return this.processes.map((replica) => `--- replica ${replica.address.id} ---\n${replica.logLines.slice(-40).join('\n')}`).join('\n');
  }

  /** Closes the clients, stops every replica (SIGTERM, SIGKILL after 5 s) and deletes the data dirs it made. */
  async stopAll(options: { readonly keepData?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.clients.splice(0).map((client) => client.close().catch(() => undefined)));
    await Promise.all(this.processes.map((replica) => this.kill(replica.address.id, 'SIGTERM')));
    if (this.ownsDataRoot && options.keepData !== true) await rm(this.dataRoot, { recursive: true, force: true });
  }

  // ---- internals -------------------------------------------------------------------------------

  private probe: RemoteStoreClient | undefined;

  private async probeClient(): Promise<RemoteStoreClient> {
    this.probe ??= await this.client({ name: 'cluster-probe' });
    return this.probe;
  }

  private replica(id: number): ReplicaProcess {
    const replica = this.processes.find((candidate) => candidate.address.id === id);
    if (replica === undefined) throw new RangeError(`no replica ${id}`);
    return replica;
  }

  private launch(replica: ReplicaProcess): Promise<void> {
    const list = this.processes.map((other) => `${other.address.id}=${other.address.node}`).join(',');
    const args = [
      '--id',
      String(replica.address.id),
      '--replicas',
      list,
      '--data-dir',
      replica.dataDir,
      '--log-level',
      this.options.logLevel ?? 'info',
      ...(this.options.tickMs === undefined ? [] : ['--tick-ms', String(this.options.tickMs)]),
      ...(this.options.electionTicks === undefined ? [] : ['--election-ticks', String(this.options.electionTicks)]),
      ...(this.options.extraArgs ?? []),
    ];
    const child = fork(MAIN_PATH, args, { env: { ...process.env, [CLUSTER_SECRET_ENV]: this.secret }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    replica.child = child;
    running.add(child);
    installExitHook();
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.length === 0) continue;
        replica.logLines.push(line);
        if (replica.logLines.length > MAX_LOG_LINES) replica.logLines.shift();
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      running.delete(child);
      replica.logLines.push(`[replica-cluster] replica ${replica.address.id} exited (code ${String(code)}, signal ${String(signal)})`);
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`replica ${replica.address.id} not ready within ${READY_TIMEOUT_MS} ms\n${this.logs(replica.address.id)}`)), READY_TIMEOUT_MS);
      child.on('message', (message: unknown) => {
        if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'kplane.ready') {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`replica ${replica.address.id} exited before ready (code ${String(code)}, signal ${String(signal)})\n${this.logs(replica.address.id)}`));
      });
    });
  }
}

/** `count` distinct ports that were free a moment ago (bound to port 0 on loopback, then released). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}
