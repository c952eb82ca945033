// Keeps the authorizer's in-memory RBAC cache (auth/rbac.ts's RbacCache) current from the store:
// one watch per RBAC kind (Role, ClusterRole, RoleBinding, ClusterRoleBinding) that starts with the
// current objects as ADDED events, applies every change, and starts over (a fresh list) after a 410
// or any stream end. The cache is typed structurally here so this module does not depend on the
// authorizer's implementation.

import type { Clock } from '../actors/clock.js';
import { systemClock } from '../actors/clock.js';
import type { Registry } from './registry/index.js';
import type { JsonObject } from './registry/types.js';
import { isObject } from './registry/types.js';
import type { ObjectStore } from './storage/object-store.js';
import { startObjectWatch, type RunningWatch } from './storage/watch.js';

export type RbacKind = 'Role' | 'ClusterRole' | 'RoleBinding' | 'ClusterRoleBinding';

export interface RbacCacheSink {
  upsert(kind: RbacKind, object: JsonObject): void;
  remove(kind: RbacKind, namespace: string | undefined, name: string): void;
}

/** Wait before re-watching after a stream ended (store unavailable, compaction). */
export const RBAC_RESYNC_DELAY_MS = 500;

const KINDS: ReadonlyArray<readonly [RbacKind, string]> = [
  ['Role', 'roles'],
  ['ClusterRole', 'clusterroles'],
  ['RoleBinding', 'rolebindings'],
  ['ClusterRoleBinding', 'clusterrolebindings'],
];

export interface RbacSync {
  /** Resolves once every kind's initial objects are in the cache. */
  readonly synced: Promise<void>;
  stop(): void;
}

export function startRbacSync(objects: ObjectStore, registry: Registry, cache: RbacCacheSink, clock: Clock = systemClock): RbacSync {
  let stopped = false;
  const running = new Map<RbacKind, RunningWatch>();
  const pending: Array<Promise<void>> = [];

  for (const [kind, plural] of KINDS) {
    const definition = registry.lookup('rbac.authorization.k8s.io', 'v1', plural);
    if (definition === undefined) throw new Error(`registry has no ${plural}`);
    let resolveSynced: () => void = () => undefined;
    // What the cache holds for this kind, so that a relist can remove what vanished meanwhile.
    const known = new Map<string, { readonly namespace: string | undefined; readonly name: string }>();
    pending.push(new Promise<void>((resolve) => (resolveSynced = resolve)));
    const start = (): void => {
      if (stopped) return;
      // A fresh start lists again: the ADDED events bring back what still exists; the rest is removed below.
      const before = new Map(known);
      known.clear();
      startObjectWatch(
        objects,
        definition,
        { namespace: undefined, resourceVersion: undefined, filter: () => true, bookmarks: false, bookmarkIntervalMs: 60_000, clock },
        {
          event(event) {
            const object = event.object as JsonObject;
            const metadata = isObject(object['metadata']) ? object['metadata'] : {};
            const name = typeof metadata['name'] === 'string' ? metadata['name'] : '';
            const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : undefined;
            if (event.type === 'ADDED' || event.type === 'MODIFIED') {
              known.set(`${namespace ?? ''}/${name}`, { namespace, name });
              cache.upsert(kind, object);
            } else if (event.type === 'DELETED') {
              known.delete(`${namespace ?? ''}/${name}`);
              cache.remove(kind, namespace, name);
            }
          },
          end() {
            running.delete(kind);
            if (!stopped) clock.setTimer(RBAC_RESYNC_DELAY_MS, start);
          },
        },
      ).then(
        (watch) => {
          for (const [key, gone] of before) if (!known.has(key)) cache.remove(kind, gone.namespace, gone.name);
          resolveSynced();
          if (stopped) watch.stop();
          else running.set(kind, watch);
        },
        () => {
          if (!stopped) clock.setTimer(RBAC_RESYNC_DELAY_MS, start);
        },
      );
    };
    start();
  }

  return {
    synced: Promise.all(pending).then(() => undefined),
    stop() {
      stopped = true;
      for (const watch of running.values()) watch.stop();
      running.clear();
    },
  };
}
