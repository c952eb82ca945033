// The watch hub: watchers register a key / prefix / range filter and a start revision and receive
// every matching event (PUT or DELETE, with prevKv on request) in revision order, exactly once.
// Fed by the state machine after each write revision (publish). Delivery is pull-based: the
// replica calls take(watchId) when the `onReady` callback says a watcher has something (new events,
// or a cancellation), and streams the batch to its client.
//
// Two modes, as etcd's synced/unsynced groups:
// - catching up (start revision in the past): the watcher is a cursor into the store's event history;
//   take() scans at most WATCH_REPLAY_SCAN_EVENTS per call. Nothing is queued for it meanwhile.
// - synced: publish() appends matching events to the watcher's queue. If the queue holds more than
//   WATCHER_MAX_PENDING_EVENTS events spanning more than one revision, the watcher is cancelled with
//   reason 'slow' and `lastRevision` (everything up to it was delivered): the client re-watches from
//   lastRevision + 1, which replays from history. Memory per watcher is thus bounded.
// A batch never splits a revision, so `lastRevision` is always a clean resume point.

import type { KeyValue } from './commands.js';
import { CompactedError, WatchNotFoundError } from './errors.js';
import { inRange, toKeyValue, type KeySpace, type StoredEvent } from './mvcc.js';

export const WATCHER_MAX_PENDING_EVENTS = 10_000;
/** Events a catching-up watcher examines per take() (bounds the work of one call). */
export const WATCH_REPLAY_SCAN_EVENTS = 50_000;
/** Default soft limit on events per batch (a revision is never split, so a batch may exceed it). */
export const WATCH_BATCH_EVENTS = 1_000;
export const MAX_WATCHERS = 100_000;

export interface WatchRequest {
  readonly key: string;
  /** As in RangeRequest: undefined = the single key, '\0' = key and above, else [key, rangeEnd). */
  readonly rangeEnd?: string;
  /** First revision wanted; 0 or absent = only future revisions. Must be > the compact revision. */
  readonly startRevision?: number;
  readonly prevKv?: boolean;
}

export interface WatchEvent {
  readonly type: 'PUT' | 'DELETE';
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export type WatchCancelReason = 'slow' | 'compacted' | 'canceled' | 'restored';

export interface WatchCancel {
  readonly reason: WatchCancelReason;
  /** Every matching event up to this revision was delivered; resume from lastRevision + 1. */
  readonly lastRevision: number;
  readonly compactRevision?: number;
}

export interface WatchBatch {
  readonly watchId: number;
  /** The store's current revision (a progress notification when events is empty). */
  readonly revision: number;
  readonly events: readonly WatchEvent[];
  readonly canceled?: WatchCancel;
}

/** What the hub reads from the state machine. */
export interface WatchSource {
  readonly keys: KeySpace;
  currentRevision(): number;
  compactedRevision(): number;
}

interface Watcher {
  readonly id: number;
  readonly key: string;
  readonly rangeEnd: string | undefined;
  readonly prevKv: boolean;
  readonly minRevision: number;
  synced: boolean;
  /** Catching up: absolute event position of the next event to examine. */
  cursor: number;
  /** Synced: pending events (a head index avoids O(n) shifts). */
  queue: StoredEvent[];
  queueHead: number;
  /** Every matching event up to here was delivered. */
  lastRevision: number;
}

export class WatchHub {
  private readonly watchers = new Map<number, Watcher>();
  private readonly cancellations = new Map<number, WatchCancel>();
  private nextId = 1;
  /** Called when a watcher has events or a cancellation to take. */
  onReady: ((watchId: number) => void) | undefined;

  constructor(private readonly source: WatchSource) {}

  /** Register a watcher. Throws CompactedError if startRevision is at or below the compact revision. */
  watch(request: WatchRequest): number {
    if (this.watchers.size >= MAX_WATCHERS) throw new Error(`watcher limit ${MAX_WATCHERS} reached`);
    const current = this.source.currentRevision();
    const compacted = this.source.compactedRevision();
    const start = request.startRevision ?? 0;
    if (start !== 0 && start <= compacted) throw new CompactedError(start, compacted);
    const id = this.nextId++;
    const catchingUp = start !== 0 && start <= current;
    const watcher: Watcher = {
      id,
      key: request.key,
      rangeEnd: request.rangeEnd,
      prevKv: request.prevKv === true,
      minRevision: start === 0 ? current + 1 : start,
      synced: !catchingUp,
      cursor: catchingUp ? this.source.keys.eventPositionOf(start) : 0,
      queue: [],
      queueHead: 0,
      lastRevision: catchingUp ? start - 1 : Math.max(current, start - 1),
    };
    this.watchers.set(id, watcher);
    if (catchingUp) this.onReady?.(id);
    return id;
  }

  cancel(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    this.cancellations.delete(watchId);
    if (watcher === undefined) return false;
    this.watchers.delete(watchId);
    return true;
  }

  size(): number {
    return this.watchers.size;
  }

  /** Fed by the state machine with one revision's events (in sub-revision order). */
  publish(events: readonly StoredEvent[]): void {
    if (this.watchers.size === 0 || events.length === 0) return;
    const revision = events[0]!.record.modRevision;
    for (const watcher of this.watchers.values()) {
      if (!watcher.synced || revision < watcher.minRevision) continue;
      const wasEmpty = watcher.queueHead === watcher.queue.length;
      let added = false;
      for (const event of events) {
        if (inRange(event.record.key, watcher.key, watcher.rangeEnd)) {
          watcher.queue.push(event);
          added = true;
        }
      }
      if (!added) continue;
      const pending = watcher.queue.length - watcher.queueHead;
      if (pending > WATCHER_MAX_PENDING_EVENTS && watcher.queue[watcher.queueHead]!.record.modRevision < revision) {
        const lastRevision = watcher.queue[watcher.queueHead]!.record.modRevision - 1;
        this.cancelWith(watcher, { reason: 'slow', lastRevision });
      } else if (wasEmpty) this.onReady?.(watcher.id);
    }
  }

  private cancelWith(watcher: Watcher, cancel: WatchCancel): void {
    this.watchers.delete(watcher.id);
    this.cancellations.set(watcher.id, cancel);
    this.onReady?.(watcher.id);
  }

  /**
   * The next batch for a watcher: whole revisions, about `maxEvents` events. A cancelled watcher's
   * last batch carries `canceled` (then the id is gone). Throws WatchNotFoundError for unknown ids.
   */
  take(watchId: number, maxEvents = WATCH_BATCH_EVENTS): WatchBatch {
    const revision = this.source.currentRevision();
    const canceled = this.cancellations.get(watchId);
    if (canceled !== undefined) {
      this.cancellations.delete(watchId);
      return { watchId, revision, events: [], canceled };
    }
    const watcher = this.watchers.get(watchId);
    if (watcher === undefined) throw new WatchNotFoundError(watchId);
    return watcher.synced ? this.takeQueued(watcher, maxEvents, revision) : this.takeFromHistory(watcher, maxEvents, revision);
  }

  private takeQueued(watcher: Watcher, maxEvents: number, revision: number): WatchBatch {
    const out: WatchEvent[] = [];
    const queue = watcher.queue;
    let head = watcher.queueHead;
    while (head < queue.length) {
      const event = queue[head]!;
      if (out.length >= maxEvents && event.record.modRevision !== queue[head - 1]?.record.modRevision) break;
      out.push(this.toWatchEvent(event, watcher.prevKv));
      head++;
    }
    if (head === queue.length) {
      watcher.queue = [];
      watcher.queueHead = 0;
      watcher.lastRevision = revision;
    } else {
      watcher.queueHead = head;
      watcher.lastRevision = queue[head]!.record.modRevision - 1;
      if (head > 1024 && head * 2 > queue.length) {
        watcher.queue = queue.slice(head);
        watcher.queueHead = 0;
      }
      // More is queued than one batch holds: ask to be drained again (publish only signals an empty queue).
      this.onReady?.(watcher.id);
    }
    return { watchId: watcher.id, revision, events: out };
  }

  private takeFromHistory(watcher: Watcher, maxEvents: number, revision: number): WatchBatch {
    const keys = this.source.keys;
    const compacted = this.source.compactedRevision();
    const first = keys.eventAt(watcher.cursor);
    if (watcher.cursor < keys.eventsStart() || (first !== undefined && first.record.modRevision <= compacted)) {
      this.cancelWith(watcher, { reason: 'compacted', lastRevision: watcher.lastRevision, compactRevision: compacted });
      return this.take(watcher.id);
    }
    const out: WatchEvent[] = [];
    const end = keys.eventsEnd();
    let position = watcher.cursor;
    let scanned = 0;
    let previousRevision = -1;
    while (position < end) {
      const event = keys.eventAt(position)!;
      const eventRevision = event.record.modRevision;
      if (eventRevision !== previousRevision && (out.length >= maxEvents || scanned >= WATCH_REPLAY_SCAN_EVENTS)) break;
      previousRevision = eventRevision;
      scanned++;
      position++;
      if (eventRevision >= watcher.minRevision && inRange(event.record.key, watcher.key, watcher.rangeEnd)) {
        out.push(this.toWatchEvent(event, watcher.prevKv));
      }
    }
    watcher.cursor = position;
    if (position === end) {
      watcher.synced = true;
      watcher.lastRevision = revision;
    } else {
      watcher.lastRevision = keys.eventAt(position)!.record.modRevision - 1;
      this.onReady?.(watcher.id);
    }
    return { watchId: watcher.id, revision, events: out };
  }

  private toWatchEvent(event: StoredEvent, withPrev: boolean): WatchEvent {
    const type = event.record.tombstone ? 'DELETE' : 'PUT';
    const kv = toKeyValue(event.record);
    return withPrev && event.prev !== undefined ? { type, kv, prevKv: toKeyValue(event.prev) } : { type, kv };
  }

  /** Has this watcher nothing to take (for progress notifications)? */
  isIdle(watchId: number): boolean {
    const watcher = this.watchers.get(watchId);
    return watcher !== undefined && watcher.synced && watcher.queueHead === watcher.queue.length;
  }

  /** Progress notification: the current revision and the idle watchers it applies to. */
  progress(): { readonly revision: number; readonly idleWatchIds: readonly number[] } {
    const idle: number[] = [];
    for (const watcher of this.watchers.values()) if (watcher.synced && watcher.queueHead === watcher.queue.length) idle.push(watcher.id);
    return { revision: this.source.currentRevision(), idleWatchIds: idle };
  }

  /** Drop every watcher (after a snapshot restore the history they point into is gone). */
  cancelAll(reason: WatchCancelReason): void {
    for (const watcher of [...this.watchers.values()]) this.cancelWith(watcher, { reason, lastRevision: watcher.lastRevision });
  }
}
