// Node agents as actors. Simulated nodes: one actor owns a SimulatedNodePool built from the actor's
// clock and logger, so a supervisor restarts the whole pool after a failure (nodes re-register and
// re-adopt their pods from the API: the pool keeps no state the API does not hold). Process nodes:
// one actor per node, owning a ProcessNode.

import type { Behavior } from '../actors/index.js';
import type { ApiClient } from '../client/index.js';
import { ProcessNode } from './process.js';
import type { NodeSpec } from './registration.js';
import { SimulatedNodePool, type SimulatedNodeSpec } from './simulated.js';

export interface SimulatedNodesActorConfig {
  readonly nodes: readonly SimulatedNodeSpec[];
  readonly clientFor: (nodeName: string) => ApiClient;
  readonly startDelayMs?: number;
  readonly readyDelayMs?: number;
}

export function simulatedNodesBehavior(config: SimulatedNodesActorConfig): Behavior<never, SimulatedNodePool> {
  return {
    async start(ctx) {
      const pool = new SimulatedNodePool(config.nodes, {
        clientFor: config.clientFor,
        clock: ctx.clock,
        log: ctx.log,
        ...(config.startDelayMs !== undefined ? { startDelayMs: config.startDelayMs } : {}),
        ...(config.readyDelayMs !== undefined ? { readyDelayMs: config.readyDelayMs } : {}),
      });
      await pool.start();
      return pool;
    },
    receive(_ctx, pool) {
      return pool;
    },
    stop(_ctx, pool) {
      pool.stop();
    },
  };
}

export interface ProcessNodeActorConfig {
  readonly spec: NodeSpec;
  readonly client: ApiClient;
  readonly dataDir: string;
  readonly address?: string;
}

/**
 * A process-runtime node agent as an actor. Stopping it (for a restart or for good) leaves its
 * children running; a new incarnation on the same dataDir adopts them from the pod state files, so
 * nothing runs twice. Pods are ended by deleting them, as in Kubernetes.
 */
export function processNodeBehavior(config: ProcessNodeActorConfig): Behavior<never, ProcessNode> {
  return {
    async start(ctx) {
      const node = new ProcessNode({
        client: config.client,
        clock: ctx.clock,
        log: ctx.log,
        spec: config.spec,
        dataDir: config.dataDir,
        ...(config.address !== undefined ? { address: config.address } : {}),
      });
      await node.start();
      return node;
    },
    receive(_ctx, node) {
      return node;
    },
    stop(_ctx, node) {
      node.stop();
    },
  };
}
