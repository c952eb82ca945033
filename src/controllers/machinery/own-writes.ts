// Read-your-own-writes over an informer cache: a controller that just wrote an object keeps the answer,
// and until the cache shows that revision (or a later one) it reads its own copy. Without this a sync
// that runs between the write and its watch event would act on the old object (a Deployment that just
// scaled a ReplicaSet up could surge twice).

import type { KubeObject } from '../../client/index.js';
import { keyOf, metaOf } from './objects.js';

/** How many written objects are remembered; the oldest are dropped past it (the cache has caught up by then). */
export const OWN_WRITES_LIMIT = 10_000;

function revisionOf(object: KubeObject): number {
  const value = Number(metaOf(object).resourceVersion ?? '0');
  return Number.isFinite(value) ? value : 0;
}

export class OwnWrites {
  private readonly byKey = new Map<string, KubeObject>();

  remember(object: KubeObject): void {
    const key = keyOf(object);
    this.byKey.delete(key);
    this.byKey.set(key, object);
    if (this.byKey.size > OWN_WRITES_LIMIT) {
      const oldest = this.byKey.keys().next().value;
      if (oldest !== undefined) this.byKey.delete(oldest);
    }
  }

  forget(object: KubeObject): void {
    this.byKey.delete(keyOf(object));
  }

  /** Our written objects the cache may not have yet (a creation whose event has not arrived). */
  written(): KubeObject[] {
    return [...this.byKey.values()];
  }

  /** The newer of the cached object and our own last write of it (same uid only). */
  current(cached: KubeObject): KubeObject {
    const key = keyOf(cached);
    const mine = this.byKey.get(key);
    if (mine === undefined) return cached;
    if (metaOf(mine).uid !== metaOf(cached).uid || revisionOf(cached) >= revisionOf(mine)) {
      this.byKey.delete(key);
      return cached;
    }
    return mine;
  }
}
