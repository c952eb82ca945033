// Deletion: preconditions (uid, resourceVersion), finalizers (deletionTimestamp and wait), namespaces
// (Terminating until finalized), graceful pod deletion (deletionTimestamp = now + grace), plain
// removal otherwise, and deletecollection.

import { apiVersionOf, isObject, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { MAX_UPDATE_ATTEMPTS, metadataOf } from '../storage/object-store.js';
import { ApiError, errors, successStatus } from '../status.js';
import { decodeObject } from './decode.js';
import type { ApiRequest, ApiResponse, HandlerContext } from './types.js';
import { type ResourceTarget, json, qualified, dryRunOf, buildFilter, nonNegativeInteger, runAdmission, stringOrUndefined } from './common.js';


export interface DeleteOptions {
  readonly gracePeriodSeconds?: number;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly dryRun: boolean;
  /** Foreground adds the `foregroundDeletion` finalizer, Orphan the `orphan` one; the garbage collector does the rest. */
  readonly propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
}

const PROPAGATION_POLICIES = ['Orphan', 'Background', 'Foreground'] as const;

function propagationPolicyOf(value: unknown): DeleteOptions['propagationPolicy'] {
  if (value === undefined || value === null || value === '') return undefined;
  const policy = PROPAGATION_POLICIES.find((candidate) => candidate === value);
  if (policy === undefined) throw errors.badRequest(`propagationPolicy must be one of ${PROPAGATION_POLICIES.join(', ')}`);
  return policy;
}

export function deleteOptionsOf(request: ApiRequest): DeleteOptions {
  let dryRun = dryRunOf(request.query);
  let gracePeriodSeconds = nonNegativeInteger(request.query, 'gracePeriodSeconds');
  let uid: string | undefined;
  let resourceVersion: string | undefined;
  let propagationPolicy = propagationPolicyOf(request.query.get('propagationPolicy') ?? undefined);
  if (request.body !== undefined && request.body.length > 0) {
    const body = decodeObject(request.body, request.headers['content-type']);
    if (body['kind'] !== undefined && body['kind'] !== 'DeleteOptions') throw errors.badRequest(`the kind in the data (${String(body['kind'])}) does not match the expected kind (DeleteOptions)`);
    const grace = body['gracePeriodSeconds'];
    if (grace !== undefined && grace !== null) {
      if (typeof grace !== 'number' || !Number.isInteger(grace)) throw errors.badRequest('gracePeriodSeconds must be an integer');
      gracePeriodSeconds = Math.max(0, grace);
    }
    const preconditions = body['preconditions'];
    if (isObject(preconditions)) {
      uid = stringOrUndefined(preconditions['uid']);
      resourceVersion = stringOrUndefined(preconditions['resourceVersion']);
    }
    propagationPolicy = propagationPolicyOf(body['propagationPolicy']) ?? propagationPolicy;
    const bodyDryRun = body['dryRun'];
    if (Array.isArray(bodyDryRun) && bodyDryRun.length > 0) {
      if (bodyDryRun.some((value) => value !== 'All')) throw errors.badRequest('Invalid dry run value; supported values: "All"');
      dryRun = true;
    }
  }
  return {
    dryRun,
    ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
    ...(uid === undefined ? {} : { uid }),
    ...(resourceVersion === undefined ? {} : { resourceVersion }),
    ...(propagationPolicy === undefined ? {} : { propagationPolicy }),
  };
}

export async function remove(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  const options = deleteOptionsOf(request);
  return deleteOne(context, target, target.name ?? '', options);
}

export async function deleteOne(context: HandlerContext, target: ResourceTarget, name: string, options: DeleteOptions): Promise<ApiResponse> {
  const { definition } = target;
  const namespace = definition.namespaced ? target.namespace : undefined;
  for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
    const stored = await context.objects.read(definition, namespace, name);
    if (stored === undefined) throw errors.notFound(qualified(definition), name);
    const object = stored.object;
    const metadata = metadataOf(object);
    if (options.uid !== undefined && options.uid !== metadata['uid']) {
      throw errors.conflict(qualified(definition), name, `Precondition failed: UID in precondition: ${options.uid}, UID in object meta: ${String(metadata['uid'])}`);
    }
    if (options.resourceVersion !== undefined && options.resourceVersion !== metadata['resourceVersion']) {
      throw errors.conflict(qualified(definition), name, `Precondition failed: ResourceVersion in precondition: ${options.resourceVersion}, ResourceVersion in object meta: ${String(metadata['resourceVersion'])}`);
    }
    runAdmission(context, target, { oldObject: object });
    const finalizers = Array.isArray(metadata['finalizers']) ? metadata['finalizers'] : [];
    const isNamespace = definition.plural === 'namespaces' && definition.group === '';
    const grace = gracePeriodFor(definition, object, options);
    const cascadeFinalizer = isNamespace ? undefined : options.propagationPolicy === 'Foreground' ? 'foregroundDeletion' : options.propagationPolicy === 'Orphan' ? 'orphan' : undefined;
    const addsFinalizer = cascadeFinalizer !== undefined && !finalizers.includes(cascadeFinalizer);
    const graceful = isNamespace || finalizers.length > 0 || grace > 0 || addsFinalizer;
    if (!graceful) {
      if (!options.dryRun) {
        try {
          await context.objects.remove(definition, namespace, name, stored.modRevision);
        } catch (error) {
          if (error instanceof ApiError && error.httpStatus === 409) continue; // moved meanwhile: look again
          throw error;
        }
      }
      if (definition.gracefulDelete === true) return json(200, object);
      return json(200, successStatus({ name, group: definition.group, kind: definition.plural }));
    }
    if (metadata['deletionTimestamp'] !== undefined && !addsFinalizer && !(grace < Number(metadata['deletionGracePeriodSeconds'] ?? 0))) {
      return json(202, object); // already being deleted; nothing shortens it
    }
    const result = await context.objects.update(
      definition,
      namespace,
      name,
      (current) => {
        const currentMetadata = metadataOf(current);
        if (cascadeFinalizer !== undefined) {
          const opposite = cascadeFinalizer === 'orphan' ? 'foregroundDeletion' : 'orphan';
          const present = Array.isArray(currentMetadata['finalizers']) ? (currentMetadata['finalizers'] as unknown[]) : [];
          currentMetadata['finalizers'] = [...present.filter((name) => name !== opposite && name !== cascadeFinalizer), cascadeFinalizer];
        }
        if (currentMetadata['deletionTimestamp'] !== undefined && grace >= Number(currentMetadata['deletionGracePeriodSeconds'] ?? 0)) return current;
        currentMetadata['deletionTimestamp'] = context.objects.timestamp();
        if (grace > 0) currentMetadata['deletionTimestamp'] = formatAfter(context, grace);
        currentMetadata['deletionGracePeriodSeconds'] = grace;
        if (isNamespace) {
          const status = isObject(current['status']) ? current['status'] : {};
          status['phase'] = 'Terminating';
          current['status'] = status;
        }
        return current;
      },
      { dryRun: options.dryRun, expectedResourceVersion: String(metadata['resourceVersion']) },
    ).catch((error: unknown) => {
      if (error instanceof ApiError && error.httpStatus === 409) return undefined;
      throw error;
    });
    if (result === undefined) continue;
    return json(result.deleted ? 200 : 202, result.object);
  }
  throw errors.conflict(qualified(definition), name, 'too many concurrent writers, please try again');
}

export function formatAfter(context: HandlerContext, seconds: number): string {
  return new Date(Date.parse(context.objects.timestamp()) + seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Pods wait for their node agent to stop them; unscheduled or finished pods go at once. */
export function gracePeriodFor(definition: ResourceDefinition, object: JsonObject, options: DeleteOptions): number {
  if (definition.gracefulDelete !== true) return 0;
  const spec = isObject(object['spec']) ? object['spec'] : {};
  const status = isObject(object['status']) ? object['status'] : {};
  if (typeof spec['nodeName'] !== 'string' || spec['nodeName'] === '') return 0;
  if (status['phase'] === 'Succeeded' || status['phase'] === 'Failed') return 0;
  if (options.gracePeriodSeconds !== undefined) return options.gracePeriodSeconds;
  const fromSpec = spec['terminationGracePeriodSeconds'];
  return typeof fromSpec === 'number' && fromSpec >= 0 ? fromSpec : 30;
}

export async function removeCollection(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  const { definition } = target;
  const options = deleteOptionsOf(request);
  const listed = await context.objects.list(definition, definition.namespaced ? target.namespace : undefined, { filter: buildFilter(request, definition) });
  const items: JsonObject[] = [];
  for (const object of listed.items) {
    const name = String(metadataOf(object)['name']);
    try {
      await deleteOne(context, target, name, options);
      items.push(object);
    } catch (error) {
      if (!(error instanceof ApiError && error.httpStatus === 404)) throw error;
    }
  }
  return json(200, { kind: definition.listKind, apiVersion: apiVersionOf(definition), metadata: { resourceVersion: String(listed.revision) }, items });
}

