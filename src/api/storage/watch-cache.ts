// The watch cache: one store watch per resource (its whole key prefix) shared by every HTTP watch of
// that resource, so that a thousand watchers cost the store one watch. It keeps a window of recent
// events (bounded by count and bytes) so that a watcher can start a little in the past; a watcher
// whose start revision is older than the window is told to use a direct store watch instead
// (which answers 410 when the revision is compacted, as Kubernetes does).
// Events are fanned out synchronously in revision order; subscribers filter by key themselves.

import type { StoreClient, WatchHandle } from '../../store/client.js';
import { CompactedError, prefixEnd, type WatchBatch, type WatchEvent } from '../../store/index.js';

/** Most events kept for watchers that start in the past. */
export const WATCH_CACHE_MAX_EVENTS = 10_000;
/** Most value bytes (current + previous) kept in the window. */
export const WATCH_CACHE_MAX_BYTES = 64 * 1024 * 1024;

export interface CacheSubscriber {
  /** Events in revision order, every one with modRevision ≥ the subscriber's start. */
  events(events: readonly WatchEvent[]): void;
  /** The cache lost its store watch (closed or compacted): end the stream, the client re-watches. */
  reset(): void;
}

export interface CacheSubscription {
  cancel(): void;
}

function sizeOf(event: WatchEvent): number {
  return event.kv.value.length + (event.prevKv?.value.length ?? 0) + event.kv.key.length;
}

export class WatchCache {
  private readonly window: WatchEvent[] = [];
  private windowBytes = 0;
  /** Every event with a revision above this is in the window or still to come. */
  private windowStart = 0;
  private readonly subscribers = new Set<CacheSubscriber>();
  private handle: WatchHandle | undefined;
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: StoreClient,
    private readonly prefix: string,
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /**
   * Subscribe from `startRevision`; undefined when that is older than the window (use a direct
   * store watch then). Replays the window's matching part before any live event.
   */
  async subscribe(startRevision: number, subscriber: CacheSubscriber): Promise<CacheSubscription | undefined> {
    await this.start();
    if (this.closed || startRevision <= this.windowStart) return undefined;
    // Compaction removes history the window still holds: a start below the store's compaction
    // revision must get its 410 from the store, as without the cache.
    if (startRevision > 1) {
      try {
        await this.store.range({ key: this.prefix, rangeEnd: prefixEnd(this.prefix), countOnly: true, revision: startRevision - 1 });
      } catch (error) {
        if (error instanceof CompactedError) return undefined;
      }
    }
    if (this.closed || startRevision <= this.windowStart) return undefined;
    const replay = this.window.filter((event) => event.kv.modRevision >= startRevision);
    if (replay.length > 0) subscriber.events(replay);
    const filtered: CacheSubscriber = {
      events: (events) => {
        const wanted = events.filter((event) => event.kv.modRevision >= startRevision);
        if (wanted.length > 0) subscriber.events(wanted);
      },
      reset: () => subscriber.reset(),
    };
    this.subscribers.add(filtered);
    return { cancel: () => this.subscribers.delete(filtered) };
  }

  close(): void {
    this.closed = true;
    this.handle?.cancel();
    this.handle = undefined;
    this.resetSubscribers();
  }

  private start(): Promise<void> {
    this.ready ??= this.open();
    return this.ready;
  }

  private async open(): Promise<void> {
    const { header } = await this.store.range({ key: this.prefix, rangeEnd: prefixEnd(this.prefix), countOnly: true });
    this.windowStart = header.revision;
    await this.watchFrom(header.revision + 1);
  }

  private async watchFrom(revision: number): Promise<void> {
    try {
      const handle = await this.store.watch({ key: this.prefix, rangeEnd: prefixEnd(this.prefix), startRevision: revision, prevKv: true }, (batch) => this.onBatch(batch));
      if (this.closed) handle.cancel();
      else this.handle = handle;
    } catch {
      this.fail();
    }
  }

  private onBatch(batch: WatchBatch): void {
    if (this.closed) return;
    if (batch.events.length > 0) {
      for (const event of batch.events) {
        this.window.push(event);
        this.windowBytes += sizeOf(event);
      }
      this.trim();
      for (const subscriber of [...this.subscribers]) subscriber.events(batch.events);
    }
    const canceled = batch.canceled;
    if (canceled === undefined) return;
    this.handle = undefined;
    if (canceled.reason === 'slow' || canceled.reason === 'restored') void this.watchFrom(canceled.lastRevision + 1);
    else this.fail();
  }

  /** Drop the oldest events past the bounds, never splitting a revision (windowStart stays a clean cut). */
  private trim(): void {
    let drop = 0;
    let bytes = this.windowBytes;
    while (drop < this.window.length && (this.window.length - drop > WATCH_CACHE_MAX_EVENTS || bytes > WATCH_CACHE_MAX_BYTES)) {
      const revision = this.window[drop]?.kv.modRevision ?? 0;
      while (drop < this.window.length && this.window[drop]?.kv.modRevision === revision) {
        bytes -= sizeOf(this.window[drop] as WatchEvent);
        drop++;
      }
      this.windowStart = revision;
    }
    if (drop > 0) {
      this.window.splice(0, drop);
      this.windowBytes = bytes;
    }
  }

  /** The store watch is gone: forget everything; the next subscriber starts a fresh cache. */
  private fail(): void {
    this.handle = undefined;
    this.ready = undefined;
    this.window.length = 0;
    this.windowBytes = 0;
    this.resetSubscribers();
  }

  private resetSubscribers(): void {
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.reset();
  }
}

/** One cache per resource prefix, made on first use. */
export class WatchCaches {
  private readonly caches = new Map<string, WatchCache>();

  constructor(private readonly store: StoreClient) {}

  forPrefix(prefix: string): WatchCache {
    let cache = this.caches.get(prefix);
    if (cache === undefined) {
      cache = new WatchCache(this.store, prefix);
      this.caches.set(prefix, cache);
    }
    return cache;
  }

  close(): void {
    for (const cache of this.caches.values()) cache.close();
    this.caches.clear();
  }
}
