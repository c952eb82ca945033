// The process runtime of a node agent: a pod's containers run as local child processes. There are
// no images and no isolation: a container must give `command` (plus `args`, `env`, `workingDir`),
// and one that does not is refused with a clear waiting reason. stdout and stderr go to one log
// file per container run (<dataDir>/pods/<uid>/<container>/<restartCount>.log). restartPolicy
// Always / OnFailure / Never, with crash-loop backoff (immediate first restart, then initial × 2^n
// up to the maximum); container statuses with exit codes and restart counts; graceful termination
// (SIGTERM to the container's process group, SIGKILL after the grace period), then the grace-0
// delete. A restarted agent adopts the children it finds alive (pids in <uid>/state.json) instead of
// starting them again, and reports as lost those that died meanwhile.
//
// This file is the node agent's I/O driver: the only one that spawns processes or writes the disk
// (node-agent/logs.ts reads the log files for pods/log).
// Exec liveness and readiness probes (initialDelaySeconds, periodSeconds, timeoutSeconds, thresholds);
// a pod is Ready when all its containers run and pass their readiness probes. Timers come from the
// injected Clock. pods/log is served by readLog (node-agent/logs.ts reads the files). Not done:
// httpGet/tcpSocket probes, startup probes.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.js';
import { ApiClientError, Informer, metaOf, PODS, type ApiClient, type KubeObject } from '../client/index.js';
import { NodeRegistration, timestamp, type NodeSpec } from './registration.js';
import { LOG_TIMES_POLL_MS, LogLineRecorder } from './log-times.js';
import { logProblem, readLogFile, type LogChunk, type LogReadRequest } from './logs.js';

export const CRASH_LOOP_BACKOFF_INITIAL_MS = 10_000;
export const CRASH_LOOP_BACKOFF_MAX_MS = 300_000;
/** A container that ran this long without crashing starts its backoff over (as the kubelet). */
export const CRASH_LOOP_RESET_AFTER_MS = 600_000;
/** How often an adopted child (not ours to wait for) is checked for life. */
export const ADOPTED_POLL_MS = 1_000;
const DEFAULT_GRACE_SECONDS = 30;

export interface ProcessNodeOptions {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly spec: NodeSpec;
  /** Pod directories and logs live under <dataDir>/pods/. */
  readonly dataDir: string;
  readonly address?: string;
  /** This agent's actor node id, recorded on the Node for pods/log (registration.ts). */
  readonly agentNode?: string;
  readonly crashLoopBackoffInitialMs?: number;
  readonly crashLoopBackoffMaxMs?: number;
  readonly leaseRenewIntervalMs?: number;
}

type ContainerState =
  | { readonly kind: 'waiting'; readonly reason: string; readonly message: string }
  | { readonly kind: 'running'; readonly startedAtMs: number }
  | { readonly kind: 'terminated'; readonly exitCode: number; readonly signal: string | undefined; readonly reason: string; readonly startedAtMs: number; readonly finishedAtMs: number };

interface ContainerRun {
  readonly name: string;
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly workingDir: string | undefined;
  state: ContainerState;
  lastTerminated: ContainerState | undefined;
  restartCount: number;
  /** Crashes counted for the backoff (reset after a long run). */
  crashes: number;
  pid: number | undefined;
  /** Adopted from a previous agent: we cannot wait for it, so we poll it. */
  adopted: boolean;
  timer: TimerHandle | undefined;
  readonly readinessProbe: ProbeSpec | undefined;
  readonly livenessProbe: ProbeSpec | undefined;
  /** Live probe loops of the current run (stopped when it ends). */
  probes: ProbeRun[];
  /** Readiness as last probed (true when the container has no readiness probe). */
  probedReady: boolean;
}

/** An exec probe (httpGet and tcpSocket are not supported yet). */
interface ProbeSpec {
  readonly command: readonly string[];
  readonly initialDelayMs: number;
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly failureThreshold: number;
  readonly successThreshold: number;
}

interface ProbeRun {
  timer: TimerHandle | undefined;
  stopped: boolean;
}

function probeSpecOf(value: unknown): ProbeSpec | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const probe = value as { exec?: { command?: unknown }; initialDelaySeconds?: unknown; periodSeconds?: unknown; timeoutSeconds?: unknown; failureThreshold?: unknown; successThreshold?: unknown };
  const command = stringList(probe.exec?.command);
  if (command.length === 0) return undefined;
  const seconds = (field: unknown, fallback: number): number => (typeof field === 'number' && field >= 0 ? field : fallback);
  return {
    command,
    initialDelayMs: seconds(probe.initialDelaySeconds, 0) * 1000,
    periodMs: Math.max(1, seconds(probe.periodSeconds, 10)) * 1000,
    timeoutMs: Math.max(1, seconds(probe.timeoutSeconds, 1)) * 1000,
    failureThreshold: Math.max(1, seconds(probe.failureThreshold, 3)),
    successThreshold: Math.max(1, seconds(probe.successThreshold, 1)),
  };
}

interface PodRun {
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly restartPolicy: string;
  readonly dir: string;
  readonly containers: ContainerRun[];
  readonly startTimeMs: number;
  terminating: boolean;
  graceTimer: TimerHandle | undefined;
  statusWriting: boolean;
  statusDirty: boolean;
  removed: boolean;
}

interface SavedState {
  readonly uid: string;
  readonly startTimeMs: number;
  readonly containers: Readonly<Record<string, { readonly pid: number; readonly restartCount: number; readonly startedAtMs: number }>>;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Signals the container's whole process group (it was spawned detached, so pgid = pid). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export class ProcessNode {
  private readonly registration: NodeRegistration;
  private readonly pods: Informer;
  private readonly runs = new Map<string, PodRun>();
  /** Line-time recorders of the running containers' current logs, by log path. */
  private readonly logRecorders = new Map<string, LogLineRecorder>();
  private logTimesTimer: TimerHandle | undefined;
  private readonly log: Logger;
  private stopped = false;
  private readonly address: string;

  constructor(private readonly options: ProcessNodeOptions) {
    this.log = options.log.child({ component: 'node-agent', node: options.spec.name });
    this.address = options.address ?? '127.0.0.1';
    this.registration = new NodeRegistration({
      client: options.client,
      clock: options.clock,
      log: this.log,
      spec: options.spec,
      address: this.address,
      runtime: 'process',
      ...(options.agentNode === undefined ? {} : { agentNode: options.agentNode }),
      ...(options.leaseRenewIntervalMs !== undefined ? { leaseRenewIntervalMs: options.leaseRenewIntervalMs } : {}),
    });
    this.pods = new Informer(options.client, PODS, { clock: options.clock, log: this.log, fieldSelector: `spec.nodeName=${options.spec.name}` });
    this.pods.addHandlers({
      onAdd: (pod) => this.onPod(pod),
      onUpdate: (_previous, pod) => this.onPod(pod),
      onDelete: (pod) => this.onPodGone(pod),
    });
  }

  async start(): Promise<void> {
    mkdirSync(join(this.options.dataDir, 'pods'), { recursive: true });
    await this.registration.start();
    this.pods.start();
    await this.pods.whenSynced();
    this.scheduleLogTimes();
  }

  /** Records the times of new log lines of every running container (log-times.ts), on the clock. */
  private scheduleLogTimes(): void {
    this.logTimesTimer = this.options.clock.setTimer(LOG_TIMES_POLL_MS, () => {
      this.logTimesTimer = undefined;
      if (this.stopped) return;
      const live = new Set<string>();
      for (const run of this.runs.values()) {
        for (const container of run.containers) {
          if (container.state.kind !== 'running') continue;
          const path = this.logPath(run.namespace, run.name, container.name);
          if (path === undefined) continue;
          live.add(path);
          this.observeLog(path);
        }
      }
      for (const path of [...this.logRecorders.keys()]) if (!live.has(path)) this.logRecorders.delete(path);
      this.scheduleLogTimes();
    });
  }

  private observeLog(path: string): void {
    let recorder = this.logRecorders.get(path);
    if (recorder === undefined) {
      recorder = new LogLineRecorder(path);
      this.logRecorders.set(path, recorder);
    }
    recorder.observe(this.options.clock.now());
  }

  /**
   * Stops the agent. Children keep running (as when a kubelet restarts) unless `killPods`: a new
   * agent on the same dataDir adopts them.
   */
  stop(options: { readonly killPods?: boolean } = {}): void {
    this.stopped = true;
    this.registration.stop();
    this.pods.stop();
    if (this.logTimesTimer !== undefined) this.options.clock.cancelTimer(this.logTimesTimer);
    for (const run of this.runs.values()) {
      if (run.graceTimer !== undefined) this.options.clock.cancelTimer(run.graceTimer);
      for (const container of run.containers) {
        this.stopProbes(container);
        if (container.timer !== undefined) this.options.clock.cancelTimer(container.timer);
        if (options.killPods === true && container.state.kind === 'running' && container.pid !== undefined) signalGroup(container.pid, 'SIGKILL');
      }
    }
  }

  /** The log file of a container's current run, or of its previous one (kubectl logs --previous). */
  logPath(namespace: string, name: string, container: string, previous = false): string | undefined {
    const run = this.runs.get(`${namespace}/${name}`);
    const found = run?.containers.find((candidate) => candidate.name === container);
    if (run === undefined || found === undefined) return undefined;
    const index = previous ? found.restartCount - 1 : found.restartCount;
    return index < 0 ? undefined : join(run.dir, container, `${index}.log`);
  }

  /** pods/log for this node (the LogSource of node-agent/logs.ts): a container's current or previous run. */
  readLog(request: LogReadRequest): LogChunk {
    const run = this.runs.get(`${request.namespace}/${request.pod}`);
    if (run === undefined) return logProblem(404, `pod ${request.namespace}/${request.pod} is not running on node ${this.options.spec.name}`);
    const names = run.containers.map((candidate) => candidate.name);
    const containerName = request.container ?? (names.length === 1 ? names[0] : undefined);
    if (containerName === undefined) return logProblem(400, `a container name must be specified for pod ${request.pod}, choose one of: [${names.join(' ')}]`);
    const container = run.containers.find((candidate) => candidate.name === containerName);
    if (container === undefined) return logProblem(400, `container ${containerName} is not valid for pod ${request.pod}`);
    const path = this.logPath(request.namespace, request.pod, containerName, request.previous);
    if (path === undefined) return logProblem(400, `previous terminated container "${containerName}" in pod "${request.pod}" not found`);
    // The current run's file grows while the container runs (or waits to be restarted into a new file).
    const finished = request.previous || run.removed || container.state.kind === 'terminated' || (container.state.kind === 'waiting' && container.lastTerminated !== undefined);
    // Time the lines written since the last look, so that they are stamped with when they were seen.
    if (request.timestamps === true || request.sinceMs !== undefined) this.observeLog(path);
    return readLogFile(path, request, finished, this.options.clock.now());
  }

  /** The running containers and their process groups (pid = group id), for the stats source (stats.ts). */
  runningContainers(): { readonly namespace: string; readonly pod: string; readonly container: string; readonly pid: number }[] {
    const found: { namespace: string; pod: string; container: string; pid: number }[] = [];
    for (const run of this.runs.values()) {
      if (run.removed) continue;
      for (const container of run.containers) {
        if (container.state.kind === 'running' && container.pid !== undefined) found.push({ namespace: run.namespace, pod: run.name, container: container.name, pid: container.pid });
      }
    }
    return found;
  }

  // ---- pod events -----------------------------------------------------------------------------

  private onPod(pod: KubeObject): void {
    if (this.stopped) return;
    const meta = metaOf(pod);
    const key = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
    let run = this.runs.get(key);
    if (run !== undefined && run.uid !== (meta.uid ?? '')) {
      this.terminate(run, 0);
      run = undefined;
    }
    if (run === undefined) {
      run = this.createRun(pod);
      this.runs.set(key, run);
      this.startPod(run, meta.deletionTimestamp === undefined);
    }
    if (meta.deletionTimestamp !== undefined && !run.terminating) {
      const grace = (pod['metadata'] as { deletionGracePeriodSeconds?: unknown }).deletionGracePeriodSeconds;
      const specGrace = (pod['spec'] as { terminationGracePeriodSeconds?: unknown } | undefined)?.terminationGracePeriodSeconds;
      this.terminate(run, typeof grace === 'number' ? grace : typeof specGrace === 'number' ? specGrace : DEFAULT_GRACE_SECONDS);
    }
  }

  private onPodGone(pod: KubeObject): void {
    const meta = metaOf(pod);
    const run = this.runs.get(`${meta.namespace ?? ''}/${meta.name ?? ''}`);
    if (run === undefined || run.uid !== (meta.uid ?? '')) return;
    run.removed = true;
    if (!run.terminating) this.terminate(run, 0); // deleted behind our back (force delete)
  }

  private createRun(pod: KubeObject): PodRun {
    const meta = metaOf(pod);
    const spec = (pod['spec'] ?? {}) as { containers?: KubeObject[]; restartPolicy?: string };
    const uid = meta.uid ?? '';
    const dir = join(this.options.dataDir, 'pods', uid);
    const containers = (spec.containers ?? []).map((container): ContainerRun => {
      const env: Record<string, string> = {};
      for (const variable of (container['env'] ?? []) as { name?: string; value?: string }[]) if (variable.name !== undefined) env[variable.name] = variable.value ?? '';
      return {
        name: String(container['name'] ?? ''),
        command: [...stringList(container['command']), ...stringList(container['args'])],
        env,
        workingDir: typeof container['workingDir'] === 'string' ? container['workingDir'] : undefined,
        state: { kind: 'waiting', reason: 'ContainerCreating', message: '' },
        lastTerminated: undefined,
        restartCount: 0,
        crashes: 0,
        pid: undefined,
        adopted: false,
        timer: undefined,
        readinessProbe: probeSpecOf(container['readinessProbe']),
        livenessProbe: probeSpecOf(container['livenessProbe']),
        probes: [],
        probedReady: probeSpecOf(container['readinessProbe']) === undefined,
      };
    });
    return {
      key: `${meta.namespace ?? ''}/${meta.name ?? ''}`,
      uid,
      namespace: meta.namespace ?? '',
      name: meta.name ?? '',
      restartPolicy: spec.restartPolicy ?? 'Always',
      dir,
      containers,
      startTimeMs: this.options.clock.now(),
      terminating: false,
      graceTimer: undefined,
      statusWriting: false,
      statusDirty: false,
      removed: false,
    };
  }

  /**
   * Adopts the containers a previous agent left running, then (unless the pod is being deleted)
   * starts the others.
   */
  private startPod(run: PodRun, startNew: boolean): void {
    mkdirSync(run.dir, { recursive: true });
    const saved = this.readState(run);
    for (const container of run.containers) {
      const previous = saved?.containers[container.name];
      if (previous !== undefined) {
        container.restartCount = previous.restartCount;
        if (isAlive(previous.pid)) {
          container.pid = previous.pid;
          container.adopted = true;
          container.state = { kind: 'running', startedAtMs: previous.startedAtMs };
          this.pollAdopted(run, container);
          this.startProbes(run, container);
          continue;
        }
        // It died while no agent watched: its exit code is unknown.
        container.lastTerminated = { kind: 'terminated', exitCode: 137, signal: undefined, reason: 'ContainerStatusUnknown', startedAtMs: previous.startedAtMs, finishedAtMs: this.options.clock.now() };
        if (!this.shouldRestart(run, 137)) {
          container.state = container.lastTerminated;
          continue;
        }
        container.restartCount++;
      }
      if (startNew) this.startContainer(run, container);
    }
    if (startNew) this.pushStatus(run);
  }

  // ---- containers -----------------------------------------------------------------------------

  private startContainer(run: PodRun, container: ContainerRun): void {
    if (this.stopped || run.terminating) return;
    const [command, ...args] = container.command;
    if (command === undefined || command === '') {
      container.state = {
        kind: 'waiting',
        reason: 'CreateContainerConfigError',
        message: 'kplane runs containers as local processes, without images: spec.containers[].command is required',
      };
      return;
    }
    const logDir = join(run.dir, container.name);
    mkdirSync(logDir, { recursive: true });
    const logFile = openSync(join(logDir, `${container.restartCount}.log`), 'a');
    const startedAtMs = this.options.clock.now();
    try {
      const child = spawn(command, args, {
        cwd: container.workingDir ?? run.dir,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: run.dir, HOSTNAME: run.name, ...container.env },
        stdio: ['ignore', logFile, logFile],
        detached: true,
      });
      container.pid = child.pid;
      container.adopted = false;
      container.state = child.pid === undefined ? container.state : { kind: 'running', startedAtMs };
      if (child.pid !== undefined) this.startProbes(run, container);
      child.on('error', (error) => {
        if (child.pid !== undefined && container.pid !== child.pid) return;
        container.pid = undefined;
        container.state = { kind: 'waiting', reason: 'RunContainerError', message: error.message };
        this.onContainerExit(run, container, 128, undefined, startedAtMs, 'RunContainerError');
      });
      child.on('exit', (code, signal) => {
        if (container.pid !== child.pid) return;
        this.onContainerExit(run, container, code ?? 128 + (signal === null ? 0 : signalNumber(signal)), signal ?? undefined, startedAtMs, code === 0 ? 'Completed' : 'Error');
      });
    } finally {
      closeSync(logFile);
    }
    this.saveState(run);
  }

  private pollAdopted(run: PodRun, container: ContainerRun): void {
    container.timer = this.options.clock.setTimer(ADOPTED_POLL_MS, () => {
      container.timer = undefined;
      if (this.stopped || container.pid === undefined || !container.adopted) return;
      if (isAlive(container.pid)) return this.pollAdopted(run, container);
      const startedAtMs = container.state.kind === 'running' ? container.state.startedAtMs : this.options.clock.now();
      this.onContainerExit(run, container, 137, undefined, startedAtMs, 'ContainerStatusUnknown');
    });
  }

  private shouldRestart(run: PodRun, exitCode: number): boolean {
    return run.restartPolicy === 'Always' || (run.restartPolicy === 'OnFailure' && exitCode !== 0);
  }

  private onContainerExit(run: PodRun, container: ContainerRun, exitCode: number, signal: string | undefined, startedAtMs: number, reason: string): void {
    const now = this.options.clock.now();
    this.stopProbes(container);
    container.pid = undefined;
    container.adopted = false;
    const terminated: ContainerState = { kind: 'terminated', exitCode, signal, reason, startedAtMs, finishedAtMs: now };
    container.lastTerminated = terminated;
    // The last lines of this run get their times before a restart moves on to a new log file.
    const finishedLog = this.logPath(run.namespace, run.name, container.name);
    if (finishedLog !== undefined) this.observeLog(finishedLog);
    if (this.stopped) {
      container.state = terminated;
      return;
    }
    if (run.terminating) {
      container.state = terminated;
      this.maybeFinishTermination(run);
      return;
    }
    if (!this.shouldRestart(run, exitCode) || this.stopped) {
      container.state = terminated;
      this.saveState(run);
      this.pushStatus(run);
      return;
    }
    if (now - startedAtMs >= CRASH_LOOP_RESET_AFTER_MS) container.crashes = 0;
    const initial = this.options.crashLoopBackoffInitialMs ?? CRASH_LOOP_BACKOFF_INITIAL_MS;
    const delayMs = container.crashes === 0 ? 0 : Math.min(this.options.crashLoopBackoffMaxMs ?? CRASH_LOOP_BACKOFF_MAX_MS, initial * 2 ** Math.min(container.crashes - 1, 30));
    container.crashes++;
    container.state = {
      kind: 'waiting',
      reason: delayMs === 0 ? 'ContainerCreating' : 'CrashLoopBackOff',
      message: `back-off ${Math.round(delayMs / 1000)}s restarting failed container=${container.name} pod=${run.name}_${run.namespace}(${run.uid})`,
    };
    container.timer = this.options.clock.setTimer(delayMs, () => {
      container.timer = undefined;
      if (run.terminating || this.stopped) return;
      container.restartCount++;
      this.startContainer(run, container);
      this.pushStatus(run);
    });
    this.pushStatus(run);
  }

  // ---- probes ---------------------------------------------------------------------------------

  private startProbes(run: PodRun, container: ContainerRun): void {
    container.probedReady = container.readinessProbe === undefined;
    if (container.readinessProbe !== undefined) this.probeLoop(run, container, container.readinessProbe, 'readiness');
    if (container.livenessProbe !== undefined) this.probeLoop(run, container, container.livenessProbe, 'liveness');
  }

  private stopProbes(container: ContainerRun): void {
    for (const probe of container.probes) {
      probe.stopped = true;
      if (probe.timer !== undefined) this.options.clock.cancelTimer(probe.timer);
    }
    container.probes = [];
  }

  /** Runs an exec probe every period; readiness flips the Ready condition, liveness kills the container. */
  private probeLoop(run: PodRun, container: ContainerRun, spec: ProbeSpec, kind: 'readiness' | 'liveness'): void {
    const probe: ProbeRun = { timer: undefined, stopped: false };
    container.probes.push(probe);
    let successes = 0;
    let failures = 0;
    const tick = (): void => {
      probe.timer = undefined;
      if (probe.stopped) return;
      void this.execProbe(run, container, spec).then((passed) => {
        if (probe.stopped) return;
        successes = passed ? successes + 1 : 0;
        failures = passed ? 0 : failures + 1;
        if (kind === 'readiness') {
          const ready = container.probedReady ? failures < spec.failureThreshold : successes >= spec.successThreshold;
          if (ready !== container.probedReady) {
            container.probedReady = ready;
            this.pushStatus(run);
          }
        } else if (failures >= spec.failureThreshold && container.pid !== undefined) {
          this.log.info({ pod: run.key, container: container.name }, 'liveness probe failed; killing the container');
          probe.stopped = true;
          signalGroup(container.pid, 'SIGKILL');
          return;
        }
        probe.timer = this.options.clock.setTimer(spec.periodMs, tick);
      });
    };
    probe.timer = this.options.clock.setTimer(spec.initialDelayMs, tick);
  }

  /** True when the probe command exits 0 within its timeout. */
  private execProbe(run: PodRun, container: ContainerRun, spec: ProbeSpec): Promise<boolean> {
    const [command, ...args] = spec.command;
    if (command === undefined) return Promise.resolve(false);
    return new Promise((resolve) => {
      const child = spawn(command, args, { cwd: container.workingDir ?? run.dir, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: run.dir, ...container.env }, stdio: 'ignore', detached: true });
      const timer = this.options.clock.setTimer(spec.timeoutMs, () => {
        if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
        resolve(false);
      });
      child.on('error', () => {
        this.options.clock.cancelTimer(timer);
        resolve(false);
      });
      child.on('exit', (code) => {
        this.options.clock.cancelTimer(timer);
        resolve(code === 0);
      });
    });
  }

  // ---- termination ----------------------------------------------------------------------------

  private terminate(run: PodRun, graceSeconds: number): void {
    run.terminating = true;
    let running = 0;
    for (const container of run.containers) {
      this.stopProbes(container);
      if (container.timer !== undefined && !container.adopted) {
        this.options.clock.cancelTimer(container.timer);
        container.timer = undefined;
      }
      if (container.state.kind === 'running' && container.pid !== undefined) {
        running++;
        signalGroup(container.pid, graceSeconds === 0 ? 'SIGKILL' : 'SIGTERM');
      }
    }
    if (running > 0 && graceSeconds > 0) {
      run.graceTimer = this.options.clock.setTimer(graceSeconds * 1000, () => {
        run.graceTimer = undefined;
        for (const container of run.containers) if (container.pid !== undefined) signalGroup(container.pid, 'SIGKILL');
      });
    }
    this.maybeFinishTermination(run);
  }

  /** All containers stopped: report them, then remove the pod (grace 0, guarded by its uid). */
  private maybeFinishTermination(run: PodRun): void {
    if (run.containers.some((container) => container.state.kind === 'running')) return;
    if (run.graceTimer !== undefined) this.options.clock.cancelTimer(run.graceTimer);
    run.graceTimer = undefined;
    for (const container of run.containers) if (container.timer !== undefined) this.options.clock.cancelTimer(container.timer);
    if (this.runs.get(run.key) === run) this.runs.delete(run.key);
    if (run.removed || this.stopped) return;
    void (async () => {
      await this.writeStatus(run);
      try {
        await this.options.client.delete(PODS, run.namespace, run.name, { gracePeriodSeconds: 0, preconditions: { uid: run.uid } });
      } catch (error) {
        if (!(error instanceof ApiClientError && (error.status === 404 || error.status === 409))) this.log.warn({ err: error, pod: run.key }, 'pod removal failed');
      }
    })();
  }

  // ---- status and state -----------------------------------------------------------------------

  private pushStatus(run: PodRun): void {
    if (run.statusWriting) {
      run.statusDirty = true;
      return;
    }
    void this.writeStatus(run);
  }

  private async writeStatus(run: PodRun): Promise<void> {
    if (run.removed) return;
    run.statusWriting = true;
    try {
      do {
        run.statusDirty = false;
        await this.options.client.patch(PODS, run.namespace, run.name, { status: this.statusOf(run) }, 'merge', 'status');
      } while (run.statusDirty && !run.removed);
    } catch (error) {
      if (!(error instanceof ApiClientError && (error.status === 404 || error.status === 409))) this.log.warn({ err: error, pod: run.key }, 'pod status update failed');
    } finally {
      run.statusWriting = false;
    }
  }

  private statusOf(run: PodRun): KubeObject {
    const now = timestamp(this.options.clock.now());
    const states = run.containers.map((container) => container.state);
    const allRunning = states.length > 0 && run.containers.every((container) => container.state.kind === 'running' && container.probedReady);
    const finished = states.length > 0 && states.every((state) => state.kind === 'terminated');
    const everStarted = run.containers.some((container) => container.state.kind !== 'waiting' || container.lastTerminated !== undefined);
    const phase = finished
      ? states.every((state) => state.kind === 'terminated' && state.exitCode === 0)
        ? 'Succeeded'
        : 'Failed'
      : everStarted
        ? 'Running'
        : 'Pending';
    const flag = allRunning && !run.terminating ? 'True' : 'False';
    return {
      phase,
      hostIP: this.address,
      podIP: this.address,
      startTime: timestamp(run.startTimeMs),
      conditions: [
        { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
        { type: 'ContainersReady', status: flag, lastProbeTime: null, lastTransitionTime: now },
        { type: 'Ready', status: flag, lastProbeTime: null, lastTransitionTime: now },
      ],
      containerStatuses: run.containers.map((container) => ({
        name: container.name,
        ready: container.state.kind === 'running' && container.probedReady && !run.terminating,
        started: container.state.kind === 'running',
        restartCount: container.restartCount,
        image: container.command[0] ?? '',
        imageID: '',
        state: wireState(container.state),
        ...(container.lastTerminated !== undefined && container.lastTerminated !== container.state ? { lastState: wireState(container.lastTerminated) } : {}),
      })),
    };
  }

  private readState(run: PodRun): SavedState | undefined {
    const file = join(run.dir, 'state.json');
    if (!existsSync(file)) return undefined;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as SavedState;
      return saved.uid === run.uid ? saved : undefined;
    } catch {
      return undefined;
    }
  }

  private saveState(run: PodRun): void {
    const containers: Record<string, { pid: number; restartCount: number; startedAtMs: number }> = {};
    for (const container of run.containers) {
      if (container.pid !== undefined && container.state.kind === 'running') containers[container.name] = { pid: container.pid, restartCount: container.restartCount, startedAtMs: container.state.startedAtMs };
    }
    const saved: SavedState = { uid: run.uid, startTimeMs: run.startTimeMs, containers };
    try {
      writeFileSync(join(run.dir, 'state.json'), JSON.stringify(saved));
    } catch (error) {
      this.log.error({ err: error, pod: run.key }, 'could not save the pod state; a restarted agent will not adopt its containers');
    }
  }
}

function wireState(state: ContainerState): KubeObject {
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, ...(state.message !== '' ? { message: state.message } : {}) } };
    case 'running':
      return { running: { startedAt: timestamp(state.startedAtMs) } };
    case 'terminated':
      return {
        terminated: {
          exitCode: state.exitCode,
          reason: state.reason,
          ...(state.signal !== undefined ? { signal: signalNumber(state.signal) } : {}),
          startedAt: timestamp(state.startedAtMs),
          finishedAt: timestamp(state.finishedAtMs),
        },
      };
  }
}

const SIGNALS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

function signalNumber(signal: string): number {
  return SIGNALS[signal] ?? 0;
}
