// The cluster's configuration: its typed shape, the defaults, and validation.
// `cluster.config.ts` at the project root calls `defineCluster({...})` with overrides; the launcher
// (`kplane up`) loads the compiled result. Invalid configuration is refused when it is built, with a
// message that names the offending field.

export interface StoreConfig {
  /** Number of store replicas (Raft voters): 1, 3 or 5. */
  readonly replicas: number;
  /** Actor-transport port of the first replica; replica i listens on basePort + i. */
  readonly basePort: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
}

export interface ApiServerConfig {
  readonly count: number;
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

export interface NodeAgentConfig {
  /** Processes that each simulate `nodesPerProcess` nodes. */
  readonly simulatedProcesses: number;
  readonly nodesPerProcess: number;
  /** Processes that run pods as real local child processes, one node each. */
  readonly processNodes: number;
  readonly capacity: NodeCapacity;
}

export interface SchedulerConfig {
  readonly shards: number;
  readonly profile: {
    readonly plugins: Readonly<Record<string, boolean>>;
    readonly weights: Readonly<Record<string, number>>;
  };
}

export interface ClusterConfig {
  readonly name: string;
  /** Listen and advertise address of every process unless a component overrides it. */
  readonly host: string;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  readonly store: StoreConfig;
  readonly apiServer: ApiServerConfig;
  readonly controllerManager: { readonly count: number };
  readonly scheduler: SchedulerConfig;
  readonly nodes: NodeAgentConfig;
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
  controllerManager: { count: 1 },
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
  requireInteger('controllerManager.count', config.controllerManager.count, 1, 8);
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
  const storePorts = new Set(Array.from({ length: store.replicas }, (_, i) => store.basePort + i));
  for (let i = 0; i < apiServer.count; i++) {
    if (storePorts.has(apiServer.actorPort + i)) {
      throw new ConfigError('apiServer.actorPort', `overlaps the store replicas' ports (${store.basePort}..${store.basePort + store.replicas - 1})`);
    }
  }
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
    apiServer: { ...defaults.apiServer, ...input.apiServer },
    controllerManager: { ...defaults.controllerManager, ...input.controllerManager },
    scheduler: {
      ...defaults.scheduler,
      ...input.scheduler,
      profile: {
        plugins: { ...defaults.scheduler.profile.plugins, ...input.scheduler?.profile?.plugins } as Record<string, boolean>,
        weights: { ...defaults.scheduler.profile.weights, ...input.scheduler?.profile?.weights } as Record<string, number>,
      },
    },
    nodes: { ...defaults.nodes, ...input.nodes, capacity: { ...defaults.nodes.capacity, ...input.nodes?.capacity } },
  };
  return validateClusterConfig(merged);
}
