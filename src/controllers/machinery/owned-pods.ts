// The event wiring of a controller that owns pods directly (ReplicaSet, Job): its own objects' events
// enqueue them; a pod's events enqueue its controller (and the one it left, when its owner changed) or,
// for an orphan, every owner whose selector matches it (adoption); creations and deletions are
// reported to the expectations, so that a sync never acts on a cache that has not yet seen its own
// writes; and the deletion of an owner's pods, with the same bookkeeping.

import { isNotFound, PODS, type ApiClient, type KubeObject } from '../../client/index.js';
import type { Expectations } from './expectations.js';
import type { SharedInformer } from './informer-factory.js';
import { selectorMatches } from './labels.js';
import { controllerRefOf, isBeingDeleted, keyOf, metaOf, nameOf, namespaceOf, selectorOf, uidOf } from './objects.js';

export interface OwnedPodsWiring {
  readonly owners: SharedInformer;
  readonly pods: SharedInformer;
  /** The owners' kind, as pods' controller references name it. */
  readonly ownerKind: string;
  readonly expectations: Expectations;
  readonly enqueue: (key: string) => void;
}

/** Registers the handlers; the returned function removes them. */
export function watchOwnedPods({ owners, pods, ownerKind, expectations, enqueue }: OwnedPodsWiring): () => void {
  const ownerKeyOf = (pod: KubeObject): string | undefined => {
    const reference = controllerRefOf(pod);
    if (reference === undefined || reference.kind !== ownerKind) return undefined;
    const owner = owners.get(namespaceOf(pod), reference.name);
    return owner !== undefined && uidOf(owner) === reference.uid ? keyOf(owner) : undefined;
  };
  const enqueueMatching = (pod: KubeObject): void => {
    for (const owner of owners.inNamespace(namespaceOf(pod))) {
      if (selectorMatches(selectorOf(owner), metaOf(pod).labels)) enqueue(keyOf(owner));
    }
  };
  const podDeleted = (pod: KubeObject): void => {
    const owner = ownerKeyOf(pod);
    if (owner === undefined) return;
    expectations.deletionObserved(owner, keyOf(pod));
    enqueue(owner);
  };
  const ownerRegistration = owners.addHandlers({
    onAdd: (object) => enqueue(keyOf(object)),
    onUpdate: (_previous, object) => enqueue(keyOf(object)),
    onDelete: (object) => {
      expectations.forget(keyOf(object));
      enqueue(keyOf(object));
    },
  });
  const podRegistration = pods.addHandlers({
    onAdd: (pod) => {
      if (isBeingDeleted(pod)) return podDeleted(pod);
      const owner = ownerKeyOf(pod);
      if (owner !== undefined) {
        expectations.creationObserved(owner);
        enqueue(owner);
      } else if (controllerRefOf(pod) === undefined) enqueueMatching(pod);
    },
    onUpdate: (previous, pod) => {
      if (isBeingDeleted(pod) && !isBeingDeleted(previous)) return podDeleted(pod);
      const owner = ownerKeyOf(pod);
      const previousOwner = ownerKeyOf(previous);
      if (previousOwner !== undefined && previousOwner !== owner) enqueue(previousOwner);
      if (owner !== undefined) enqueue(owner);
      else if (controllerRefOf(pod) === undefined) enqueueMatching(pod);
    },
    onDelete: podDeleted,
  });
  return () => {
    ownerRegistration.remove();
    podRegistration.remove();
  };
}

/**
 * Deletes an owner's pods (each with its uid as a precondition), telling the expectations first so that
 * a sync waits for the deletions to show in the cache; a pod already gone counts as observed. Returns
 * the pods this call deleted.
 */
export async function deleteOwnedPods(client: ApiClient, expectations: Expectations, ownerKey: string, pods: readonly KubeObject[]): Promise<KubeObject[]> {
  expectations.expectDeletions(ownerKey, pods.map(keyOf));
  const deleted: KubeObject[] = [];
  await Promise.all(
    pods.map(async (pod) => {
      try {
        await client.delete(PODS, namespaceOf(pod), nameOf(pod), { preconditions: { uid: uidOf(pod) } });
        deleted.push(pod);
      } catch (error) {
        expectations.deletionObserved(ownerKey, keyOf(pod));
        if (!isNotFound(error)) throw error;
      }
    }),
  );
  return deleted;
}
