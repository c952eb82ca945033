// What namespace lifecycle admission needs to know about each namespace (does it exist, is it being
// terminated), kept from a list and a store watch of the namespaces prefix so that a namespaced
// create does not make a store round trip first (Kubernetes' NamespaceLifecycle admission reads an
// informer the same way). The cache is trusted only for an Active namespace; a miss (a namespace
// created a moment ago, or none), a Terminating entry, a cache that is not synced, and a namespace
// this server has just written whose watch event has not arrived yet are all answered by a live
// (linearizable) store read. Like Kubernetes, another API server's namespace deletion is seen after
// the watch delivers it; the namespace controller removes what was created in between.

import type { Clock } from '../../actors/clock.js';
import type { StoreClient, WatchHandle } from '../../store/client.js';
import { prefixEnd, type KeyValue, type WatchBatch } from '../../store/index.js';
import { isObject, type JsonObject } from '../registry/types.js';

/** How long after a failed list or watch the cache waits before syncing again (lookups go live meanwhile). */
export const NAMESPACE_CACHE_RETRY_MS = 1_000;

export interface NamespaceState {
  readonly terminating: boolean;
  /** The store revision of the namespace object this state was read from. */
  readonly modRevision: number;
}

/** A namespace write by this server whose watch event the cache has not seen yet. */
interface PendingWrite {
  /** The revision of the written object (0: unknown). */
  readonly revision: number;
  /** A delete: cleared only by a DELETE or a Terminating state. */
  readonly deletion: boolean;
  /** writeCount when noted: a list started after it already reflects the write. */
  readonly sequence: number;
}

export interface NamespaceCacheStats {
  /** Lookups answered from the cache. */
  readonly hits: number;
  /** Lookups answered by a store read. */
  readonly liveReads: number;
}

/** Whether a namespace object refuses new content (deletionTimestamp set or phase Terminating). */
export function isTerminating(namespace: JsonObject): boolean {
  const metadata = namespace['metadata'];
  const status = namespace['status'];
  return (isObject(metadata) && metadata['deletionTimestamp'] !== undefined) || (isObject(status) && status['phase'] === 'Terminating');
}

const decoder = new TextDecoder();

function stateOf(kv: KeyValue): NamespaceState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(kv.value));
  } catch {
    parsed = undefined;
  }
  // An undecodable object is treated as Terminating so that admission reads it live (and reports it).
  return { terminating: isObject(parsed) ? isTerminating(parsed) : true, modRevision: kv.modRevision };
}

export class NamespaceCache {
  private readonly entries = new Map<string, NamespaceState>();
  private readonly pending = new Map<string, PendingWrite>();
  private readonly rangeEnd: string;
  private handle: WatchHandle | undefined;
  private synced = false;
  private syncing = false;
  private closed = false;
  /** Incremented per watch started: batches of an older watch are ignored. */
  private generation = 0;
  /** The highest revision the cache reflects (list revision, then every event's). */
  private seenRevision = 0;
  private writeCount = 0;
  private retryAfterMs = 0;
  private hitCount = 0;
  private liveReadCount = 0;

  /**
   * @param store the store client
   * @param prefix the namespaces' key prefix (`/registry/namespaces/`)
   * @param readLive a linearizable read of one namespace: its object and modRevision, or undefined
   */
  constructor(
    private readonly store: StoreClient,
    private readonly prefix: string,
    private readonly readLive: (name: string) => Promise<{ readonly object: JsonObject; readonly modRevision: number } | undefined>,
    private readonly clock: Clock,
  ) {
    this.rangeEnd = prefixEnd(prefix);
  }

  get isSynced(): boolean {
    return this.synced;
  }

  get stats(): NamespaceCacheStats {
    return { hits: this.hitCount, liveReads: this.liveReadCount };
  }

  /** The namespace as admission sees it; undefined when it does not exist. */
  async lookup(name: string): Promise<NamespaceState | undefined> {
    this.start();
    if (this.synced && !this.pending.has(name)) {
      const cached = this.entries.get(name);
      if (cached !== undefined && !cached.terminating) {
        this.hitCount++;
        return cached;
      }
    }
    this.liveReadCount++;
    const stored = await this.readLive(name);
    if (stored === undefined) return undefined;
    const state: NamespaceState = { terminating: isTerminating(stored.object), modRevision: stored.modRevision };
    // Newer than anything the watch has delivered: keep it (the watch's event for it will agree).
    if (this.synced && stored.modRevision > this.seenRevision && (this.entries.get(name)?.modRevision ?? 0) < stored.modRevision) this.entries.set(name, state);
    return state;
  }

  /**
   * This server wrote namespace `name` (update, patch, delete): answer its lookups live until the
   * watch shows the write, so a create right after a delete through this server is refused.
   * `revision`: the resourceVersion of the returned object, 0 when unknown.
   */
  noteWrite(name: string, revision: number, deletion: boolean): void {
    if (this.synced && revision > 0 && revision <= this.seenRevision) {
      // The watch has already delivered the write (the entry existed at `revision`; absent now means deleted since).
      const entry = this.entries.get(name);
      if (!deletion || entry === undefined || entry.terminating) return;
    }
    this.writeCount++;
    this.pending.set(name, { revision, deletion, sequence: this.writeCount });
  }

  /** Forget everything and list again on the next lookup (e.g. after a deletecollection). */
  invalidate(): void {
    this.stopWatch();
    this.retryAfterMs = 0;
  }

  close(): void {
    this.closed = true;
    this.stopWatch();
  }

  /** List and watch now (lookups also start it; after a failure, not before NAMESPACE_CACHE_RETRY_MS). */
  start(): void {
    if (this.synced || this.syncing || this.closed || this.clock.now() < this.retryAfterMs) return;
    this.syncing = true;
    void this.sync().then(
      () => {
        this.syncing = false;
      },
      () => {
        this.syncing = false;
        this.retryAfterMs = this.clock.now() + NAMESPACE_CACHE_RETRY_MS;
        this.stopWatch();
      },
    );
  }

  private async sync(): Promise<void> {
    const writesBefore = this.writeCount;
    const generation = ++this.generation;
    const listed = await this.store.range({ key: this.prefix, rangeEnd: this.rangeEnd });
    if (this.closed || generation !== this.generation) return;
    this.entries.clear();
    for (const kv of listed.kvs) this.entries.set(kv.key.slice(this.prefix.length), stateOf(kv));
    this.seenRevision = listed.header.revision;
    for (const [name, write] of this.pending) if (write.sequence <= writesBefore) this.pending.delete(name);
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
      const name = event.kv.key.slice(this.prefix.length);
      const revision = event.kv.modRevision;
      const current = this.entries.get(name);
      let terminating = false;
      if (event.type === 'DELETE') {
        this.entries.delete(name);
      } else if (current === undefined || current.modRevision <= revision) {
        const state = stateOf(event.kv);
        terminating = state.terminating;
        this.entries.set(name, state);
      }
      const write = this.pending.get(name);
      if (write !== undefined && revision >= write.revision && (!write.deletion || event.type === 'DELETE' || terminating)) this.pending.delete(name);
      if (revision > this.seenRevision) this.seenRevision = revision;
    }
    if (batch.canceled !== undefined) this.stopWatch();
  }

  /** Not synced any more: lookups go live until the next list and watch. */
  private stopWatch(): void {
    this.generation++;
    this.handle?.cancel();
    this.handle = undefined;
    this.synced = false;
    this.entries.clear();
  }
}
