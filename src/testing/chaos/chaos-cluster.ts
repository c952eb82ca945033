// A whole local cluster for one chaos scenario, started the way a person starts one: the real CLI
// (`kplane up --detach`) in a temporary cluster directory, with a JSON config whose ports are free,
// so several scenarios (and a developer's own cluster) can run at once. It gives the scenario what it
// needs: a @kubernetes/client-node KubeConfig (the admin kubeconfig `up` wrote), process faults (the
// same code `kplane chaos` runs), WAL damage on a stopped replica, API readiness, and `stop()`, which
// runs `kplane down`, checks that no process outlived it, and deletes the directory (kept when
// KPLANE_CHAOS_KEEP=1, for reading the logs after a failure).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { ClusterDir, isAlive } from '../../cluster/cluster-dir.js';
import { defineCluster, type ClusterConfig, type ClusterConfigInput } from '../../cluster/config.js';
import { clusterCaCert, probeApiServer, probeCluster, type ClusterProbe } from '../../cluster/chaos-probe.js';
import { applyLinkFault, findTargets, injectProcessFault, waitForRestart, type ChaosAction, type ChaosOutcome, type LinkAction } from '../../cluster/chaos.js';
import { apiServerUrl } from '../../cluster/plan.js';
import { tearWalTail, corruptWalTail, type WalDamage } from './wal-faults.js';

const CLI_PATH = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
/** Listen ports are taken below the kernel's ephemeral range (32768+), where outgoing connections never land. */
const PORT_RANGE_START = 20_000;
const PORT_RANGE_SLOTS = 1_200;
const PORTS_PER_SLOT = 10;
export const CLI_TIMEOUT_MS = 90_000;
/** Time a replica gets, after SIGSTOP, for any write already in a system call to finish before its WAL is damaged. */
const SETTLE_AFTER_STOP_MS = 200;
/** What a replica logs when it truncates a torn WAL tail on open (src/raft/wal.ts). */
export const TORN_TAIL_LOG_MESSAGE = 'WAL: truncating torn tail';
const TORN_TAIL_REPORT_WAIT_MS = 3_000;

export interface CliResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs `kplane ARGS` as a child process and collects what it printed. */
export function runCli(args: readonly string[], timeoutMs = CLI_TIMEOUT_MS): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

let slotCounter = 0;

/** A base port with `count` consecutive free ports after it (a different slot per process and call). */
export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < PORT_RANGE_SLOTS; attempt++) {
    const slot = (process.pid * 131 + slotCounter++ * 17) % PORT_RANGE_SLOTS;
    const base = PORT_RANGE_START + slot * PORTS_PER_SLOT;
    let free = true;
    for (let port = base; port < base + count && free; port++) free = await canListen(port);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports from ${PORT_RANGE_START}`);
}

export interface ChaosClusterOptions {
  /** Config overrides (over SCENARIO_CLUSTER_DEFAULTS); ports are always chosen here. */
  readonly config?: ClusterConfigInput;
}

/**
 * What the scenario clusters change from the default config: no node agents and one scheduler shard.
 * The scenarios so far drive ConfigMaps and judge the store and the API; on two cores every process
 * they do not need makes their timing worse. A scenario about pods passes its own `nodes`.
 */
export const SCENARIO_CLUSTER_DEFAULTS: ClusterConfigInput = {
  scheduler: { shards: 1 },
  nodes: { simulatedProcesses: 0, processNodes: 0 },
};

export class ChaosCluster {
  private stopped = false;

  private constructor(
    readonly dir: ClusterDir,
    readonly config: ClusterConfig,
    readonly startOutput: string,
  ) {}

  static async start(options: ChaosClusterOptions = {}): Promise<ChaosCluster> {
    const root = mkdtempSync(join(tmpdir(), 'kplane-chaos-'));
    const overrides: ClusterConfigInput = { ...SCENARIO_CLUSTER_DEFAULTS, ...options.config };
    const replicas = overrides.store?.replicas ?? 3;
    const base = await freePortRange(replicas + 2);
    const input: ClusterConfigInput = {
      ...overrides,
      name: overrides.name ?? 'chaos',
      store: { ...overrides.store, basePort: base },
      apiServer: { ...overrides.apiServer, count: 1, port: base + replicas, actorPort: base + replicas + 1 },
    };
    const config = defineCluster(input);
    const configFile = join(root, 'chaos-config.json');
    writeFileSync(configFile, JSON.stringify(input));
    const dirPath = join(root, 'cluster');
    const result = await runCli(['up', '--detach', '--dir', dirPath, '--config', configFile]);
    const cluster = new ChaosCluster(new ClusterDir(dirPath), config, result.output);
    if (result.code !== 0) {
      const logs = cluster.logTails(20);
      await cluster.stop();
      throw new Error(`kplane up --detach failed (exit ${result.code}):\n${result.output}\n${logs}`);
    }
    return cluster;
  }

  /** The last `lines` lines of every process's log, for failure messages. */
  logTails(lines: number): string {
    const names = (this.dir.readState()?.processes ?? []).map((entry) => entry.name);
    return names
      .map((name) => {
        let text = '';
        try {
          text = readFileSync(this.dir.logFile(name), 'utf8');
        } catch {
          text = '(no log)';
        }
        return `--- ${name}\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  }

  get apiUrl(): string {
    return apiServerUrl(this.config);
  }

  /** The admin kubeconfig `kplane up` wrote (a client certificate of the cluster CA). */
  kubeConfig(): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(join(this.dir.root, 'kubeconfig'));
    return kc;
  }

  probe(): Promise<ClusterProbe | undefined> {
    return probeCluster(this.dir, this.config);
  }

  /** The same as `kplane chaos ACTION TARGET`. */
  fault(action: ChaosAction, target: string): Promise<ChaosOutcome> {
    return injectProcessFault(this.dir, this.config, action, target);
  }

  /** The same as `kplane chaos partition|heal|delay|drop …`; returns what it did. */
  linkFault(action: LinkAction, args: readonly string[], oneWay = false): Promise<string> {
    return applyLinkFault(this.dir, this.config, action, args, oneWay);
  }

  /**
   * A torn (or corrupted) WAL tail on the replica `target` names, as a crash mid-write leaves it:
   * the replica is stopped (SIGSTOP), its last segment damaged, then killed (SIGKILL); the launcher
   * restarts it on the damaged log. Resolves once it runs again.
   */
  async damageWal(target: string, how: 'tear' | 'corrupt'): Promise<{ readonly name: string; readonly damage: WalDamage; readonly newPid: number; readonly tornTailReported: boolean }> {
    const [entry] = await findTargets(this.dir, this.config, target);
    if (entry?.pid === undefined || entry.role !== 'store') throw new Error(`${target} is not a running store replica`);
    const pid = entry.pid;
    const reportsBefore = this.countLogLines(entry.name, TORN_TAIL_LOG_MESSAGE);
    process.kill(pid, 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, SETTLE_AFTER_STOP_MS));
    const dataDir = join(this.dir.root, entry.name, 'data');
    let damage: WalDamage;
    try {
      damage = how === 'tear' ? tearWalTail(dataDir) : corruptWalTail(dataDir);
    } finally {
      process.kill(pid, 'SIGKILL');
    }
    const newPid = await waitForRestart(this.dir, entry.name, pid);
    // The replica logs the truncation while it opens its WAL, before it says it is ready; the log
    // may reach the file a moment later.
    let tornTailReported = false;
    for (let waitedMs = 0; waitedMs <= TORN_TAIL_REPORT_WAIT_MS && !tornTailReported; waitedMs += 100) {
      tornTailReported = this.countLogLines(entry.name, TORN_TAIL_LOG_MESSAGE) > reportsBefore;
      if (!tornTailReported) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { name: entry.name, damage, newPid, tornTailReported };
  }

  /** Lines of a process's log that contain `text`. */
  countLogLines(name: string, text: string): number {
    try {
      return readFileSync(this.dir.logFile(name), 'utf8').split('\n').filter((line) => line.includes(text)).length;
    } catch {
      return 0;
    }
  }

  /** Polls /readyz until it answers 200; resolves with the ms it took, or rejects after `timeoutMs`. */
  async waitApiReady(timeoutMs: number): Promise<number> {
    const started = Date.now();
    const ca = clusterCaCert(this.dir);
    let last = '';
    while (Date.now() - started < timeoutMs) {
      const probe = await probeApiServer(this.apiUrl, ca, 2_000);
      if (probe.ready) return Date.now() - started;
      last = probe.detail;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the API server was not ready within ${timeoutMs} ms (last: ${last})`);
  }

  /** Sends SIGCONT to every process (a scenario that paused one and failed must not leave it stopped). */
  resumeAll(): void {
    for (const entry of this.dir.readState()?.processes ?? []) {
      if (isAlive(entry.pid)) process.kill(entry.pid as number, 'SIGCONT');
    }
  }

  /**
   * `kplane down`, then checks that the launcher and every process it ever listed are gone; returns
   * the names of any survivors (killed here). Deletes the directory unless KPLANE_CHAOS_KEEP=1.
   */
  async stop(): Promise<string[]> {
    if (this.stopped) return [];
    this.stopped = true;
    this.resumeAll();
    const before = this.dir.readState();
    await runCli(['down', '--dir', this.dir.root]);
    const after = this.dir.readState();
    const pids = new Map<number, string>();
    for (const state of [before, after]) {
      if (state === undefined) continue;
      pids.set(state.launcherPid, 'launcher');
      for (const entry of state.processes) if (entry.pid !== undefined) pids.set(entry.pid, entry.name);
    }
    const survivors: string[] = [];
    for (const [pid, name] of pids) {
      if (isAlive(pid)) {
        survivors.push(`${name} (pid ${pid})`);
        process.kill(pid, 'SIGKILL');
      }
    }
    if (process.env['KPLANE_CHAOS_KEEP'] !== '1') rmSync(join(this.dir.root, '..'), { recursive: true, force: true });
    return survivors;
  }
}
