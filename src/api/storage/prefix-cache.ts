// A small cache of every object under one store prefix (ResourceQuotas, PriorityClasses: kinds with
// few objects that admission consults on every create), kept from a list and a store watch so that a
// create in a namespace without quotas, or a pod naming a known class, makes no extra store round
// trip (Kubernetes' admission plugins read informers the same way). The cache answers only when it
// is synced and no write through this server is still on its way to the watch (noteWrite); callers
// read the store otherwise. Like an informer, it may lag a write through another API server by the
// watch's delay.

import type { Clock } from '../../actors/clock.js';
import type { StoreClient, WatchHandle } from '../../store/client.js';
import { prefixEnd, type KeyValue, type WatchBatch } from '../../store/index.js';
import { isObject, type JsonObject } from '../registry/types.js';

/** How long after a failed list or watch the cache waits before syncing again. */
export const PREFIX_CACHE_RETRY_MS = 1_000;
/** Most objects kept; past it the cache stops answering (callers read the store), so a flood of quotas cannot grow memory. */
export const PREFIX_CACHE_MAX_OBJECTS = 10_000;

const decoder = new TextDecoder();

function decode(kv: KeyValue): JsonObject | undefined {
  try {
    const parsed: unknown = JSON.parse(decoder.decode(kv.value));
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

export class PrefixCache {
  private readonly entries = new Map<string, { readonly object: JsonObject | undefined; readonly modRevision: number }>();
  /** Keys this server wrote: the revision the watch must reach (a delete: the key's DELETE event) before the cache answers again. */
  private readonly pending = new Map<string, { readonly revision: number; readonly deletion: boolean }>();
  private readonly rangeEnd: string;
  private handle: WatchHandle | undefined;
  private synced = false;
  private syncing = false;
  private closed = false;
  private generation = 0;
  private retryAfterMs = 0;

  constructor(
    private readonly store: StoreClient,
    /** e.g. `/registry/resourcequotas/`; keys are reported without it (`namespace/name` or `name`). */
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {
    this.rangeEnd = prefixEnd(prefix);
  }

  /**
   * The objects by key, or undefined when the cache cannot vouch for them (not synced yet, a write
   * of this server not yet seen, an undecodable object, too many objects): read the store then.
   */
  snapshot(): ReadonlyMap<string, JsonObject> | undefined {
    this.start();
    if (!this.synced || this.pending.size > 0 || this.entries.size > PREFIX_CACHE_MAX_OBJECTS) return undefined;
    const out = new Map<string, JsonObject>();
    for (const [key, entry] of this.entries) {
      if (entry.object === undefined) return undefined;
      out.set(key, entry.object);
    }
    return out;
  }

  /** This server wrote `key` at `revision` (a delete: `deletion`, revision 0): answer live until the watch shows it. */
  noteWrite(key: string, revision: number, deletion: boolean): void {
    this.pending.set(key, { revision, deletion });
  }

  close(): void {
    this.closed = true;
    this.stopWatch();
  }

  start(): void {
    if (this.synced || this.syncing || this.closed || this.clock.now() < this.retryAfterMs) return;
    this.syncing = true;
    void this.sync().then(
      () => {
        this.syncing = false;
      },
      () => {
        this.syncing = false;
        this.retryAfterMs = this.clock.now() + PREFIX_CACHE_RETRY_MS;
        this.stopWatch();
      },
    );
  }

  private async sync(): Promise<void> {
    const generation = ++this.generation;
    const pendingBefore = new Map(this.pending);
    const listed = await this.store.range({ key: this.prefix, rangeEnd: this.rangeEnd });
    if (this.closed || generation !== this.generation) return;
    this.entries.clear();
    for (const kv of listed.kvs) this.entries.set(kv.key.slice(this.prefix.length), { object: decode(kv), modRevision: kv.modRevision });
    // Writes noted before the list began are in it (their revisions are at most the list's).
    for (const [key, write] of pendingBefore) if (write.revision <= listed.header.revision && this.pending.get(key) === write) this.pending.delete(key);
    const handle = await this.store.watch({ key: this.prefix, rangeEnd: this.rangeEnd, startRevision: listed.header.revision + 1 }, (batch) => {
      if (generation === this.generation) this.onBatch(batch);
    });
    if (this.closed || generation !== this.generation) {
      handle.cancel();
      return;
    }
    this.handle = handle;
    this.synced = true;
  }

  private onBatch(batch: WatchBatch): void {
    for (const event of batch.events) {
      const key = event.kv.key.slice(this.prefix.length);
      if (event.type === 'DELETE') this.entries.delete(key);
      else this.entries.set(key, { object: decode(event.kv), modRevision: event.kv.modRevision });
      const awaited = this.pending.get(key);
      if (awaited !== undefined && (awaited.deletion ? event.type === 'DELETE' : event.kv.modRevision >= awaited.revision)) this.pending.delete(key);
    }
    if (batch.canceled !== undefined) this.stopWatch();
  }

  private stopWatch(): void {
    this.generation++;
    this.handle?.cancel();
    this.handle = undefined;
    this.synced = false;
    this.entries.clear();
  }
}
