// The Raft log as the core sees it: the stable part in LogStorage plus an unstable tail (entries
// and possibly a snapshot) not yet persisted. The driver persists the tail from Ready and calls
// advance(), which moves it to stable (stableTo). Also tracks `committed` and `applied` and asserts
// their invariants: applied <= committed <= lastIndex, and neither ever decreases.

import { LogCompactedError, LogUnavailableError, RaftError, invariant } from './errors.js';
import { entrySizeBytes } from './memory-storage.js';
import type { Entry, LogStorage, Snapshot } from './types.js';

export class RaftLog {
  /** Entries not yet in stable storage, starting at index `offset`. */
  private unstableEntries: Entry[] = [];
  private offset: number;
  private unstableSnapshot: Snapshot | undefined = undefined;
  committed: number;
  applied: number;

  constructor(
    readonly storage: LogStorage,
    committed: number,
    applied: number,
  ) {
    this.offset = storage.lastIndex() + 1;
    const first = storage.firstIndex();
    this.committed = Math.max(committed, first - 1);
    // The state machine cannot be ahead of the durable commit index; clamp rather than trust it.
    this.applied = Math.min(Math.max(applied, first - 1), this.committed);
  }

  firstIndex(): number {
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.offset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot !== undefined) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  /** The term at `index`, or undefined if it is compacted or beyond the log. */
  term(index: number): number | undefined {
    if (index > this.lastIndex()) return undefined;
    if (index >= this.offset && index - this.offset < this.unstableEntries.length) {
      return (this.unstableEntries[index - this.offset] as Entry).term;
    }
    if (this.unstableSnapshot !== undefined) {
      return index === this.unstableSnapshot.meta.index ? this.unstableSnapshot.meta.term : undefined;
    }
    if (index < this.storage.firstIndex() - 1) return undefined;
    try {
      return this.storage.term(index);
    } catch (err) {
      if (err instanceof RaftError && (err.code === 'LOG_COMPACTED' || err.code === 'LOG_UNAVAILABLE')) return undefined;
      throw err;
    }
  }

  lastTerm(): number {
    const term = this.term(this.lastIndex());
    invariant(term !== undefined, `no term for the last index ${this.lastIndex()}`);
    return term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Is a log ending at (lastIndex, lastTerm) at least as up to date as ours (§5.4.1)? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ours = this.lastTerm();
    return lastTerm > ours || (lastTerm === ours && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi) up to maxBytes (at least one); throws LogCompactedError if lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    const first = this.firstIndex();
    if (lo < first) throw new LogCompactedError(lo, first);
    const last = this.lastIndex();
    if (hi > last + 1) throw new LogUnavailableError(hi - 1, last);
    let out: Entry[] = [];
    if (lo < this.offset) {
      out = this.storage.entries(lo, Math.min(hi, this.offset), maxBytes);
      const reached = lo + out.length;
      if (reached < Math.min(hi, this.offset)) return out; // byte limit hit inside storage
    }
    if (hi > this.offset) {
      let bytes = 0;
      for (const e of out) bytes += entrySizeBytes(e);
      for (let i = Math.max(lo, this.offset); i < hi; i++) {
        const entry = this.unstableEntries[i - this.offset] as Entry;
        bytes += entrySizeBytes(entry);
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(entry);
      }
    }
    return out;
  }

  /** Appends entries at the end or over a conflicting suffix. Returns the new last index. */
  append(entries: readonly Entry[]): number {
    const first = entries[0];
    if (first === undefined) return this.lastIndex();
    invariant(first.index - 1 >= this.committed, `append at ${first.index} would overwrite committed ${this.committed}`);
    invariant(first.index <= this.lastIndex() + 1, `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    const after = first.index;
    if (after === this.offset + this.unstableEntries.length) {
      for (const e of entries) this.unstableEntries.push(e);
    } else if (after <= this.offset) {
      // Replaces part of the stable log: storage.append truncates the conflicting suffix.
      this.offset = after;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, after - this.offset).concat(entries);
    }
    return this.lastIndex();
  }

  /**
   * A follower's conditional append (AppendEntries receiver rules 2-5). Returns the last new index,
   * or undefined if the log does not contain an entry at prevIndex with prevTerm.
   */
  maybeAppend(prevIndex: number, prevTerm: number, commit: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    let conflictAt = -1;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry;
      if (!this.matchTerm(e.index, e.term)) {
        conflictAt = i;
        break;
      }
    }
    if (conflictAt >= 0) {
      const e = entries[conflictAt] as Entry;
      invariant(e.index > this.committed, `conflict at ${e.index} is at or before commit ${this.committed}`);
      this.append(entries.slice(conflictAt));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  /**
   * Fast back-tracking: the largest index <= `index` whose term is <= `term` (or where the term is
   * unknown because compacted). Returns the index and its term (0 if unknown).
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return { index: i, term: 0 };
      if (t <= term) return { index: i, term: t };
    }
    return { index: 0, term: 0 };
  }

  commitTo(index: number): void {
    if (index <= this.committed) return; // commit never decreases
    invariant(index <= this.lastIndex(), `commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    invariant(index <= this.committed && index >= this.applied, `applied ${index} outside [${this.applied}, ${this.committed}]`);
    this.applied = index;
  }

  /** Committed entries not yet applied (none while a snapshot waits to be installed). */
  nextCommitted(maxBytes: number): Entry[] {
    if (this.unstableSnapshot !== undefined) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, maxBytes);
  }

  hasNextCommitted(): boolean {
    return this.unstableSnapshot === undefined && this.committed > Math.max(this.applied, this.firstIndex() - 1);
  }

  unstable(): readonly Entry[] {
    return this.unstableEntries;
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstableSnapshot;
  }

  /** The last index known to be in stable storage (a leader counts only those for itself). */
  stableLastIndex(): number {
    if (this.unstableSnapshot !== undefined) return 0;
    return Math.min(this.storage.lastIndex(), this.offset - 1);
  }

  /** Entries up to (index, term) were persisted. */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const ourTerm = index - this.offset < this.unstableEntries.length ? this.unstableEntries[index - this.offset]?.term : undefined;
    if (ourTerm !== term) return; // overwritten meanwhile: the newer entries are still unstable
    this.unstableEntries = this.unstableEntries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot !== undefined && this.unstableSnapshot.meta.index === index) {
      this.unstableSnapshot = undefined;
    }
  }

  /** Installs a snapshot received from the leader: the log is replaced by it. */
  restore(snapshot: Snapshot): void {
    this.unstableSnapshot = snapshot;
    this.unstableEntries = [];
    this.offset = snapshot.meta.index + 1;
    this.committed = snapshot.meta.index;
  }
}
