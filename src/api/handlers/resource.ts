// REST handlers for resources: get, list, watch, create, update, patch, delete, deletecollection, and
// the subresources status, scale, binding (pods), finalize (namespaces), plus the create-only
// selfsubjectaccessreviews and authentication.k8s.io reviews (authentication-reviews.ts). The order
// inside a write is Kubernetes': decode → check kind → prepare (managed metadata, status vs spec) →
// default → validate → admit (namespace lifecycle, plugins) → store. fieldValidation is applied to
// decoded bodies; managedFields are kept by src/api/apply/.
// Every failure is an ApiError; the pipeline turns it into a Status.

import { randomInt } from 'node:crypto';
import { applyJsonPatch } from '../patch/json-patch.js';
import { applyMergePatch } from '../patch/merge-patch.js';
import { applyStrategicMergePatch } from '../patch/strategic-merge.js';
import { apiVersionOf, isObject, jsonEqual, type JsonObject, type ResourceDefinition } from '../registry/types.js';
import { namespaces as namespaceDefinition } from '../registry/core.js';
import { metadataOf } from '../storage/object-store.js';
import { isTerminating } from '../storage/namespace-cache.js';
import { startObjectWatch, type WatchSink } from '../storage/watch.js';
import { ApiError, errors } from '../status.js';
import { decodeObject, decodeValue, patchType } from './decode.js';
import type { ApiRequest, ApiResponse, HandlerContext, TableConverter } from './types.js';
import { validateObject } from './validate.js';
import { toScale, applyScale } from './scale.js';
import { bind, createOnNode } from './binding.js';
import { remove, removeCollection } from './delete.js';
import { createReview } from './access-review.js';
import { selfSubjectReview, tokenReview } from './authentication-reviews.js';
import {
  type ResourceTarget,
  json,
  jsonWithWarnings,
  qualified,
  dryRunOf,
  buildFilter,
  nonNegativeInteger,
  checkKind,
  runAdmission,
  stringOrUndefined,
  fieldValidationOf,
  checkUnknownFields,
  fieldManagerOf,
  forceOf,
} from './common.js';
import { applyConfiguration, recordUpdate } from '../apply/managed-fields.js';
import { admitCreate, admitUpdate } from '../admission/index.js';

/** Metadata the server owns: kept from the stored object on every update. */
const MANAGED_METADATA = ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const;

export async function handleResource(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  const { definition, verb, subresource } = target;
  if (definition.namespaced && target.namespace === undefined && !['list', 'watch'].includes(verb)) {
    throw errors.notFound(qualified(definition), target.name ?? '');
  }
  if (!definition.namespaced && target.namespace !== undefined && !(definition.plural === 'namespaces' && definition.group === '')) {
    throw errors.notFound(qualified(definition), target.name ?? '');
  }
  if (subresource !== undefined && !definition.subresources.some((sub) => sub.name === subresource)) {
    throw new ApiError(404, 'NotFound', `the server could not find the requested resource`);
  }
  const allowedVerb = subresource === undefined ? definition.verbs.includes(verb) : (definition.subresources.find((sub) => sub.name === subresource)?.verbs.includes(verb) ?? false);
  if (!allowedVerb) throw errors.methodNotAllowed();
  const namespace = definition.namespaced ? target.namespace : undefined;
  if (definition.virtual === true) {
    if (definition.group === 'authentication.k8s.io' && definition.plural === 'selfsubjectreviews') return selfSubjectReview(request, target);
    if (definition.group === 'authentication.k8s.io' && definition.plural === 'tokenreviews') return tokenReview(context, request, target);
    return createReview(context, request, target);
  }

  switch (verb) {
    case 'get': {
      const object = await context.objects.get(definition, namespace, target.name ?? '');
      if (subresource === 'scale') return json(200, toScale(definition, object));
      return json(200, convertForTable(context, request, definition, object));
    }
    case 'list':
      return json(200, convertForTable(context, request, definition, await list(context, request, definition, namespace)));
    case 'watch':
      return watch(context, request, definition, namespace, target.name);
    case 'create':
      if (subresource === 'binding') return bind(context, request, target);
      return create(context, request, target);
    case 'update':
    case 'patch':
      return update(context, request, target);
    case 'delete':
      return remove(context, request, target);
    case 'deletecollection':
      return removeCollection(context, request, target);
    default:
      throw errors.methodNotAllowed();
  }
}

function tableConverterFor(context: HandlerContext, request: ApiRequest): TableConverter | undefined {
  return (request.headers['accept'] ?? '').includes('as=Table') ? context.tableConverter : undefined;
}

function convertForTable(context: HandlerContext, request: ApiRequest, definition: ResourceDefinition, object: JsonObject): JsonObject {
  const converter = tableConverterFor(context, request);
  if (converter === undefined) return object;
  return converter(definition, object, { nowMs: context.clock.now(), ...includeObjectOption(request) }) ?? object;
}

function includeObjectOption(request: ApiRequest): { includeObject?: string } {
  const includeObject = request.query.get('includeObject');
  return includeObject === null ? {} : { includeObject };
}

/** Watch events as one-row Tables (column definitions in the first only, as kube-apiserver does). */
function tableSink(context: HandlerContext, request: ApiRequest, definition: ResourceDefinition, converter: TableConverter, sink: WatchSink): WatchSink {
  let withColumns = true;
  return {
    event: (event) => {
      if (event.type === 'ERROR' || event.type === 'BOOKMARK' || !isObject(event.object)) {
        sink.event(event);
        return;
      }
      const table = converter(definition, event.object, { nowMs: context.clock.now(), withColumns, ...includeObjectOption(request) });
      withColumns = false;
      sink.event({ type: event.type, object: table ?? event.object });
    },
    end: () => sink.end(),
  };
}

// ---- reads -----------------------------------------------------------------------------------

async function list(context: HandlerContext, request: ApiRequest, definition: ResourceDefinition, namespace: string | undefined): Promise<JsonObject> {
  const query = request.query;
  const filter = buildFilter(request, definition);
  const limit = nonNegativeInteger(query, 'limit');
  const continueToken = query.get('continue') ?? '';
  const resourceVersion = query.get('resourceVersion') ?? '';
  const match = query.get('resourceVersionMatch') ?? '';
  if (resourceVersion !== '' && !/^[0-9]{1,15}$/.test(resourceVersion)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(resourceVersion)}`);
  if (!['', 'NotOlderThan', 'Exact'].includes(match)) throw errors.badRequest(`resourceVersionMatch: Unsupported value: ${JSON.stringify(match)}`);
  if (match !== '' && resourceVersion === '') throw errors.badRequest('resourceVersionMatch is forbidden unless resourceVersion is provided');
  if (continueToken !== '' && resourceVersion !== '' && resourceVersion !== '0') throw errors.badRequest('specifying resource version is not allowed when using continue');
  if (match === 'Exact' && resourceVersion === '0') throw errors.badRequest('resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
  const result = await context.objects.list(definition, namespace, {
    filter,
    ...(limit === undefined ? {} : { limit }),
    ...(continueToken === '' ? {} : { continueToken }),
    ...(match === 'Exact' ? { exactRevision: Number(resourceVersion) } : {}),
  });
  if (match !== 'Exact' && resourceVersion !== '' && resourceVersion !== '0' && Number(resourceVersion) > result.revision) {
    throw errors.timeout(`Too large resource version: ${resourceVersion}, current: ${result.revision}`);
  }
  return {
    kind: definition.listKind,
    apiVersion: apiVersionOf(definition),
    metadata: { resourceVersion: String(result.revision), ...(result.continueToken === undefined ? {} : { continue: result.continueToken }) },
    items: result.items,
  };
}

function watch(context: HandlerContext, request: ApiRequest, definition: ResourceDefinition, namespace: string | undefined, name: string | undefined): ApiResponse {
  const query = request.query;
  const filter = buildFilter(request, definition);
  const timeoutSeconds = nonNegativeInteger(query, 'timeoutSeconds');
  const bookmarks = query.get('allowWatchBookmarks') === 'true' || query.get('allowWatchBookmarks') === '1';
  const resourceVersion = query.get('resourceVersion') ?? undefined;
  const converter = tableConverterFor(context, request);
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    watch: (sink) =>
      startObjectWatch(
        context.objects,
        definition,
        {
          namespace,
          ...(name === undefined ? {} : { name }),
          resourceVersion,
          filter,
          bookmarks,
          bookmarkIntervalMs: context.bookmarkIntervalMs,
          ...(timeoutSeconds === undefined || timeoutSeconds === 0 ? {} : { timeoutMs: timeoutSeconds * 1000 }),
          clock: context.clock,
          ...(context.watchCaches === undefined ? {} : { cache: context.watchCaches.forPrefix(context.objects.prefix(definition, undefined)) }),
        },
        converter === undefined ? sink : tableSink(context, request, definition, converter, sink),
      ),
  };
}

// ---- writes ----------------------------------------------------------------------------------

/** Kubernetes' generateName alphabet (no vowels, no look-alike digits): 5 characters are appended. */
const GENERATE_NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

function generateSuffix(): string {
  let out = '';
  for (let i = 0; i < 5; i++) out += GENERATE_NAME_ALPHABET[randomInt(GENERATE_NAME_ALPHABET.length)] ?? 'x';
  return out;
}

function checkNamespace(definition: ResourceDefinition, object: JsonObject, namespace: string | undefined): void {
  const metadata = metadataOf(object);
  if (!definition.namespaced) {
    delete metadata['namespace'];
    return;
  }
  const given = metadata['namespace'];
  if (given !== undefined && given !== '' && given !== namespace) {
    throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  metadata['namespace'] = namespace;
}

/** Whether a namespace exists and is being terminated: from the namespace cache when wired, else a store read. */
async function namespaceState(context: HandlerContext, namespace: string): Promise<{ readonly terminating: boolean } | undefined> {
  if (context.namespaceCache !== undefined) return context.namespaceCache.lookup(namespace);
  const stored = await context.objects.read(namespaceDefinition, undefined, namespace);
  return stored === undefined ? undefined : { terminating: isTerminating(stored.object) };
}

/** Namespace lifecycle admission: namespaced objects need an existing namespace that is not being deleted. */
async function admitNamespace(context: HandlerContext, definition: ResourceDefinition, namespace: string | undefined, name: string): Promise<void> {
  if (!definition.namespaced || namespace === undefined) return;
  const found = await namespaceState(context, namespace);
  if (found === undefined) throw errors.notFound({ resource: 'namespaces', group: '' }, namespace);
  if (found.terminating) {
    throw errors.forbidden(`${definition.plural}${definition.group === '' ? '' : `.${definition.group}`} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, {
      causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }],
    });
  }
}

/** spec.nodeName of a core Pod that names a node, else undefined. */
function podNodeName(definition: ResourceDefinition, object: JsonObject): string | undefined {
  if (definition.group !== '' || definition.plural !== 'pods') return undefined;
  const spec = object['spec'];
  const nodeName = isObject(spec) ? spec['nodeName'] : undefined;
  return typeof nodeName === 'string' && nodeName !== '' ? nodeName : undefined;
}

async function create(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  const { definition } = target;
  const object = decodeObject(request.body, request.headers['content-type']);
  checkKind(definition, object);
  const warnings = checkUnknownFields(definition, object, fieldValidationOf(request.query), { decoding: true });
  if (target.name !== undefined) throw errors.methodNotAllowed();
  return createObject(context, request, target, object, warnings);
}

/** The create pipeline after decoding: POST bodies, and server-side apply of an absent object. */
async function createObject(context: HandlerContext, request: ApiRequest, target: ResourceTarget, object: JsonObject, warnings: readonly string[]): Promise<ApiResponse> {
  const { definition } = target;
  const dryRun = dryRunOf(request.query);
  const metadata = metadataOf(object);
  if ((metadata['name'] === undefined || metadata['name'] === '') && typeof metadata['generateName'] === 'string' && metadata['generateName'] !== '') {
    metadata['name'] = `${metadata['generateName']}${generateSuffix()}`;
  }
  checkNamespace(definition, object, target.namespace);
  // A create may not set status through the main resource, except for nodes (kubelets register with it).
  if (definition.hasStatusSubresource && definition.plural !== 'nodes') delete object['status'];
  // The uid is known before defaulting (as in kube-apiserver): a Job's generated selector is built from it.
  const uid = context.objects.newUid();
  metadata['uid'] = uid;
  definition.defaults?.(object);
  validateObject(definition, object, undefined);
  await admitNamespace(context, definition, target.namespace, String(metadata['name'] ?? ''));
  runAdmission(context, target, { newObject: object });
  await admitCreate(context.objects, context.admissionCaches, definition, target.namespace, object, { dryRun, nowMs: context.clock.now() });
  // A pod created already on a node is checked against the node's allocation ledger like a binding (decision 0005).
  const nodeName = podNodeName(definition, object);
  const created =
    nodeName === undefined ? await context.objects.create(definition, target.namespace, object, { dryRun, uid }) : await createOnNode(context, definition, target.namespace, object, nodeName, dryRun);
  return jsonWithWarnings(201, created, warnings);
}

/**
 * The update pipeline shared by PUT and PATCH (json, merge, strategic, and server-side apply, which
 * creates an absent object) on the resource and its status/scale/finalize subresources.
 */
async function update(context: HandlerContext, request: ApiRequest, target: ResourceTarget): Promise<ApiResponse> {
  const { definition, subresource } = target;
  const name = target.name ?? '';
  const namespace = definition.namespaced ? target.namespace : undefined;
  const dryRun = dryRunOf(request.query);
  const fieldValidation = fieldValidationOf(request.query);
  let warnings: string[] = [];
  const isPatch = target.verb === 'patch';
  const patchKind = isPatch ? patchType(request.headers['content-type']) : undefined;
  const isApply = patchKind === 'apply';
  if (isApply && subresource !== undefined) throw errors.unsupportedMediaType(`application/apply-patch+yaml on the ${subresource} subresource (server-side apply is served on the main resource only)`);
  const manager = fieldManagerOf(request, isApply);
  const force = forceOf(request.query, isApply);
  const patchBody = isPatch ? decodeValue(request.body, isApply ? 'yaml' : 'json') : undefined;
  if (isApply && !isObject(patchBody)) throw errors.badRequest('an apply patch must be a YAML or JSON object');
  const putBody = isPatch ? undefined : decodeObject(request.body, request.headers['content-type']);
  const isScale = subresource === 'scale';
  const expectedResourceVersion = putBody !== undefined ? stringOrUndefined(metadataOf(putBody)['resourceVersion']) : undefined;

  const applyPatch = (current: JsonObject): JsonObject => {
    let patched: unknown;
    switch (patchKind) {
      case 'json':
        patched = applyJsonPatch(current, patchBody);
        break;
      case 'merge':
        if (!isObject(patchBody)) throw errors.badRequest('a merge patch must be a JSON object');
        patched = applyMergePatch(current, patchBody);
        break;
      case 'apply':
        if (!isObject(patchBody)) throw errors.badRequest('an apply patch must be a YAML or JSON object');
        checkKind(definition, patchBody);
        patched = applyConfiguration({ definition, live: current, applied: patchBody, manager, force, nowMs: context.clock.now() });
        break;
      default:
        if (!isObject(patchBody)) throw errors.badRequest('a strategic merge patch must be a JSON object');
        patched = applyStrategicMergePatch(current, patchBody);
    }
    if (!isObject(patched)) throw errors.badRequest('the patch did not produce an object');
    return patched;
  };

  const store = (): ReturnType<typeof context.objects.update> =>
    context.objects.update(
      definition,
      namespace,
      name,
      async (current) => {
        const currentMetadata = metadataOf(current);
        const currentVersion = String(currentMetadata['resourceVersion']);
        // The client's view of the object (or of its Scale): the PUT body, or the patch applied to the current state.
        let incoming: JsonObject;
        if (putBody !== undefined) incoming = structuredClone(putBody);
        else {
          incoming = applyPatch(isScale ? toScale(definition, current) : structuredClone(current));
          const patchedVersion = stringOrUndefined(metadataOf(incoming)['resourceVersion']);
          if (patchedVersion !== undefined && patchedVersion !== currentVersion) throw errors.conflict(qualified(definition), name);
        }
        if (isScale) {
          const scaled = applyScale(definition, current, incoming, name);
          recordUpdate({ definition, old: current, next: scaled, manager, subresource, apiVersion: apiVersionOf(definition), nowMs: context.clock.now() });
          return scaled;
        }
        checkKind(definition, incoming);
        warnings = checkUnknownFields(definition, isApply && isObject(patchBody) ? patchBody : incoming, fieldValidation, isApply ? {} : { previous: current, decoding: !isPatch });
        const incomingMetadata = metadataOf(incoming);
        if (incomingMetadata['name'] !== undefined && incomingMetadata['name'] !== name) {
          throw errors.badRequest(`the name of the object (${String(incomingMetadata['name'])}) does not match the name on the URL (${name})`);
        }
        incomingMetadata['name'] = name;
        checkNamespace(definition, incoming, namespace);
        // A uid in the body is a precondition (as in kube-apiserver): another object under this name is a 409.
        const incomingUid = incomingMetadata['uid'];
        if (typeof incomingUid === 'string' && incomingUid !== '' && incomingUid !== currentMetadata['uid']) {
          throw errors.conflict(qualified(definition), name, `Precondition failed: UID in precondition: ${incomingUid}, UID in object meta: ${String(currentMetadata['uid'] ?? '')}`);
        }
        let next: JsonObject;
        if (subresource === 'status') {
          next = structuredClone(current);
          next['status'] = incoming['status'];
          const labels = incomingMetadata['labels'];
          const annotations = incomingMetadata['annotations'];
          if (labels !== undefined) metadataOf(next)['labels'] = labels;
          if (annotations !== undefined) metadataOf(next)['annotations'] = annotations;
        } else if (subresource === 'finalize') {
          next = structuredClone(current);
          const spec = isObject(incoming['spec']) ? incoming['spec'] : {};
          next['spec'] = { ...(isObject(next['spec']) ? next['spec'] : {}), finalizers: Array.isArray(spec['finalizers']) ? spec['finalizers'] : [] };
        } else {
          next = incoming;
          if (definition.hasStatusSubresource) {
            if (current['status'] === undefined) delete next['status'];
            else next['status'] = current['status'];
          }
        }
        const nextMetadata = metadataOf(next);
        for (const field of MANAGED_METADATA) {
          if (currentMetadata[field] === undefined) delete nextMetadata[field];
          else nextMetadata[field] = currentMetadata[field];
        }
        nextMetadata['resourceVersion'] = currentVersion;
        definition.defaults?.(next);
        if (!isApply) {
          // Ordinary writes keep the stored managedFields unless they send their own, then record the change.
          if (nextMetadata['managedFields'] === undefined && currentMetadata['managedFields'] !== undefined) nextMetadata['managedFields'] = currentMetadata['managedFields'];
          recordUpdate({ definition, old: current, next, manager, subresource, apiVersion: apiVersionOf(definition), nowMs: context.clock.now() });
        }
        if (!jsonEqual(next['spec'] ?? null, current['spec'] ?? null)) {
          nextMetadata['generation'] = (typeof currentMetadata['generation'] === 'number' ? currentMetadata['generation'] : 0) + 1;
        }
        validateObject(definition, next, current);
        runAdmission(context, target, { oldObject: current, newObject: next });
        await admitUpdate(context.objects, definition, next, current);
        return next;
      },
      { dryRun, ...(expectedResourceVersion === undefined ? {} : { expectedResourceVersion }) },
    );
  let result: Awaited<ReturnType<typeof store>>;
  try {
    result = await store();
  } catch (error) {
    // Server-side apply creates the object when it is absent.
    if (!(isApply && isObject(patchBody) && error instanceof ApiError && error.code === 'NotFound')) throw error;
    const applied = structuredClone(patchBody);
    checkKind(definition, applied);
    warnings = checkUnknownFields(definition, applied, fieldValidation);
    const appliedMetadata = metadataOf(applied);
    if (appliedMetadata['name'] !== undefined && appliedMetadata['name'] !== name) {
      throw errors.badRequest(`the name of the object (${String(appliedMetadata['name'])}) does not match the name on the URL (${name})`);
    }
    appliedMetadata['name'] = name;
    const object = applyConfiguration({ definition, live: undefined, applied, manager, force, nowMs: context.clock.now() });
    return createObject(context, request, target, object, warnings);
  }
  if (isScale) return json(200, toScale(definition, result.object));
  return jsonWithWarnings(200, result.object, warnings);
}

