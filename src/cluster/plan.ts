// Turns a cluster config into the ordered list of OS processes the launcher starts.
// Store replicas come first (everything else needs the store), then API servers, then the
// components that talk to them (controller managers, the scheduler, node agents: each connects to an
// API server's actor-transport face with its own cluster-CA certificate). A component whose
// implementation has not landed yet is listed in `missing`, so `kplane up` can say plainly what it
// did not start (today: none).
// The store replicas are the config's (ids 1..store.replicas, the group's bootstrap voters) plus those
// joined from this cluster directory, minus those removed (`kplane join`/`leave`, StoreMembers).
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { clusterProcessNames, processAddress, type ClusterConfig } from './config.js';
import { NO_STORE_MEMBERS, type ClusterDir, type StoreMembers } from './cluster-dir.js';
import type { ProcessSpec } from './launcher.js';

export interface ClusterPlan {
  readonly processes: readonly ProcessSpec[];
  /** Components the config asks for that this build cannot run yet, with the issue that adds them. */
  readonly missing: readonly string[];
}

/** The environment variable that carries the cluster secret to a child (never argv: `ps` shows argv). */
export const CLUSTER_SECRET_ENV = 'KPLANE_CLUSTER_SECRET';

const distSrc = dirname(dirname(fileURLToPath(import.meta.url)));

export function entryPoint(relativeToSrc: string): string {
  return join(distSrc, relativeToSrc);
}

export interface StoreReplicaPlan {
  readonly id: number;
  readonly name: string;
  /** The actor node id peers and clients dial: `store-N@host:port`. */
  readonly node: string;
  readonly port: number;
  /** The address it binds when that differs from the one in `node` (e.g. 0.0.0.0). */
  readonly listenHost: string;
}

/** Store replica `id` of a config: `store-<id>`, listening on basePort + id - 1 (its own address from `processes`). */
export function storeReplica(config: ClusterConfig, id: number): StoreReplicaPlan {
  const port = config.store.basePort + id - 1;
  const name = `store-${id}`;
  const address = processAddress(config, name);
  return { id, name, node: `${name}@${address.advertise}:${port}`, port, listenHost: address.listen };
}

/** The group's bootstrap voters: the config's replicas 1..store.replicas (its configuration at log index 0). */
export function bootstrapVoters(config: ClusterConfig): number[] {
  return Array.from({ length: config.store.replicas }, (_, index) => index + 1);
}

/** The store replicas: the config's ids 1..N and the joined ones, without the removed ones. */
export function storeReplicas(config: ClusterConfig, members: StoreMembers = NO_STORE_MEMBERS): StoreReplicaPlan[] {
  const ids = [...new Set([...bootstrapVoters(config), ...members.joined])].filter((id) => !members.removed.includes(id)).sort((a, b) => a - b);
  return ids.map((id) => storeReplica(config, id));
}

/** The `--replicas` argument every store process and store client takes: `1=node,2=node,…`. */
export function replicaListArgument(config: ClusterConfig, members: StoreMembers = NO_STORE_MEMBERS): string {
  return storeReplicas(config, members)
    .map((replica) => `${replica.id}=${replica.node}`)
    .join(',');
}

function storeProcesses(config: ClusterConfig, dir: ClusterDir, members: StoreMembers): ProcessSpec[] {
  const replicas = replicaListArgument(config, members);
  const voters = bootstrapVoters(config).join(',');
  return storeReplicas(config, members).map((replica) => ({
    name: replica.name,
    role: 'store',
    entry: entryPoint('store/replica/main.js'),
    args: [
      '--id', String(replica.id),
      '--replicas', replicas,
      '--voters', voters,
      ...(replica.id > config.store.replicas ? ['--join'] : []),
      '--data-dir', join(dir.root, replica.name, 'data'),
      '--log-level', config.logLevel,
      '--tick-ms', String(config.store.tickMs),
      '--election-ticks', String(config.store.electionTicks),
      '--heartbeat-ticks', String(config.store.heartbeatTicks),
      ...(replica.listenHost === processAddress(config, replica.name).advertise ? [] : ['--listen-host', replica.listenHost]),
    ],
    env: { [CLUSTER_SECRET_ENV]: dir.secret() },
    ports: { actor: replica.port },
  }));
}

/** The HTTPS URL of API server `index` (0-based). */
export function apiServerUrl(config: ClusterConfig, index = 0): string {
  return `https://${urlHost(processAddress(config, `apiserver-${index + 1}`).advertise)}:${config.apiServer.port + index}`;
}

/** An address as a URL's host: IPv6 literals in brackets. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function apiServerProcesses(config: ClusterConfig, dir: ClusterDir, members: StoreMembers): ProcessSpec[] {
  return Array.from({ length: config.apiServer.count }, (_, index) => {
    const name = `apiserver-${index + 1}`;
    const address = processAddress(config, name);
    return {
      name,
      role: 'apiserver',
      entry: entryPoint('api/main.js'),
      args: [
        '--dir', dir.root,
        '--name', name,
        '--replicas', replicaListArgument(config, members),
        '--host', address.advertise,
        ...(address.listen === address.advertise ? [] : ['--listen-host', address.listen]),
        '--port', String(config.apiServer.port + index),
        '--actor-port', String(config.apiServer.actorPort + index),
        '--max-in-flight', String(config.apiServer.maxRequestsInFlight),
        '--log-level', config.logLevel,
      ],
      env: { [CLUSTER_SECRET_ENV]: dir.secret() },
      ports: { https: config.apiServer.port + index, actor: config.apiServer.actorPort + index },
    };
  });
}

/** The actor node id of API server `index` (0-based): where components connect. */
export function apiServerActorNode(config: ClusterConfig, index = 0): string {
  const name = `apiserver-${index + 1}`;
  return `${name}@${processAddress(config, name).advertise}:${config.apiServer.actorPort + index}`;
}

/** The simulated node names of simulated-node process `processIndex` (1-based): sim-<p>-1 … sim-<p>-<n>. */
export function simulatedNodeNames(config: ClusterConfig, processIndex: number): string[] {
  return Array.from({ length: config.nodes.nodesPerProcess }, (_, index) => `sim-${processIndex}-${index + 1}`);
}

/**
 * The cluster's components after the API servers: controller managers, the scheduler (all shards in one
 * process), simulated-node processes and process nodes. Component k connects to API server k mod count,
 * spreading them when there are several.
 */
function componentProcesses(config: ClusterConfig, dir: ClusterDir): ProcessSpec[] {
  let next = 0;
  const common = (name: string): string[] => {
    const apiServer = apiServerActorNode(config, next++ % config.apiServer.count);
    return ['--dir', dir.root, '--name', name, '--api-server', apiServer, '--log-level', config.logLevel];
  };
  const capacity = ['--cpu', config.nodes.capacity.cpu, '--memory', config.nodes.capacity.memory, '--pods', String(config.nodes.capacity.pods)];
  // Labels and taints from the config, plus the pool a node belongs to (DaemonSets and selectors can pick a pool).
  const placement = (processName: string): string[] => [
    '--labels', JSON.stringify({ ...config.nodes.labels, 'kplane.io/pool': processName }),
    '--taints', JSON.stringify(config.nodes.taints),
  ];
  const manager = config.controllerManager;
  const managerSettings = [
    '--lease-duration-ms', String(manager.leaseDurationMs),
    '--renew-deadline-ms', String(manager.renewDeadlineMs),
    '--retry-period-ms', String(manager.retryPeriodMs),
    '--node-grace-period-ms', String(manager.nodeGracePeriodMs),
    '--default-toleration-ms', String(manager.defaultTolerationMs),
    '--evictions-per-second', String(manager.evictionsPerSecond),
  ];
  const processes: ProcessSpec[] = [];
  for (let index = 1; index <= config.controllerManager.count; index++) {
    const name = `controller-manager-${index}`;
    processes.push({ name, role: 'controller-manager', entry: entryPoint('controllers/main.js'), args: [...common(name), ...managerSettings], env: {}, ports: {} });
  }
  processes.push({
    name: 'scheduler',
    role: 'scheduler',
    entry: entryPoint('scheduler/main.js'),
    args: [...common('scheduler'), '--shards', String(config.scheduler.shards), '--profile', JSON.stringify(config.scheduler.profile)],
    env: {},
    ports: {},
  });
  for (let index = 1; index <= config.nodes.simulatedProcesses; index++) {
    const name = `sim-nodes-${index}`;
    processes.push({
      name,
      role: 'node-agent',
      entry: entryPoint('node-agent/main.js'),
      args: [...common(name), '--mode', 'simulated', '--nodes', simulatedNodeNames(config, index).join(','), ...capacity, ...placement(name)],
      env: {},
      ports: {},
    });
  }
  for (let index = 1; index <= config.nodes.processNodes; index++) {
    const name = `node-${index}`;
    processes.push({
      name,
      role: 'node-agent',
      entry: entryPoint('node-agent/main.js'),
      args: [...common(name), '--mode', 'process', '--nodes', name, '--data-dir', join(dir.root, name, 'data'), ...capacity, ...placement(name)],
      env: {},
      ports: {},
    });
  }
  return processes;
}

/** A `kplane up --only` selection that names no process of the config. */
export class UnknownProcessError extends Error {
  readonly code = 'UNKNOWN_PROCESS';
  readonly retryable = false;
  constructor(names: readonly string[], known: readonly string[]) {
    super(`--only: ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not a process or role of this config (processes: ${known.join(', ')}; roles: ${PROCESS_ROLES.join(', ')})`);
    this.name = 'UnknownProcessError';
  }
}

/** The roles `--only` accepts besides process names. */
export const PROCESS_ROLES = ['store', 'apiserver', 'controller-manager', 'scheduler', 'node-agent'] as const;

/** Throws UnknownProcessError unless every entry of `only` is a process name or a role of the config (nothing is made). */
export function checkOnly(config: ClusterConfig, only: readonly string[], members: StoreMembers = NO_STORE_MEMBERS): void {
  const known = [...clusterProcessNames(config), ...members.joined.map((id) => `store-${id}`)];
  const unknown = only.filter((name) => !known.includes(name) && !(PROCESS_ROLES as readonly string[]).includes(name));
  if (unknown.length > 0 || only.length === 0) throw new UnknownProcessError(only.length === 0 ? ['(nothing)'] : unknown, known);
}

/**
 * The plan of a whole cluster, or with `only` (process names or roles, `kplane up --only`) just that
 * share of it, in the same order: the processes of one host when the cluster spans several. The
 * arguments of each process are the same either way (every process knows every replica's address).
 */
export function planCluster(config: ClusterConfig, dir: ClusterDir, only?: readonly string[]): ClusterPlan {
  const members = dir.readMembers();
  if (only !== undefined) checkOnly(config, only, members);
  const processes: ProcessSpec[] = [...storeProcesses(config, dir, members), ...apiServerProcesses(config, dir, members), ...componentProcesses(config, dir)];
  // A replica joined from this directory is part of this directory's share, whatever `only` says.
  const joinedHere = new Set(members.joined.map((id) => `store-${id}`));
  const selected = only === undefined ? processes : processes.filter((spec) => only.includes(spec.name) || only.includes(spec.role) || joinedHere.has(spec.name));
  // A folder (data and log) for each process started here only, not for the other hosts' share.
  for (const spec of selected) dir.processDir(spec.name);
  return { processes: selected, missing: [] };
}
