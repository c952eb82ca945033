// The store replica process: one Raft replica of the cluster store in its own OS process.
// (Compiled to dist/src/store/replica/main.js; started by the launcher or src/testing/replica-cluster.ts.)
//
//   node dist/src/store/replica/main.js --id 1 \
//     --replicas 1=replica-1@127.0.0.1:7101,2=replica-2@127.0.0.1:7102,3=replica-3@127.0.0.1:7103 \
//     --data-dir .kplane/replica-1 [--log-level info] [--tick-ms 100] [--election-ticks 10]
//     [--heartbeat-ticks 1] [--snapshot-every 100000] [--actor-heartbeat-ms 200]
//     [--listen-host 0.0.0.0]   (bind there instead of the host in its own node id)
//     [--voters 1,2,3]          (the group's bootstrap voters; default: every id of --replicas)
//     [--join]                  (joins a running group: its id is not a bootstrap voter; it waits for
//                                the leader to add it, docs/decisions/0009-store-membership.md)
//   --replicas is the address list known at start; the replicated address book (membership.ts)
//   overlays it, so a replica added later is reached even by replicas started before it existed.
//   The cluster secret comes from the environment (KPLANE_CLUSTER_SECRET) or --secret-file; never argv.
//
// It opens the durable storage (WAL + snapshots) in the data dir, builds the ReplicaNode, and an
// actor system on a WsTransport listening on its own node's port (REPLICA_PROTOCOL), with two actors
// under the /user guardian (one-for-one supervision): the Raft peer actor (PEER_PATH) and the client
// endpoint (ENDPOINT_PATH). When it listens it sends { type: 'kplane.ready', node, id } over IPC (if
// it has a parent channel) and logs `replica ready`. SIGTERM / SIGINT: orderly close (node, actor
// system, transport, storage), exit 0. A storage failure is fatal: logged, exit 1 (the launcher restarts it).
// Every minute it logs `replica metrics` (fsync / apply latency quantiles, leader changes, pending
// proposals); the endpoint's `metrics` operation gives them in Prometheus text format.
// A lost connection to a peer replica is reported to the node (tapConnectionLosses): a follower of a
// leader whose process died forgets it and campaigns at once, instead of after an election timeout;
// every replica keeps a connection to every other one (keepPeersConnected) so that campaign is not slowed.
// Logs are pino JSON lines on stdout.

import hyperid from 'hyperid';
import type { Logger } from 'pino';
import { createActorSystem, createLogger, Prng, systemClock } from '../../actors/index.js';
import { parseNodeId, WsTransport } from '../../actors/ws-transport.js';
import { DurableStorage } from '../../raft/durable-storage.js';
import { endpointBehavior } from './endpoint.js';
import { withLinkFaults } from '../../cluster/chaos-links.js';
import { ReplicaNode } from './node.js';
import { keepPeersConnected, peerBehavior, raftOutbox, tapConnectionLosses, type PeerDirectory } from './peer.js';
import { REPLICA_PROTOCOL, STORE_MAX_FRAME_BYTES } from './protocol.js';
import { parseConfig, type ReplicaProcessConfig } from './main-config.js';

/** How often a replica logs a summary of its metrics. */
export const METRICS_LOG_INTERVAL_MS = 60_000;

function logMetrics(node: ReplicaNode, log: Logger): void {
  const { fsync, apply, leaderChanges, proposalsPending } = node.metrics;
  log.info(
    { fsyncCount: fsync.count, fsyncP50Ms: fsync.quantile(0.5), fsyncP99Ms: fsync.quantile(0.99), applyP99Ms: apply.quantile(0.99), leaderChanges, proposalsPending, revision: node.status().revision },
    'replica metrics',
  );
}

/** Starts the replica; resolves with a function that closes it in order. */
export async function runReplica(config: ReplicaProcessConfig, log: Logger): Promise<() => Promise<void>> {
  const self = config.replicas.find((replica) => replica.id === config.id);
  const endpoint = self === undefined ? undefined : parseNodeId(self.node)?.endpoint;
  if (self === undefined || endpoint === undefined) throw new Error(`replica ${config.id} has no listening address`);
  const { storage, state } = await DurableStorage.open(config.dataDir, { log });
  const incarnation = hyperid({ urlSafe: true })();
  const transport = new WsTransport({
    node: self.node,
    incarnation,
    listen: config.listenHost === undefined ? endpoint : { host: config.listenHost, port: endpoint.port },
    secret: config.secret,
    log,
    clock: systemClock,
    reconnectBackoffMinMs: 20,
    reconnectBackoffMaxMs: 500,
    // Room for the batch header around the largest frame the actor system makes.
    maxFrameBytes: STORE_MAX_FRAME_BYTES + 1024,
  });
  await transport.start();
  // The node is built after the actor system (its outbox needs the system): connection losses reach it from then on.
  const connectionLost: { listener: (id: number) => void } = { listener: () => undefined };
  // The peers come from the node's address book once it exists (they change with membership).
  const nodeHolder: { node: ReplicaNode | undefined } = { node: undefined };
  const startList = new Map(config.replicas.map((replica) => [replica.id, replica.node]));
  const directory: PeerDirectory = {
    nodeOf: (id) => nodeHolder.node?.addressOf(id) ?? startList.get(id),
    idOf: (node) => {
      for (const [id, address] of nodeHolder.node?.addresses() ?? startList) if (address === node) return id;
      return undefined;
    },
    peers: () => {
      const current = nodeHolder.node;
      if (current === undefined) return [];
      return current.memberIds().filter((id) => id !== config.id).flatMap((id) => {
        const node = current.addressOf(id);
        return node === undefined ? [] : [{ id, node }];
      });
    },
  };
  const system = createActorSystem(
    {
      node: transport.local.node,
      incarnation,
      clock: systemClock,
      random: new Prng(config.id * 7919 + (Date.now() % 100_000)),
      log,
      // withLinkFaults: `kplane chaos partition|delay|drop` rules, when the launcher asked for them (docs/chaos.md).
      transport: tapConnectionLosses(withLinkFaults(transport, new Prng(config.id * 31 + (Date.now() % 100_000)), log), directory, (id) => connectionLost.listener(id)),
      protocol: REPLICA_PROTOCOL,
      onRootFailure: (error) => {
        log.fatal({ err: error }, 'replica actors failed past the guardian; exiting');
        process.exit(70);
      },
    },
    { heartbeatIntervalMs: config.actorHeartbeatMs, heartbeatTimeoutMs: config.actorHeartbeatMs * 5, maxFrameBytes: STORE_MAX_FRAME_BYTES },
  );
  const node = new ReplicaNode({
    id: config.id,
    voters: config.bootstrapVoters,
    addresses: startList,
    clock: systemClock,
    random: new Prng(config.id * 104_729 + (Date.now() % 1_000_000)),
    log,
    storage,
    recovered: state,
    outbox: raftOutbox(system, directory, log),
    tickMs: config.tickMs,
    electionTicks: config.electionTicks,
    heartbeatTicks: config.heartbeatTicks,
    snapshotEveryEntries: config.snapshotEveryEntries,
    onFatal: (error) => {
      log.fatal({ err: error }, 'replica storage failed; exiting');
      process.exit(1);
    },
  });
  nodeHolder.node = node;
  connectionLost.listener = (id) => node.peerConnectionLost(id);
  if (config.join && state.snapshot === undefined && state.entries.length === 0) {
    log.info({ replica: config.id, bootstrapVoters: config.bootstrapVoters }, 'joining a running group: waiting for the leader to add this replica');
  }
  let leader = -1;
  node.onStatusChange((status) => {
    if (status.leader === leader) return;
    leader = status.leader;
    log.info({ term: status.term, leader: status.leader, role: status.role }, 'replica leader changed');
  });
  system.spawn(peerBehavior({ id: config.id, deliver: (message) => node.receive(message) }), { name: 'raft', mailboxCapacity: 100_000 });
  system.spawn(
    endpointBehavior({ engine: node, replicas: config.replicas, metrics: () => node.metrics.prometheus(), addressOf: (id) => node.addressOf(id), membership: node }),
    { name: 'store', mailboxCapacity: 100_000 },
  );
  const stopConnecting = keepPeersConnected(system, directory, systemClock);
  const metricsTimer = setInterval(() => logMetrics(node, log), METRICS_LOG_INTERVAL_MS);
  metricsTimer.unref();
  return async () => {
    clearInterval(metricsTimer);
    stopConnecting();
    await node.close();
    await system.terminate();
    await transport.close();
    await storage.close();
  };
}

async function main(): Promise<void> {
  let config: ReplicaProcessConfig;
  try {
    config = parseConfig(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`replica: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const self = config.replicas.find((replica) => replica.id === config.id);
  const log = createLogger({ node: self?.node ?? `replica-${config.id}`, level: config.logLevel });
  const close = await runReplica(config, log);
  log.info({ replica: config.id, node: self?.node, dataDir: config.dataDir }, 'replica ready');
  process.send?.({ type: 'kplane.ready', node: self?.node, id: config.id });
  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'replica stopping');
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'replica did not close cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  // Losing the launcher's IPC channel means the launcher is gone: stop rather than linger.
  process.on('disconnect', () => shutdown('disconnect'));
}

await main();
