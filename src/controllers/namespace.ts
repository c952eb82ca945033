// The namespace controller: when a namespace is being deleted (Terminating) and still carries the
// `kubernetes` finalizer in spec.finalizers, it deletes every object in it with one deletecollection per
// kind, and repeats until every deletecollection comes back empty (objects still terminating, such as
// pods in their grace period, come back each time), then removes the finalizer through
// namespaces/finalize, after which the API server removes the namespace. deletecollection serves as the
// check too because the controller manager's role may delete but not list secrets. The kinds it empties
// are a fixed list (not discovery).

import type { Logger } from 'pino';
import {
  ApiClientError,
  CONFIGMAPS,
  CRONJOBS,
  DAEMONSETS,
  DEPLOYMENTS,
  EVENTS,
  isNotFound,
  JOBS,
  LEASES,
  NAMESPACES,
  PODS,
  REPLICASETS,
  SECRETS,
  SERVICEACCOUNTS,
  SERVICES,
  resourcePath,
  STATEFULSETS,
  type ApiClient,
  type ResourceType,
} from '../client/index.js';
import { INGRESSES, PODDISRUPTIONBUDGETS, RESOURCEQUOTAS } from '../client/resources-policy.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { HORIZONTALPODAUTOSCALERS } from './hpa.js';
import { isBeingDeleted, nameOf, specOf } from './machinery/objects.js';
import { DONE, requeueAfter, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const NAMESPACE_FINALIZER = 'kubernetes';
/** How soon a namespace whose content is still going away is looked at again. */
export const NAMESPACE_RECHECK_MS_DEFAULT = 1_000;

const ENDPOINTS: ResourceType = { group: '', version: 'v1', resource: 'endpoints', kind: 'Endpoints', namespaced: true };
const EVENTS_V1: ResourceType = { group: 'events.k8s.io', version: 'v1', resource: 'events', kind: 'Event', namespaced: true };
const rbac = (resource: string, kind: string): ResourceType => ({ group: 'rbac.authorization.k8s.io', version: 'v1', resource, kind, namespaced: true });

/** Autoscalers and workloads first (so their controllers stop scaling and replacing pods), then pods, then the rest. */
export const NAMESPACED_TYPES: readonly ResourceType[] = [
  HORIZONTALPODAUTOSCALERS,
  DEPLOYMENTS,
  STATEFULSETS,
  DAEMONSETS,
  REPLICASETS,
  CRONJOBS,
  JOBS,
  PODS,
  SERVICES,
  ENDPOINTS,
  CONFIGMAPS,
  SECRETS,
  SERVICEACCOUNTS,
  LEASES,
  rbac('roles', 'Role'),
  rbac('rolebindings', 'RoleBinding'),
  EVENTS,
  EVENTS_V1,
  PODDISRUPTIONBUDGETS,
  INGRESSES,
  RESOURCEQUOTAS,
];

export interface NamespaceControllerEnv {
  readonly client: ApiClient;
  readonly log: Logger;
  readonly recheckMs?: number;
  readonly types?: readonly ResourceType[];
}

export class NamespaceController implements Controller {
  readonly name = 'namespace';
  private namespaces: SharedInformer | undefined;

  constructor(private readonly env: NamespaceControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const namespaces = (this.namespaces = factory.informerFor(NAMESPACES));
    const registration = namespaces.addHandlers({
      onAdd: (namespace) => {
        if (isBeingDeleted(namespace)) enqueue(nameOf(namespace));
      },
      onUpdate: (_previous, namespace) => {
        if (isBeingDeleted(namespace)) enqueue(nameOf(namespace));
      },
    });
    return () => registration.remove();
  }

  /** Deletes every object of `type` in the namespace; returns how many were there (deleted or still terminating). */
  private async deleteCollection(type: ResourceType, namespace: string): Promise<number> {
    const answer = await this.env.client.transport.call({ method: 'DELETE', path: resourcePath(type, namespace) });
    if (answer.status === 404 || answer.status === 405) return 0; // a kind this server does not serve (or not this way)
    if (answer.status < 200 || answer.status >= 300) throw new ApiClientError(answer.status, answer.body);
    const items = typeof answer.body === 'object' && answer.body !== null ? (answer.body as { items?: unknown }).items : undefined;
    return Array.isArray(items) ? items.length : 0;
  }

  async reconcile(name: string): Promise<ReconcileResult> {
    const namespace = this.namespaces?.get(undefined, name);
    if (namespace === undefined || !isBeingDeleted(namespace)) return DONE;
    const finalizers = specOf(namespace)['finalizers'];
    const pending = Array.isArray(finalizers) ? (finalizers as string[]) : [];
    if (!pending.includes(NAMESPACE_FINALIZER)) return DONE;
    let remaining = 0;
    for (const type of this.env.types ?? NAMESPACED_TYPES) remaining += await this.deleteCollection(type, name);
    if (remaining > 0) return requeueAfter(this.env.recheckMs ?? NAMESPACE_RECHECK_MS_DEFAULT);
    try {
      await this.env.client.update(NAMESPACES, { ...namespace, spec: { ...specOf(namespace), finalizers: pending.filter((finalizer) => finalizer !== NAMESPACE_FINALIZER) } }, 'finalize');
      this.env.log.debug({ namespace: name }, 'namespace emptied and finalized');
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    return DONE;
  }
}
