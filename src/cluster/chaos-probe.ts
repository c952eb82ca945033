// Probes a running local cluster from outside: what `kplane status` prints and what `kplane chaos`
// uses to find its targets (which replica leads, which follow). It reads the cluster directory (the
// state file with pids and ports, the config the cluster was started with, the cluster secret and
// CA), asks each store replica for its Raft status over the actor transport (a RemoteStoreClient
// with the cluster secret, one replica at a time), and asks each API server's /readyz over HTTPS
// with the cluster CA, then (as the admin) lists nodes and pods. Nothing here changes the cluster.
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { RemoteStoreClient } from '../store/client/remote-store-client.js';
import type { ReplicaStatus } from '../store/replica/engine.js';
import type { MembershipStatus } from '../store/replica/membership.js';
import { isAlive, type ClusterDir, type ProcessState } from './cluster-dir.js';
import { defineCluster, processAddress, type ClusterConfig, type ClusterConfigInput } from './config.js';
import { storeReplicas } from './plan.js';

/** The config a cluster was started with, kept beside the state file so status and chaos need no --config. */
export const RECORDED_CONFIG_FILE = 'config.json';
/** How long one replica or API server has to answer a probe. */
export const PROBE_TIMEOUT_MS = 1_500;

export function recordClusterConfig(dir: ClusterDir, config: ClusterConfig): void {
  const path = join(dir.root, RECORDED_CONFIG_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(config, null, 2));
  renameSync(`${path}.tmp`, path);
}

/** The recorded config, or undefined when the directory has none (a cluster started by an older build). */
export function readRecordedConfig(dir: ClusterDir): ClusterConfig | undefined {
  try {
    return defineCluster(JSON.parse(readFileSync(join(dir.root, RECORDED_CONFIG_FILE), 'utf8')) as ClusterConfigInput);
  } catch {
    return undefined;
  }
}

export type ReplicaProbe =
  | ({ readonly reachable: true } & ReplicaStatus)
  | { readonly reachable: false; readonly error: string };

export interface ApiProbe {
  readonly url: string;
  readonly ready: boolean;
  /** The body of /readyz, or why it could not be fetched. */
  readonly detail: string;
}

export interface ProcessProbe extends ProcessState {
  readonly alive: boolean;
  /** Store replicas only. */
  readonly replica?: ReplicaProbe;
  /** API servers only. */
  readonly api?: ApiProbe;
}

/** What the API says about nodes and pods (absent when the API could not be asked). */
export interface ObjectsProbe {
  readonly nodes: { readonly total: number; readonly ready: number };
  /** Pod count per status.phase (Pending, Running, …). */
  readonly podsByPhase: Readonly<Record<string, number>>;
}

export interface ClusterProbe {
  readonly dir: string;
  readonly objects?: ObjectsProbe;
  readonly configName: string;
  readonly launcherPid: number;
  readonly launcherAlive: boolean;
  readonly ready: boolean;
  readonly processes: readonly ProcessProbe[];
  /** The store group's membership as its leader (or a replica) reports it; absent when none answered. */
  readonly storeMembership?: MembershipStatus;
}

/** The store group's membership (voters, learners, addresses), or undefined when no replica answers. */
export async function probeMembership(dir: ClusterDir, config: ClusterConfig, timeoutMs = PROBE_TIMEOUT_MS): Promise<MembershipStatus | undefined> {
  const replicas = storeReplicas(config, dir.readMembers());
  const client = await RemoteStoreClient.connect({ replicas: replicas.map((replica) => replica.node), secret: dir.secret(), name: 'kplane-probe', attemptTimeoutMs: timeoutMs, membershipRefreshMs: 0 });
  try {
    return await client.membership(timeoutMs * 2);
  } catch {
    return undefined;
  } finally {
    await client.close();
  }
}

/** Asks every store replica of `config` for its Raft status (in parallel); keyed by process name. */
export async function probeReplicas(dir: ClusterDir, config: ClusterConfig, timeoutMs = PROBE_TIMEOUT_MS): Promise<Map<string, ReplicaProbe>> {
  const replicas = storeReplicas(config, dir.readMembers());
  const client = await RemoteStoreClient.connect({ replicas: replicas.map((replica) => replica.node), secret: dir.secret(), name: 'kplane-probe', attemptTimeoutMs: timeoutMs, membershipRefreshMs: 0 });
  try {
    const answers = await Promise.all(
      replicas.map(async (replica): Promise<[string, ReplicaProbe]> => {
        try {
          const status = await client.status(replica.node, timeoutMs);
          return [replica.name, { reachable: true, ...status }];
        } catch (error) {
          return [replica.name, { reachable: false, error: error instanceof Error ? error.message : String(error) }];
        }
      }),
    );
    return new Map(answers);
  } finally {
    await client.close();
  }
}

/** GET /readyz on one API server, trusting only the cluster CA. */
export function probeApiServer(url: string, caCert: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ApiProbe> {
  return new Promise((resolve) => {
    const request = httpsRequest(`${url}/readyz`, { ca: caCert, timeout: timeoutMs, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ url, ready: response.statusCode === 200, detail: body.trim().slice(0, 200) }));
      response.on('error', (error) => resolve({ url, ready: false, detail: error.message }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    request.on('error', (error) => resolve({ url, ready: false, detail: error.message }));
    request.end();
  });
}

/** GET `path` as JSON with the admin client certificate; undefined on any failure. */
function getJson(url: string, dir: ClusterDir, caCert: string, timeoutMs: number): Promise<unknown> {
  let cert: string;
  let key: string;
  try {
    cert = readFileSync(join(dir.root, 'pki', 'admin.crt'), 'utf8');
    key = readFileSync(join(dir.root, 'pki', 'admin.key'), 'utf8');
  } catch {
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const request = httpsRequest(url, { ca: caCert, cert, key, timeout: timeoutMs, agent: false, headers: { accept: 'application/json' } }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(response.statusCode === 200 ? (JSON.parse(body) as unknown) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      response.on('error', () => resolve(undefined));
    });
    request.on('timeout', () => request.destroy(new Error('timeout')));
    request.on('error', () => resolve(undefined));
    request.end();
  });
}

interface ListShape {
  readonly items?: readonly {
    readonly status?: { readonly phase?: string; readonly conditions?: readonly { readonly type?: string; readonly status?: string }[] };
  }[];
}

/** Nodes (and how many are Ready) and pods by phase, asked of the API server at `url` as the admin. */
export async function probeObjects(dir: ClusterDir, url: string, caCert: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<ObjectsProbe | undefined> {
  const [nodes, pods] = (await Promise.all([getJson(`${url}/api/v1/nodes`, dir, caCert, timeoutMs), getJson(`${url}/api/v1/pods`, dir, caCert, timeoutMs)])) as [ListShape | undefined, ListShape | undefined];
  if (nodes === undefined || pods === undefined) return undefined;
  const nodeItems = nodes.items ?? [];
  const ready = nodeItems.filter((node) => node.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True') === true).length;
  const podsByPhase: Record<string, number> = {};
  for (const pod of pods.items ?? []) {
    const phase = pod.status?.phase ?? 'Unknown';
    podsByPhase[phase] = (podsByPhase[phase] ?? 0) + 1;
  }
  return { nodes: { total: nodeItems.length, ready }, podsByPhase };
}

export function clusterCaCert(dir: ClusterDir): string {
  return readFileSync(join(dir.root, 'pki', 'ca.crt'), 'utf8');
}

/**
 * The whole picture: every process of the state file with its liveness, plus Raft status for the
 * store replicas and readiness for the API servers (skipped when `config` is undefined).
 * Returns undefined when the directory has no state file.
 */
export async function probeCluster(dir: ClusterDir, config: ClusterConfig | undefined, timeoutMs = PROBE_TIMEOUT_MS): Promise<ClusterProbe | undefined> {
  const state = dir.readState();
  if (state === undefined) return undefined;
  const launcherAlive = isAlive(state.launcherPid);
  const replicas = config !== undefined && launcherAlive ? await probeReplicas(dir, config, timeoutMs) : new Map<string, ReplicaProbe>();
  const storeMembership = config !== undefined && launcherAlive ? await probeMembership(dir, config, timeoutMs) : undefined;
  const caCert = config !== undefined && launcherAlive ? clusterCaCert(dir) : undefined;
  const processes = await Promise.all(
    state.processes.map(async (entry): Promise<ProcessProbe> => {
      const alive = isAlive(entry.pid);
      const replica = replicas.get(entry.name);
      const httpsPort = entry.role === 'apiserver' ? entry.ports['https'] : undefined;
      const api = config !== undefined && caCert !== undefined && httpsPort !== undefined ? await probeApiServer(`https://${processAddress(config, entry.name).advertise}:${httpsPort}`, caCert, timeoutMs) : undefined;
      return { ...entry, alive, ...(replica === undefined ? {} : { replica }), ...(api === undefined ? {} : { api }) };
    }),
  );
  const readyApi = processes.find((entry) => entry.api?.ready === true)?.api;
  const objects = readyApi !== undefined && caCert !== undefined ? await probeObjects(dir, readyApi.url, caCert, timeoutMs) : undefined;
  return { dir: dir.root, ...(objects === undefined ? {} : { objects }), configName: state.configName, launcherPid: state.launcherPid, launcherAlive, ready: state.ready, processes, ...(storeMembership === undefined ? {} : { storeMembership }) };
}

/** The replica that leads in the highest term any replica reports, if one does. */
export function storeLeader(probe: ClusterProbe): ProcessProbe | undefined {
  let best: ProcessProbe | undefined;
  let bestTerm = -1;
  for (const entry of probe.processes) {
    const replica = entry.replica;
    if (replica?.reachable === true && replica.role === 'leader' && replica.term > bestTerm) {
      best = entry;
      bestTerm = replica.term;
    }
  }
  return best;
}

