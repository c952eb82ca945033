// The admission plugins that need the store (after validation, before the write): Priority (pods get
// their priority from their PriorityClass; one globalDefault class) and ResourceQuota (creates are
// checked against and charged to the namespace's quotas, last, as Kubernetes runs it). resource.ts
// calls admitCreate for every create and admitUpdate for every update.

import type { JsonObject, ResourceDefinition } from '../registry/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { AdmissionCaches } from '../handlers/types.js';
import { admitPodPriority, admitPriorityClass } from './priority.js';
import { chargeQuotas } from './resource-quota.js';

function is(definition: ResourceDefinition, group: string, plural: string): boolean {
  return definition.group === group && definition.plural === plural && definition.custom !== true;
}

export async function admitCreate(
  objects: ObjectStore,
  caches: AdmissionCaches | undefined,
  definition: ResourceDefinition,
  namespace: string | undefined,
  object: JsonObject,
  options: { readonly dryRun: boolean; readonly nowMs: number },
): Promise<void> {
  if (is(definition, '', 'pods')) await admitPodPriority(objects, object, caches?.priorityClasses);
  if (is(definition, 'scheduling.k8s.io', 'priorityclasses')) await admitPriorityClass(objects, object);
  await chargeQuotas(objects, definition, namespace, object, { ...options, ...(caches === undefined ? {} : { quotaCache: caches.quotas }) });
}

export async function admitUpdate(objects: ObjectStore, definition: ResourceDefinition, next: JsonObject, old: JsonObject): Promise<void> {
  if (is(definition, 'scheduling.k8s.io', 'priorityclasses') && next['globalDefault'] === true && old['globalDefault'] !== true) await admitPriorityClass(objects, next);
  // A pod's priority fields are immutable with its spec (validation): nothing to resolve again.
}
