// The API server process: the only gateway to the store. Compiled to dist/src/api/main.js and
// started by the launcher (or a test):
//
//   node dist/src/api/main.js --dir .kplane --name apiserver-1 \
//     --replicas 1=store-1@127.0.0.1:7101,2=store-2@127.0.0.1:7102,3=store-3@127.0.0.1:7103 \
//     [--host 127.0.0.1 (advertised)] [--listen-host 0.0.0.0 (bound; default --host)] [--port 6443] [--actor-port 7201] [--max-in-flight 400] [--log-level info]
//   The cluster secret comes from the environment (KPLANE_CLUSTER_SECRET), never argv.
//
// It reads the cluster's PKI and token file (made at first start by `kplane up`, or here if missing),
// connects to the store replicas with a RemoteStoreClient, and serves HTTPS with token and client-
// certificate authentication, RBAC (the bootstrap policy is created when missing), node restriction,
// and the request limits; and the same pipeline over the actor transport for the cluster's components
// (mutual TLS with the cluster CA; see actor-face/). Ready (IPC `kplane.ready`) once it listens; SIGTERM closes it in order.

import { parseArgs } from 'node:util';
import hyperid from 'hyperid';
import type { Logger } from 'pino';
import { createActorSystem, createLogger, Prng, systemClock, type ActorSystem } from '../actors/index.js';
import { WsTransport } from '../actors/ws-transport.js';
import { apiEndpointBehavior } from './actor-face/endpoint.js';
import { actorPodLogReader } from './handlers/logs.js';
import { actorNodeStatsReader } from './handlers/metrics.js';
import { API_ENDPOINT_PATH, API_SERVER_PROTOCOL } from './actor-face/protocol.js';
import { withLinkFaults } from '../cluster/chaos-links.js';
import { ensureClusterPki } from '../cluster/pki.js';
import { CLUSTER_SECRET_ENV } from '../cluster/plan.js';
import { RemoteStoreClient } from '../store/client/remote-store-client.js';
import { createAuthenticator } from './auth/authenticator.js';
import { bootstrapPolicy } from './auth/bootstrap-policy.js';
import { nodeRestriction } from './auth/node-restriction.js';
import { createRbacAuthorizer } from './auth/rbac.js';
import { ensureTokenFile } from './auth/token-file.js';
import { startApiServer, type ApiServer } from './server.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

export interface ApiServerProcessConfig {
  readonly dir: string;
  readonly name: string;
  readonly replicas: readonly string[];
  readonly host: string;
  /** The address to bind when not `host` (--listen-host, e.g. 0.0.0.0); `host` is the one advertised. */
  readonly listenHost?: string;
  readonly port: number;
  readonly maxInFlight: number;
  /** Where the actor-transport face listens (components connect here with cluster-CA certificates). */
  readonly actorPort: number;
  readonly logLevel: Level;
  readonly secret: string;
}

function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ApiServerProcessConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      dir: { type: 'string' },
      name: { type: 'string', default: 'apiserver-1' },
      replicas: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'listen-host': { type: 'string' },
      port: { type: 'string', default: '6443' },
      'max-in-flight': { type: 'string', default: '400' },
      'actor-port': { type: 'string', default: '7201' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  const fail = (message: string): never => {
    throw new Error(`apiserver: ${message}`);
  };
  const dir = values.dir ?? fail('--dir is required');
  const replicaList = values.replicas ?? fail('--replicas is required');
  const replicas = replicaList
    .split(',')
    .filter((part) => part.length > 0)
    .map((part) => part.slice(part.indexOf('=') + 1));
  if (replicas.length === 0) fail('--replicas names no replica');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`--port ${values.port} is not a port`);
  const maxInFlight = Number(values['max-in-flight']);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) fail('--max-in-flight must be a positive integer');
  const actorPort = Number(values['actor-port']);
  if (!Number.isInteger(actorPort) || actorPort < 1 || actorPort > 65535) fail(`--actor-port ${values['actor-port']} is not a port`);
  const level = values['log-level'] as Level;
  if (!LEVELS.includes(level)) fail(`--log-level must be one of ${LEVELS.join(', ')}`);
  const secret = env[CLUSTER_SECRET_ENV] ?? fail(`${CLUSTER_SECRET_ENV} is not set`);
  return { dir, name: values.name, replicas, host: values.host, ...(values['listen-host'] === undefined ? {} : { listenHost: values['listen-host'] }), port, maxInFlight, actorPort, logLevel: level, secret };
}

export interface RunningApiServer {
  readonly server: ApiServer;
  readonly store: RemoteStoreClient;
  /** The actor node components dial (`name@host:actorPort`). */
  readonly actorNode: string;
  close(): Promise<void>;
}

/** Builds and starts one API server from its process config. */
export async function runApiServer(config: ApiServerProcessConfig, log: Logger): Promise<RunningApiServer> {
  // The serving certificate names the advertised host (a copied pki/ gets a new one signed by the same CA).
  const pki = ensureClusterPki(config.dir, { log, extraHosts: [config.host] });
  const tokens = ensureTokenFile(config.dir);
  const store = await RemoteStoreClient.connect({ replicas: config.replicas, secret: config.secret, log: log.child({ component: 'store-client' }), name: `${config.name}-store` });
  const { authorizer, cache } = createRbacAuthorizer();
  // pods/log asks node agents over the actor system built below (docs/decisions/0008-pod-logs.md).
  let actorSystem: ActorSystem | undefined;
  try {
    const server = await startApiServer({
      store,
      tls: { key: pki.apiServer.key, cert: pki.apiServer.cert, ca: pki.caCert },
      host: config.listenHost ?? config.host,
      port: config.port,
      authenticator: createAuthenticator({ tokens: tokens.tokens }),
      authorizer,
      rbacCache: cache,
      bootstrapObjects: bootstrapPolicy(),
      admission: [nodeRestriction],
      limits: { maxInFlight: config.maxInFlight },
      log,
      podLogs: actorPodLogReader(() => actorSystem),
      nodeStats: actorNodeStatsReader(() => actorSystem),
      serviceAccountKeys: pki.serviceAccountKeys,
    });
    // The same pipeline for the cluster's components, over the actor transport: a peer must present a
    // certificate of the cluster CA, and its subject (CN user, O groups) is who it acts as.
    const transport = new WsTransport({
      node: `${config.name}@${config.host}:${config.actorPort}`,
      incarnation: hyperid()(),
      tls: { ca: pki.caCert, cert: pki.apiServer.cert, key: pki.apiServer.key },
      listen: { host: config.listenHost ?? config.host, port: config.actorPort },
      log: log.child({ component: 'actor-transport' }),
      clock: systemClock,
    });
    await transport.start();
    const system = createActorSystem({
      node: transport.local.node,
      incarnation: transport.local.incarnation,
      clock: systemClock,
      random: new Prng(Date.now()),
      log,
      // `kplane chaos partition|delay|drop` rules, when the launcher asked for them (docs/chaos.md).
      transport: withLinkFaults(transport, new Prng(Date.now()), log),
      protocol: API_SERVER_PROTOCOL,
    });
    actorSystem = system;
    system.spawn(apiEndpointBehavior({ handler: server.handler, maxCallsInFlight: config.maxInFlight }), { name: API_ENDPOINT_PATH.slice('/user/'.length) });
    return {
      server,
      store,
      actorNode: transport.local.node,
      async close() {
        await system.terminate();
        await transport.close();
        await server.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

async function main(): Promise<void> {
  const config = parseConfig(process.argv.slice(2), process.env);
  const log = createLogger({ node: config.name, level: config.logLevel });
  const running = await runApiServer(config, log);
  log.info({ url: running.server.url, actorNode: running.actorNode }, 'apiserver ready');
  process.send?.({ type: 'kplane.ready', url: running.server.url, actorNode: running.actorNode });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    log.info('apiserver stopping');
    void running.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'apiserver stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // Losing the launcher's IPC channel means the launcher is gone: stop rather than linger.
  process.on('disconnect', stop);
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  main().catch((error: unknown) => {
    process.stderr.write(`${JSON.stringify({ level: 60, msg: 'apiserver failed to start', err: String(error) })}\n`);
    process.exit(1);
  });
}
