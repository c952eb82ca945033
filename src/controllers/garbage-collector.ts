// The garbage collector: deletes objects whose owners are gone, and carries out the three cascading
// deletion policies (the API server turns a DELETE's propagationPolicy into a finalizer on the owner):
//   - Background (default): the owner goes at once; its dependents, now without a live owner, are deleted.
//   - Foreground (`foregroundDeletion` finalizer): the dependents are deleted (in foreground too) and the
//     owner stays until none with blockOwnerDeletion is left; then the finalizer is removed.
//   - Orphan (`orphan` finalizer): the dependents lose their owner reference to it, then the finalizer goes.
// An owner is only judged absent after a live read (the cache may be behind), and a dependent that still
// has another live owner only loses the dangling references. Works over a fixed list of resource types.

import type { Logger } from 'pino';
import {
  apiVersionOf,
  CONFIGMAPS,
  CRONJOBS,
  DAEMONSETS,
  DEPLOYMENTS,
  isConflict,
  isNotFound,
  JOBS,
  PODS,
  REPLICASETS,
  SERVICEACCOUNTS,
  SERVICES,
  STATEFULSETS,
  type ApiClient,
  type KubeObject,
  type OwnerReference,
  type ResourceType,
} from '../client/index.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { isBeingDeleted, metaOf, nameOf, namespaceOf, uidOf } from './machinery/objects.js';
import { DONE, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const FOREGROUND_FINALIZER = 'foregroundDeletion';
export const ORPHAN_FINALIZER = 'orphan';

/**
 * The kinds whose owner references the collector follows (as owners and as dependents). Not secrets:
 * the controller manager's role may not read them (src/api/auth/bootstrap-policy.ts).
 */
export const GC_RESOURCE_TYPES: readonly ResourceType[] = [PODS, REPLICASETS, DEPLOYMENTS, STATEFULSETS, DAEMONSETS, CONFIGMAPS, SERVICES, SERVICEACCOUNTS, JOBS, CRONJOBS];

export interface GarbageCollectorEnv {
  readonly client: ApiClient;
  readonly log: Logger;
  readonly types?: readonly ResourceType[];
}

const typeId = (type: ResourceType): string => `${type.group}/${type.resource}`;

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  private readonly types: readonly ResourceType[];
  private readonly informers = new Map<string, SharedInformer>();

  constructor(private readonly env: GarbageCollectorEnv) {
    this.types = env.types ?? GC_RESOURCE_TYPES;
  }

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const registrations = this.types.map((type) => {
      const informer = factory.informerFor(type);
      this.informers.set(typeId(type), informer);
      const keyOfObject = (object: KubeObject): string => `${typeId(type)}|${namespaceOf(object)}/${nameOf(object)}`;
      const interesting = (object: KubeObject): boolean => (metaOf(object).ownerReferences ?? []).length > 0 || (isBeingDeleted(object) && (metaOf(object).finalizers ?? []).some((name) => name === FOREGROUND_FINALIZER || name === ORPHAN_FINALIZER));
      return informer.addHandlers({
        onAdd: (object) => {
          if (interesting(object)) enqueue(keyOfObject(object));
        },
        onUpdate: (_previous, object) => {
          if (interesting(object)) enqueue(keyOfObject(object));
        },
        onDelete: (object) => {
          for (const dependent of this.dependentsOf(uidOf(object))) enqueue(dependent.key);
          // An owner waiting in foreground for this dependent may now finish.
          for (const owner of metaOf(object).ownerReferences ?? []) {
            const ownerType = this.typeOf(owner);
            if (ownerType !== undefined) enqueue(`${typeId(ownerType)}|${ownerType.namespaced ? namespaceOf(object) : ''}/${owner.name}`);
          }
        },
      });
    });
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [id = '', path = ''] = key.split('|');
    const slash = path.indexOf('/');
    const namespace = path.slice(0, slash);
    const name = path.slice(slash + 1);
    const type = this.types.find((candidate) => typeId(candidate) === id);
    const object = this.informers.get(id)?.get(namespace === '' ? undefined : namespace, name);
    if (type === undefined || object === undefined) return DONE;
    const finalizers = metaOf(object).finalizers ?? [];
    if (isBeingDeleted(object) && finalizers.includes(ORPHAN_FINALIZER)) {
      await this.orphanDependents(object);
      await this.removeFinalizer(type, object, ORPHAN_FINALIZER);
      return DONE;
    }
    if (isBeingDeleted(object) && finalizers.includes(FOREGROUND_FINALIZER)) {
      const dependents = this.dependentsOf(uidOf(object));
      for (const dependent of dependents) {
        if (!isBeingDeleted(dependent.object)) await this.deleteQuietly(dependent.type, dependent.object, 'Foreground');
      }
      const blocking = dependents.filter((dependent) => (metaOf(dependent.object).ownerReferences ?? []).some((owner) => owner.uid === uidOf(object) && owner.blockOwnerDeletion === true));
      if (blocking.length === 0) await this.removeFinalizer(type, object, FOREGROUND_FINALIZER);
      return DONE;
    }
    if (isBeingDeleted(object)) return DONE;
    const owners = metaOf(object).ownerReferences ?? [];
    if (owners.length === 0) return DONE;
    const absent: OwnerReference[] = [];
    for (const owner of owners) if (!(await this.ownerExists(owner, namespaceOf(object)))) absent.push(owner);
    if (absent.length === owners.length) {
      await this.deleteQuietly(type, object, 'Background');
    } else if (absent.length > 0) {
      const gone = new Set(absent.map((owner) => owner.uid));
      await this.patchOwners(type, object, owners.filter((owner) => !gone.has(owner.uid)));
    }
    return DONE;
  }

  private typeOf(owner: OwnerReference): ResourceType | undefined {
    return this.types.find((type) => type.kind === owner.kind && apiVersionOf(type) === owner.apiVersion);
  }

  private dependentsOf(uid: string): { readonly type: ResourceType; readonly object: KubeObject; readonly key: string }[] {
    const out: { type: ResourceType; object: KubeObject; key: string }[] = [];
    for (const type of this.types) {
      for (const object of this.informers.get(typeId(type))?.ownedBy(uid) ?? []) out.push({ type, object, key: `${typeId(type)}|${namespaceOf(object)}/${nameOf(object)}` });
    }
    return out;
  }

  /** True unless a live read says the owner (that uid) is gone. Unknown kinds count as present. */
  private async ownerExists(owner: OwnerReference, dependentNamespace: string): Promise<boolean> {
    const type = this.typeOf(owner);
    if (type === undefined) return true;
    const namespace = type.namespaced ? dependentNamespace : undefined;
    const cached = this.informers.get(typeId(type))?.get(namespace, owner.name);
    if (cached !== undefined && uidOf(cached) === owner.uid) return true;
    try {
      const live = await this.env.client.get(type, namespace, owner.name);
      return uidOf(live) === owner.uid;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async orphanDependents(owner: KubeObject): Promise<void> {
    for (const dependent of this.dependentsOf(uidOf(owner))) {
      const remaining = (metaOf(dependent.object).ownerReferences ?? []).filter((reference) => reference.uid !== uidOf(owner));
      await this.patchOwners(dependent.type, dependent.object, remaining);
    }
  }

  private async patchOwners(type: ResourceType, object: KubeObject, owners: readonly OwnerReference[]): Promise<void> {
    try {
      await this.env.client.patch(type, namespaceOf(object) || undefined, nameOf(object), { metadata: { ownerReferences: owners.length === 0 ? null : owners, resourceVersion: metaOf(object).resourceVersion } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async removeFinalizer(type: ResourceType, object: KubeObject, finalizer: string): Promise<void> {
    const finalizers = (metaOf(object).finalizers ?? []).filter((name) => name !== finalizer);
    try {
      await this.env.client.patch(type, namespaceOf(object) || undefined, nameOf(object), { metadata: { finalizers: finalizers.length === 0 ? null : finalizers, resourceVersion: metaOf(object).resourceVersion } });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  private async deleteQuietly(type: ResourceType, object: KubeObject, propagationPolicy: 'Background' | 'Foreground'): Promise<void> {
    try {
      await this.env.client.delete(type, namespaceOf(object) || undefined, nameOf(object), { propagationPolicy, preconditions: { uid: uidOf(object) } });
      this.env.log.debug({ kind: type.kind, name: nameOf(object), propagationPolicy }, 'garbage collected');
    } catch (error) {
      if (!isNotFound(error) && !isConflict(error)) throw error;
    }
  }
}
