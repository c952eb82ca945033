// The ResourceQuota admission: a create in a namespace with quotas is checked against each quota's
// spec.hard and charged to its status.used before the object is written, as Kubernetes' quota
// admission does: the charge is a status write conditioned on the quota's resourceVersion, so of two
// creates racing for the last unit one charges and the other re-reads the quota and is refused
// (403 `exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2`). A usage the quota's
// status does not hold yet (the controller has not counted it) is counted from the store first. A
// charge for an object whose write then fails stays until the quota controller recounts (as in
// Kubernetes: usage is over-, never under-counted).

import { apiVersionOf, isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { resourcequotas } from '../registry/resource-quota.js';
import { metadataOf, type ObjectStore } from '../storage/object-store.js';
import type { PrefixCache } from '../storage/prefix-cache.js';
import { ApiError, errors } from '../status.js';
import { formatUsage, missingDeclarations, podCountsAgainstQuota, prettyUsage, quotaAmounts, usageForQuota, type Usage } from './quota-usage.js';

/** Attempts to charge quotas that other writers keep changing before giving up with 409. */
export const QUOTA_CHARGE_ATTEMPTS = 50;

function qualifiedName(definition: ResourceDefinition): string {
  return definition.group === '' ? definition.plural : `${definition.plural}.${definition.group}`;
}

/** The usage of `resource` in the namespace as the store has it now (for a quota whose status lacks it). */
async function storedUsage(objects: ObjectStore, definition: ResourceDefinition, namespace: string, quota: JsonObject, resource: string, nowMs: number): Promise<number> {
  let total = 0;
  for (const item of (await objects.list(definition, namespace)).items) {
    if (definition.group === '' && definition.plural === 'pods' && !podCountsAgainstQuota(item, nowMs)) continue;
    total += usageForQuota(quota, definition.group, definition.plural, item).get(resource) ?? 0;
  }
  return total;
}

interface Charge {
  readonly quota: JsonObject;
  readonly used: Usage;
}

/**
 * Check `object` (about to be created) against every quota of its namespace and charge them.
 * Throws 403 Forbidden when a quota would be exceeded or a pod leaves out a resource a quota limits.
 */
export async function chargeQuotas(
  objects: ObjectStore,
  definition: ResourceDefinition,
  namespace: string | undefined,
  object: JsonObject,
  options: { readonly dryRun: boolean; readonly nowMs: number; readonly quotaCache?: PrefixCache },
): Promise<void> {
  if (!definition.namespaced || namespace === undefined || definition.virtual === true) return;
  // Most namespaces have no quota: the cache (when it can vouch) saves the store read. Quotas themselves are read live.
  const cached = options.quotaCache?.snapshot();
  if (cached !== undefined && ![...cached.keys()].some((key) => key.startsWith(`${namespace}/`))) return;
  const name = String(metadataOf(object)['name'] ?? '');
  for (let attempt = 0; attempt < QUOTA_CHARGE_ATTEMPTS; attempt++) {
    const quotas = (await objects.list(resourcequotas, namespace)).items;
    const charges: Charge[] = [];
    for (const quota of quotas) {
      const spec = isObject(quota['spec']) ? quota['spec'] : {};
      const hard = quotaAmounts(spec['hard']);
      const quotaName = String(metadataOf(quota)['name']);
      const requested = new Map([...usageForQuota(quota, definition.group, definition.plural, object)].filter(([resource]) => hard.has(resource)));
      if (requested.size === 0) continue;
      const missing = missingDeclarations(hard, definition.group, definition.plural, object);
      if (missing.length > 0) throw errors.forbidden(`${qualifiedName(definition)} "${name}" is forbidden: failed quota: ${quotaName}: must specify ${missing.join(',')}`, { name, group: definition.group, kind: definition.plural });
      const status = isObject(quota['status']) ? quota['status'] : {};
      const used = quotaAmounts(status['used']);
      for (const resource of hard.keys()) if (!used.has(resource) && requested.has(resource)) used.set(resource, await storedUsage(objects, definition, namespace, quota, resource, options.nowMs));
      const exceeded = [...requested].filter(([resource, amount]) => (used.get(resource) ?? 0) + amount > (hard.get(resource) ?? 0)).map(([resource]) => resource);
      if (exceeded.length > 0) {
        const pick = (usage: Usage): Usage => new Map(exceeded.map((resource) => [resource, usage.get(resource) ?? 0]));
        throw errors.forbidden(
          `${qualifiedName(definition)} "${name}" is forbidden: exceeded quota: ${quotaName}, requested: ${prettyUsage(pick(requested))}, used: ${prettyUsage(pick(used))}, limited: ${prettyUsage(pick(hard))}`,
          { name, group: definition.group, kind: definition.plural },
        );
      }
      for (const [resource, amount] of requested) used.set(resource, (used.get(resource) ?? 0) + amount);
      charges.push({ quota, used });
    }
    if (charges.length === 0 || options.dryRun) return;
    if (await writeCharges(objects, namespace, charges)) return;
  }
  throw errors.conflict({ resource: 'resourcequotas', group: '' }, '', `too many concurrent writers of the quotas of namespace ${namespace}, please try again`);
}

/** Write each charged quota's status with its resourceVersion as precondition; false when one moved meanwhile. */
async function writeCharges(objects: ObjectStore, namespace: string, charges: readonly Charge[]): Promise<boolean> {
  for (const { quota, used } of charges) {
    const metadata = metadataOf(quota);
    const spec = isObject(quota['spec']) ? quota['spec'] : {};
    const status = isObject(quota['status']) ? quota['status'] : {};
    const previousUsed = isObject(status['used']) ? status['used'] : {};
    try {
      await objects.update(
        resourcequotas,
        namespace,
        String(metadata['name']),
        (current) => ({ ...current, apiVersion: apiVersionOf(resourcequotas), status: { ...status, hard: spec['hard'] ?? {}, used: { ...previousUsed, ...formatUsage(used) } } }),
        { expectedResourceVersion: String(metadata['resourceVersion']) },
      );
    } catch (error) {
      if (error instanceof ApiError && (error.code === 'Conflict' || error.code === 'NotFound')) return false;
      throw error;
    }
  }
  return true;
}
