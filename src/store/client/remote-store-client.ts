// RemoteStoreClient: the StoreClient (client.ts) of a Raft group of store replica processes, over the
// actor transport. This is what the API server (and the store's process-level tests and benchmark)
// use to talk to the store.
//
//   const client = await RemoteStoreClient.connect({ replicas: ['replica-1@127.0.0.1:7101', ...], secret });
//   await client.put({ key: 'a', value: bytes });
//   await client.close();
//
// It runs its own ActorSystem on a dial-only WsTransport (node `store-client-<hyperid>`, the cluster
// secret, CLIENT_PROTOCOL). Behaviour:
//   - leader discovery and retries: replica-router.ts (follows NOT_LEADER hints, moves on from silent
//     or dead replicas, remembers the leader); a lost connection to a replica (the transport's
//     peer-down event, tapped below) abandons the asks in flight to it at once;
//   - exactly-once writes: every write carries a client session; its retries reuse it (session-lanes.ts
//     explains the lanes that make concurrent writes from one client safe);
//   - an overall deadline per call (`requestTimeoutMs`, default 10 s): past it the call rejects with
//     StoreTimeoutError when a write may have applied, UnavailableError otherwise;
//   - reads are linearizable (served through the leader, ReadIndex) unless `serializable`, which any
//     replica answers from its local state (the leader is still asked first);
//   - watches survive replica deaths and restores without gaps or duplicates (remote-watches.ts).
// Beyond StoreClient: `status(node)` (one replica's Raft status), `metrics(node)`, `membership()` and
// `leaseTimeToLive`.
// The replica list follows the group's membership: every `membershipRefreshMs` the client asks for it
// and adds the replicas that joined (and drops removed ones when the leader itself answered), so it
// can fail over to a replica added after it started (docs/decisions/0009-store-membership.md).

import { withPeerDownListener } from '../../actors/peer-down-tap.js';
import hyperid from 'hyperid';
import type { Logger } from 'pino';
import type { Clock, NodeId, TimerHandle } from '../../actors/index.js';
import { createActorSystem, Prng, silentLogger, systemClock, type ActorSystem } from '../../actors/index.js';
import { WsTransport } from '../../actors/ws-transport.js';
import type { CompactResult, LeaseGrantResult, LeaseKeepAliveResult, ReadOptions, StoreClient, WatchHandle, WatchListener } from '../client.js';
import type { ApplyResult, CommandBody, DeleteRangeRequest, DeleteRangeResult, Header, PutRequest, PutResult, RangeRequest, RangeResult, TxnRequest, TxnResult } from '../commands.js';
import type { ReplicaStatus } from '../replica/engine.js';
import type { MembershipChange, MembershipStatus } from '../replica/membership.js';
import { CLIENT_PROTOCOL, STORE_MAX_FRAME_BYTES, type StoreOperation } from '../replica/protocol.js';
import type { TimeToLive } from '../state-machine.js';
import type { WatchRequest } from '../watch-hub.js';
import { RemoteWatches } from './remote-watches.js';
import { ReplicaRouter } from './replica-router.js';
import { SessionLanes } from './session-lanes.js';

export const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
export const ATTEMPT_TIMEOUT_MS_DEFAULT = 3_000;
export const MAX_CONCURRENT_WRITES_DEFAULT = 256;
export const CLIENT_HEARTBEAT_INTERVAL_MS_DEFAULT = 200;
export const CLIENT_HEARTBEAT_TIMEOUT_MS_DEFAULT = 1_000;

export interface RemoteStoreClientOptions {
  /** The replicas' actor nodes (`replica-N@host:port`), in any order. */
  readonly replicas: readonly NodeId[];
  /** The cluster secret of the actor transport. */
  readonly secret: string | Uint8Array;
  /** Default: silent. */
  readonly log?: Logger;
  /** Default: systemClock. */
  readonly clock?: Clock;
  /** Overall deadline of one call (all its retries), ms. Default 10 s. */
  readonly requestTimeoutMs?: number;
  /** Timeout of one ask to one replica, ms. Default 3 s (a dead replica is noticed sooner, by the heartbeats). */
  readonly attemptTimeoutMs?: number;
  /** Writes in flight at once (= client sessions used); more wait. Default 256. */
  readonly maxConcurrentWrites?: number;
  /** The client's failure detector: a replica silent for heartbeatTimeoutMs is treated as dead. */
  readonly heartbeatIntervalMs?: number;
  readonly heartbeatTimeoutMs?: number;
  /** Node-name prefix of this client (default `store-client`); a unique suffix is appended. */
  readonly name?: string;
  /** How often to refresh the replica list from the group's membership, ms (default 5 s; 0: never). */
  readonly membershipRefreshMs?: number;
}

export const MEMBERSHIP_REFRESH_MS_DEFAULT = 5_000;

export class RemoteStoreClient implements StoreClient {
  /** This client instance's session id prefix (hyperid). */
  readonly clientId: string;
  private readonly router: ReplicaRouter;
  private readonly watches: RemoteWatches;
  private readonly lanes: SessionLanes;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly requestTimeoutMs: number;
  private closing: Promise<void> | undefined;
  private refreshTimer: TimerHandle | undefined;

  private constructor(
    private readonly system: ActorSystem,
    private readonly transport: WsTransport,
    clientId: string,
    options: RemoteStoreClientOptions,
  ) {
    this.clientId = clientId;
    this.clock = options.clock ?? systemClock;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    const log = options.log ?? silentLogger();
    this.log = log;
    const attemptTimeoutMs = options.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS_DEFAULT;
    this.router = new ReplicaRouter({ system, replicas: options.replicas, clock: this.clock, log, attemptTimeoutMs });
    this.watches = new RemoteWatches({ system, router: this.router, clock: this.clock, log, attemptTimeoutMs });
    this.lanes = new SessionLanes(clientId, options.maxConcurrentWrites ?? MAX_CONCURRENT_WRITES_DEFAULT);
    const refreshMs = options.membershipRefreshMs ?? MEMBERSHIP_REFRESH_MS_DEFAULT;
    if (refreshMs > 0) {
      const refresh = (): void => {
        this.refreshTimer = undefined;
        void this.refreshMembership().finally(() => {
          if (this.closing === undefined) this.refreshTimer = this.clock.setTimer(refreshMs, refresh);
        });
      };
      this.refreshTimer = this.clock.setTimer(refreshMs, refresh);
    }
  }

  /** The group's membership as the leader (or, failing that, any replica) sees it. */
  membership(timeoutMs = 2_000): Promise<MembershipStatus> {
    return this.router.call({ kind: 'membership' }, { deadlineMs: this.clock.now() + timeoutMs, write: false }) as Promise<MembershipStatus>;
  }

  /**
   * On the leader: adds a learner, promotes it, or removes a replica (membership.ts); resolves with the
   * membership once applied. Refusals are StoreErrors: CONF_CHANGE_PENDING and NOT_CAUGHT_UP are retryable.
   */
  changeMembership(change: MembershipChange, timeoutMs = this.requestTimeoutMs): Promise<MembershipStatus> {
    return this.router.call({ kind: 'changeMembership', change }, { deadlineMs: this.clock.now() + timeoutMs, write: true }) as Promise<MembershipStatus>;
  }

  /** Asks for the membership and updates the replica list; failures are ignored (the next round tries again). */
  async refreshMembership(): Promise<void> {
    try {
      const membership = await this.membership();
      const nodes = membership.members.flatMap((member) => (member.node === undefined ? [] : [member.node]));
      if (nodes.length === 0) return;
      // Only the leader's view may drop a replica: a removed replica that still runs has a stale one.
      const current = this.router.replicas;
      const next = membership.replica === membership.leader ? nodes : [...current, ...nodes.filter((node) => !current.includes(node))];
      if (next.length === current.length && next.every((node) => current.includes(node))) return;
      const added = this.router.updateReplicas(next);
      for (const node of added) this.watches.replicaAdded(node);
      this.log.info({ replicas: next, added }, 'store replica list changed with the membership');
    } catch {
      // An older replica without the operation, or none answering now.
    }
  }

  /** Builds the client's actor system (nothing is dialled until the first request). */
  static connect(options: RemoteStoreClientOptions): Promise<RemoteStoreClient> {
    const clientId = hyperid({ urlSafe: true })();
    const clock = options.clock ?? systemClock;
    const log = options.log ?? silentLogger();
    const node = `${options.name ?? 'store-client'}-${clientId}`.slice(0, 64);
    const transport = new WsTransport({
      node,
      incarnation: clientId,
      secret: options.secret,
      log,
      clock,
      reconnectBackoffMinMs: 20,
      reconnectBackoffMaxMs: 500,
      maxFrameBytes: STORE_MAX_FRAME_BYTES + 1024,
    });
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? CLIENT_HEARTBEAT_INTERVAL_MS_DEFAULT;
    const peerDown: { listener: (node: NodeId) => void } = { listener: () => undefined };
    const system = createActorSystem(
      {
        node: transport.local.node,
        incarnation: transport.local.incarnation,
        clock,
        random: new Prng(Number.parseInt(clientId.slice(0, 8), 36) || 1),
        log,
        transport: withPeerDownListener(transport, (node) => peerDown.listener(node)),
        protocol: CLIENT_PROTOCOL,
      },
      { heartbeatIntervalMs, heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? Math.max(CLIENT_HEARTBEAT_TIMEOUT_MS_DEFAULT, heartbeatIntervalMs * 3), maxFrameBytes: STORE_MAX_FRAME_BYTES },
    );
    const client = new RemoteStoreClient(system, transport, clientId, options);
    peerDown.listener = (node) => client.watches.connectionLost(node);
    return Promise.resolve(client);
  }

  /** The replica this client currently believes leads. */
  get leaderNode(): NodeId {
    return this.router.leaderNode;
  }

  range(request: RangeRequest, options: ReadOptions = {}): Promise<RangeResult> {
    const serializable = options.serializable === true;
    const call = { deadlineMs: this.deadline(), write: false, anyReplica: serializable, ...(request.revision === undefined ? {} : { revision: request.revision }) };
    return this.router.call({ kind: 'range', request, serializable }, call) as Promise<RangeResult>;
  }

  async put(request: PutRequest): Promise<PutResult> {
    const result = await this.write({ type: 'put', put: request });
    return result.type === 'put' ? result.put : unexpected(result);
  }

  async deleteRange(request: DeleteRangeRequest): Promise<DeleteRangeResult> {
    const result = await this.write({ type: 'deleteRange', deleteRange: request });
    return result.type === 'deleteRange' ? result.deleteRange : unexpected(result);
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    const result = await this.write({ type: 'txn', txn: request });
    return result.type === 'txn' ? result.txn : unexpected(result);
  }

  async compact(revision: number): Promise<CompactResult> {
    const result = await this.write({ type: 'compact', revision });
    return result.type === 'compact' ? { header: result.header, compactRevision: result.compactRevision } : unexpected(result);
  }

  async leaseGrant(ttlSeconds: number, id = 0): Promise<LeaseGrantResult> {
    const result = await this.write({ type: 'leaseGrant', id, ttlSeconds });
    return result.type === 'leaseGrant' ? { header: result.header, id: result.id, ttlSeconds: result.ttlSeconds } : unexpected(result);
  }

  async leaseRevoke(id: number): Promise<{ readonly header: Header }> {
    const result = await this.write({ type: 'leaseRevoke', id });
    return result.type === 'leaseRevoke' ? { header: result.header } : unexpected(result);
  }

  async leaseKeepAlive(id: number): Promise<LeaseKeepAliveResult> {
    const result = await this.write({ type: 'leaseKeepAlive', id });
    return result.type === 'leaseKeepAlive' ? { header: result.header, id: result.id, ttlSeconds: result.ttlSeconds } : unexpected(result);
  }

  /** A lease's remaining time (linearizable read). */
  leaseTimeToLive(id: number, withKeys = false): Promise<TimeToLive> {
    return this.router.call({ kind: 'timeToLive', id, withKeys }, { deadlineMs: this.deadline(), write: false }) as Promise<TimeToLive>;
  }

  watch(request: WatchRequest, listener: WatchListener): Promise<WatchHandle> {
    return this.watches.open(request, listener, this.deadline());
  }

  /** One replica's Raft status (asks only that replica; rejects UnavailableError if it does not answer in time). */
  status(node: NodeId, timeoutMs = 1_000): Promise<ReplicaStatus> {
    const op: StoreOperation = { kind: 'status' };
    return this.router.call(op, { deadlineMs: this.clock.now() + timeoutMs, write: false, onlyNode: node }) as Promise<ReplicaStatus>;
  }

  /** One replica's metrics, Prometheus text format (WAL fsync and apply latency, leader changes, pending proposals). */
  metrics(node: NodeId, timeoutMs = 1_000): Promise<string> {
    return this.router.call({ kind: 'metrics' }, { deadlineMs: this.clock.now() + timeoutMs, write: false, onlyNode: node }) as Promise<string>;
  }

  /** Cancels every watch and stops the client's actor system and transport. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.refreshTimer !== undefined) this.clock.cancelTimer(this.refreshTimer);
      this.watches.close();
      this.router.close();
      await this.system.terminate();
      await this.transport.close();
    })();
    return this.closing;
  }

  // ---- internals -------------------------------------------------------------------------------

  private deadline(): number {
    return this.clock.now() + this.requestTimeoutMs;
  }

  /** One write: a session lane for its whole life, the same session on every retry. */
  private async write(body: CommandBody): Promise<ApplyResult> {
    const deadlineMs = this.deadline();
    const lane = await this.lanes.acquire();
    try {
      const session = SessionLanes.next(lane);
      return (await this.router.call({ kind: 'write', body, session }, { deadlineMs, write: true })) as ApplyResult;
    } finally {
      this.lanes.release(lane);
    }
  }
}

function unexpected(result: ApplyResult): never {
  throw new Error(`store answered ${result.type} to a different request`);
}

/**
 * The client's transport, with connection losses also reported to `onPeerDown` (the remoting layer
 * only logs them and waits for its heartbeat timeout): a lost connection may have lost requests,
 * replies and watch batches, so the client retries and re-opens at once instead of waiting.
 */
