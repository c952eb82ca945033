// The simulator's safety checks, run as the driver works (a NetworkObserver) and at the end of every
// step, incrementally: each check looks only at what just changed (the entries of one Ready, one
// applied entry, a commit index that moved), so a step costs the same at step 10 as at step 10,000.
//   - at most one leader per term;
//   - the Figure 8 rule: a leader moves its commit index only onto an entry of its own term;
//   - log matching: one (index, term) names one entry, always with the same previous term, so equal
//     (index, term) means equal prefixes by induction;
//   - leader completeness: a new leader's log holds every entry known committed;
//   - state machine safety: replicas apply the committed entry at each index, in order, no gaps, and a
//     snapshot holds exactly the state machine at its index;
//   - no committed entry lost: a committed entry is never overwritten, and survives crashes (a leader
//     without it would fail leader completeness);
//   - durability before sending: a granted vote and an acknowledged entry are on the synced disk.
// The first violation is kept; the run stops at the end of the step.

import type { Ready } from '../../raft/core.js';
import type { Message } from '../../raft/messages.js';
import { EntryType } from '../../raft/types.js';
import type { Entry, ReplicaId, Snapshot } from '../../raft/types.js';
import type { Member, Network, NetworkObserver } from './network.js';

export type ViolationKind =
  | 'two-leaders'
  | 'commit-rule'
  | 'log-matching'
  | 'leader-completeness'
  | 'committed-lost'
  | 'state-machine-safety'
  | 'apply-order'
  | 'snapshot'
  | 'durability'
  | 'liveness'
  | 'core-threw';

export interface Violation {
  readonly kind: ViolationKind;
  readonly message: string;
}

const decoder = new TextDecoder();

/** A printable identity of an entry: equal keys mean equal entries. */
export function entryKey(entry: Entry): string {
  const text = entry.type === EntryType.ConfChange ? `conf:${[...entry.data].join('.')}` : entry.data.byteLength === 0 ? 'no-op' : decoder.decode(entry.data);
  return `${entry.term}/${text}`;
}

interface KnownEntry {
  readonly key: string;
  prevTerm: number | undefined;
}

export class SafetyChecker implements NetworkObserver {
  violation: Violation | undefined = undefined;
  /** Set by the runner so violations name the step. */
  step = 0;
  private readonly leadersByTerm = new Map<number, ReplicaId>();
  private readonly entriesByIndexTerm = new Map<string, KnownEntry>();
  /** committed[i]: key of the entry committed at index i (index 0 unused). */
  private readonly committed: (string | undefined)[] = [undefined];
  private readonly committedTerms: number[] = [0];
  /** The state machine's data entries in index order, and how many of them are at or below each index. */
  private readonly stateSequence: string[] = [];
  private readonly dataCountAt: number[] = [0];
  private readonly appliedIndex = new Map<ReplicaId, number>();
  /** Receives a line for the trace when the checker sees something worth telling (a new leader). */
  note: (line: string) => void = () => {};

  constructor(private readonly checkDurability = true) {}

  get committedIndex(): number {
    return this.committed.length - 1;
  }

  private fail(kind: ViolationKind, message: string): void {
    if (this.violation === undefined) this.violation = { kind, message: `${kind}: ${message}` };
  }

  /**
   * Before a Ready's entries are written: an entry that replaces one of the member's own entries must
   * not replace a committed one (a stale leader appending after the committed index to a log that never
   * held the committed entry is fine: its entries are simply not committed).
   */
  writing(member: Member, ready: Ready): void {
    const hard = ready.hardState;
    if (hard !== undefined && member.node.status().role === 'leader' && hard.commit > member.storage.initialState().hardState.commit) {
      const term = termAt(member, hard.commit);
      if (term !== hard.term) this.fail('commit-rule', `leader ${member.id} of term ${hard.term} commits index ${hard.commit}, an entry of term ${term} (Figure 8: only current-term entries commit by counting)`);
    }
    if (ready.snapshot !== undefined) return; // the log is replaced by a committed snapshot
    for (const entry of ready.entries) {
      if (entry.index > this.committedIndex) break;
      const committed = this.committed[entry.index];
      if (committed === undefined || committed === entryKey(entry)) continue;
      const storage = member.storage;
      if (entry.index < storage.firstIndex() || entry.index > storage.lastIndex()) continue;
      const old = storage.entries(entry.index, entry.index + 1, Number.POSITIVE_INFINITY)[0];
      if (old !== undefined && entryKey(old) === committed) {
        this.fail('committed-lost', `replica ${member.id} overwrote committed entry ${committed} at index ${entry.index} with ${entryKey(entry)}`);
      }
    }
  }

  written(member: Member, ready: Ready): void {
    const entries = ready.entries;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i] as Entry;
      const prevTerm = i === 0 ? termAt(member, entry.index - 1) : (entries[i - 1] as Entry).term;
      this.checkLogMatching(member.id, entry, prevTerm);
    }
    if (ready.softState?.role === 'leader') this.checkNewLeader(member);
  }

  private checkLogMatching(id: ReplicaId, entry: Entry, prevTerm: number | undefined): void {
    const where = `${entry.index}:${entry.term}`;
    const key = entryKey(entry);
    const known = this.entriesByIndexTerm.get(where);
    if (known === undefined) {
      this.entriesByIndexTerm.set(where, { key, prevTerm });
      return;
    }
    if (known.key !== key) this.fail('log-matching', `replica ${id} holds ${key} at index ${entry.index} term ${entry.term}, another replica ${known.key}`);
    else if (known.prevTerm === undefined) known.prevTerm = prevTerm;
    else if (prevTerm !== undefined && prevTerm !== known.prevTerm) {
      this.fail('log-matching', `replica ${id}: entry at index ${entry.index} term ${entry.term} follows term ${prevTerm}, elsewhere term ${known.prevTerm}`);
    }
  }

  private checkNewLeader(member: Member): void {
    const term = member.node.status().term;
    this.noteLeader(member.id, term);
    // Leader completeness: every entry known committed (all from earlier terms) is in the new log.
    const storage = member.storage;
    const snapshotIndex = storage.snapshot().meta.index;
    if (storage.lastIndex() < this.committedIndex) {
      this.fail('leader-completeness', `replica ${member.id} leads term ${term} with last index ${storage.lastIndex()}, but index ${this.committedIndex} is committed`);
      return;
    }
    if (snapshotIndex > 0 && snapshotIndex <= this.committedIndex && storage.snapshot().meta.term !== this.committedTerms[snapshotIndex]) {
      this.fail('leader-completeness', `replica ${member.id} leads term ${term} from a snapshot at ${snapshotIndex} of term ${storage.snapshot().meta.term}, committed term ${this.committedTerms[snapshotIndex]}`);
      return;
    }
    for (let i = Math.max(snapshotIndex + 1, 1); i <= this.committedIndex; i++) {
      const expected = this.committedTerms[i];
      if (expected !== undefined && expected > 0 && storage.term(i) !== expected) {
        this.fail('leader-completeness', `replica ${member.id} leads term ${term} without committed entry ${this.committed[i]} at index ${i} (it has term ${storage.term(i)})`);
        return;
      }
    }
  }

  private noteLeader(id: ReplicaId, term: number): void {
    const known = this.leadersByTerm.get(term);
    if (known === undefined) {
      this.leadersByTerm.set(term, id);
      this.note(`replica ${id} leads term ${term}`);
    } else if (known !== id) {
      this.fail('two-leaders', `replicas ${known} and ${id} both lead term ${term}`);
    }
  }

  applying(member: Member, entry: Entry): void {
    const expected = (this.appliedIndex.get(member.id) ?? 0) + 1;
    if (entry.index !== expected) this.fail('apply-order', `replica ${member.id} applies index ${entry.index}, expected ${expected}`);
    this.appliedIndex.set(member.id, entry.index);
    this.learnCommitted(member.id, entry, 'applied');
  }

  /** Records `entry` as committed, or checks it against what is known committed at its index. */
  private learnCommitted(id: ReplicaId, entry: Entry, how: string): void {
    const key = entryKey(entry);
    if (entry.index <= this.committedIndex) {
      const known = this.committed[entry.index];
      if (known === undefined) {
        this.committed[entry.index] = key;
        this.committedTerms[entry.index] = entry.term;
      } else if (known !== key) {
        this.fail('state-machine-safety', `replica ${id} ${how} ${key} at index ${entry.index}, but ${known} is committed there`);
      }
      return;
    }
    while (this.committedIndex < entry.index - 1) {
      this.committed.push(undefined);
      this.committedTerms.push(0);
      this.dataCountAt.push(this.stateSequence.length);
    }
    this.committed.push(key);
    this.committedTerms.push(entry.term);
    if (entry.type === EntryType.Normal && entry.data.byteLength > 0) this.stateSequence.push(decoder.decode(entry.data));
    this.dataCountAt.push(this.stateSequence.length);
  }

  installed(member: Member, snapshot: Snapshot): void {
    const index = snapshot.meta.index;
    this.appliedIndex.set(member.id, index);
    if (index === 0) return;
    if (index > this.committedIndex) {
      this.fail('snapshot', `replica ${member.id} installs a snapshot at ${index}, beyond the committed index ${this.committedIndex}`);
      return;
    }
    const term = this.committedTerms[index];
    if (term !== undefined && term > 0 && term !== snapshot.meta.term) {
      this.fail('snapshot', `replica ${member.id} installs a snapshot at ${index} of term ${snapshot.meta.term}, committed term there ${term}`);
      return;
    }
    const state = snapshot.data.byteLength > 0 ? (JSON.parse(decoder.decode(snapshot.data)) as string[]) : [];
    const count = this.dataCountAt[index] ?? -1;
    if (state.length !== count || state.some((data, i) => data !== this.stateSequence[i])) {
      this.fail('snapshot', `replica ${member.id} installs a snapshot at ${index} holding ${state.length} entries, not the ${count} committed up to there`);
    }
  }

  restarted(): void {}

  /** Called with the messages a member is about to send: what they promise must already be synced. */
  sending(member: Member, messages: readonly Message[]): void {
    if (!this.checkDurability) return;
    // A higher term on disk subsumes a promise made in a lower one: the replica will never again act
    // in that term (it moved on before this Ready was taken).
    for (const m of messages) {
      if (m.type === 'vote-response' && !m.reject) {
        const hard = member.disk.hardState();
        if (hard.term < m.term || (hard.term === m.term && hard.vote !== m.to)) {
          this.fail('durability', `replica ${member.id} grants its term ${m.term} vote to ${m.to} with term ${hard.term} vote ${hard.vote} on disk`);
        }
      } else if (m.type === 'append-response' && !m.reject && m.index > 0) {
        const hard = member.disk.hardState();
        if (hard.term <= m.term && m.index > member.disk.lastIndex()) {
          this.fail('durability', `replica ${member.id} acknowledges index ${m.index} in term ${m.term} with only ${member.disk.lastIndex()} on disk (term ${hard.term})`);
        }
      }
    }
  }

  /** End of a step: commit indexes that moved, and the leaders of the moment. */
  endStep(net: Network): void {
    for (const member of net.running()) {
      const status = member.node.status();
      if (status.role === 'leader') this.noteLeader(member.id, status.term);
      if (status.commit <= this.committedIndex) continue;
      const first = this.committedIndex + 1;
      if (first < member.storage.firstIndex() || status.commit > member.storage.lastIndex()) continue;
      for (const entry of member.storage.entries(first, status.commit + 1, Number.POSITIVE_INFINITY)) this.learnCommitted(member.id, entry, 'committed');
    }
  }
}

/** The term of the entry at `index` in the member's log, if it is still there. */
function termAt(member: Member, index: number): number | undefined {
  const storage = member.storage;
  if (index < storage.firstIndex() - 1 || index > storage.lastIndex()) return undefined;
  return storage.term(index);
}
