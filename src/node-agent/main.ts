// A node-agent process, one of two kinds (started by the launcher, or by hand):
//
//   simulated: a pool of kwok-style nodes in this process (node-agent/simulated.ts)
//     node dist/src/node-agent/main.js --dir .kplane --name sim-nodes-1 --api-server apiserver-1@127.0.0.1:7201 \
//       --mode simulated --nodes sim-1-1,sim-1-2,sim-1-3 [--cpu 4] [--memory 8Gi] [--pods 110] [--log-level info]
//   process: one node whose pods run as local child processes (node-agent/process.ts)
//     node dist/src/node-agent/main.js --dir .kplane --name node-1 --api-server apiserver-1@127.0.0.1:7201 \
//       --mode process --nodes node-1 --data-dir .kplane/node-1/data [--cpu 4] [--memory 8Gi] [--pods 110]
//
// Every node acts as itself, system:node:<name> in system:nodes (node restriction holds it to its own
// Node, Lease and pods): each node has its own certificate and its own API connection (an actor system
// and a TLS connection), as decided in docs/decisions/0007-node-agent-identity.md. The node actors run
// in a local actor system of this process; each uses its node's connection as its client.
//
// An orderly stop (SIGTERM from `kplane down`, or the launcher gone) ends a process node's pods too,
// so nothing outlives the cluster; a crash (kill -9) leaves them running, and the restarted agent
// adopts them, as a restarted kubelet does.

import type { Behavior } from '../actors/index.js';
import { createActorSystem, Prng, systemClock, whenStarted } from '../actors/index.js';
import { connectToApi, ComponentArgsError, integerOption, runComponentProcess, waitForApi, type ApiConnection, type ComponentContext, type StartedComponent } from '../cluster/component.js';
import { ensureClusterPki } from '../cluster/pki.js';
import { simulatedNodesBehavior } from './actor.js';
import { ProcessNode } from './process.js';
import type { NodeSpec } from './registration.js';
import { NODE_LOGS_PATH, NODE_LOGS_PROTOCOL, nodeLogsBehavior, simulatedLogSource, type LogSourceSlot } from './logs.js';
import { mergeProtocols } from '../api/actor-face/protocol.js';
import { ProcessUsage } from './process-usage.js';
import { NODE_STATS_PATH, NODE_STATS_PROTOCOL, nodeStatsBehavior, processStatsSource, simulatedStatsSource, type StatsSourceSlot } from './stats.js';

const COMPONENT = 'node-agent';
const AGENT_ACTOR_NAME = 'node-agent';

export type NodeAgentMode = 'simulated' | 'process';

/** The --nodes argument: comma-separated node names, each a DNS-1123 subdomain, no repeats. */
export function parseNodeNames(text: string | undefined): string[] {
  const names = (text ?? '').split(',').filter((name) => name !== '');
  if (names.length === 0) throw new ComponentArgsError(COMPONENT, '--nodes names no node');
  for (const name of names) {
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) throw new ComponentArgsError(COMPONENT, `--nodes: ${JSON.stringify(name)} is not a DNS-1123 subdomain`);
  }
  if (new Set(names).size !== names.length) throw new ComponentArgsError(COMPONENT, '--nodes lists a node twice');
  return names;
}

/** `--labels` (a JSON object of strings) and `--taints` (a JSON array of {key, value?, effect}), as the plan passes them. */
function parsePlacement(values: ComponentContext['values']): Pick<NodeSpec, 'labels' | 'taints'> {
  const parse = (option: string, text: unknown): unknown => {
    if (typeof text !== 'string' || text === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ComponentArgsError(COMPONENT, `--${option} is not JSON`);
    }
  };
  const labels = parse('labels', values['labels']);
  const taints = parse('taints', values['taints']);
  if (labels !== undefined && (typeof labels !== 'object' || labels === null || Array.isArray(labels) || Object.values(labels).some((value) => typeof value !== 'string'))) {
    throw new ComponentArgsError(COMPONENT, '--labels must be a JSON object of strings');
  }
  if (taints !== undefined && (!Array.isArray(taints) || taints.some((taint) => typeof taint !== 'object' || taint === null || typeof (taint as { key?: unknown }).key !== 'string'))) {
    throw new ComponentArgsError(COMPONENT, '--taints must be a JSON array of {key, value, effect}');
  }
  return {
    ...(labels === undefined ? {} : { labels: labels as Record<string, string> }),
    ...(taints === undefined ? {} : { taints: taints as NonNullable<NodeSpec['taints']> }),
  };
}

interface ShutdownIntent {
  /** Set before an orderly stop: the process node ends its pods instead of leaving them to be adopted. */
  killPods: boolean;
}

/** A process-runtime node as an actor; on stop its pods keep running unless the shutdown says otherwise. */
function processNodeAgent(spec: NodeSpec, connection: ApiConnection, dataDir: string, shutdown: ShutdownIntent, logs: LogSourceSlot, stats: StatsSourceSlot): Behavior<never, ProcessNode> {
  return {
    async start(ctx) {
      const node = new ProcessNode({ client: connection.client, clock: ctx.clock, log: ctx.log, spec, dataDir, agentNode: connection.node });
      await node.start();
      logs.current = { read: (request) => node.readLog(request) };
      stats.current = processStatsSource(node, new ProcessUsage(ctx.clock), ctx.clock);
      return node;
    },
    receive(_ctx, node) {
      return node;
    },
    stop(_ctx, node) {
      logs.current = undefined;
      stats.current = undefined;
      node.stop({ killPods: shutdown.killPods });
    },
  };
}

async function startNodeAgent({ args, values, log, stopping }: ComponentContext): Promise<StartedComponent> {
  const mode = values['mode'];
  if (mode !== 'simulated' && mode !== 'process') throw new ComponentArgsError(COMPONENT, '--mode must be simulated or process');
  const names = parseNodeNames(typeof values['nodes'] === 'string' ? values['nodes'] : undefined);
  const capacity = {
    cpu: typeof values['cpu'] === 'string' ? values['cpu'] : '4',
    memory: typeof values['memory'] === 'string' ? values['memory'] : '8Gi',
    pods: integerOption(COMPONENT, values, 'pods', 1),
  };
  const dataDir = values['data-dir'];
  if (mode === 'process' && names.length !== 1) throw new ComponentArgsError(COMPONENT, '--mode process runs exactly one node');
  if (mode === 'process' && (typeof dataDir !== 'string' || dataDir === '')) throw new ComponentArgsError(COMPONENT, '--mode process needs --data-dir');

  const pki = ensureClusterPki(args.dir, { log });
  const connections = new Map<string, ApiConnection>();
  const shutdown: ShutdownIntent = { killPods: false };
  const agents = createActorSystem({ node: args.name, clock: systemClock, random: new Prng(systemClock.now()), log });
  const stop = async (): Promise<void> => {
    shutdown.killPods = true;
    await agents.terminate();
    await Promise.all([...connections.values()].map((connection) => connection.close()));
  };
  try {
    for (const name of names) {
      connections.set(name, await connectToApi({ node: name, apiServer: args.apiServer, caCert: pki.caCert, certificate: pki.nodeCertificate(name), log, extraProtocol: mergeProtocols(NODE_LOGS_PROTOCOL, NODE_STATS_PROTOCOL) }));
    }
    // pods/log: each node serves its logs on its own connection, where the API server reaches it
    // (docs/decisions/0008-pod-logs.md); simulated nodes answer synthetic lines.
    const processLogs: LogSourceSlot = { current: undefined };
    // metrics.k8s.io (kubectl top) the same way: each node answers its usage on its connection.
    const processStats: StatsSourceSlot = { current: undefined };
    for (const connection of connections.values()) {
      connection.system.spawn(nodeLogsBehavior(mode === 'simulated' ? { current: simulatedLogSource } : processLogs), { name: NODE_LOGS_PATH.slice('/user/'.length) });
      const stats = mode === 'simulated' ? { current: simulatedStatsSource(connection.client, connection.node, systemClock) } : processStats;
      connection.system.spawn(nodeStatsBehavior(stats), { name: NODE_STATS_PATH.slice('/user/'.length) });
    }
    await Promise.all([...connections.values()].map((connection) => waitForApi(connection, { log: log.child({ node: connection.node }), cancelled: stopping })));
    const clientFor = (name: string): ApiConnection['client'] => {
      const connection = connections.get(name);
      if (connection === undefined) throw new RangeError(`no API connection for node ${JSON.stringify(name)}`);
      return connection.client;
    };
    const placement = parsePlacement(values);
    const specs: NodeSpec[] = names.map((name) => ({ name, capacity, ...placement }));
    const [first] = specs;
    if (mode === 'simulated' || first === undefined) agents.spawn(simulatedNodesBehavior({ nodes: specs, clientFor }), { name: AGENT_ACTOR_NAME });
    else agents.spawn(processNodeAgent(first, connections.get(first.name) as ApiConnection, dataDir as string, shutdown, processLogs, processStats), { name: AGENT_ACTOR_NAME });
    await whenStarted(agents, `/user/${AGENT_ACTOR_NAME}`);
  } catch (error) {
    await stop();
    throw error;
  }
  log.info({ mode, nodes: names, apiServer: args.apiServer }, 'node agent started');
  return { stop };
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  runComponentProcess(
    COMPONENT,
    {
      mode: { type: 'string', default: 'simulated' },
      nodes: { type: 'string' },
      cpu: { type: 'string', default: '4' },
      memory: { type: 'string', default: '8Gi' },
      pods: { type: 'string', default: '110' },
      'data-dir': { type: 'string' },
      labels: { type: 'string' },
      taints: { type: 'string' },
    },
    startNodeAgent,
  );
}
