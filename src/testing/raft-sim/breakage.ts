// Deliberate bugs for the simulator's self-test: proof that its checks can fail. Two are in the
// driver (network.ts reads `Network.broken`): 'vote-not-synced' sends a vote before it is fsynced,
// 'entries-not-synced' acknowledges entries without fsyncing them. One is in the core:
// 'commit-old-terms' lets a leader commit an entry of an earlier term by counting replicas, the
// rule Figure 8 of the Raft paper forbids. The core has no such option (it must not), so this patches
// one RaftNode instance's private commit step from outside; it relies on the core's private field
// names and is used only by the simulator.

import type { RaftNode } from '../../raft/core.js';
import type { ReplicaId } from '../../raft/types.js';

export type Breakage = 'vote-not-synced' | 'entries-not-synced' | 'commit-old-terms';
export const BREAKAGES: readonly Breakage[] = ['vote-not-synced', 'entries-not-synced', 'commit-old-terms'];

/** The private parts of RaftNode the 'commit-old-terms' patch touches. */
interface CommitInternals {
  readonly term: number;
  readonly quorum: { committedIndex(matchOf: (id: ReplicaId) => number): number };
  readonly progress: ReadonlyMap<ReplicaId, { readonly match: number }>;
  readonly log: { readonly committed: number; commitTo(index: number): void };
  maybeCommit(): boolean;
}

/** Makes `node` commit by counting alone, whatever the term of the entry (the Figure 8 bug). */
export function commitOldTerms(node: RaftNode): void {
  const internals = node as unknown as CommitInternals;
  const correct = internals.maybeCommit.bind(node);
  internals.maybeCommit = () => {
    if (correct()) return true;
    const index = internals.quorum.committedIndex((id) => internals.progress.get(id)?.match ?? 0);
    if (!Number.isFinite(index) || index <= internals.log.committed) return false;
    internals.log.commitTo(index);
    return true;
  };
}
