// Quorum arithmetic, separate from everything else: a majority configuration and a joint one
// (incoming AND outgoing majorities). Used for commit indexes, elections, ReadIndex acks and
// check-quorum. An empty majority agrees with everything, so a joint config with an empty outgoing
// half behaves like its incoming half alone.

import type { ReplicaId } from './types.js';

export type VoteResult = 'won' | 'lost' | 'pending';

export class MajorityConfig {
  readonly ids: ReadonlySet<ReplicaId>;
  constructor(ids: Iterable<ReplicaId>) {
    this.ids = new Set(ids);
  }

  /** The largest index that a majority has reached (Infinity for an empty config). */
  committedIndex(matchOf: (id: ReplicaId) => number): number {
    const n = this.ids.size;
    if (n === 0) return Number.POSITIVE_INFINITY;
    const matches: number[] = [];
    for (const id of this.ids) matches.push(matchOf(id));
    matches.sort((a, b) => b - a);
    return matches[Math.floor(n / 2)] as number;
  }

  voteResult(votes: ReadonlyMap<ReplicaId, boolean>): VoteResult {
    const n = this.ids.size;
    if (n === 0) return 'won';
    let granted = 0;
    let missing = 0;
    for (const id of this.ids) {
      const vote = votes.get(id);
      if (vote === undefined) missing++;
      else if (vote) granted++;
    }
    const quorum = Math.floor(n / 2) + 1;
    if (granted >= quorum) return 'won';
    if (granted + missing >= quorum) return 'pending';
    return 'lost';
  }
}

export class JointConfig {
  readonly incoming: MajorityConfig;
  readonly outgoing: MajorityConfig;
  constructor(incoming: Iterable<ReplicaId>, outgoing: Iterable<ReplicaId>) {
    this.incoming = new MajorityConfig(incoming);
    this.outgoing = new MajorityConfig(outgoing);
  }

  get isJoint(): boolean {
    return this.outgoing.ids.size > 0;
  }

  /** Every voter of either half. */
  voterIds(): Set<ReplicaId> {
    return new Set([...this.incoming.ids, ...this.outgoing.ids]);
  }

  isVoter(id: ReplicaId): boolean {
    return this.incoming.ids.has(id) || this.outgoing.ids.has(id);
  }

  committedIndex(matchOf: (id: ReplicaId) => number): number {
    return Math.min(this.incoming.committedIndex(matchOf), this.outgoing.committedIndex(matchOf));
  }

  voteResult(votes: ReadonlyMap<ReplicaId, boolean>): VoteResult {
    const a = this.incoming.voteResult(votes);
    const b = this.outgoing.voteResult(votes);
    if (a === 'won' && b === 'won') return 'won';
    if (a === 'lost' || b === 'lost') return 'lost';
    return 'pending';
  }
}
