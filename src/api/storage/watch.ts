// Kubernetes watches over the store's watch: turns key events into ADDED / MODIFIED / DELETED object
// events with selectors applied to both the old and the new object (an object leaving the selector
// is DELETED for this watcher, one entering it ADDED), BOOKMARKs with the last delivered revision,
// ERROR with a 410 Status for a compacted start, and the initial ADDED list when no (or a zero)
// resourceVersion is given. The caller supplies the sink (an HTTP response, or anything else) and
// must call stop() when its client goes away: that cancels the store watch and every timer.

import type { Clock, TimerHandle } from '../../actors/clock.js';
import type { WatchHandle } from '../../store/client.js';
import { CompactedError, prefixEnd, type WatchBatch, type WatchEvent } from '../../store/index.js';
import type { JsonObject, ResourceDefinition } from '../registry/types.js';
import { apiVersionOf } from '../registry/types.js';
import { ApiError, errors, type Status } from '../status.js';
import type { ObjectStore } from './object-store.js';
import { storeCall } from './object-store.js';
import type { WatchCache } from './watch-cache.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ObjectWatchEvent {
  readonly type: WatchEventType;
  readonly object: JsonObject | Status;
}

export interface WatchSink {
  event(event: ObjectWatchEvent): void;
  /** The watch is over (timeout, error sent, store gone); the sink should close its stream. */
  end(): void;
}

export interface ObjectWatchOptions {
  readonly namespace: string | undefined;
  /** Only this object (a watch on a name, or fieldSelector metadata.name=…). */
  readonly name?: string;
  /** The client's resourceVersion: absent or '0' starts with the current objects as ADDED. */
  readonly resourceVersion: string | undefined;
  readonly filter: (object: JsonObject) => boolean;
  readonly bookmarks: boolean;
  readonly bookmarkIntervalMs: number;
  /** Absent: the watch runs until the client leaves. */
  readonly timeoutMs?: number;
  readonly clock: Clock;
  /** The resource's shared watch cache (its cluster-wide prefix); absent: a store watch per request. */
  readonly cache?: WatchCache;
}

export interface RunningWatch {
  stop(): void;
}

/** Start a watch. Setup failures other than compaction (a garbage resourceVersion) reject with ApiError. */
export async function startObjectWatch(objects: ObjectStore, definition: ResourceDefinition, options: ObjectWatchOptions, sink: WatchSink): Promise<RunningWatch> {
  const { clock } = options;
  let stopped = false;
  let handle: WatchHandle | undefined;
  let bookmarkTimer: TimerHandle | undefined;
  let timeoutTimer: TimerHandle | undefined;
  let lastRevision = 0;

  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    handle?.cancel();
    handle = undefined;
    if (bookmarkTimer !== undefined) clock.cancelTimer(bookmarkTimer);
    if (timeoutTimer !== undefined) clock.cancelTimer(timeoutTimer);
  };
  const finish = (): void => {
    if (stopped) return;
    stop();
    sink.end();
  };
  const fail = (error: ApiError): void => {
    if (stopped) return;
    sink.event({ type: 'ERROR', object: error.toStatus() });
    finish();
  };

  const prefix = options.name === undefined ? objects.prefix(definition, options.namespace) : objects.key(definition, options.namespace, options.name);
  const rangeEnd = options.name === undefined ? prefixEnd(prefix) : undefined;

  let startRevision: number;
  const rv = options.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0') {
    const initial = await objects.list(definition, options.namespace, { filter: (object) => options.filter(object) && nameMatches(object, options.name) });
    for (const object of initial.items) sink.event({ type: 'ADDED', object });
    startRevision = initial.revision + 1;
  } else {
    const parsed = Number(rv);
    if (!/^[0-9]+$/.test(rv) || !Number.isSafeInteger(parsed)) throw errors.badRequest(`invalid resource version: "${rv}"`);
    startRevision = parsed + 1;
  }
  lastRevision = startRevision - 1;

  const onBatch = (batch: WatchBatch): void => {
    if (stopped) return;
    for (const event of batch.events) {
      const out = convert(objects, event, options.filter);
      if (out !== undefined) sink.event(out);
      lastRevision = Math.max(lastRevision, event.kv.modRevision);
    }
    const canceled = batch.canceled;
    if (canceled === undefined) return;
    handle = undefined;
    if (canceled.reason === 'compacted') fail(errors.expired(`too old resource version: ${lastRevision} (${canceled.compactRevision ?? canceled.lastRevision})`));
    else if (canceled.reason === 'slow' || canceled.reason === 'restored') void open(canceled.lastRevision + 1);
    else finish();
  };

  const keyMatches = (key: string): boolean => (rangeEnd === undefined ? key === prefix : key.startsWith(prefix));

  const open = async (from: number): Promise<void> => {
    if (options.cache !== undefined) {
      const subscription = await options.cache.subscribe(from, {
        events: (events) => {
          const mine = events.filter((event) => keyMatches(event.kv.key));
          if (mine.length > 0) onBatch({ watchId: 0, revision: 0, events: mine });
        },
        reset: finish,
      });
      if (subscription !== undefined) {
        if (stopped) subscription.cancel();
        else handle = subscription;
        return;
      }
      // Older than the cache's window: a direct store watch (410 if compacted).
    }
    try {
      const opened = await objects.store.watch({ key: prefix, ...(rangeEnd === undefined ? {} : { rangeEnd }), startRevision: from, prevKv: true }, onBatch);
      if (stopped) opened.cancel();
      else handle = opened;
    } catch (error) {
      if (error instanceof CompactedError) fail(errors.expired(`too old resource version: ${from - 1} (${error.compactRevision})`));
      else {
        try {
          await storeCall(() => Promise.reject(error));
        } catch (converted) {
          fail(converted instanceof ApiError ? converted : errors.internal(String(converted)));
        }
      }
    }
  };

  await open(startRevision);
  if (!stopped && options.bookmarks) {
    const tick = (): void => {
      if (stopped) return;
      sink.event({
        type: 'BOOKMARK',
        object: { kind: definition.kind, apiVersion: apiVersionOf(definition), metadata: { resourceVersion: String(lastRevision) } },
      });
      bookmarkTimer = clock.setTimer(options.bookmarkIntervalMs, tick);
    };
    bookmarkTimer = clock.setTimer(options.bookmarkIntervalMs, tick);
  }
  if (!stopped && options.timeoutMs !== undefined) timeoutTimer = clock.setTimer(options.timeoutMs, finish);
  return { stop };
}

function nameMatches(object: JsonObject, name: string | undefined): boolean {
  if (name === undefined) return true;
  const metadata = object['metadata'];
  return typeof metadata === 'object' && metadata !== null && (metadata as JsonObject)['name'] === name;
}

function convert(objects: ObjectStore, event: WatchEvent, filter: (object: JsonObject) => boolean): ObjectWatchEvent | undefined {
  const previous = event.prevKv === undefined ? undefined : objects.decode(event.prevKv);
  const wasIn = previous !== undefined && filter(previous);
  if (event.type === 'DELETE') {
    if (event.prevKv === undefined || !wasIn) return undefined;
    return { type: 'DELETED', object: objects.decode(event.prevKv, event.kv.modRevision) };
  }
  const current = objects.decode(event.kv);
  const isIn = filter(current);
  if (isIn && wasIn) return { type: 'MODIFIED', object: current };
  if (isIn) return { type: 'ADDED', object: current };
  if (wasIn) return { type: 'DELETED', object: current };
  return undefined;
}
