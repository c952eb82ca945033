// The dynamic part of the registry: CustomResourceDefinitions in the store become served resources.
// A CRD written through this server is served at once (the pipeline calls noteWrite after the
// write); every server also lists the CRDs and watches their prefix, so that a CRD created or
// deleted through another API server is served or withdrawn here when the watch delivers it.
// Deleting a CRD through this server deletes its custom resources, then stops serving them.

import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../actors/clock.js';
import type { StoreClient, WatchHandle } from '../../store/client.js';
import { prefixEnd, type WatchBatch } from '../../store/index.js';
import type { ApiResponse } from '../handlers/types.js';
import type { Registry } from '../registry/index.js';
import { apiVersionOf, isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { storeCall, type ObjectStore } from '../storage/object-store.js';
import { customResourceDefinitionResource, isCustomResourceDefinition } from './definition.js';
import { customResourceDefinitions } from './custom-resource.js';

/** How long after a failed list or watch of the CRDs the next attempt waits. */
export const CRD_SYNC_RETRY_MS = 1_000;

interface ServedCrd {
  /** The store revision of the CRD these definitions come from. */
  readonly revision: number;
  readonly definitions: readonly ResourceDefinition[];
}

export class CrdServing {
  /** The CustomResourceDefinition resource itself (added to the registry when absent). */
  readonly crds: ResourceDefinition;
  private readonly served = new Map<string, ServedCrd>();
  /** Revisions of CRDs withdrawn here: a late watch event for them must not serve them again. */
  private readonly withdrawn = new Map<string, number>();
  private handle: WatchHandle | undefined;
  private retry: TimerHandle | undefined;
  private syncing: Promise<void> | undefined;
  private synced = false;
  private closed = false;

  constructor(
    private readonly registry: Registry,
    private readonly objects: ObjectStore,
    private readonly store: StoreClient,
    private readonly clock: Clock,
    private readonly log?: Logger,
  ) {
    const existing = registry.resources.find(isCustomResourceDefinition);
    this.crds = existing ?? customResourceDefinitionResource(clock);
    if (existing === undefined) registry.add(this.crds);
  }

  /** Names of the CRDs served now. */
  servedNames(): string[] {
    return [...this.served.keys()];
  }

  /** Resolves once the CRDs in the store have been listed (or the attempt failed). */
  whenSynced(): Promise<void> {
    if (this.synced || this.closed) return Promise.resolve();
    this.syncing ??= this.sync().then(
      () => {
        this.syncing = undefined;
      },
      (error: unknown) => {
        this.syncing = undefined;
        this.log?.warn({ err: error }, 'listing CustomResourceDefinitions failed; retrying');
        this.scheduleRetry();
      },
    );
    return this.syncing;
  }

  close(): void {
    this.closed = true;
    this.handle?.cancel();
    this.handle = undefined;
    if (this.retry !== undefined) this.clock.cancelTimer(this.retry);
  }

  /** After a successful write of CRDs through this server (not dry-run): serve or withdraw at once. */
  async noteWrite(verb: string, name: string | undefined, response: ApiResponse): Promise<void> {
    if (verb === 'create' || verb === 'update' || verb === 'patch') {
      const body = 'body' in response && isObject(response.body) ? response.body : undefined;
      if (body !== undefined && body['kind'] === 'CustomResourceDefinition') this.serve(body, revisionOf(body));
      return;
    }
    if (verb === 'delete' && name !== undefined) {
      await this.removeCustomResources(name);
      this.withdraw(name);
      return;
    }
    if (verb === 'deletecollection') {
      const remaining = new Set((await this.objects.list(this.crds, undefined)).items.map(nameOf));
      for (const served of this.servedNames()) {
        if (remaining.has(served)) continue;
        await this.removeCustomResources(served);
        this.withdraw(served);
      }
    }
  }

  /** Serve the versions of a CRD (replacing what an older revision of it served). */
  serve(crd: JsonObject, revision: number): void {
    const name = nameOf(crd);
    const previous = this.served.get(name);
    if (previous !== undefined && previous.revision >= revision && revision !== 0) return;
    if ((this.withdrawn.get(name) ?? -1) >= revision) return;
    this.withdrawn.delete(name);
    for (const definition of previous?.definitions ?? []) this.registry.remove(definition);
    const definitions: ResourceDefinition[] = [];
    const terminating = isObject(crd['metadata']) && crd['metadata']['deletionTimestamp'] !== undefined;
    for (const definition of terminating ? [] : customResourceDefinitions(crd)) {
      if (this.registry.lookup(definition.group, definition.version, definition.plural) !== undefined) {
        this.log?.warn({ crd: name, resource: `${apiVersionOf(definition)}/${definition.plural}` }, 'CustomResourceDefinition names a resource already served; not serving it');
        continue;
      }
      this.registry.add(definition);
      definitions.push(definition);
    }
    this.served.set(name, { revision, definitions });
  }

  /** Stop serving a CRD's resources. */
  withdraw(name: string): void {
    const previous = this.served.get(name);
    if (previous === undefined) return;
    for (const definition of previous.definitions) this.registry.remove(definition);
    this.served.delete(name);
    this.withdrawn.set(name, previous.revision);
  }

  /** Delete every stored object of a served CRD (all versions share one prefix). */
  async removeCustomResources(name: string): Promise<void> {
    const definition = this.served.get(name)?.definitions[0];
    if (definition === undefined) return;
    const prefix = this.objects.prefix(definition, undefined);
    await storeCall(() => this.store.deleteRange({ key: prefix, rangeEnd: prefixEnd(prefix) }));
  }

  private scheduleRetry(): void {
    if (this.closed || this.retry !== undefined) return;
    this.retry = this.clock.setTimer(CRD_SYNC_RETRY_MS, () => {
      this.retry = undefined;
      void this.whenSynced();
    });
  }

  private async sync(): Promise<void> {
    const prefix = this.objects.prefix(this.crds, undefined);
    const listed = await storeCall(() => this.store.range({ key: prefix, rangeEnd: prefixEnd(prefix) }));
    if (this.closed) return;
    const present = new Set<string>();
    for (const kv of listed.kvs) {
      const crd = this.objects.decode(kv);
      present.add(nameOf(crd));
      this.serve(crd, kv.modRevision);
    }
    for (const name of this.servedNames()) if (!present.has(name)) this.withdraw(name);
    const handle = await this.store.watch({ key: prefix, rangeEnd: prefixEnd(prefix), startRevision: listed.header.revision + 1 }, (batch) => this.onBatch(batch, prefix));
    if (this.closed) {
      handle.cancel();
      return;
    }
    this.handle = handle;
    this.synced = true;
  }

  private onBatch(batch: WatchBatch, prefix: string): void {
    for (const event of batch.events) {
      const name = event.kv.key.slice(prefix.length);
      if (event.type === 'DELETE') this.withdraw(name);
      else {
        try {
          this.serve(this.objects.decode(event.kv), event.kv.modRevision);
        } catch (error) {
          this.log?.warn({ err: error, crd: name }, 'undecodable CustomResourceDefinition');
        }
      }
    }
    if (batch.canceled !== undefined) {
      // Lost the watch (compaction, restore): list again.
      this.handle = undefined;
      this.synced = false;
      void this.whenSynced();
    }
  }
}

function nameOf(object: JsonObject): string {
  const metadata = object['metadata'];
  return isObject(metadata) && typeof metadata['name'] === 'string' ? metadata['name'] : '';
}

function revisionOf(object: JsonObject): number {
  const metadata = object['metadata'];
  const revision = Number(isObject(metadata) ? metadata['resourceVersion'] : 0);
  return Number.isSafeInteger(revision) ? revision : 0;
}
