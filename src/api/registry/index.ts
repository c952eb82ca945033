// The resource registry: every served resource, looked up by group/version/plural (routing), by
// short name or kind (clients), and listed per group-version (discovery and, later, OpenAPI).

import { appsResources } from './apps.js';
import { authenticationResources } from './authentication.js';
import { authorizationResources } from './authorization.js';
import { batchResources } from './batch.js';
import { autoscalingResources } from './autoscaling.js';
import { coordinationResources } from './coordination.js';
import { coreResources } from './core.js';
import { eventsGroupResources } from './events-group.js';
import { metricsResources } from './metrics.js';
import { rbacResources } from './rbac.js';
import { policyResources } from './policy.js';
import { schedulingResources } from './scheduling.js';
import { resourceQuotaResources } from './resource-quota.js';
import { networkingResources } from './networking.js';
import { apiVersionOf, type ResourceDefinition } from './types.js';

export * from './types.js';

export interface GroupVersion {
  readonly group: string;
  readonly version: string;
  readonly resources: readonly ResourceDefinition[];
}

export class Registry {
  private readonly byPath = new Map<string, ResourceDefinition>();
  private served: ResourceDefinition[] = [];
  private versionsCache: readonly GroupVersion[] | undefined;
  /** Incremented by every add and remove (CRDs): documents derived from the registry cache by it. */
  private changes = 0;

  constructor(resources: readonly ResourceDefinition[]) {
    for (const definition of resources) this.add(definition);
    this.changes = 0;
  }

  get resources(): readonly ResourceDefinition[] {
    return this.served;
  }

  get revision(): number {
    return this.changes;
  }

  get groupVersions(): readonly GroupVersion[] {
    if (this.versionsCache !== undefined) return this.versionsCache;
    const versions = new Map<string, { group: string; version: string; resources: ResourceDefinition[] }>();
    for (const definition of this.served) {
      const groupVersion = apiVersionOf(definition);
      let entry = versions.get(groupVersion);
      if (entry === undefined) {
        entry = { group: definition.group, version: definition.version, resources: [] };
        versions.set(groupVersion, entry);
      }
      entry.resources.push(definition);
    }
    this.versionsCache = [...versions.values()];
    return this.versionsCache;
  }

  /** Serve one more resource (a custom resource's version); throws when its path is taken. */
  add(definition: ResourceDefinition): void {
    const key = `${apiVersionOf(definition)}/${definition.plural}`;
    if (this.byPath.has(key)) throw new Error(`resource ${key} registered twice`);
    this.byPath.set(key, definition);
    this.served = [...this.served, definition];
    this.versionsCache = undefined;
    this.changes++;
  }

  /** Stop serving a resource added before (nothing when it is not served). */
  remove(definition: ResourceDefinition): void {
    const key = `${apiVersionOf(definition)}/${definition.plural}`;
    if (this.byPath.get(key) !== definition) return;
    this.byPath.delete(key);
    this.served = this.served.filter((entry) => entry !== definition);
    this.versionsCache = undefined;
    this.changes++;
  }

  lookup(group: string, version: string, plural: string): ResourceDefinition | undefined {
    return this.byPath.get(`${group === '' ? version : `${group}/${version}`}/${plural}`);
  }

  /** The resource whose objects have this apiVersion and kind (not a subresource's kind). */
  byKind(apiVersion: string, kind: string): ResourceDefinition | undefined {
    return this.resources.find((definition) => apiVersionOf(definition) === apiVersion && definition.kind === kind);
  }

  groupVersion(group: string, version: string): GroupVersion | undefined {
    return this.groupVersions.find((entry) => entry.group === group && entry.version === version);
  }

  /** Named groups (not core), in registration order. */
  groups(): string[] {
    return [...new Set(this.groupVersions.filter((entry) => entry.group !== '').map((entry) => entry.group))];
  }
}

export const builtinResources: readonly ResourceDefinition[] = [
  ...coreResources,
  ...appsResources,
  ...coordinationResources,
  ...rbacResources,
  ...authorizationResources,
  ...authenticationResources,
  ...eventsGroupResources,
  ...metricsResources,
  ...batchResources,
  ...autoscalingResources,
  ...policyResources,
  ...schedulingResources,
  ...resourceQuotaResources,
  ...networkingResources,
];

export function defaultRegistry(): Registry {
  return new Registry(builtinResources);
}
