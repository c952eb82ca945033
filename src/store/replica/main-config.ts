// The command line of a store replica process (src/store/replica/main.ts): its flags, parsed and
// checked into a ReplicaProcessConfig. Kept apart from main.ts so it can be tested without starting
// a replica.

import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import type { NodeId } from '../../actors/index.js';
import { parseNodeId } from '../../actors/ws-transport.js';
import { CLUSTER_SECRET_ENV } from '../../cluster/plan.js';
import type { ReplicaAddress } from './protocol.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ReplicaProcessConfig {
  readonly id: number;
  readonly replicas: readonly ReplicaAddress[];
  readonly dataDir: string;
  readonly secret: string;
  readonly logLevel: LogLevel;
  readonly tickMs: number;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly snapshotEveryEntries: number;
  readonly actorHeartbeatMs: number;
  /** The address to bind when not the one in its node id (--listen-host, e.g. 0.0.0.0; docs/multi-host.md). */
  readonly listenHost?: string;
  /** The group's configuration at log index 0 (--voters; default: every id of --replicas). */
  readonly bootstrapVoters: readonly number[];
  /** --join: this replica is not a bootstrap voter and waits to be added by the leader. */
  readonly join: boolean;
}

/** Parses `--voters 1,2,3`. */
export function parseVoters(text: string): number[] {
  const ids = text.split(',').filter((part) => part.length > 0).map(Number);
  if (ids.length === 0 || ids.some((id) => !Number.isSafeInteger(id) || id < 1)) throw new Error(`--voters: "${text}" is not a list of replica ids`);
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** Parses `--replicas 1=node,2=node`: ids are positive integers, nodes listening actor node ids. */
export function parseReplicaList(text: string): ReplicaAddress[] {
  const replicas = text.split(',').filter((part) => part.length > 0).map((part) => {
    const eq = part.indexOf('=');
    const id = Number(part.slice(0, eq));
    const node: NodeId = part.slice(eq + 1);
    if (eq <= 0 || !Number.isSafeInteger(id) || id < 1) throw new Error(`--replicas: bad replica id in "${part}"`);
    if (parseNodeId(node)?.endpoint === undefined) throw new Error(`--replicas: "${node}" is not a listening node id (name@host:port)`);
    return { id, node };
  });
  if (new Set(replicas.map((replica) => replica.id)).size !== replicas.length) throw new Error('--replicas: duplicate replica id');
  return replicas;
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return number;
}

export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv): ReplicaProcessConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      id: { type: 'string' },
      replicas: { type: 'string' },
      'data-dir': { type: 'string' },
      'secret-file': { type: 'string' },
      'log-level': { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-ticks': { type: 'string' },
      'heartbeat-ticks': { type: 'string' },
      'snapshot-every': { type: 'string' },
      'actor-heartbeat-ms': { type: 'string' },
      'listen-host': { type: 'string' },
      voters: { type: 'string' },
      join: { type: 'boolean' },
    },
    strict: true,
  });
  const id = positiveInteger('id', values.id, 0);
  if (values.replicas === undefined) throw new Error('--replicas is required');
  const replicas = parseReplicaList(values.replicas);
  if (!replicas.some((replica) => replica.id === id)) throw new Error(`--id ${id} is not in --replicas`);
  const bootstrapVoters = values.voters === undefined ? replicas.map((replica) => replica.id).sort((a, b) => a - b) : parseVoters(values.voters);
  const join = values.join === true;
  // A newcomer that counted itself a bootstrap voter would start a second configuration of the group.
  if (join && bootstrapVoters.includes(id)) throw new Error(`--join: replica ${id} is one of the bootstrap voters (--voters); a joining replica must not be`);
  if (!join && !bootstrapVoters.includes(id)) throw new Error(`replica ${id} is not a bootstrap voter (--voters): start it with --join to join a running group`);
  const dataDir = values['data-dir'];
  if (dataDir === undefined) throw new Error('--data-dir is required');
  const secret = values['secret-file'] !== undefined ? readFileSync(values['secret-file'], 'utf8').trim() : env[CLUSTER_SECRET_ENV];
  if (secret === undefined || secret.length === 0) throw new Error(`the cluster secret is required (${CLUSTER_SECRET_ENV} or --secret-file)`);
  const level = values['log-level'] ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    id,
    replicas,
    dataDir,
    secret,
    logLevel: level as LogLevel,
    tickMs: positiveInteger('tick-ms', values['tick-ms'], 100),
    electionTicks: positiveInteger('election-ticks', values['election-ticks'], 10),
    heartbeatTicks: positiveInteger('heartbeat-ticks', values['heartbeat-ticks'], 1),
    // As etcd (--snapshot-count 100000): a snapshot stops the world for a moment (the whole state is
    // encoded), every 10,000 entries it was the write p99 at a few thousand writes/s.
    snapshotEveryEntries: positiveInteger('snapshot-every', values['snapshot-every'], 100_000),
    actorHeartbeatMs: positiveInteger('actor-heartbeat-ms', values['actor-heartbeat-ms'], 200),
    ...(values['listen-host'] === undefined ? {} : { listenHost: values['listen-host'] }),
    bootstrapVoters,
    join,
  };
}
