// The cluster's configuration: its typed shape, the defaults, and validation.
// `cluster.config.ts` at the project root calls `defineCluster({...})` with overrides; the launcher
// (`kplane up`) loads the compiled result. Invalid configuration is refused when it is built, with a
// message that names the offending field.

/**
 * Where one process binds and where the others reach it (docs/multi-host.md). Either may be left out:
 * `advertise` defaults to the section's host (`store.host`, `apiServer.host`), else the cluster's `host`;
 * `listen` defaults to `advertise` (say `0.0.0.0` to bind every interface of the process's machine).
 * The components that only dial (controller managers, the scheduler, node agents) bind nothing: for
 * them the entry only says on which machine they run.
 */
export interface ProcessAddress {
  readonly listen?: string;
  readonly advertise?: string;
}

export interface StoreConfig {
  /** Number of store replicas (Raft voters): 1, 3 or 5. */
  readonly replicas: number;
  /** Listen and advertise address of every replica unless `processes` overrides it; default: `host`. */
  readonly host?: string;
  /** Actor-transport port of the first replica; replica i listens on basePort + i. */
  readonly basePort: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

export interface ApiServerConfig {
  readonly count: number;
  /** Listen and advertise address of every API server unless `processes` overrides it; default: `host`. */
  readonly host: string;
  /** HTTPS port of the first API server; server i listens on port + i. */
  readonly port: number;
  /** Actor-transport port of the first API server. */
  readonly actorPort: number;
  readonly maxRequestsInFlight: number;
}

export interface NodeCapacity {
  readonly cpu: string;
  readonly memory: string;
  readonly pods: number;
}

export interface NodeTaint {
  readonly key: string;
  readonly value?: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

export interface NodeAgentConfig {
  /** Processes that each simulate `nodesPerProcess` nodes. */
  readonly simulatedProcesses: number;
  readonly nodesPerProcess: number;
  /** Processes that run pods as real local child processes, one node each. */
  readonly processNodes: number;
  readonly capacity: NodeCapacity;
  /** Labels every node registers with (each also gets `kplane.io/pool: <its process name>`). */
  readonly labels: Readonly<Record<string, string>>;
  /** Taints every node registers with. */
  readonly taints: readonly NodeTaint[];
}

export interface SchedulerConfig {
  readonly shards: number;
  readonly profile: {
    readonly plugins: Readonly<Record<string, boolean>>;
    readonly weights: Readonly<Record<string, number>>;
  };
}

export interface ControllerManagerConfig {
  /** Controller-manager processes; the Lease kube-system/kube-controller-manager picks the one that leads. */
  readonly count: number;
  /** Leader election: a Lease not renewed for this long may be taken over (default 15 s). */
  readonly leaseDurationMs: number;
  /** The leader steps down when it has not renewed for this long (default 10 s; below leaseDurationMs). */
  readonly renewDeadlineMs: number;
  /** Campaign and renew interval (default 2 s; below renewDeadlineMs). */
  readonly retryPeriodMs: number;
  /** Node lifecycle: a node whose Lease is silent this long is unreachable (default 40 s; node agents renew every 10 s). */
  readonly nodeGracePeriodMs: number;
  /** Node lifecycle: the toleration of the unreachable taint given to pods without one (default 300 s). */
  readonly defaultTolerationMs: number;
  /** Node lifecycle: evictions per second across all nodes (default 0.1). */
  readonly evictionsPerSecond: number;
}

export interface ClusterConfig {
  readonly name: string;
  /** Listen and advertise address of every process unless a component overrides it. */
  readonly host: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly store: StoreConfig;
  readonly apiServer: ApiServerConfig;
  readonly controllerManager: ControllerManagerConfig;
  readonly scheduler: SchedulerConfig;
  readonly nodes: NodeAgentConfig;
  /** Per-process addresses by process name (`store-2`, `apiserver-1`, `node-1`, …), over the section defaults. */
  readonly processes?: Readonly<Record<string, ProcessAddress>>;
}

/** Every field optional, at every depth: what `defineCluster` accepts. */
export type DeepPartial<T> = { readonly [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type ClusterConfigInput = DeepPartial<ClusterConfig>;

export const DEFAULT_CLUSTER_CONFIG: ClusterConfig = {
  name: 'kplane',
  host: '127.0.0.1',
  logLevel: 'info',
  store: { replicas: 3, basePort: 7101, tickMs: 100, electionTicks: 10, heartbeatTicks: 1 },
  apiServer: { count: 1, host: '127.0.0.1', port: 6443, actorPort: 7201, maxRequestsInFlight: 400 },
  controllerManager: {
    count: 1,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    nodeGracePeriodMs: 40_000,
    defaultTolerationMs: 300_000,
    evictionsPerSecond: 0.1,
  },
  scheduler: {
    shards: 2,
    profile: {
      plugins: {
        NodeUnschedulable: true,
        NodeName: true,
        NodeResourcesFit: true,
        NodeAffinity: true,
        TaintToleration: true,
        InterPodAffinity: true,
        PodTopologySpread: true,
      },
      weights: { LeastAllocated: 1, BalancedAllocation: 1 },
    },
  },
  nodes: {
    simulatedProcesses: 1,
    nodesPerProcess: 3,
    processNodes: 1,
    capacity: { cpu: '4', memory: '8Gi', pods: 110 },
    labels: {},
    taints: [],
  },
};

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly retryable = false;
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`cluster config: ${field} ${problem}`);
    this.name = 'ConfigError';
  }
}

function requireInteger(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
}

function requirePort(field: string, value: number): void {
  requireInteger(field, value, 1, 65535);
}

function requireHost(field: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0 || /\s/.test(value)) {
    throw new ConfigError(field, `must be a host name or address, got ${JSON.stringify(value)}`);
  }
}

/** The names of the processes a config asks for, in start order (the launcher's and `kplane up --only`'s names). */
export function clusterProcessNames(config: ClusterConfig): string[] {
  const numbered = (prefix: string, count: number): string[] => Array.from({ length: count }, (_, index) => `${prefix}-${index + 1}`);
  return [
    ...numbered('store', config.store.replicas),
    ...numbered('apiserver', config.apiServer.count),
    ...numbered('controller-manager', config.controllerManager.count),
    'scheduler',
    ...numbered('sim-nodes', config.nodes.simulatedProcesses),
    ...numbered('node', config.nodes.processNodes),
  ];
}

/** The resolved listen and advertise address of process `name` (see ProcessAddress for the defaults). */
export function processAddress(config: ClusterConfig, name: string): { readonly listen: string; readonly advertise: string } {
  const sectionHost = name.startsWith('store-') ? config.store.host : name.startsWith('apiserver-') ? config.apiServer.host : undefined;
  const entry = config.processes?.[name];
  const advertise = entry?.advertise ?? sectionHost ?? config.host;
  return { listen: entry?.listen ?? advertise, advertise };
}

function validateProcessAddresses(config: ClusterConfig): void {
  if (config.store.host !== undefined) requireHost('store.host', config.store.host);
  const known = clusterProcessNames(config);
  for (const [name, entry] of Object.entries(config.processes ?? {})) {
    // store-N beyond store.replicas: a replica that joins a running group (`kplane join store-N`).
    if (!known.includes(name) && !/^store-[1-9][0-9]*$/.test(name)) {
      throw new ConfigError(`processes.${name}`, `is not a process of this config (its processes: ${known.join(', ')})`);
    }
    if (typeof entry !== 'object' || entry === null) throw new ConfigError(`processes.${name}`, `must be { listen?, advertise? }, got ${JSON.stringify(entry)}`);
    for (const key of Object.keys(entry)) {
      if (key !== 'listen' && key !== 'advertise') throw new ConfigError(`processes.${name}.${key}`, 'is not a field (listen, advertise)');
    }
    if (entry.listen !== undefined) requireHost(`processes.${name}.listen`, entry.listen);
    if (entry.advertise !== undefined) {
      requireHost(`processes.${name}.advertise`, entry.advertise);
      if (['0.0.0.0', '::'].includes(entry.advertise)) throw new ConfigError(`processes.${name}.advertise`, `must be an address others can dial, not the wildcard ${entry.advertise} (put that in listen)`);
    }
  }
  for (const [field, host] of [['host', config.host], ['store.host', config.store.host], ['apiServer.host', config.apiServer.host]] as const) {
    if (host !== undefined && ['0.0.0.0', '::'].includes(host)) {
      throw new ConfigError(field, `is also the advertise address and must be one others can dial, not the wildcard ${host} (bind every interface with processes.NAME.listen)`);
    }
  }
}

/** Checks every field and the unsafe combinations; throws ConfigError naming the first bad field. */
export function validateClusterConfig(config: ClusterConfig): ClusterConfig {
  if (typeof config.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(config.name)) {
    throw new ConfigError('name', `must be a DNS label (lower-case letters, digits, '-'), got ${JSON.stringify(config.name)}`);
  }
  requireHost('host', config.host);
  if (!['trace', 'debug', 'info', 'warn', 'error'].includes(config.logLevel)) {
    throw new ConfigError('logLevel', `must be one of trace, debug, info, warn, error, got ${JSON.stringify(config.logLevel)}`);
  }
  const { store, apiServer, scheduler, nodes } = config;
  if (![1, 3, 5].includes(store.replicas)) {
    throw new ConfigError('store.replicas', `must be 1, 3 or 5 (an odd quorum), got ${JSON.stringify(store.replicas)}`);
  }
  requirePort('store.basePort', store.basePort);
  requirePort('store.basePort + store.replicas', store.basePort + store.replicas);
  requireInteger('store.tickMs', store.tickMs, 1, 10_000);
  requireInteger('store.heartbeatTicks', store.heartbeatTicks, 1, 1000);
  requireInteger('store.electionTicks', store.electionTicks, 2, 10_000);
  if (store.electionTicks <= store.heartbeatTicks * 2) {
    throw new ConfigError('store.electionTicks', `must be more than twice store.heartbeatTicks (${store.heartbeatTicks}), got ${store.electionTicks}`);
  }
  requireInteger('apiServer.count', apiServer.count, 1, 16);
  requireHost('apiServer.host', apiServer.host);
  requirePort('apiServer.port', apiServer.port);
  requirePort('apiServer.actorPort', apiServer.actorPort);
  requireInteger('apiServer.maxRequestsInFlight', apiServer.maxRequestsInFlight, 1, 100_000);
  const manager = config.controllerManager;
  requireInteger('controllerManager.count', manager.count, 1, 8);
  requireInteger('controllerManager.retryPeriodMs', manager.retryPeriodMs, 1, 3_600_000);
  requireInteger('controllerManager.renewDeadlineMs', manager.renewDeadlineMs, 1, 3_600_000);
  requireInteger('controllerManager.leaseDurationMs', manager.leaseDurationMs, 1, 3_600_000);
  if (manager.renewDeadlineMs <= manager.retryPeriodMs) {
    throw new ConfigError('controllerManager.renewDeadlineMs', `must be more than controllerManager.retryPeriodMs (${manager.retryPeriodMs}), got ${manager.renewDeadlineMs}`);
  }
  if (manager.leaseDurationMs <= manager.renewDeadlineMs) {
    throw new ConfigError('controllerManager.leaseDurationMs', `must be more than controllerManager.renewDeadlineMs (${manager.renewDeadlineMs}), got ${manager.leaseDurationMs}`);
  }
  requireInteger('controllerManager.nodeGracePeriodMs', manager.nodeGracePeriodMs, 1, 86_400_000);
  requireInteger('controllerManager.defaultTolerationMs', manager.defaultTolerationMs, 0, 86_400_000);
  if (!Number.isFinite(manager.evictionsPerSecond) || manager.evictionsPerSecond <= 0) {
    throw new ConfigError('controllerManager.evictionsPerSecond', `must be a positive number, got ${JSON.stringify(manager.evictionsPerSecond)}`);
  }
  requireInteger('scheduler.shards', scheduler.shards, 1, 64);
  for (const [plugin, weight] of Object.entries(scheduler.profile.weights)) {
    if (!Number.isFinite(weight) || weight < 0) {
      throw new ConfigError(`scheduler.profile.weights.${plugin}`, `must be a non-negative number, got ${JSON.stringify(weight)}`);
    }
  }
  requireInteger('nodes.simulatedProcesses', nodes.simulatedProcesses, 0, 64);
  requireInteger('nodes.nodesPerProcess', nodes.nodesPerProcess, 1, 100_000);
  requireInteger('nodes.processNodes', nodes.processNodes, 0, 16);
  requireInteger('nodes.capacity.pods', nodes.capacity.pods, 1, 10_000);
  for (const [key, value] of Object.entries(nodes.labels)) {
    if (!/^([a-z0-9.-]{1,253}\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(key)) throw new ConfigError(`nodes.labels.${key}`, 'is not a valid label key');
    if (typeof value !== 'string' || !/^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$/.test(value)) throw new ConfigError(`nodes.labels.${key}`, `must be a label value (63 characters at most), got ${JSON.stringify(value)}`);
  }
  nodes.taints.forEach((taint, index) => {
    if (typeof taint.key !== 'string' || taint.key === '') throw new ConfigError(`nodes.taints[${index}].key`, 'must be a non-empty string');
    if (!['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(taint.effect)) throw new ConfigError(`nodes.taints[${index}].effect`, `must be NoSchedule, PreferNoSchedule or NoExecute, got ${JSON.stringify(taint.effect)}`);
  });
  const storePorts = new Set(Array.from({ length: store.replicas }, (_, i) => store.basePort + i));
  for (let i = 0; i < apiServer.count; i++) {
    if (storePorts.has(apiServer.actorPort + i)) {
      throw new ConfigError('apiServer.actorPort', `overlaps the store replicas' ports (${store.basePort}..${store.basePort + store.replicas - 1})`);
    }
  }
  validateProcessAddresses(config);
  return config;
}

/** Merges overrides over the defaults (one level deep per section) and validates the result. */
export function defineCluster(input: ClusterConfigInput = {}): ClusterConfig {
  const defaults = DEFAULT_CLUSTER_CONFIG;
  const merged: ClusterConfig = {
    name: input.name ?? defaults.name,
    host: input.host ?? defaults.host,
    logLevel: input.logLevel ?? defaults.logLevel,
    store: { ...defaults.store, ...input.store },
    // The API servers' host follows the cluster's `host` unless set itself.
    apiServer: { ...defaults.apiServer, ...input.apiServer, host: input.apiServer?.host ?? input.host ?? defaults.apiServer.host },
    controllerManager: { ...defaults.controllerManager, ...input.controllerManager },
    scheduler: {
      ...defaults.scheduler,
      ...input.scheduler,
      profile: {
        plugins: { ...defaults.scheduler.profile.plugins, ...input.scheduler?.profile?.plugins } as Record<string, boolean>,
        weights: { ...defaults.scheduler.profile.weights, ...input.scheduler?.profile?.weights } as Record<string, number>,
      },
    },
    nodes: {
      ...defaults.nodes,
      ...input.nodes,
      capacity: { ...defaults.nodes.capacity, ...input.nodes?.capacity },
      labels: { ...defaults.nodes.labels, ...input.nodes?.labels } as Record<string, string>,
      taints: (input.nodes?.taints ?? defaults.nodes.taints) as readonly NodeTaint[],
    },
    ...(input.processes === undefined ? {} : { processes: input.processes as Record<string, ProcessAddress> }),
  };
  return validateClusterConfig(merged);
}
