// Turns a cluster config into the ordered list of OS processes the launcher starts.
// Store replicas come first (everything else needs the store), then API servers, then the
// components that talk to them. A component whose implementation has not landed yet is listed in
// `missing`, so `kplane up` can say plainly what it did not start.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { ClusterConfig } from './config.js';
import type { ClusterDir } from './cluster-dir.js';
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
}

/** The store replicas of a config: ids 1..N, replica N listening on basePort + N - 1. */
export function storeReplicas(config: ClusterConfig): StoreReplicaPlan[] {
  return Array.from({ length: config.store.replicas }, (_, index) => {
    const id = index + 1;
    const port = config.store.basePort + index;
    const name = `store-${id}`;
    return { id, name, node: `${name}@${config.host}:${port}`, port };
  });
}

/** The `--replicas` argument every store process and store client takes: `1=node,2=node,…`. */
export function replicaListArgument(config: ClusterConfig): string {
  return storeReplicas(config)
    .map((replica) => `${replica.id}=${replica.node}`)
    .join(',');
}

function storeProcesses(config: ClusterConfig, dir: ClusterDir): ProcessSpec[] {
  const replicas = replicaListArgument(config);
  return storeReplicas(config).map((replica) => ({
    name: replica.name,
    role: 'store',
    entry: entryPoint('store/replica/main.js'),
    args: [
      '--id', String(replica.id),
      '--replicas', replicas,
      '--data-dir', join(dir.processDir(replica.name), 'data'),
      '--log-level', config.logLevel,
      '--tick-ms', String(config.store.tickMs),
      '--election-ticks', String(config.store.electionTicks),
      '--heartbeat-ticks', String(config.store.heartbeatTicks),
    ],
    env: { [CLUSTER_SECRET_ENV]: dir.secret() },
    ports: { actor: replica.port },
  }));
}

/** The HTTPS URL of API server `index` (0-based). */
export function apiServerUrl(config: ClusterConfig, index = 0): string {
  return `https://${config.apiServer.host}:${config.apiServer.port + index}`;
}

function apiServerProcesses(config: ClusterConfig, dir: ClusterDir): ProcessSpec[] {
  return Array.from({ length: config.apiServer.count }, (_, index) => {
    const name = `apiserver-${index + 1}`;
    dir.processDir(name);
    return {
      name,
      role: 'apiserver',
      entry: entryPoint('api/main.js'),
      args: [
        '--dir', dir.root,
        '--name', name,
        '--replicas', replicaListArgument(config),
        '--host', config.apiServer.host,
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

export function planCluster(config: ClusterConfig, dir: ClusterDir): ClusterPlan {
  const processes: ProcessSpec[] = [...storeProcesses(config, dir), ...apiServerProcesses(config, dir)];
  const missing: string[] = [
    `controller-manager: ${config.controllerManager.count} (issue 8)`,
    `scheduler: ${config.scheduler.shards} shards (issue 9)`,
    `node agents: ${config.nodes.simulatedProcesses} simulated x ${config.nodes.nodesPerProcess} nodes, ${config.nodes.processNodes} process nodes (issue 9)`,
  ];
  return { processes, missing };
}
