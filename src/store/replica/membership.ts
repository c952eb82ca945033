// The store group's membership beyond the Raft core's ConfState: who may be added or removed and
// how (docs/decisions/0009-store-membership.md), and the address book (replica id -> actor node).
//
// The address book is replicated with the membership: a ConfChange that adds a replica carries its
// node id in the ConfChange context, and every replica sets it in its book when it applies the change
// (a removal deletes it). Snapshots carry the whole book (wrapSnapshot), so a replica restored from
// one, or a newcomer caught up by one, knows every peer. A replica starts from its `--replicas` list
// and overlays what the log and snapshots say.

import type { NodeId } from '../../actors/index.js';
import { ConfChangeType, type ConfChange, type ConfState, type ReplicaId } from '../../raft/index.js';
import { StoreError } from '../errors.js';

/** A learner may be promoted once its match index is within this many entries of the leader's commit. */
export const PROMOTE_MAX_LAG = 64;

export type MembershipAction = 'add-learner' | 'promote' | 'remove';

export interface MembershipChange {
  readonly action: MembershipAction;
  readonly id: ReplicaId;
  /** add-learner: the new replica's actor node (`store-4@host:port`). */
  readonly node?: NodeId;
}

export interface MemberStatus {
  readonly id: ReplicaId;
  readonly node?: NodeId;
  readonly role: 'voter' | 'learner';
  /** The leader's view of its match index (only when answered by the leader). */
  readonly match?: number;
}

export interface MembershipStatus {
  /** The replica that answered, and who it believes leads. */
  readonly replica: ReplicaId;
  readonly leader: ReplicaId;
  readonly commitIndex: number;
  readonly members: readonly MemberStatus[];
  /** Every address this replica knows (members and not), for clients that refresh their list. */
  readonly addresses: readonly { readonly id: ReplicaId; readonly node: NodeId }[];
}

/** The single-change ConfChange a validated request stands for. */
export function confChangeFor(change: MembershipChange): ConfChange {
  switch (change.action) {
    case 'add-learner':
      return { changes: [{ type: ConfChangeType.AddLearner, replica: change.id }], ...(change.node === undefined ? {} : { context: change.node }) };
    case 'promote':
      return { changes: [{ type: ConfChangeType.AddVoter, replica: change.id }] };
    case 'remove':
      return { changes: [{ type: ConfChangeType.RemoveReplica, replica: change.id }] };
  }
}

/** Applies an applied ConfChange to the address book: an added replica's address, a removed one's deletion. */
export function applyToAddressBook(book: Map<ReplicaId, NodeId>, change: ConfChange): void {
  for (const single of change.changes) {
    if (single.type === ConfChangeType.RemoveReplica) book.delete(single.replica);
    else if (change.context !== undefined && change.changes.length === 1) book.set(single.replica, change.context);
  }
}

/**
 * Checks a request against the current configuration; returns why it is refused, or undefined. Only
 * one replica changes at a time, never into or out of a joint configuration, and never below one voter.
 */
export function refuseChange(conf: ConfState, change: MembershipChange): StoreError | undefined {
  const invalid = (message: string): StoreError => new StoreError('INVALID_REQUEST', message, false);
  if (!Number.isSafeInteger(change.id) || change.id < 1) return invalid(`bad replica id ${String(change.id)}`);
  if (conf.votersOutgoing.length > 0) return new StoreError('CONF_CHANGE_PENDING', 'the group is in a joint configuration; try again', true);
  const voter = conf.voters.includes(change.id);
  const learner = conf.learners.includes(change.id);
  switch (change.action) {
    case 'add-learner':
      if (voter || learner) return invalid(`replica ${change.id} is already a ${voter ? 'voter' : 'learner'}`);
      if (typeof change.node !== 'string' || !/^[^@\s]+@[^\s]+:\d+$/.test(change.node)) return invalid('add-learner needs the replica\'s node (name@host:port)');
      return undefined;
    case 'promote':
      if (voter) return invalid(`replica ${change.id} is already a voter`);
      if (!learner) return invalid(`replica ${change.id} is not a learner (add it first)`);
      return undefined;
    case 'remove':
      if (!voter && !learner) return invalid(`replica ${change.id} is not a member`);
      if (voter && conf.voters.length === 1) return invalid(`replica ${change.id} is the last voter`);
      return undefined;
  }
}

export function validateMembershipChange(raw: unknown): MembershipChange {
  if (typeof raw !== 'object' || raw === null) throw new Error('membership change must be an object');
  const { action, id, node } = raw as Record<string, unknown>;
  if (action !== 'add-learner' && action !== 'promote' && action !== 'remove') throw new Error('membership action must be add-learner, promote or remove');
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) throw new Error('membership id must be a positive integer');
  if (node !== undefined && (typeof node !== 'string' || node.length > 256)) throw new Error('membership node must be a string');
  return node === undefined ? { action, id } : { action, id, node };
}

// ---- the snapshot envelope ----------------------------------------------------------------------

const MAGIC = new TextEncoder().encode('KPLANE-MEMBERS1\n');
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Snapshot data: MAGIC, a 4-byte length, the address book as JSON, then the state machine's data. */
export function wrapSnapshot(book: ReadonlyMap<ReplicaId, NodeId>, machine: Uint8Array): Uint8Array {
  const json = encoder.encode(JSON.stringify([...book.entries()]));
  const out = new Uint8Array(MAGIC.length + 4 + json.length + machine.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(MAGIC.length, json.length);
  out.set(json, MAGIC.length + 4);
  out.set(machine, MAGIC.length + 4 + json.length);
  return out;
}

/** The address book and state machine data of a snapshot (an older snapshot without a book: none). */
export function unwrapSnapshot(data: Uint8Array): { readonly book?: Map<ReplicaId, NodeId>; readonly machine: Uint8Array } {
  if (data.length < MAGIC.length + 4 || !MAGIC.every((byte, index) => data[index] === byte)) return { machine: data };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const length = view.getUint32(MAGIC.length);
  const start = MAGIC.length + 4;
  const parsed = JSON.parse(decoder.decode(data.subarray(start, start + length))) as unknown;
  const book = new Map<ReplicaId, NodeId>();
  if (Array.isArray(parsed)) {
    for (const item of parsed) {
      if (Array.isArray(item) && typeof item[0] === 'number' && typeof item[1] === 'string') book.set(item[0], item[1]);
    }
  }
  return { book, machine: data.subarray(start + length) };
}
