// Informer: a component's local, current copy of one resource type. It lists, then watches from the
// list's resourceVersion, and relists when the watch ends or the revision is gone (410), so its cache
// converges to the server's state after any interruption. Handlers hear of adds, updates and deletes
// (a relist reports what changed while the watch was down). Retries back off on the injected clock.

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../actors/clock.js';
import { metaOf, type ApiClient, type KubeObject } from './api-client.js';
import type { ResourceType } from './resources.js';
import type { WatchStream, WireWatchEvent } from './transport.js';

export interface InformerHandlers {
  onAdd?(object: KubeObject): void;
  onUpdate?(previous: KubeObject, object: KubeObject): void;
  onDelete?(object: KubeObject): void;
}

export interface InformerOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** Watch timeout asked of the server; the informer re-watches after it (default 300 s). */
  readonly watchTimeoutSeconds?: number;
}

const RETRY_MIN_MS = 200;
const RETRY_MAX_MS = 5_000;

export function objectKey(object: KubeObject): string {
  const meta = metaOf(object);
  return meta.namespace === undefined || meta.namespace === '' ? (meta.name ?? '') : `${meta.namespace}/${meta.name ?? ''}`;
}

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly handlers: InformerHandlers[] = [];
  private stream: WatchStream | undefined;
  private resourceVersion = '';
  private synced = false;
  private stopped = false;
  private retryMs = RETRY_MIN_MS;
  private retryTimer: TimerHandle | undefined;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    private readonly client: ApiClient,
    private readonly type: ResourceType,
    private readonly options: InformerOptions,
  ) {}

  addHandlers(handlers: InformerHandlers): void {
    this.handlers.push(handlers);
  }

  start(): void {
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== undefined) this.options.clock.cancelTimer(this.retryTimer);
    this.stream?.stop();
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.cache.get(namespace === undefined || namespace === '' ? name : `${namespace}/${name}`);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    try {
      const listed = await this.client.listAll(this.type, this.selection());
      if (this.stopped) return;
      this.replace(listed.items);
      this.resourceVersion = listed.resourceVersion;
      if (!this.synced) {
        this.synced = true;
        for (const resolve of this.syncWaiters.splice(0)) resolve();
      }
      await this.watchFrom();
      this.retryMs = RETRY_MIN_MS;
    } catch (error) {
      this.options.log.debug({ err: error, resource: this.type.resource }, 'informer list or watch failed; retrying');
      this.retryLater();
    }
  }

  private async watchFrom(): Promise<void> {
    const stream = await this.client.watch(
      this.type,
      { ...this.selection(), resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds: this.options.watchTimeoutSeconds ?? 300 },
      (event) => this.onEvent(event),
    );
    this.stream = stream;
    void stream.ended.then(() => {
      if (this.stream !== stream || this.stopped) return;
      this.stream = undefined;
      // A watch that ended normally resumes from where it was; after an ERROR (410) the relist starts over.
      void this.resume();
    });
  }

  private async resume(): Promise<void> {
    if (this.resourceVersion === '') return this.relist();
    try {
      await this.watchFrom();
    } catch {
      await this.relist();
    }
  }

  private onEvent(event: WireWatchEvent): void {
    const object = event.object as KubeObject;
    const version = metaOf(object).resourceVersion;
    switch (event.type) {
      case 'ERROR':
        // Gone (410) or another failure: the watch ends; relist from scratch.
        this.resourceVersion = '';
        this.stream?.stop();
        return;
      case 'BOOKMARK':
        if (version !== undefined) this.resourceVersion = version;
        return;
      case 'ADDED':
      case 'MODIFIED': {
        const key = objectKey(object);
        const previous = this.cache.get(key);
        this.cache.set(key, object);
        if (version !== undefined) this.resourceVersion = version;
        for (const handler of this.handlers) {
          if (previous === undefined) handler.onAdd?.(object);
          else handler.onUpdate?.(previous, object);
        }
        return;
      }
      case 'DELETED': {
        const key = objectKey(object);
        this.cache.delete(key);
        if (version !== undefined) this.resourceVersion = version;
        for (const handler of this.handlers) handler.onDelete?.(object);
        return;
      }
    }
  }

  /** Swap in a fresh list, telling handlers what changed since the cache was last current. */
  private replace(items: readonly KubeObject[]): void {
    const fresh = new Map(items.map((item) => [objectKey(item), item] as const));
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        for (const handler of this.handlers) handler.onDelete?.(old);
      }
    }
    for (const [key, item] of fresh) {
      const previous = this.cache.get(key);
      this.cache.set(key, item);
      if (previous === undefined) for (const handler of this.handlers) handler.onAdd?.(item);
      else if (metaOf(previous).resourceVersion !== metaOf(item).resourceVersion) for (const handler of this.handlers) handler.onUpdate?.(previous, item);
    }
  }

  private selection(): { namespace?: string; labelSelector?: string; fieldSelector?: string } {
    return {
      ...(this.options.namespace !== undefined ? { namespace: this.options.namespace } : {}),
      ...(this.options.labelSelector !== undefined ? { labelSelector: this.options.labelSelector } : {}),
      ...(this.options.fieldSelector !== undefined ? { fieldSelector: this.options.fieldSelector } : {}),
    };
  }

  private retryLater(): void {
    if (this.stopped) return;
    const delay = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
    this.retryTimer = this.options.clock.setTimer(delay, () => void this.relist());
  }
}
