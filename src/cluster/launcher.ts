// The launcher: the OS-level supervisor above the actor supervisors. It starts every component of
// the cluster as its own OS process in order, waits for each to say it is ready (an IPC message),
// restarts a process that dies with exponential backoff, and on stop terminates them in reverse
// order (SIGTERM, then SIGKILL after a timeout), leaving no orphans. It keeps the state file current.
// A running launcher can take on a process (`add`: a store replica joined by `kplane join`) and let
// one go (`retire`: a replica removed by `kplane leave`).
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ClusterDir, ProcessState } from './cluster-dir.js';

export interface ProcessSpec {
  readonly name: string;
  readonly role: string;
  /** The compiled entry point (a .js file) and its arguments. */
  readonly entry: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly ports: Readonly<Record<string, number>>;
}

/** Sent by a child over IPC once it serves. */
export interface ReadyMessage {
  readonly type: 'kplane.ready';
}

export const READY_TIMEOUT_MS = 30_000;
export const STOP_TIMEOUT_MS = 5_000;
export const RESTART_BACKOFF_MIN_MS = 500;
export const RESTART_BACKOFF_MAX_MS = 30_000;
/** A process that stayed up this long has its backoff reset. */
export const RESTART_BACKOFF_RESET_MS = 60_000;

interface Supervised {
  readonly spec: ProcessSpec;
  child: ChildProcess | undefined;
  restarts: number;
  backoffMs: number;
  startedAtMs: number;
  status: ProcessState['status'];
  restartTimer: NodeJS.Timeout | undefined;
}

export class Launcher {
  private readonly supervised: Supervised[] = [];
  private stopping = false;
  private ready = false;
  private failure: string | undefined;

  constructor(
    private readonly dir: ClusterDir,
    private readonly configName: string,
    private readonly log: Logger,
  ) {}

  /** Starts each process in order, waiting for it to be ready before the next. */
  async start(specs: readonly ProcessSpec[], onProgress: (line: string) => void): Promise<void> {
    for (const [position, spec] of specs.entries()) {
      const entry: Supervised = {
        spec,
        child: undefined,
        restarts: 0,
        backoffMs: RESTART_BACKOFF_MIN_MS,
        startedAtMs: 0,
        status: 'starting',
        restartTimer: undefined,
      };
      this.supervised.push(entry);
      onProgress(`[${position + 1}/${specs.length}] starting ${spec.name} (${spec.role})`);
      await this.launch(entry);
      onProgress(`[${position + 1}/${specs.length}] ${spec.name} ready (pid ${entry.child?.pid ?? '?'})`);
    }
    this.ready = true;
    this.saveState();
  }

  /** Names of the processes it supervises. */
  names(): string[] {
    return this.supervised.map((entry) => entry.spec.name);
  }

  /** Starts one more process (after the initial start) and waits for it to be ready; restarted like the others. */
  async add(spec: ProcessSpec): Promise<void> {
    if (this.stopping || this.supervised.some((entry) => entry.spec.name === spec.name)) return;
    const entry: Supervised = { spec, child: undefined, restarts: 0, backoffMs: RESTART_BACKOFF_MIN_MS, startedAtMs: 0, status: 'starting', restartTimer: undefined };
    this.supervised.push(entry);
    await this.launch(entry);
  }

  /** Stops one process for good and drops it from the state file. */
  async retire(name: string): Promise<void> {
    const entry = this.supervised.find((candidate) => candidate.spec.name === name);
    if (entry === undefined) return;
    this.supervised.splice(this.supervised.indexOf(entry), 1);
    if (entry.restartTimer !== undefined) clearTimeout(entry.restartTimer);
    const child = entry.child;
    entry.child = undefined; // onExit ignores a child that is no longer the entry's
    await stopChild(child, STOP_TIMEOUT_MS);
    this.saveState();
  }

  /** Records why the start failed, for `kplane up --detach` to report. */
  markFailed(reason: string): void {
    this.failure = reason;
    this.saveState();
  }

  processes(): ProcessState[] {
    return this.supervised.map((entry) => ({
      name: entry.spec.name,
      role: entry.spec.role,
      pid: entry.child?.pid,
      ports: entry.spec.ports,
      restarts: entry.restarts,
      status: entry.status,
    }));
  }

  /** Stops every process in reverse start order. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const entry of [...this.supervised].reverse()) {
      if (entry.restartTimer !== undefined) clearTimeout(entry.restartTimer);
      await stopChild(entry.child, STOP_TIMEOUT_MS);
      entry.status = 'stopped';
      this.saveState();
    }
  }

  private launch(entry: Supervised): Promise<void> {
    const { spec } = entry;
    const logFd = openSync(this.dir.logFile(spec.name), 'a');
    const child = spawn(process.execPath, [spec.entry, ...spec.args], {
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', logFd, logFd, 'ipc'],
    });
    closeSync(logFd);
    entry.child = child;
    entry.startedAtMs = Date.now();
    entry.status = 'starting';
    this.saveState();
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${spec.name} was not ready within ${READY_TIMEOUT_MS} ms: see ${this.dir.logFile(spec.name)}`)), READY_TIMEOUT_MS);
      child.on('message', (message: unknown) => {
        if (typeof message === 'object' && message !== null && (message as ReadyMessage).type === 'kplane.ready') {
          clearTimeout(timer);
          entry.status = 'running';
          this.saveState();
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (entry.status === 'starting') reject(new Error(`${spec.name} exited before it was ready (code ${code}, signal ${signal}): see ${this.dir.logFile(spec.name)}`));
      });
    });
    child.once('exit', (code, signal) => this.onExit(entry, child, code, signal));
    return ready;
  }

  private onExit(entry: Supervised, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (entry.child !== child || this.stopping) return;
    if (!this.ready && entry.status === 'starting') {
      // A process that dies during the initial start fails the start; `up` reports it.
      entry.status = 'failed';
      this.saveState();
      return;
    }
    const upMs = Date.now() - entry.startedAtMs;
    if (upMs > RESTART_BACKOFF_RESET_MS) entry.backoffMs = RESTART_BACKOFF_MIN_MS;
    entry.status = 'restarting';
    entry.restarts += 1;
    this.log.warn({ process: entry.spec.name, code, signal, restartInMs: entry.backoffMs }, 'process exited; restarting');
    this.saveState();
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (this.stopping) return;
      this.launch(entry).catch((error: unknown) => this.log.error({ process: entry.spec.name, err: error }, 'restart failed'));
    }, entry.backoffMs);
    entry.backoffMs = Math.min(entry.backoffMs * 2, RESTART_BACKOFF_MAX_MS);
  }

  private saveState(): void {
    this.dir.writeState({
      launcherPid: process.pid,
      startedAtMs: Date.now(),
      configName: this.configName,
      ready: this.ready,
      ...(this.failure === undefined ? {} : { failure: this.failure }),
      processes: this.processes(),
    });
  }
}

/** SIGTERM, then SIGKILL if the child has not exited within `timeoutMs`. */
export async function stopChild(child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}
