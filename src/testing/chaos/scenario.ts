// Runs one chaos scenario end to end and judges it:
//   1. a fresh local cluster (ChaosCluster: the real `kplane up --detach`, free ports, temp dir);
//   2. the ConfigMap workload through the API (@kubernetes/client-node), recording a History;
//   3. after a warm-up, the scenario's faults and heals (process kills, pauses, WAL damage);
//   4. convergence: after the last heal the API must acknowledge a write again within CONVERGE_BOUND_MS;
//   5. the workload runs on a while, stops, and every key is read once more;
//   6. invariants: no acknowledged write lost (lost-writes.ts), the history linearizable (checkHistory),
//      and no process left behind by `kplane down`.
// The result carries the numbers for the summary table and, when anything failed, a report with the
// seed and the timeline of events and faults.
import { performance } from 'node:perf_hooks';
import { Prng, type Random } from '../../actors/random.js';
import type { ClusterConfigInput } from '../../cluster/config.js';
import type { ChaosOutcome } from '../../cluster/chaos.js';
import { waitForRestart } from '../../cluster/chaos.js';
import { checkHistory, type LinearizabilityResult } from '../linearizability/check.js';
import type { Operation } from '../linearizability/history.js';
import { ChaosCluster } from './chaos-cluster.js';
import { findLostWrites } from './lost-writes.js';
import { Timeline } from './timeline.js';
import { ConfigMapWorkload } from './workload.js';

/** The stated bound: after the last heal, the API acknowledges a write again within this. */
export const CONVERGE_BOUND_MS = 30_000;
/** Budget of the linearizability check of one scenario's history. */
export const CHECK_TIMEOUT_MS = 60_000;
const FINAL_READ_ATTEMPTS = 40;

export interface ScenarioContext {
  readonly cluster: ChaosCluster;
  /** Derived from the scenario's seed (for picking targets and durations). */
  readonly random: Random;
  sleep(ms: number): Promise<void>;
  /** SIGKILL the target, then wait for the launcher to restart it (the heal). */
  crash(target: string): Promise<ChaosOutcome>;
  /** SIGSTOP the target; `resume` (by process name) is the heal. */
  pause(target: string): Promise<ChaosOutcome>;
  resume(paused: ChaosOutcome): Promise<void>;
  /** Stop the replica, tear or corrupt its WAL tail, kill it; the launcher's restart is the heal. */
  damageWal(target: string, how: 'tear' | 'corrupt'): Promise<void>;
  /** Cut `a` off from `b` (targets, comma-separated) in the transports; one-way: only a → b. */
  partition(a: string, b: string, oneWay: boolean): Promise<void>;
  /** Remove every link fault (the heal of a partition). */
  healLinks(): Promise<void>;
  note(text: string): void;
}

export interface ChaosScenario {
  readonly name: string;
  readonly clients?: number;
  readonly keys?: number;
  readonly config?: ClusterConfigInput;
  /** Workload before the first fault (default 3 s). */
  readonly warmupMs?: number;
  /** Workload after convergence (default 3 s). */
  readonly settleMs?: number;
  /** Injects the faults and heals them; when it returns, the cluster must be whole again. */
  run(context: ScenarioContext): Promise<void>;
}

export interface ScenarioResult {
  readonly name: string;
  readonly seed: number;
  readonly operations: number;
  readonly acknowledged: number;
  readonly unanswered: number;
  readonly faults: number;
  readonly violations: readonly string[];
  readonly linearizability: LinearizabilityResult | undefined;
  /** From the last heal to the first acknowledged write after it; undefined if it never came. */
  readonly convergeMs: number | undefined;
  /** The longest time during the workload without any acknowledged call (the outage clients saw). */
  readonly longestGapMs: number;
  readonly durationMs: number;
  /** Seed, violations and timeline: print it when the scenario failed. */
  readonly report: string;
}

export async function runScenario(scenario: ChaosScenario, seed: number): Promise<ScenarioResult> {
  const origin = performance.now();
  const now = (): number => performance.now() - origin;
  const timeline = new Timeline(now);
  const random = new Prng(seed);
  const violations: string[] = [];
  let faults = 0;
  let lastHealAtMs = 0;
  let convergeMs: number | undefined;
  let linearizability: LinearizabilityResult | undefined;
  let workload: ConfigMapWorkload | undefined;
  let cluster: ChaosCluster | undefined;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  try {
    cluster = await ChaosCluster.start(scenario.config === undefined ? {} : { config: scenario.config });
    timeline.note('cluster', `up in ${cluster.dir.root} (API ${cluster.apiUrl})`);
    const running = cluster;
    workload = new ConfigMapWorkload({ kubeConfig: running.kubeConfig(), clients: scenario.clients ?? 4, keys: scenario.keys ?? 8, random: random.fork(), originMs: origin });
    workload.start();
    timeline.note('workload', `started: ${scenario.clients ?? 4} clients on ${scenario.keys ?? 8} ConfigMaps`);
    await sleep(scenario.warmupMs ?? 3_000);
    const describe = (outcome: ChaosOutcome): string => outcome.hits.map((hit) => `${hit.name} (pid ${hit.pid})`).join(', ');
    const context: ScenarioContext = {
      cluster: running,
      random: random.fork(),
      sleep,
      note: (text) => timeline.note('note', text),
      crash: async (target) => {
        const outcome = await running.fault('kill', target);
        faults += 1;
        timeline.note('fault', `kill -9 ${target}: ${describe(outcome)}`);
        const pids = await Promise.all(outcome.hits.map((hit) => waitForRestart(running.dir, hit.name, hit.pid)));
        lastHealAtMs = now();
        timeline.note('heal', `launcher restarted ${outcome.hits.map((hit, index) => `${hit.name} as pid ${pids[index]}`).join(', ')}`);
        return outcome;
      },
      pause: async (target) => {
        const outcome = await running.fault('pause', target);
        faults += 1;
        timeline.note('fault', `SIGSTOP ${target}: ${describe(outcome)}`);
        return outcome;
      },
      resume: async (paused) => {
        for (const hit of paused.hits) await running.fault('resume', hit.name);
        lastHealAtMs = now();
        timeline.note('heal', `SIGCONT ${describe(paused)}`);
      },
      partition: async (a, b, oneWay) => {
        const done = await running.linkFault('partition', [a, '/', b], oneWay);
        faults += 1;
        timeline.note('fault', done.replace(/^kplane chaos: /, ''));
      },
      healLinks: async () => {
        const done = await running.linkFault('heal', []);
        lastHealAtMs = now();
        timeline.note('heal', done.replace(/^kplane chaos: /, ''));
      },
      damageWal: async (target, how) => {
        const damaged = await running.damageWal(target, how);
        faults += 1;
        lastHealAtMs = now();
        timeline.note('fault', `${how} WAL tail of ${damaged.name}: ${damaged.damage.description}`);
        timeline.note('heal', `launcher restarted ${damaged.name} as pid ${damaged.newPid}${damaged.tornTailReported ? '; it truncated the torn tail' : ''}`);
        if (!damaged.tornTailReported) violations.push(`${damaged.name} did not report truncating the damaged WAL tail (${damaged.damage.description})`);
      },
    };
    try {
      await scenario.run(context);
    } catch (error) {
      violations.push(`the scenario's fault injection failed: ${error instanceof Error ? error.message : String(error)}`);
      running.resumeAll();
      await running.linkFault('heal', []).catch(() => undefined);
    }
    convergeMs = await waitForConvergence(running, workload, lastHealAtMs, now);
    if (convergeMs === undefined) violations.push(`the API acknowledged no write within ${CONVERGE_BOUND_MS} ms of the last heal`);
    else timeline.note('check', `API acknowledged a write ${convergeMs.toFixed(0)} ms after the last heal`);
    await sleep(scenario.settleMs ?? 3_000);
    await workload.stop();
    timeline.note('workload', `stopped after ${workload.history.length} recorded calls`);
    const finalValues = await workload.finalReads(FINAL_READ_ATTEMPTS);
    const unread = workload.keyNames().filter((key) => !finalValues.has(key));
    if (unread.length > 0) violations.push(`could not read ${unread.join(', ')} after the faults`);
    violations.push(...findLostWrites(workload.history, finalValues));
    timeline.note('check', `final reads of ${finalValues.size} keys; lost-write check done`);
    linearizability = checkHistory(workload.history, { timeoutMs: CHECK_TIMEOUT_MS });
    if (linearizability.ok === false) violations.push(`not linearizable on ${linearizability.key}:\n${linearizability.explanation}`);
    else if (linearizability.ok === 'unknown') violations.push(`linearizability undecided: ${linearizability.reason}`);
    timeline.note('check', `linearizability: ${String(linearizability.ok)}`);
  } catch (error) {
    violations.push(`the scenario could not run: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await workload?.stop();
    const survivors = (await cluster?.stop()) ?? [];
    if (survivors.length > 0) violations.push(`processes outlived kplane down: ${survivors.join(', ')}`);
    timeline.note('cluster', `down${survivors.length > 0 ? ` (orphans: ${survivors.join(', ')})` : ', no orphans'}`);
  }
  const history = workload?.history ?? [];
  const acknowledged = history.filter((operation) => operation.returnedAtMs !== undefined).length;
  const report = [
    `chaos scenario "${scenario.name}" seed ${seed}: ${violations.length === 0 ? 'ok' : `${violations.length} violation(s)`}`,
    ...violations.map((violation) => `VIOLATION: ${violation}`),
    'timeline:',
    timeline.format(workload?.errors ?? new Map(), workload?.acknowledgedPerSecond ?? []),
  ].join('\n');
  return {
    name: scenario.name,
    seed,
    operations: history.length,
    acknowledged,
    unanswered: history.length - acknowledged,
    faults,
    violations,
    linearizability,
    convergeMs,
    longestGapMs: longestGap(history),
    durationMs: now(),
    report,
  };
}

/** Waits until /readyz answers and the workload has had a write acknowledged after `healAtMs`. */
async function waitForConvergence(cluster: ChaosCluster, workload: ConfigMapWorkload, healAtMs: number, now: () => number): Promise<number | undefined> {
  try {
    await cluster.waitApiReady(CONVERGE_BOUND_MS);
  } catch {
    return undefined;
  }
  while (now() - healAtMs < CONVERGE_BOUND_MS) {
    const acknowledgedWrite = workload.history.find((operation) => operation.input.kind !== 'get' && operation.returnedAtMs !== undefined && operation.invokedAtMs >= healAtMs);
    if (acknowledgedWrite?.returnedAtMs !== undefined) return acknowledgedWrite.returnedAtMs - healAtMs;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return undefined;
}

/** The longest stretch between consecutive acknowledgements (answers), in ms. */
export function longestGap(history: readonly Operation[]): number {
  const answers = history.flatMap((operation) => (operation.returnedAtMs === undefined ? [] : [operation.returnedAtMs])).sort((a, b) => a - b);
  let longest = 0;
  for (let index = 1; index < answers.length; index++) longest = Math.max(longest, (answers[index] ?? 0) - (answers[index - 1] ?? 0));
  return longest;
}

/** The summary table of several scenario results (scenario, operations, faults, violations, time to converge). */
export function summaryTable(results: readonly ScenarioResult[]): string {
  const header = ['scenario', 'seed', 'operations', 'unanswered', 'faults', 'violations', 'converge ms', 'max gap ms', 'time s'];
  const rows = results.map((result) => [
    result.name,
    String(result.seed),
    String(result.operations),
    String(result.unanswered),
    String(result.faults),
    String(result.violations.length),
    result.convergeMs === undefined ? '-' : result.convergeMs.toFixed(0),
    result.longestGapMs.toFixed(0),
    (result.durationMs / 1000).toFixed(1),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const format = (row: readonly string[]): string => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join('  ');
  return [format(header), format(widths.map((width) => '-'.repeat(width))), ...rows.map(format)].join('\n');
}
