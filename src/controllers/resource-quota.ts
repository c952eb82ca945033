// The resource quota controller: recounts each ResourceQuota's status.used from what exists in its
// namespace (status.hard = spec.hard), so usage that admission charged is released when objects go
// away and charges for creates that then failed are dropped. It reads the quota and then lists the
// kinds its hard limits name, live from the API server, and writes the status with the quota's
// resourceVersion: an admission charge made after that read makes the write fail (409) and the
// count is redone. A kind it may not list (secrets: the controller manager does not read them) or
// does not know keeps the usage admission charged. Quotas are recounted on changes of pods,
// services, configmaps and quotas, and every QUOTA_RESYNC_MS for everything else.

import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { CONFIGMAPS, CRONJOBS, DAEMONSETS, DEPLOYMENTS, JOBS, PODS, REPLICASETS, SECRETS, SERVICES, STATEFULSETS, ApiClientError, isConflict, isNotFound, type ApiClient, type KubeObject, type ResourceType } from '../client/index.js';
import { INGRESSES, PODDISRUPTIONBUDGETS, RESOURCEQUOTAS } from '../client/resources-policy.js';
import { countResourceName, formatUsage, podCountsAgainstQuota, quotaAmounts, usageForQuota, type Usage } from '../api/admission/quota-usage.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { fieldOf, keyOf, namespaceOf, specOf, splitKey, statusOf } from './machinery/objects.js';
import { requeueAfter, DONE, type Controller, type ReconcileResult } from './machinery/reconcile.js';

/** How often every quota is recounted even when nothing it watches changed (Kubernetes: 5 minutes). */
export const QUOTA_RESYNC_MS = 60_000;
/** How soon a recount whose status write lost a race is tried again. */
export const QUOTA_CONFLICT_RETRY_MS = 50;

const PERSISTENTVOLUMECLAIMS: ResourceType = { group: '', version: 'v1', resource: 'persistentvolumeclaims', kind: 'PersistentVolumeClaim', namespaced: true };

/** The kinds a quota can count, by the names their usage appears under. */
const COUNTED_TYPES: readonly ResourceType[] = [PODS, SERVICES, CONFIGMAPS, SECRETS, PERSISTENTVOLUMECLAIMS, RESOURCEQUOTAS, DEPLOYMENTS, REPLICASETS, STATEFULSETS, DAEMONSETS, JOBS, CRONJOBS, PODDISRUPTIONBUDGETS, INGRESSES];

const POD_RESOURCE = /^(pods|cpu|memory|ephemeral-storage|(requests|limits)\..+)$/;

/** Which kind a quota resource name is counted from, or undefined when the controller cannot tell. */
export function typeForResource(resource: string): ResourceType | undefined {
  if (POD_RESOURCE.test(resource)) return PODS;
  if (resource.startsWith('services')) return SERVICES;
  return COUNTED_TYPES.find((type) => resource === countResourceName(type.group, type.resource) || (type.group === '' && resource === type.resource));
}

export interface ResourceQuotaControllerEnv {
  readonly client: ApiClient;
  readonly clock: Clock;
  readonly log: Logger;
}

export class ResourceQuotaController implements Controller {
  readonly name = 'resource-quota';
  private quotas: SharedInformer | undefined;

  constructor(private readonly env: ResourceQuotaControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const quotas = (this.quotas = factory.informerFor(RESOURCEQUOTAS));
    const enqueueNamespace = (object: KubeObject): void => {
      for (const quota of quotas.inNamespace(namespaceOf(object))) enqueue(keyOf(quota));
    };
    const registrations = [
      quotas.addHandlers({
        onAdd: (quota) => enqueue(keyOf(quota)),
        onUpdate: (previous, quota) => {
          // Its own status writes come back as updates: only a spec change needs a recount.
          if (JSON.stringify(specOf(previous)) !== JSON.stringify(specOf(quota)) || previous === quota) enqueue(keyOf(quota));
        },
      }),
      ...[PODS, SERVICES, CONFIGMAPS].map((type) =>
        factory.informerFor(type).addHandlers({ onAdd: enqueueNamespace, onUpdate: (_previous, object) => enqueueNamespace(object), onDelete: enqueueNamespace }),
      ),
    ];
    return () => {
      for (const registration of registrations) registration.remove();
    };
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    if (namespace === undefined || this.quotas?.get(namespace, name) === undefined) return DONE;
    let quota: KubeObject;
    try {
      quota = await this.env.client.get(RESOURCEQUOTAS, namespace, name);
    } catch (error) {
      if (isNotFound(error)) return DONE;
      throw error;
    }
    const hard = quotaAmounts(fieldOf(specOf(quota), 'hard'));
    const previousUsed = quotaAmounts(fieldOf(statusOf(quota), 'used'));
    const used: Usage = new Map();
    const counted = new Map<string, Usage | undefined>();
    for (const resource of hard.keys()) {
      const type = typeForResource(resource);
      const typeKey = type === undefined ? '' : `${type.group}/${type.resource}`;
      if (type !== undefined && !counted.has(typeKey)) counted.set(typeKey, await this.count(type, namespace, quota));
      const usage = counted.get(typeKey);
      // Unknown or unlistable kinds keep what admission charged.
      used.set(resource, usage === undefined ? (previousUsed.get(resource) ?? 0) : (usage.get(resource) ?? 0));
    }
    const status = { hard: fieldOf(specOf(quota), 'hard'), used: formatUsage(used) };
    if (JSON.stringify(status) === JSON.stringify({ hard: fieldOf(statusOf(quota), 'hard'), used: fieldOf(statusOf(quota), 'used') })) return requeueAfter(QUOTA_RESYNC_MS);
    try {
      await this.env.client.update(RESOURCEQUOTAS, { ...quota, status }, 'status');
    } catch (error) {
      if (isNotFound(error)) return DONE;
      if (isConflict(error)) return requeueAfter(QUOTA_CONFLICT_RETRY_MS); // an admission charged it meanwhile: count again
      throw error;
    }
    return requeueAfter(QUOTA_RESYNC_MS);
  }

  /** The usage of one kind in the namespace as this quota counts it; undefined when it cannot be listed. */
  private async count(type: ResourceType, namespace: string, quota: KubeObject): Promise<Usage | undefined> {
    let items: KubeObject[];
    try {
      items = (await this.env.client.listAll(type, { namespace })).items;
    } catch (error) {
      if (error instanceof ApiClientError && error.status === 404) return new Map(); // not served: nothing of it exists
      if (error instanceof ApiClientError && error.status === 403) return undefined;
      throw error;
    }
    const nowMs = this.env.clock.now();
    const total: Usage = new Map();
    for (const item of items) {
      if (type === PODS && !podCountsAgainstQuota(item, nowMs)) continue;
      for (const [resource, amount] of usageForQuota(quota, type.group, type.resource, item)) total.set(resource, (total.get(resource) ?? 0) + amount);
    }
    return total;
  }
}
