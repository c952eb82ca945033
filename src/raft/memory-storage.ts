// MemoryLogStorage: the in-memory LogStorage the core reads its stable log from. The driver (and the
// simulator) keep it in step with durable storage: after persisting a Ready they call append(),
// setHardState() and applySnapshot() here, then RaftNode.advance(). Log compaction: createSnapshot()
// records the state machine's snapshot at an applied index, compact() drops the entries before it.
// Layout (as in etcd's MemoryStorage): entries[0] is a dummy standing for the snapshot point, so
// term(firstIndex - 1) answers with the snapshot's term.

import { LogCompactedError, LogUnavailableError, SnapshotOutOfDateError, invariant } from './errors.js';
import { EntryType } from './types.js';
import type { ConfState, Entry, HardState, LogStorage, Snapshot } from './types.js';

/** Bytes an entry counts for in size limits: its data plus a fixed framing overhead. */
export const ENTRY_OVERHEAD_BYTES = 16;
export function entrySizeBytes(entry: Entry): number {
  return entry.data.byteLength + ENTRY_OVERHEAD_BYTES;
}

export const EMPTY_CONF: ConfState = { voters: [], learners: [], votersOutgoing: [], learnersNext: [] };

export class MemoryLogStorage implements LogStorage {
  private hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private snap: Snapshot;
  private conf: ConfState;
  /** entries[0] is the dummy at the snapshot index. */
  private entryList: Entry[];

  /** A fresh log whose initial membership is `conf` (bootstrap) or empty (a joining replica). */
  constructor(conf: ConfState = EMPTY_CONF) {
    this.conf = conf;
    this.snap = { meta: { index: 0, term: 0, conf }, data: new Uint8Array(0) };
    this.entryList = [dummy(0, 0)];
  }

  initialState(): { hardState: HardState; conf: ConfState } {
    return { hardState: this.hardState, conf: this.conf };
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** The driver records the membership after applying a conf change, for restarts. */
  setConfState(conf: ConfState): void {
    this.conf = conf;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const offset = this.offset();
    if (lo <= offset) throw new LogCompactedError(lo, offset + 1);
    if (hi > this.lastIndex() + 1) throw new LogUnavailableError(hi - 1, this.lastIndex());
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.entryList[i - offset] as Entry;
      bytes += entrySizeBytes(entry);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  term(index: number): number {
    const offset = this.offset();
    if (index < offset) throw new LogCompactedError(index, offset + 1);
    if (index > this.lastIndex()) throw new LogUnavailableError(index, this.lastIndex());
    return (this.entryList[index - offset] as Entry).term;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.entryList.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Appends entries, truncating any conflicting suffix first (entries[0].index may be <= lastIndex). */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    const offset = this.offset();
    const last = first.index + entries.length - 1;
    if (last <= offset) return; // entirely compacted already
    invariant(first.index <= this.lastIndex() + 1, `append at ${first.index} leaves a gap after ${this.lastIndex()}`);
    const skip = Math.max(0, offset + 1 - first.index);
    const keep = first.index + skip - offset; // entries to keep, counting the dummy
    this.entryList.length = keep;
    for (let i = skip; i < entries.length; i++) this.entryList.push(entries[i] as Entry);
  }

  /** Replaces the whole log with a snapshot (a follower installing one from its leader). */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.meta.index <= this.snap.meta.index && this.snap.meta.index > 0) {
      throw new SnapshotOutOfDateError(snapshot.meta.index, this.snap.meta.index);
    }
    this.snap = snapshot;
    this.conf = snapshot.meta.conf;
    this.entryList = [dummy(snapshot.meta.index, snapshot.meta.term)];
  }

  /** Records the state machine's snapshot at `index` (<= applied); does not drop entries (see compact). */
  createSnapshot(index: number, conf: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) throw new SnapshotOutOfDateError(index, this.snap.meta.index);
    if (index > this.lastIndex()) throw new LogUnavailableError(index, this.lastIndex());
    this.snap = { meta: { index, term: this.term(index), conf }, data };
    return this.snap;
  }

  /**
   * Drops the entries before `index`; the entry at `index` becomes the dummy. Never beyond the
   * snapshot's index: a follower that needs the dropped entries must be able to get the snapshot.
   */
  compact(index: number): void {
    const offset = this.offset();
    if (index <= offset) return;
    if (index > this.lastIndex()) throw new LogUnavailableError(index, this.lastIndex());
    invariant(index <= this.snap.meta.index, `compact to ${index} beyond the snapshot at ${this.snap.meta.index}`);
    const at = this.entryList[index - offset] as Entry;
    this.entryList = [dummy(at.index, at.term), ...this.entryList.slice(index - offset + 1)];
  }

  private offset(): number {
    return (this.entryList[0] as Entry).index;
  }
}

function dummy(index: number, term: number): Entry {
  return { index, term, type: EntryType.Normal, data: new Uint8Array(0) };
}
