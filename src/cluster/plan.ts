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

const distSrc = dirname(dirname(fileURLToPath(import.meta.url)));

export function entryPoint(relativeToSrc: string): string {
  return join(distSrc, relativeToSrc);
}

export function planCluster(config: ClusterConfig, _dir: ClusterDir): ClusterPlan {
  const processes: ProcessSpec[] = [];
  const missing: string[] = [
    `store: ${config.store.replicas} replicas (issue 5: the MVCC store on Raft)`,
    `apiserver: ${config.apiServer.count} (issue 6)`,
    `controller-manager: ${config.controllerManager.count} (issue 8)`,
    `scheduler: ${config.scheduler.shards} shards (issue 9)`,
    `node agents: ${config.nodes.simulatedProcesses} simulated x ${config.nodes.nodesPerProcess} nodes, ${config.nodes.processNodes} process nodes (issue 9)`,
  ];
  return { processes, missing };
}
