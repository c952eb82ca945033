// Objects in the store: one key per object (storeKey from auth-types.ts), its value the object's JSON
// without metadata.resourceVersion, which is always the key's modRevision when read (as etcd3 storage
// in kube-apiserver). Creates are guarded by `createRevision == 0`, updates by `modRevision == the
// revision read`; an update without a client precondition retries on conflict (GuaranteedUpdate).
// This module knows keys, revisions and managed metadata; what an object may contain is the
// handlers' and the registry's business.

import { randomUUID } from 'node:crypto';
import { storeKey, storePrefix } from '../auth-types.js';
import type { ResourceDefinition } from '../registry/types.js';
import { isObject, type JsonObject } from '../registry/types.js';
import { ApiError, errors } from '../status.js';
import type { StoreClient } from '../../store/client.js';
import { CompactedError, StoreError, prefixEnd, type KeyValue } from '../../store/index.js';

/**
 * Attempts of an unconditional update before giving up with 409. Every lost attempt means another
 * writer won, so N concurrent writers of one object need at most N attempts each.
 */
export const MAX_UPDATE_ATTEMPTS = 100;
/** Most keys read from the store per round while filling a page of a filtered list. */
export const LIST_SCAN_BATCH = 500;

export interface ObjectStoreOptions {
  readonly now?: () => Date;
  readonly uid?: () => string;
}

export interface ListOptions {
  readonly filter?: (object: JsonObject) => boolean;
  /** 0/absent: everything. */
  readonly limit?: number;
  readonly continueToken?: string;
  /** Read at this revision (resourceVersionMatch=Exact); absent: the current revision. */
  readonly exactRevision?: number;
}

export interface ListResult {
  readonly items: JsonObject[];
  readonly revision: number;
  readonly continueToken?: string;
}

export interface WriteOptions {
  readonly dryRun?: boolean;
  /** The uid a create stores (from newUid(), assigned before defaulting: a Job's selector uses it); absent, a fresh one. */
  readonly uid?: string;
}

export interface Stored {
  readonly object: JsonObject;
  readonly modRevision: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function formatTimestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function metadataOf(object: JsonObject): JsonObject {
  const metadata = object['metadata'];
  if (isObject(metadata)) return metadata;
  const created: JsonObject = {};
  object['metadata'] = created;
  return created;
}

function qualifiedOf(definition: ResourceDefinition): { resource: string; group: string } {
  return { resource: definition.plural, group: definition.group };
}

export class ObjectStore {
  private readonly now: () => Date;
  private readonly uid: () => string;

  constructor(
    readonly store: StoreClient,
    options: ObjectStoreOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
    this.uid = options.uid ?? randomUUID;
  }

  key(definition: ResourceDefinition, namespace: string | undefined, name: string): string {
    return storeKey(definition.plural, definition.group, definition.namespaced ? namespace : undefined, name);
  }

  prefix(definition: ResourceDefinition, namespace: string | undefined): string {
    return storePrefix(definition.plural, definition.group, definition.namespaced ? namespace : undefined);
  }

  /** A fresh uid from this store's generator (for a create that needs it before storing). */
  newUid(): string {
    return this.uid();
  }

  timestamp(): string {
    return formatTimestamp(this.now());
  }

  /** Decode a stored value; the resourceVersion comes from the key's revision. */
  decode(kv: KeyValue, revision = kv.modRevision): JsonObject {
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(kv.value));
    } catch {
      throw errors.internal(`stored object at ${kv.key} is not JSON`);
    }
    if (!isObject(parsed)) throw errors.internal(`stored object at ${kv.key} is not an object`);
    metadataOf(parsed)['resourceVersion'] = String(revision);
    return parsed;
  }

  private encode(object: JsonObject): Uint8Array {
    const copy: JsonObject = { ...object, metadata: { ...metadataOf(object) } };
    delete (copy['metadata'] as JsonObject)['resourceVersion'];
    return encoder.encode(JSON.stringify(copy));
  }

  async read(definition: ResourceDefinition, namespace: string | undefined, name: string): Promise<Stored | undefined> {
    const result = await storeCall(() => this.store.range({ key: this.key(definition, namespace, name) }));
    const kv = result.kvs[0];
    return kv === undefined ? undefined : { object: this.decode(kv), modRevision: kv.modRevision };
  }

  async get(definition: ResourceDefinition, namespace: string | undefined, name: string): Promise<JsonObject> {
    const stored = await this.read(definition, namespace, name);
    if (stored === undefined) throw errors.notFound(qualifiedOf(definition), name);
    return stored.object;
  }

  /** Store a new object: fills uid, creationTimestamp, generation. 409 AlreadyExists if the key exists. */
  async create(definition: ResourceDefinition, namespace: string | undefined, object: JsonObject, options: WriteOptions = {}): Promise<JsonObject> {
    const metadata = metadataOf(object);
    const name = String(metadata['name']);
    metadata['uid'] = options.uid ?? this.uid();
    metadata['creationTimestamp'] = this.timestamp();
    metadata['generation'] = 1;
    delete metadata['resourceVersion'];
    delete metadata['deletionTimestamp'];
    delete metadata['deletionGracePeriodSeconds'];
    if (options.dryRun === true) return object;
    const key = this.key(definition, namespace, name);
    const result = await storeCall(() =>
      this.store.txn({
        compare: [{ key, target: 'createRevision', result: 'equal', value: 0 }],
        success: [{ put: { key, value: this.encode(object) } }],
        failure: [],
      }),
    );
    if (!result.succeeded) throw errors.alreadyExists(qualifiedOf(definition), name);
    metadata['resourceVersion'] = String(result.header.revision);
    return object;
  }

  /**
   * Read-modify-write. `transform` gets a private copy of the current object and returns the new
   * one (or throws an ApiError). `expectedResourceVersion`: the client's precondition (409 if the
   * object has moved on); without one, a lost race is retried. When the transform leaves an object
   * that is being deleted with no finalizers left, the object is deleted instead.
   */
  async update(
    definition: ResourceDefinition,
    namespace: string | undefined,
    name: string,
    transform: (current: JsonObject) => JsonObject | Promise<JsonObject>,
    options: WriteOptions & { readonly expectedResourceVersion?: string } = {},
  ): Promise<{ readonly object: JsonObject; readonly deleted: boolean }> {
    const key = this.key(definition, namespace, name);
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.read(definition, namespace, name);
      if (current === undefined) throw errors.notFound(qualifiedOf(definition), name);
      if (options.expectedResourceVersion !== undefined && options.expectedResourceVersion !== String(current.modRevision)) {
        throw errors.conflict(qualifiedOf(definition), name);
      }
      const next = await transform(structuredClone(current.object));
      const metadata = metadataOf(next);
      const finalizers = metadata['finalizers'];
      // Gone once being deleted with no finalizers left and no grace period still running (pods wait
      // for their node agent's grace-0 delete).
      const grace = metadata['deletionGracePeriodSeconds'];
      const finished =
        metadata['deletionTimestamp'] !== undefined &&
        (!Array.isArray(finalizers) || finalizers.length === 0) &&
        (typeof grace !== 'number' || grace === 0) &&
        this.readyToRemove(definition, next);
      if (options.dryRun === true) return { object: next, deleted: finished };
      const compare = [{ key, target: 'modRevision' as const, result: 'equal' as const, value: current.modRevision }];
      const result = await storeCall(() =>
        this.store.txn({
          compare,
          success: finished ? [{ deleteRange: { key } }] : [{ put: { key, value: this.encode(next) } }],
          failure: [],
        }),
      );
      if (result.succeeded) {
        metadata['resourceVersion'] = String(result.header.revision);
        return { object: next, deleted: finished };
      }
      if (options.expectedResourceVersion !== undefined) throw errors.conflict(qualifiedOf(definition), name);
    }
    throw errors.conflict(qualifiedOf(definition), name, 'too many concurrent writers, please try again');
  }

  /** Namespaces also wait for spec.finalizers (emptied by the namespace controller). */
  private readyToRemove(definition: ResourceDefinition, object: JsonObject): boolean {
    if (definition.plural !== 'namespaces' || definition.group !== '') return true;
    const spec = object['spec'];
    const finalizers = isObject(spec) ? spec['finalizers'] : undefined;
    return !Array.isArray(finalizers) || finalizers.length === 0;
  }

  /** Remove the key if it is still at `modRevision` (409 if it moved). Returns the delete revision. */
  async remove(definition: ResourceDefinition, namespace: string | undefined, name: string, modRevision: number): Promise<number> {
    const key = this.key(definition, namespace, name);
    const result = await storeCall(() =>
      this.store.txn({ compare: [{ key, target: 'modRevision', result: 'equal', value: modRevision }], success: [{ deleteRange: { key } }], failure: [] }),
    );
    if (!result.succeeded) throw errors.conflict(qualifiedOf(definition), name);
    return result.header.revision;
  }

  async list(definition: ResourceDefinition, namespace: string | undefined, options: ListOptions = {}): Promise<ListResult> {
    const prefix = this.prefix(definition, namespace);
    const end = prefixEnd(prefix);
    const limit = options.limit ?? 0;
    let start = prefix;
    let revision = options.exactRevision ?? 0;
    if (options.continueToken !== undefined) {
      const token = decodeContinue(options.continueToken);
      start = prefix + token.start;
      revision = token.revision;
    }
    const items: JsonObject[] = [];
    for (;;) {
      const batch = limit > 0 ? Math.max(limit - items.length, Math.min(LIST_SCAN_BATCH, limit * 2)) : 0;
      const result = await storeCall(
        () => this.store.range({ key: start, rangeEnd: end, limit: batch, revision }),
        options.continueToken !== undefined,
      );
      if (revision === 0) revision = result.header.revision; // later pages read the same snapshot
      for (let i = 0; i < result.kvs.length; i++) {
        const kv = result.kvs[i];
        if (kv === undefined) continue;
        const object = this.decode(kv);
        if (options.filter !== undefined && !options.filter(object)) continue;
        items.push(object);
        if (limit > 0 && items.length === limit) {
          const more = i < result.kvs.length - 1 || result.more;
          if (!more) return { items, revision };
          return { items, revision, continueToken: encodeContinue(revision, kv.key.slice(prefix.length) + '\0') };
        }
      }
      const last = result.kvs[result.kvs.length - 1];
      if (!result.more || last === undefined) return { items, revision };
      start = last.key + '\0';
    }
  }
}

// ---- continue tokens -------------------------------------------------------------------------

interface ContinueToken {
  readonly revision: number;
  /** The next key, relative to the list's prefix (a token cannot reach outside its list). */
  readonly start: string;
}

export function encodeContinue(revision: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: revision, start }), 'utf8').toString('base64url');
}

export function decodeContinue(token: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw errors.badRequest('continue key is not valid: illegal base64 data or JSON');
  }
  if (!isObject(parsed) || parsed['v'] !== 'meta.k8s.io/v1' || typeof parsed['start'] !== 'string' || typeof parsed['rv'] !== 'number' || !Number.isSafeInteger(parsed['rv']) || parsed['rv'] < 1) {
    throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  return { revision: parsed['rv'], start: parsed['start'] };
}

/** Turn store failures into Status errors: compaction → 410, unavailable → 503-ish 500, size → 413. */
export async function storeCall<T>(work: () => Promise<T>, continuing = false): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    if (error instanceof CompactedError) {
      throw errors.expired(
        continuing
          ? 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.'
          : `too old resource version: ${error.message}`,
      );
    }
    if (error instanceof StoreError) {
      if (error.code === 'REQUEST_TOO_LARGE' || error.code === 'VALUE_TOO_LARGE') throw errors.tooLarge(`etcdserver: ${error.message}`);
      if (error.code === 'FUTURE_REVISION') throw errors.timeout(`Too large resource version: ${error.message}`);
      if (error.retryable) throw new ApiError(503, 'InternalError', `storage unavailable: ${error.message}`);
      throw errors.internal(error.message);
    }
    throw errors.internal(error instanceof Error ? error.message : String(error));
  }
}
