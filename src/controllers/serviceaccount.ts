// The service account controller (Kubernetes' "serviceaccount-controller"): every namespace that is
// not being deleted has a ServiceAccount named `default`; it is created when missing, and again when
// someone deletes it. That is what `kubectl create token default` and pods without a
// serviceAccountName expect to find.

import type { Logger } from 'pino';
import { ApiClientError, isAlreadyExists, isNotFound, NAMESPACES, SERVICEACCOUNTS, type ApiClient } from '../client/index.js';
import type { SharedInformer, SharedInformerFactory } from './machinery/informer-factory.js';
import { isBeingDeleted, nameOf, namespaceOf } from './machinery/objects.js';
import { DONE, type Controller, type ReconcileResult } from './machinery/reconcile.js';

export const DEFAULT_SERVICE_ACCOUNT = 'default';

export interface ServiceAccountControllerEnv {
  readonly client: ApiClient;
  readonly log: Logger;
}

export class ServiceAccountController implements Controller {
  readonly name = 'serviceaccount';
  private namespaces: SharedInformer | undefined;
  private serviceAccounts: SharedInformer | undefined;

  constructor(private readonly env: ServiceAccountControllerEnv) {}

  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void {
    const namespaces = (this.namespaces = factory.informerFor(NAMESPACES));
    const serviceAccounts = (this.serviceAccounts = factory.informerFor(SERVICEACCOUNTS));
    const namespaceRegistration = namespaces.addHandlers({
      onAdd: (namespace) => enqueue(nameOf(namespace)),
      onUpdate: (_previous, namespace) => enqueue(nameOf(namespace)),
    });
    const accountRegistration = serviceAccounts.addHandlers({
      onDelete: (account) => {
        if (nameOf(account) === DEFAULT_SERVICE_ACCOUNT) enqueue(namespaceOf(account));
      },
    });
    return () => {
      namespaceRegistration.remove();
      accountRegistration.remove();
    };
  }

  async reconcile(namespace: string): Promise<ReconcileResult> {
    const found = this.namespaces?.get(undefined, namespace);
    if (found === undefined || isBeingDeleted(found)) return DONE;
    if (this.serviceAccounts?.get(namespace, DEFAULT_SERVICE_ACCOUNT) !== undefined) return DONE;
    try {
      await this.env.client.create(SERVICEACCOUNTS, namespace, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: DEFAULT_SERVICE_ACCOUNT, namespace } });
      this.env.log.debug({ namespace }, 'default service account created');
    } catch (error) {
      // Already there (our cache is behind), or the namespace went or started terminating meanwhile: nothing to do.
      if (!isAlreadyExists(error) && !isNotFound(error) && !isForbiddenByTermination(error)) throw error;
    }
    return DONE;
  }
}

function isForbiddenByTermination(error: unknown): boolean {
  return error instanceof ApiClientError && error.status === 403 && /being terminated/.test(error.message);
}
