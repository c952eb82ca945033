// What every replica applied, checked as it happens. The simulator hooks each replica's state machine
// and reports here every applied entry (index, a digest of its data, the revision before and after,
// the events it produced) and every snapshot restore. Checked on every apply:
//   - a replica applies indexes in order without gaps (a restore moves it to the snapshot's index);
//   - every replica that applies index i applies the same data there, reaching the same revision with
//     the same events (so all replicas apply the same commands in the same order);
//   - a write advances the revision by exactly one, and each revision is produced by one index only
//     across the whole run (revisions strictly increasing and unique per write).
// The first replica to apply a revision records its events: the reference history that watches,
// acknowledged writes and the final state are checked against.
import type { ReplicaId } from '../../raft/index.js';
import type { StoredEvent } from '../../store/mvcc.js';

export interface HistoryEvent {
  readonly revision: number;
  readonly sub: number;
  readonly type: 'PUT' | 'DELETE';
  readonly key: string;
  /** The value written (PUT), '' for DELETE. */
  readonly value: string;
}

interface AppliedEntry {
  readonly replica: ReplicaId;
  readonly digest: string;
  readonly revisionAfter: number;
  readonly events: string;
}

const decoder = new TextDecoder();

export function toHistoryEvent(event: StoredEvent): HistoryEvent {
  const record = event.record;
  return {
    revision: record.modRevision,
    sub: record.sub,
    type: record.tombstone ? 'DELETE' : 'PUT',
    key: record.key,
    value: record.tombstone ? '' : decoder.decode(record.value),
  };
}

export function describeEvent(event: HistoryEvent): string {
  return `${event.revision}.${event.sub} ${event.type} ${event.key}${event.type === 'PUT' ? `=${event.value}` : ''}`;
}

/** FNV-1a over the bytes, with the length: enough to tell two commands apart in a run. */
function digestOf(data: Uint8Array): string {
  let hash = 0x811c9dc5;
  for (const byte of data) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return `${data.byteLength}:${hash.toString(16)}`;
}

export class ApplyLog {
  private readonly byIndex = new Map<number, AppliedEntry>();
  private readonly indexOfRevision = new Map<number, number>();
  private readonly lastApplied = new Map<ReplicaId, number>();
  /** The reference history: events by revision. */
  readonly eventsByRevision = new Map<number, HistoryEvent[]>();
  maxRevision = 0;
  appliedEntries = 0;
  /** The first broken invariant. */
  violation: string | undefined;

  /** A replica (re)started or installed a snapshot: it continues after `appliedIndex`. */
  restored(replica: ReplicaId, appliedIndex: number): void {
    this.lastApplied.set(replica, appliedIndex);
  }

  applied(replica: ReplicaId, index: number, data: Uint8Array, revisionBefore: number, revisionAfter: number, events: readonly HistoryEvent[]): void {
    this.appliedEntries++;
    const previous = this.lastApplied.get(replica) ?? 0;
    this.lastApplied.set(replica, index);
    if (index !== previous + 1) this.fail(`replica ${replica} applied index ${index} after ${previous}`);
    if (revisionAfter !== revisionBefore && revisionAfter !== revisionBefore + 1) {
      this.fail(`replica ${replica} index ${index}: revision went from ${revisionBefore} to ${revisionAfter}`);
    }
    if (revisionAfter === revisionBefore && events.length > 0) this.fail(`replica ${replica} index ${index}: events without a new revision`);
    if (revisionAfter === revisionBefore + 1 && events.length === 0) this.fail(`replica ${replica} index ${index}: a new revision without events`);
    for (const event of events) {
      if (event.revision !== revisionAfter) this.fail(`replica ${replica} index ${index}: event at revision ${event.revision}, expected ${revisionAfter}`);
    }
    const entry: AppliedEntry = { replica, digest: digestOf(data), revisionAfter, events: events.map(describeEvent).join(', ') };
    const known = this.byIndex.get(index);
    if (known === undefined) this.byIndex.set(index, entry);
    else if (known.digest !== entry.digest) {
      this.fail(`index ${index}: replica ${known.replica} applied command ${known.digest}, replica ${replica} applied ${entry.digest}`);
    } else if (known.revisionAfter !== entry.revisionAfter || known.events !== entry.events) {
      this.fail(`index ${index}: replica ${known.replica} reached revision ${known.revisionAfter} [${known.events}], replica ${replica} revision ${entry.revisionAfter} [${entry.events}]`);
    }
    if (revisionAfter === revisionBefore + 1) {
      const producer = this.indexOfRevision.get(revisionAfter);
      if (producer === undefined) {
        this.indexOfRevision.set(revisionAfter, index);
        this.eventsByRevision.set(revisionAfter, [...events]);
        this.maxRevision = Math.max(this.maxRevision, revisionAfter);
      } else if (producer !== index) {
        this.fail(`revision ${revisionAfter} produced by index ${producer} and again by index ${index} (replica ${replica})`);
      }
    }
  }

  /** Every event of the reference history, in revision and sub-revision order. */
  allEvents(): HistoryEvent[] {
    const out: HistoryEvent[] = [];
    for (let revision = 1; revision <= this.maxRevision; revision++) out.push(...(this.eventsByRevision.get(revision) ?? []));
    return out;
  }

  /** Revisions missing from the reference history below the maximum (a replica restored past them is fine only if another applied them). */
  missingRevisions(): number[] {
    const missing: number[] = [];
    for (let revision = 1; revision <= this.maxRevision; revision++) if (!this.eventsByRevision.has(revision)) missing.push(revision);
    return missing;
  }

  private fail(message: string): void {
    this.violation ??= message;
  }
}
