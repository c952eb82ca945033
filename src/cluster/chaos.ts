// `kplane chaos`: process faults on a running local cluster, from outside it. The CLI does not talk to
// the launcher: it signals the processes whose pids the state file lists. kill is SIGKILL, pause
// SIGSTOP, resume SIGCONT; restart is SIGKILL followed by waiting for the launcher's supervision to
// start the process again (the state file shows a new pid, running). A paused process is resumed by
// nothing but `resume` (or `kplane down`, whose SIGKILL after the stop timeout ends it).
//
// partition / heal / delay / drop are link faults: rules in `<dir>/link-faults.json` that every
// process's transport applies (chaos-links.ts).
//
// TARGET is a process name (`store-2`, `apiserver-1`), a role (`store`, `apiserver`,
// `controller-manager`, `scheduler`, `node-agent` or `node`: every process of that role), or a Raft
// role resolved by probing the replicas: `store-leader` (the replica leading in the highest term) or
// `store-follower` (the lowest-numbered reachable follower).
import { join } from 'node:path';
import type { ClusterDir } from './cluster-dir.js';
import { LINK_FAULTS_FILE, NO_LINK_FAULTS, partitionRules, readLinkFaults, targetRules, writeLinkFaults } from './chaos-links.js';
import { isAlive } from './cluster-dir.js';
import type { ClusterConfig } from './config.js';
import { probeCluster, storeLeader, type ClusterProbe, type ProcessProbe } from './chaos-probe.js';

export const CHAOS_ACTIONS = ['kill', 'pause', 'resume', 'restart'] as const;
export type ChaosAction = (typeof CHAOS_ACTIONS)[number];
export const ROLE_TARGETS = ['store-leader', 'store-follower'] as const;
/** Short names for roles: `node` is every node-agent process. */
export const ROLE_ALIASES: Readonly<Record<string, string>> = { node: 'node-agent' };

const SIGNAL_OF: Readonly<Record<ChaosAction, NodeJS.Signals>> = { kill: 'SIGKILL', pause: 'SIGSTOP', resume: 'SIGCONT', restart: 'SIGKILL' };
/** How long `restart` waits for the launcher to bring a process back (its backoff can reach 30 s). */
export const RESTART_WAIT_MS = 45_000;
/** How long a `store-leader` / `store-follower` target may be absent (an election, a restart) before chaos gives up. */
export const ROLE_WAIT_MS = 10_000;
const POLL_MS = 100;

export class ChaosError extends Error {
  readonly code = 'CHAOS_FAILED';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'ChaosError';
  }
}

export function isChaosAction(text: string): text is ChaosAction {
  return (CHAOS_ACTIONS as readonly string[]).includes(text);
}

export interface ChaosTargetHit {
  readonly name: string;
  readonly role: string;
  readonly pid: number;
  /** Set by restart: the pid the launcher started in its place. */
  readonly newPid?: number;
}

export interface ChaosOutcome {
  readonly action: ChaosAction;
  readonly target: string;
  readonly signal: NodeJS.Signals;
  readonly hits: readonly ChaosTargetHit[];
}

/** The processes `target` names in `probe` (alive ones only); throws ChaosError when there are none. */
export function resolveTargets(target: string, probe: ClusterProbe): ProcessProbe[] {
  const living = probe.processes.filter((entry) => entry.alive && entry.pid !== undefined);
  let chosen: ProcessProbe[];
  if (target === 'store-leader') {
    const leader = storeLeader(probe);
    chosen = leader === undefined ? [] : [leader];
  } else if (target === 'store-follower') {
    const followers = living.filter((entry) => entry.replica?.reachable === true && entry.replica.role === 'follower');
    chosen = followers.slice(0, 1);
  } else {
    chosen = living.filter((entry) => entry.name === target);
    const role = ROLE_ALIASES[target] ?? target;
    if (chosen.length === 0) chosen = living.filter((entry) => entry.role === role);
  }
  if (chosen.length === 0) {
    const names = probe.processes.map((entry) => entry.name).join(', ');
    const roles = [...new Set(probe.processes.map((entry) => entry.role)), ...Object.keys(ROLE_ALIASES), ...ROLE_TARGETS];
    throw new ChaosError(`no running process matches "${target}" (processes: ${names}; roles: ${roles.join(', ')})`);
  }
  return chosen;
}

/** Probes the cluster, resolves `target` and applies `action` to each process it names. */
export async function injectProcessFault(dir: ClusterDir, config: ClusterConfig, action: ChaosAction, target: string): Promise<ChaosOutcome> {
  const targets = await findTargets(dir, config, target);
  const signal = SIGNAL_OF[action];
  for (const entry of targets) process.kill(entry.pid as number, signal);
  if (action !== 'restart') {
    return { action, target, signal, hits: targets.map((entry) => ({ name: entry.name, role: entry.role, pid: entry.pid as number })) };
  }
  const hits = await Promise.all(targets.map(async (entry) => ({ name: entry.name, role: entry.role, pid: entry.pid as number, newPid: await waitForRestart(dir, entry.name, entry.pid as number) })));
  return { action, target, signal, hits };
}

/**
 * Resolves `target` on a fresh probe. A Raft role may be briefly absent (an election in progress, a
 * replica restarting): those are probed again for up to ROLE_WAIT_MS.
 */
export async function findTargets(dir: ClusterDir, config: ClusterConfig, target: string): Promise<ProcessProbe[]> {
  const needsRaft = (ROLE_TARGETS as readonly string[]).includes(target);
  const deadline = Date.now() + (needsRaft ? ROLE_WAIT_MS : 0);
  for (;;) {
    const probe = await probeCluster(dir, needsRaft ? config : undefined);
    if (probe === undefined || !probe.launcherAlive) throw new ChaosError(`no running cluster in ${dir.root}`);
    try {
      return resolveTargets(target, probe);
    } catch (error) {
      if (!(error instanceof ChaosError) || Date.now() >= deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS * 2));
  }
}

/** Waits until the launcher has started `name` again under a pid other than `oldPid` and it is running. */
export async function waitForRestart(dir: ClusterDir, name: string, oldPid: number, timeoutMs = RESTART_WAIT_MS): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const entry = dir.readState()?.processes.find((candidate) => candidate.name === name);
    if (entry !== undefined && entry.pid !== undefined && entry.pid !== oldPid && entry.status === 'running' && isAlive(entry.pid)) return entry.pid;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new ChaosError(`${name} was not running again within ${timeoutMs} ms of being killed`);
}

/** One line per process hit, for people. */
export function describeOutcome(outcome: ChaosOutcome): string[] {
  return outcome.hits.map((hit) => {
    const verb = { kill: 'killed', pause: 'paused', resume: 'resumed', restart: 'restarted' }[outcome.action];
    const after = hit.newPid === undefined ? '' : `; running again as pid ${hit.newPid}`;
    return `kplane chaos: ${verb} ${hit.name} (${hit.role}, pid ${hit.pid}, ${outcome.signal})${after}`;
  });
}

// ---- link faults (partition, heal, delay, drop): rules in the cluster dir's link-faults.json ----

export const LINK_ACTIONS = ['partition', 'heal', 'delay', 'drop'] as const;
export type LinkAction = (typeof LINK_ACTIONS)[number];

export function isLinkAction(text: string): text is LinkAction {
  return (LINK_ACTIONS as readonly string[]).includes(text);
}

export function linkFaultsFile(dir: ClusterDir): string {
  return join(dir.root, LINK_FAULTS_FILE);
}

/** The process names a comma-separated list of targets names (each a name, a role or a Raft role). */
async function targetNames(dir: ClusterDir, config: ClusterConfig, list: string): Promise<string[]> {
  const names = new Set<string>();
  for (const target of list.split(',').filter((part) => part !== '')) {
    for (const entry of await findTargets(dir, config, target)) names.add(entry.name);
  }
  return [...names];
}

/**
 * `partition A,B / C` (or `A,B/C`), `heal`, `delay TARGET MS`, `drop TARGET PERCENT`: adds rules to the
 * link-fault file (heal clears it) and returns what it did, for people. Targets resolve to process names
 * now, so `store-leader` means the replica leading at the time of the command.
 */
export async function applyLinkFault(dir: ClusterDir, config: ClusterConfig, action: LinkAction, args: readonly string[], oneWay: boolean): Promise<string> {
  const file = linkFaultsFile(dir);
  const current = readLinkFaults(file);
  if (action === 'heal') {
    writeLinkFaults(file, NO_LINK_FAULTS);
    return `kplane chaos: healed (${current.rules.length} link rules removed)`;
  }
  if (action === 'partition') {
    const [left, right] = args.join(' ').split('/').map((side) => side.trim().replace(/\s+/g, ','));
    if (left === undefined || right === undefined || left === '' || right === '') throw new ChaosError('usage: kplane chaos partition A[,B…] / C[,D…] [--one-way]');
    const a = await targetNames(dir, config, left);
    const b = (await targetNames(dir, config, right)).filter((name) => !a.includes(name));
    if (b.length === 0) throw new ChaosError(`the two sides of the partition are the same processes (${a.join(', ')})`);
    writeLinkFaults(file, { rules: [...current.rules, ...partitionRules(a, b, oneWay)] });
    return `kplane chaos: partitioned ${a.join(',')} ${oneWay ? '→' : '/'} ${b.join(',')}${oneWay ? ' (one-way: frames from the left side to the right are dropped)' : ''}`;
  }
  const [target, amountText] = args;
  const amount = Number(amountText);
  if (target === undefined || amountText === undefined || !Number.isFinite(amount) || amount < 0 || (action === 'drop' && amount > 100)) {
    throw new ChaosError(action === 'delay' ? 'usage: kplane chaos delay TARGET MS' : 'usage: kplane chaos drop TARGET PERCENT (0-100)');
  }
  const names = await targetNames(dir, config, target);
  const effect = action === 'delay' ? { delayMs: amount } : { dropPercent: amount };
  writeLinkFaults(file, { rules: [...current.rules, ...targetRules(names, effect)] });
  return `kplane chaos: ${action === 'delay' ? `delaying every frame to and from ${names.join(',')} by ${amount} ms` : `dropping ${amount}% of the frames to and from ${names.join(',')}`}`;
}
