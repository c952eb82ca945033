// `kplane join store-N` and `kplane leave store-N`: a store replica joins (or leaves) the running
// Raft group of a cluster (docs/decisions/0009-store-membership.md, docs/multi-host.md "Joining").
//
// join: records the replica in this cluster directory's StoreMembers (so this directory's launcher runs
// it, now and after a later `kplane up`), has it started here with `--join` (the caller's `startHere`:
// the running launcher takes it on, or a new launcher starts), asks the group's leader to add it as a
// learner, and promotes it to voter once it has caught up (the leader refuses earlier: NOT_CAUGHT_UP).
// leave: asks the leader to remove the replica (the core hands leadership over first if it leads),
// records the removal, and has the process stopped. Each step is idempotent: a join or leave that was
// interrupted can simply be run again.
import type { ClusterConfig } from './config.js';
import type { ClusterDir } from './cluster-dir.js';
import { storeReplica, storeReplicas } from './plan.js';
import { RemoteStoreClient } from '../store/client/remote-store-client.js';
import { StoreError } from '../store/errors.js';
import type { MembershipChange, MembershipStatus } from '../store/replica/membership.js';

/** How long join waits for the new replica to be added and caught up, and leave for the removal. */
export const MEMBERSHIP_DEADLINE_MS = 180_000;
const RETRY_PAUSE_MS = 500;

export class MembershipCommandError extends Error {
  readonly code = 'MEMBERSHIP_COMMAND';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'MembershipCommandError';
  }
}

/** The replica id of `store-N`; refuses anything else. */
export function storeReplicaId(name: string | undefined): number {
  const match = name === undefined ? null : /^store-([1-9][0-9]{0,5})$/.exec(name);
  if (match?.[1] === undefined) throw new MembershipCommandError(`expected a store replica name store-N, got ${JSON.stringify(name ?? '')}`);
  return Number(match[1]);
}

export interface MembershipCommandOptions {
  readonly dir: ClusterDir;
  readonly config: ClusterConfig;
  readonly say: (line: string) => void;
  /** Has this directory's launcher run the processes StoreMembers lists (and stop the removed ones); resolves once done. */
  readonly syncProcesses: () => Promise<void>;
  readonly deadlineMs?: number;
}

function roleOf(membership: MembershipStatus, id: number): 'voter' | 'learner' | undefined {
  return membership.members.find((member) => member.id === id)?.role;
}

export function describeMembership(membership: MembershipStatus): string {
  return membership.members.map((member) => `${member.id}${member.role === 'learner' ? ' (learner)' : ''}`).join(', ');
}

async function withClient<T>(options: MembershipCommandOptions, body: (client: RemoteStoreClient) => Promise<T>): Promise<T> {
  const replicas = storeReplicas(options.config, options.dir.readMembers()).map((replica) => replica.node);
  const client = await RemoteStoreClient.connect({ replicas, secret: options.dir.secret(), name: 'kplane-membership', membershipRefreshMs: 0 });
  try {
    // Replicas joined from other machines are not in this directory's list: learn them first.
    await client.refreshMembership();
    return await body(client);
  } finally {
    await client.close();
  }
}

/** Runs `step` until it resolves, retrying retryable store errors until the deadline. */
async function retrying<T>(deadline: number, what: string, step: () => Promise<T>, onRetry?: (error: StoreError) => void): Promise<T> {
  for (;;) {
    try {
      return await step();
    } catch (error) {
      const retryable = error instanceof StoreError && error.retryable;
      if (!retryable || Date.now() > deadline) {
        throw new MembershipCommandError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
      onRetry?.(error);
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  }
}

/** `kplane join store-N`: returns the membership once store-N is a voter. */
export async function joinStoreReplica(name: string | undefined, options: MembershipCommandOptions): Promise<MembershipStatus> {
  const id = storeReplicaId(name);
  const { dir, config, say } = options;
  const deadline = Date.now() + (options.deadlineMs ?? MEMBERSHIP_DEADLINE_MS);
  const members = dir.readMembers();
  if (members.removed.includes(id)) throw new MembershipCommandError(`store-${id} was removed from the group; a removed replica's id is not used again (join another id)`);
  if (id <= config.store.replicas) throw new MembershipCommandError(`store-${id} is one of the config's replicas (store.replicas is ${config.store.replicas}); join store-${config.store.replicas + 1} or above`);
  const replica = storeReplica(config, id);
  const apiPorts = Array.from({ length: config.apiServer.count }, (_, index) => [config.apiServer.port + index, config.apiServer.actorPort + index]).flat();
  if (apiPorts.includes(replica.port)) throw new MembershipCommandError(`store-${id}'s port ${replica.port} (store.basePort + ${id - 1}) is an API server's port`);

  return withClient(options, async (client) => {
    const before = await retrying(deadline, 'reading the store membership', () => client.membership());
    if (roleOf(before, id) === 'voter') {
      say(`kplane: store-${id} is already a voter (members: ${describeMembership(before)})`);
      return before;
    }
    if (!members.joined.includes(id)) dir.writeMembers({ joined: [...members.joined, id].sort((a, b) => a - b), removed: members.removed });
    say(`kplane: starting store-${id} (${replica.node}) with --join`);
    await options.syncProcesses();
    const add: MembershipChange = { action: 'add-learner', id, node: replica.node };
    await retrying(deadline, `adding store-${id} as a learner`, async () => {
      const now = await client.membership();
      if (roleOf(now, id) === undefined) await client.changeMembership(add);
    });
    say(`kplane: store-${id} is a learner; waiting for it to catch up`);
    let reported = false;
    const joined = await retrying(
      deadline,
      `promoting store-${id}`,
      async () => {
        const now = await client.membership();
        return roleOf(now, id) === 'voter' ? now : client.changeMembership({ action: 'promote', id });
      },
      (error) => {
        if (error.code === 'NOT_CAUGHT_UP' && !reported) {
          reported = true;
          say(`kplane: ${error.message}`);
        }
      },
    );
    say(`kplane: store-${id} is a voter (members: ${describeMembership(joined)})`);
    return joined;
  });
}

/** `kplane leave store-N`: returns the membership once store-N is removed and its process (if run here) stopped. */
export async function leaveStoreReplica(name: string | undefined, options: MembershipCommandOptions): Promise<MembershipStatus> {
  const id = storeReplicaId(name);
  const { dir, say } = options;
  const deadline = Date.now() + (options.deadlineMs ?? MEMBERSHIP_DEADLINE_MS);
  const after = await withClient(options, async (client) => {
    const before = await retrying(deadline, 'reading the store membership', () => client.membership());
    if (roleOf(before, id) === undefined) {
      say(`kplane: store-${id} is not a member (members: ${describeMembership(before)})`);
      return before;
    }
    const voters = before.members.filter((member) => member.role === 'voter').length;
    if (roleOf(before, id) === 'voter' && voters <= 3) say(`kplane: warning: ${voters - 1} voters will be left (a quorum of ${Math.floor((voters - 1) / 2) + 1})`);
    return retrying(deadline, `removing store-${id}`, async () => {
      const now = await client.membership();
      return roleOf(now, id) === undefined ? now : client.changeMembership({ action: 'remove', id });
    });
  });
  const members = dir.readMembers();
  if (!members.removed.includes(id)) {
    dir.writeMembers({ joined: members.joined.filter((joined) => joined !== id), removed: [...members.removed, id].sort((a, b) => a - b) });
  }
  await options.syncProcesses();
  say(`kplane: store-${id} removed (members: ${describeMembership(after)})`);
  return after;
}
