// Membership changes by joint consensus (docs/decisions/0003-raft-membership.md). A ConfChange with
// one change is applied directly (one voter at a time is always safe); one with several changes
// enters a joint configuration C(old,new) in which every decision needs a majority of BOTH halves;
// an empty ConfChange leaves the joint configuration. The leader proposes that empty change itself
// once the joint configuration is applied ("auto-leave"). Pure functions over ConfState.

import { InvalidConfChangeError } from './errors.js';
import { ConfChangeType } from './types.js';
import type { ConfChange, ConfState, ReplicaId } from './types.js';

export function isJoint(conf: ConfState): boolean {
  return conf.votersOutgoing.length > 0;
}

/** The ConfState after applying `change` to `conf`; throws InvalidConfChangeError if not allowed. */
export function applyConfChangeTo(conf: ConfState, change: ConfChange): ConfState {
  if (change.changes.length === 0) return leaveJoint(conf);
  if (isJoint(conf)) throw new InvalidConfChangeError('a joint configuration must be left before another change');
  const voters = new Set(conf.voters);
  const learners = new Set(conf.learners);
  const learnersNext = new Set<ReplicaId>();
  const joint = change.changes.length > 1;
  const outgoing = joint ? new Set(conf.voters) : new Set<ReplicaId>();
  for (const single of change.changes) {
    const id = single.replica;
    if (!Number.isInteger(id) || id <= 0) throw new InvalidConfChangeError(`bad replica id ${id}`);
    switch (single.type) {
      case ConfChangeType.AddVoter:
        learners.delete(id);
        learnersNext.delete(id);
        voters.add(id);
        break;
      case ConfChangeType.AddLearner:
        voters.delete(id);
        // A voter of the outgoing half cannot also be a learner: it becomes one on leaving.
        if (outgoing.has(id)) learnersNext.add(id);
        else learners.add(id);
        break;
      case ConfChangeType.RemoveReplica:
        voters.delete(id);
        learners.delete(id);
        learnersNext.delete(id);
        break;
      default:
        throw new InvalidConfChangeError(`unknown change type ${String(single.type)}`);
    }
  }
  if (voters.size === 0) throw new InvalidConfChangeError('removing every voter');
  return {
    voters: sorted(voters),
    learners: sorted(learners),
    votersOutgoing: sorted(outgoing),
    learnersNext: sorted(learnersNext),
  };
}

function leaveJoint(conf: ConfState): ConfState {
  if (!isJoint(conf)) throw new InvalidConfChangeError('not in a joint configuration');
  const learners = new Set([...conf.learners, ...conf.learnersNext]);
  for (const id of conf.voters) learners.delete(id);
  return { voters: [...conf.voters], learners: sorted(learners), votersOutgoing: [], learnersNext: [] };
}

function sorted(ids: Set<ReplicaId>): ReplicaId[] {
  return [...ids].sort((a, b) => a - b);
}

/** Every replica in the configuration (voters of both halves and learners). */
export function allReplicas(conf: ConfState): Set<ReplicaId> {
  return new Set([...conf.voters, ...conf.votersOutgoing, ...conf.learners, ...conf.learnersNext]);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The data of a ConfChange entry (JSON: small, rare, and readable in a WAL dump): the list of
 * [type, replica] pairs, or { changes, context } when the change carries a context.
 */
export function encodeConfChange(change: ConfChange): Uint8Array {
  const changes = change.changes.map((c) => [c.type, c.replica]);
  return encoder.encode(JSON.stringify(change.context === undefined ? changes : { changes, context: change.context }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(data));
  } catch {
    throw new InvalidConfChangeError('undecodable conf change entry');
  }
  let context: string | undefined;
  if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
    const withContext = parsed as { changes?: unknown; context?: unknown };
    if (typeof withContext.context !== 'string') throw new InvalidConfChangeError('bad conf change context');
    context = withContext.context;
    parsed = withContext.changes;
  }
  if (!Array.isArray(parsed)) throw new InvalidConfChangeError('conf change entry is not a list');
  const changes = parsed.map((item: unknown) => {
    if (!Array.isArray(item) || item.length !== 2) throw new InvalidConfChangeError('bad conf change item');
    const [type, replica] = item as [unknown, unknown];
    if (type !== 0 && type !== 1 && type !== 2) throw new InvalidConfChangeError(`bad change type ${String(type)}`);
    if (typeof replica !== 'number') throw new InvalidConfChangeError('bad replica id');
    return { type: type as ConfChangeType, replica };
  });
  return context === undefined ? { changes } : { changes, context };
}
