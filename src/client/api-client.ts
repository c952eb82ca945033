// ApiClient: the typed API client of the cluster's components (controllers, scheduler, node agents).
// get, list, watch, create, update, patch, delete and subresources, over any ApiTransport. Errors
// reject as ApiClientError with the server's Status. Objects are plain JSON (KubeObject).

import { ApiClientError } from './errors.js';
import { resourcePath, type ResourceType } from './resources.js';
import type { ApiTransport, WatchStream, WireWatchEvent } from './transport.js';

export type KubeObject = { [field: string]: unknown };

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly finalizers?: readonly string[];
  readonly deletionTimestamp?: string;
  readonly creationTimestamp?: string;
  readonly generateName?: string;
}

export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly controller?: boolean;
  readonly blockOwnerDeletion?: boolean;
}

export interface ListOptions {
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly limit?: number;
  readonly continue?: string;
  readonly resourceVersion?: string;
}

export interface ListResult {
  readonly items: KubeObject[];
  readonly resourceVersion: string;
  readonly continue?: string;
}

export interface WatchOptions extends ListOptions {
  readonly allowWatchBookmarks?: boolean;
  readonly timeoutSeconds?: number;
}

export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  readonly preconditions?: { readonly uid?: string; readonly resourceVersion?: string };
}

export type PatchType = 'merge' | 'json' | 'strategic';

const PATCH_MEDIA: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
};

const encoder = new TextEncoder();

export function metaOf(object: KubeObject): ObjectMeta {
  const metadata = object['metadata'];
  return typeof metadata === 'object' && metadata !== null ? (metadata as ObjectMeta) : {};
}

function queryOf(fields: Readonly<Record<string, string | number | boolean | undefined>>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) query.set(name, String(value));
  return query.toString();
}

export class ApiClient {
  constructor(readonly transport: ApiTransport) {}

  async get(type: ResourceType, namespace: string | undefined, name: string, subresource?: string): Promise<KubeObject> {
    return this.expect(await this.transport.call({ method: 'GET', path: resourcePath(type, namespace, name, subresource) }));
  }

  async list(type: ResourceType, options: ListOptions = {}): Promise<ListResult> {
    const body = this.expect(
      await this.transport.call({
        method: 'GET',
        path: resourcePath(type, options.namespace),
        query: queryOf({
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          limit: options.limit,
          continue: options.continue,
          resourceVersion: options.resourceVersion,
        }),
      }),
    );
    const metadata = (body['metadata'] ?? {}) as { readonly resourceVersion?: string; readonly continue?: string };
    const items = Array.isArray(body['items']) ? (body['items'] as KubeObject[]) : [];
    return {
      items,
      resourceVersion: metadata.resourceVersion ?? '',
      ...(metadata.continue !== undefined && metadata.continue !== '' ? { continue: metadata.continue } : {}),
    };
  }

  /** Every page of a list, at one resourceVersion. */
  async listAll(type: ResourceType, options: ListOptions = {}): Promise<ListResult> {
    const items: KubeObject[] = [];
    let page = await this.list(type, { ...options, limit: options.limit ?? 500 });
    items.push(...page.items);
    while (page.continue !== undefined) {
      page = await this.list(type, { ...options, limit: options.limit ?? 500, continue: page.continue });
      items.push(...page.items);
    }
    return { items, resourceVersion: page.resourceVersion };
  }

  watch(type: ResourceType, options: WatchOptions, onEvent: (event: WireWatchEvent) => void): Promise<WatchStream> {
    return this.transport.watch(
      {
        method: 'GET',
        path: resourcePath(type, options.namespace),
        query: queryOf({
          watch: 1,
          labelSelector: options.labelSelector,
          fieldSelector: options.fieldSelector,
          resourceVersion: options.resourceVersion,
          allowWatchBookmarks: options.allowWatchBookmarks,
          timeoutSeconds: options.timeoutSeconds,
        }),
      },
      onEvent,
    );
  }

  async create(type: ResourceType, namespace: string | undefined, object: KubeObject, subresource?: string): Promise<KubeObject> {
    const name = subresource === undefined ? undefined : metaOf(object).name;
    return this.expect(
      await this.transport.call({ method: 'POST', path: resourcePath(type, namespace, name, subresource), ...this.json(object) }),
    );
  }

  /** PUT of the whole object (or of a subresource such as 'status'); 409 when resourceVersion is stale. */
  async update(type: ResourceType, object: KubeObject, subresource?: string): Promise<KubeObject> {
    const meta = metaOf(object);
    if (meta.name === undefined) throw new TypeError('update needs metadata.name');
    return this.expect(
      await this.transport.call({ method: 'PUT', path: resourcePath(type, meta.namespace, meta.name, subresource), ...this.json(object) }),
    );
  }

  async patch(type: ResourceType, namespace: string | undefined, name: string, patch: unknown, patchType: PatchType = 'merge', subresource?: string): Promise<KubeObject> {
    return this.expect(
      await this.transport.call({
        method: 'PATCH',
        path: resourcePath(type, namespace, name, subresource),
        contentType: PATCH_MEDIA[patchType],
        body: encoder.encode(JSON.stringify(patch)),
      }),
    );
  }

  async delete(type: ResourceType, namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<KubeObject> {
    return this.expect(
      await this.transport.call({
        method: 'DELETE',
        path: resourcePath(type, namespace, name),
        ...this.json({ apiVersion: 'v1', kind: 'DeleteOptions', ...options }),
      }),
    );
  }

  /** Binds a pod to a node (pods/binding): 409 if it is already bound. */
  async bind(namespace: string, pod: string, node: string): Promise<void> {
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: pod, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } };
    this.expect(await this.transport.call({ method: 'POST', path: `${resourcePath({ group: '', version: 'v1', resource: 'pods', kind: 'Pod', namespaced: true }, namespace, pod)}/binding`, ...this.json(binding) }));
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  private json(object: unknown): { contentType: string; body: Uint8Array } {
    return { contentType: 'application/json', body: encoder.encode(JSON.stringify(object)) };
  }

  private expect(answer: { readonly status: number; readonly body: unknown }): KubeObject {
    if (answer.status >= 200 && answer.status < 300 && typeof answer.body === 'object' && answer.body !== null) return answer.body as KubeObject;
    throw new ApiClientError(answer.status, answer.body);
  }
}
