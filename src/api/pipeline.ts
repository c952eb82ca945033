// The API server's request pipeline without HTTP: `handle(request) → response` for an already
// authenticated user. Order: request info → authorize (403 with the authorizer's reason) → route
// (discovery / resource; unknown → 404) → the resource handlers (decode → default → validate →
// admit → store). server.ts puts limits and authentication in front of it (with `authenticate` from
// here: the configured authenticator plus this server's service account tokens); the cluster's
// components call it directly over the actor transport. pods/log, pods/eviction, the refused pod
// streams (exec, attach, portforward) and serviceaccounts/token are routed to their handlers here.

import { handleMetrics, type NodeStatsReader } from './handlers/metrics.js';
import { METRICS_GROUP } from './registry/metrics.js';
import type { Logger } from 'pino';
import type { Clock } from '../actors/clock.js';
import { systemClock } from '../actors/clock.js';
import type { StoreClient } from '../store/client.js';
import type { AuthenticationResult, Authenticator, Authorizer, Credentials, RequestAttributes } from './auth-types.js';
import { discoveryResponse } from './handlers/discovery.js';
import { handleResource } from './handlers/resource.js';
import type { AdmissionCheck, ApiRequest, ApiResponse, HandlerContext, TableConverter } from './handlers/types.js';
import { parseRequestInfo } from './request-info.js';
import { Registry, defaultRegistry } from './registry/index.js';
import { namespaces, pods, serviceaccounts } from './registry/core.js';
import { requestToken } from './handlers/token-request.js';
import { STREAMING_SUBRESOURCES, refuseStream } from './handlers/pod-streams.js';
import { ServiceAccountTokens } from './auth/service-account-tokens.js';
import { requestAuthentication, storeLookup } from './auth/request-authentication.js';
import { generateSigningKeyPair, type SigningKeyPair } from './auth/jwt.js';
import { handlePodLog, type PodLogReader } from './handlers/logs.js';
import { evict } from './handlers/eviction.js';
import { ObjectStore, type ObjectStoreOptions } from './storage/object-store.js';
import { WatchCaches } from './storage/watch-cache.js';
import { NamespaceCache } from './storage/namespace-cache.js';
import { PrefixCache } from './storage/prefix-cache.js';
import { resourcequotas } from './registry/resource-quota.js';
import { priorityclasses } from './registry/scheduling.js';
import { ApiError, errors } from './status.js';
import { isObject, type JsonObject, type ResourceDefinition } from './registry/types.js';
import { validateObject } from './handlers/validate.js';
import { toTable } from './tables.js';
import { openApiResponse } from './openapi.js';
import { CrdServing } from './crd/serving.js';
import { isCustomResourceDefinition } from './crd/definition.js';
import { patchType } from './handlers/decode.js';

/** Paths anyone may read, even without credentials (Kubernetes' system:public-info-viewer). */
export const PUBLIC_PATHS: ReadonlySet<string> = new Set(['/healthz', '/livez', '/readyz', '/version']);
/** How often a watch with allowWatchBookmarks gets a BOOKMARK (kube-apiserver: about a minute). */
export const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;
/** Namespaces every cluster has from the start. */
export const SYSTEM_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export interface ApiHandlerOptions {
  readonly store: StoreClient;
  readonly authorizer: Authorizer;
  readonly admission?: readonly AdmissionCheck[];
  readonly registry?: Registry;
  readonly clock?: Clock;
  readonly bookmarkIntervalMs?: number;
  /** Server-side printing for `as=Table` requests (default: tables.ts). */
  readonly tableConverter?: TableConverter;
  readonly serverAddress?: string;
  readonly objects?: ObjectStoreOptions;
  readonly log?: Logger;
  /** Share one store watch per resource among all watches (default true). */
  readonly watchCache?: boolean;
  /** Admit namespaced creates from a watched cache of namespaces (default true; false: a store read each). */
  readonly namespaceCache?: boolean;
  /** How pods/log reaches node agents (the actor transport in api/main.ts); absent: pods/log answers 500. */
  readonly podLogs?: PodLogReader;
  /** How often a followed pods/log polls its node agent (default handlers/logs.ts). */
  readonly logFollowPollMs?: number;
  /** Keep ResourceQuotas and PriorityClasses in watched caches for admission (default true; false: store reads). */
  readonly admissionCaches?: boolean;
  /** How metrics.k8s.io reaches node agents (the actor transport in api/main.ts); absent: 503. */
  readonly nodeStats?: NodeStatsReader;
  /** Static tokens and client certificates (auth/authenticator.ts); service account tokens are added here. */
  readonly authenticator?: Authenticator;
  /** The key pair service account tokens are signed with (the cluster's pki/sa.key, sa.pub); absent: one made in memory. */
  readonly serviceAccountKeys?: SigningKeyPair;
  /** The `iss` of service account tokens (default auth/service-account-tokens.ts). */
  readonly serviceAccountIssuer?: string;
  /** The audiences this server accepts in tokens (default ['https://kubernetes.default.svc']). */
  readonly apiAudiences?: readonly string[];
}

export interface ApiHandler {
  handle(request: ApiRequest): Promise<ApiResponse>;
  /** Who is asking: the configured authenticator, then service account tokens for a bearer token it rejects. */
  authenticate(credentials: Credentials): Promise<AuthenticationResult>;
  /** Issues and checks this server's service account tokens. */
  readonly serviceAccountTokens: ServiceAccountTokens;
  /** Create the system namespaces that are missing. */
  ensureSystemNamespaces(): Promise<void>;
  /**
   * Create each object (bootstrap RBAC policy…) that does not exist yet, through defaulting and
   * validation but without authorization; existing objects are left as they are.
   */
  ensureObjects(objects: readonly JsonObject[]): Promise<void>;
  readonly registry: Registry;
  readonly objects: ObjectStore;
  /** The shared store watches (undefined when disabled). */
  readonly watchCaches: WatchCaches | undefined;
  /** Namespaces for lifecycle admission (undefined when disabled). */
  readonly namespaceCache: NamespaceCache | undefined;
  /** CustomResourceDefinitions served as resources (the registry's dynamic part). */
  readonly crds: CrdServing;
  /** Stop the shared store watches (open HTTP watches end). */
  close(): void;
}

export function statusResponse(error: ApiError): ApiResponse {
  return {
    status: error.httpStatus,
    // A 429 whose details say retryAfterSeconds 0 (an eviction a disruption budget refuses) has no
    // Retry-After, as in kube-apiserver: client-go would otherwise retry it silently.
    ...(error.httpStatus === 429 && error.details?.retryAfterSeconds !== 0 ? { headers: { 'retry-after': String(error.details?.retryAfterSeconds ?? 1) } } : {}),
    body: error.toStatus(),
  };
}

function forbiddenMessage(attributes: RequestAttributes, reason: string): string {
  if (attributes.kind === 'nonResource') return `forbidden: User "${attributes.user.name}" cannot ${attributes.verb} path "${attributes.path}"${reason === '' ? '' : `: ${reason}`}`;
  if (reason.includes(' is forbidden: ')) return reason;
  const resource = attributes.subresource === undefined ? attributes.resource : `${attributes.resource}/${attributes.subresource}`;
  // Kubernetes names the resource without its subresource here: `pods "web" is forbidden: … "pods/exec"`.
  const what = `${attributes.resource}${attributes.apiGroup === '' ? '' : `.${attributes.apiGroup}`}${attributes.name === undefined ? '' : ` "${attributes.name}"`}`;
  const scope = attributes.namespace === undefined ? 'at the cluster scope' : `in the namespace "${attributes.namespace}"`;
  return `${what} is forbidden: User "${attributes.user.name}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.apiGroup}" ${scope}${reason === '' ? '' : `: ${reason}`}`;
}

function inputErrorStatus(error: unknown): 400 | 422 | undefined {
  if (!(error instanceof Error) || !('httpStatus' in error)) return undefined;
  const status = (error as { readonly httpStatus: unknown }).httpStatus;
  return status === 400 || status === 422 ? status : undefined;
}

export function createApiHandler(options: ApiHandlerOptions): ApiHandler {
  const registry = options.registry ?? defaultRegistry();
  const objects = new ObjectStore(options.store, options.objects ?? {});
  const watchCaches = options.watchCache === false ? undefined : new WatchCaches(options.store);
  const clock = options.clock ?? systemClock;
  const namespaceCache =
    options.namespaceCache === false
      ? undefined
      : new NamespaceCache(options.store, objects.prefix(namespaces, undefined), (name) => objects.read(namespaces, undefined, name), clock);
  const admissionCaches =
    options.admissionCaches === false
      ? undefined
      : { quotas: new PrefixCache(options.store, objects.prefix(resourcequotas, undefined), clock), priorityClasses: new PrefixCache(options.store, objects.prefix(priorityclasses, undefined), clock) };
  // CRDs are listed and watched from the first discovery, OpenAPI or unknown-resource request on.
  const crds = new CrdServing(registry, objects, options.store, clock, options.log);
  const serviceAccountTokens = new ServiceAccountTokens({
    keys: options.serviceAccountKeys ?? generateSigningKeyPair(),
    clock,
    lookup: storeLookup(objects),
    ...(options.serviceAccountIssuer === undefined ? {} : { issuer: options.serviceAccountIssuer }),
    ...(options.apiAudiences === undefined ? {} : { audiences: options.apiAudiences }),
  });
  const { authenticate, authenticateToken } = requestAuthentication(options.authenticator, serviceAccountTokens);

  const context: HandlerContext = {
    serviceAccountTokens,
    authenticateToken,
    registry,
    objects,
    authorizer: options.authorizer,
    admission: options.admission ?? [],
    clock,
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
    tableConverter: options.tableConverter ?? toTable,
    serverAddress: options.serverAddress ?? '127.0.0.1:6443',
    ...(watchCaches === undefined ? {} : { watchCaches }),
    ...(namespaceCache === undefined ? {} : { namespaceCache }),
    ...(admissionCaches === undefined ? {} : { admissionCaches }),
  };

  /** Tell the admission caches about a quota or PriorityClass this server wrote, so admission reads the store until the watch shows it. */
  function noteAdmissionWrite(definition: ResourceDefinition, verb: string, namespace: string | undefined, request: ApiRequest, response: ApiResponse): void {
    if (admissionCaches === undefined || response.status >= 300 || request.query.has('dryRun') || !('body' in response) || !isObject(response.body)) return;
    const cache = definition === resourcequotas ? admissionCaches.quotas : definition === priorityclasses ? admissionCaches.priorityClasses : undefined;
    if (cache === undefined) return;
    const body = response.body;
    const written = Array.isArray(body['items']) ? body['items'].filter(isObject) : [body];
    for (const object of written) {
      const metadata = isObject(object['metadata']) ? object['metadata'] : {};
      if (typeof metadata['name'] !== 'string') continue; // a Status (a delete's answer) names it in details
      const revision = Number(metadata['resourceVersion'] ?? 0);
      const key = definition.namespaced ? `${namespace ?? String(metadata['namespace'] ?? '')}/${metadata['name']}` : metadata['name'];
      cache.noteWrite(key, Number.isSafeInteger(revision) ? revision : 0, verb === 'delete' || verb === 'deletecollection');
    }
    const details = body['kind'] === 'Status' && isObject(body['details']) ? body['details'] : undefined;
    if (details !== undefined && typeof details['name'] === 'string') cache.noteWrite(definition.namespaced ? `${namespace ?? ''}/${details['name']}` : details['name'], 0, true);
  }

  /** Tell the namespace cache about a namespace this server changed, so that its next lookups read it live. */
  function noteNamespaceWrite(verb: string, name: string | undefined, request: ApiRequest, response: ApiResponse): void {
    if (namespaceCache === undefined || response.status >= 300 || request.query.has('dryRun')) return;
    if (verb === 'deletecollection') return namespaceCache.invalidate();
    if (name === undefined || (verb !== 'update' && verb !== 'patch' && verb !== 'delete')) return;
    const body = 'body' in response && isObject(response.body) ? response.body : undefined;
    const metadata = body !== undefined && body['kind'] === 'Namespace' && isObject(body['metadata']) ? body['metadata'] : undefined;
    const revision = Number(metadata?.['resourceVersion'] ?? 0);
    namespaceCache.noteWrite(name, Number.isSafeInteger(revision) ? revision : 0, verb === 'delete');
  }

  /** pods/log and pods/eviction (docs/decisions/0008-pod-logs.md); undefined for everything else. */
  function podSubresourceResponse(definition: ResourceDefinition, info: { verb: string; namespace?: string; name?: string; subresource?: string }, attributes: RequestAttributes & { kind: 'resource' }, request: ApiRequest): Promise<ApiResponse> | undefined {
    if (definition !== pods || info.namespace === undefined || info.name === undefined) return undefined;
    if (info.subresource === 'log') {
      if (info.verb !== 'get') throw errors.methodNotAllowed();
      const logOptions = { objects, pods, reader: options.podLogs, clock: context.clock, ...(options.logFollowPollMs === undefined ? {} : { pollIntervalMs: options.logFollowPollMs }) };
      return handlePodLog(logOptions, request, info.namespace, info.name);
    }
    if (info.subresource !== undefined && STREAMING_SUBRESOURCES.has(info.subresource)) {
      return refuseStream(context, { definition, verb: info.verb, attributes, namespace: info.namespace, name: info.name, subresource: info.subresource });
    }
    if (info.subresource === 'eviction') {
      if (info.verb !== 'create') throw errors.methodNotAllowed();
      return evict(context, request, { definition, verb: info.verb, attributes, namespace: info.namespace, name: info.name, subresource: info.subresource });
    }
    return undefined;
  }

  async function route(request: ApiRequest): Promise<ApiResponse> {
    const info = parseRequestInfo(request.method, request.path, request.query);
    if (info.kind === 'nonResource') {
      if (!PUBLIC_PATHS.has(info.path)) {
        const decision = options.authorizer.authorize({ kind: 'nonResource', user: request.user, verb: info.verb, path: info.path });
        if (!decision.allowed) throw errors.forbidden(forbiddenMessage({ kind: 'nonResource', user: request.user, verb: info.verb, path: info.path }, decision.reason));
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') throw errors.methodNotAllowed();
      if (info.path === '/readyz') {
        // Ready only when the store answers (a quorum read through the client).
        try {
          await options.store.range({ key: '/registry/namespaces/default' });
        } catch (error) {
          return { status: 500, headers: { 'content-type': 'text/plain; charset=utf-8' }, text: `store not ready: ${error instanceof Error ? error.message : String(error)}` };
        }
      }
      if (info.path.startsWith('/api') || info.path.startsWith('/openapi')) await crds.whenSynced();
      const openApi = request.method === 'GET' ? openApiResponse(registry, info.path, request.query) : undefined;
      if (openApi !== undefined) return openApi;
      const found = discoveryResponse(registry, info.path, request.headers['accept'], context.serverAddress);
      if (found === undefined) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return found;
    }
    const attributes: RequestAttributes & { kind: 'resource' } = {
      kind: 'resource',
      user: request.user,
      verb: info.verb,
      apiGroup: info.apiGroup,
      apiVersion: info.apiVersion,
      resource: info.resource,
      ...(info.subresource === undefined ? {} : { subresource: info.subresource }),
      ...(info.namespace === undefined ? {} : { namespace: info.namespace }),
      ...(info.name === undefined ? {} : { name: info.name }),
    };
    const decision = options.authorizer.authorize(attributes);
    if (!decision.allowed) {
      throw errors.forbidden(forbiddenMessage(attributes, decision.reason), {
        ...(info.name === undefined ? {} : { name: info.name }),
        group: info.apiGroup,
        kind: info.resource,
      });
    }
    let definition = registry.lookup(info.apiGroup, info.apiVersion, info.resource);
    if (definition === undefined && info.rest.length === 0) {
      // Perhaps a custom resource whose CRD this server has not listed yet.
      await crds.whenSynced();
      definition = registry.lookup(info.apiGroup, info.apiVersion, info.resource);
    }
    if (definition === undefined || info.rest.length > 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    const podSubresource = podSubresourceResponse(definition, info, attributes, request);
    if (podSubresource !== undefined) return podSubresource;
    if (definition.group === METRICS_GROUP && definition.custom !== true) {
      return handleMetrics({ objects, reader: options.nodeStats, clock: context.clock }, request, {
        definition,
        verb: info.verb,
        ...(info.namespace === undefined ? {} : { namespace: info.namespace }),
        ...(info.name === undefined ? {} : { name: info.name }),
      });
    }
    if (definition === serviceaccounts && info.subresource === 'token' && info.namespace !== undefined && info.name !== undefined) {
      return requestToken(context, request, { definition, verb: info.verb, attributes, namespace: info.namespace, name: info.name, subresource: info.subresource });
    }
    // A CRD delete must know what the CRD served, to delete its custom resources.
    if (isCustomResourceDefinition(definition)) await crds.whenSynced();
    if (definition.custom === true && request.method === 'PATCH' && patchType(request.headers['content-type']) === 'strategic') {
      throw new ApiError(415, 'UnsupportedMediaType', 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml');
    }
    const response = await handleResource(context, request, {
      definition,
      verb: info.verb,
      attributes,
      ...(info.namespace === undefined ? {} : { namespace: info.namespace }),
      ...(info.name === undefined ? {} : { name: info.name }),
      ...(info.subresource === undefined ? {} : { subresource: info.subresource }),
    });
    if (definition.plural === 'namespaces' && definition.group === '') noteNamespaceWrite(info.verb, info.name, request, response);
    if (info.verb !== 'get' && info.verb !== 'list' && info.verb !== 'watch') noteAdmissionWrite(definition, info.verb, info.namespace, request, response);
    if (isCustomResourceDefinition(definition) && response.status < 300 && !request.query.has('dryRun')) await crds.noteWrite(info.verb, info.name, response);
    return response;
  }

  return {
    authenticate,
    serviceAccountTokens,
    registry,
    objects,
    watchCaches,
    namespaceCache,
    crds,
    close() {
      crds.close();
      watchCaches?.close();
      namespaceCache?.close();
      admissionCaches?.quotas.close();
      admissionCaches?.priorityClasses.close();
    },
    async handle(request) {
      try {
        return await route(request);
      } catch (error) {
        if (error instanceof ApiError) return statusResponse(error);
        // Input errors from the pure modules (patch/, selectors/: ApiInputError with httpStatus 400 or 422).
        const inputStatus = inputErrorStatus(error);
        if (inputStatus !== undefined) {
          const message = error instanceof Error ? error.message : 'bad input';
          return statusResponse(new ApiError(inputStatus, inputStatus === 422 ? 'Invalid' : 'BadRequest', message));
        }
        options.log?.error({ err: error, method: request.method, path: request.path }, 'request failed');
        return statusResponse(errors.internal(error instanceof Error ? error.message : String(error)));
      }
    },
    async ensureObjects(wanted) {
      for (const object of wanted) {
        const copy = structuredClone(object);
        const definition = registry.byKind(String(copy['apiVersion']), String(copy['kind']));
        const metadata = copy['metadata'];
        if (definition === undefined || !isObject(metadata) || typeof metadata['name'] !== 'string') {
          throw new Error(`cannot ensure ${String(copy['apiVersion'])} ${String(copy['kind'])}: unknown kind or no name`);
        }
        const namespace = definition.namespaced ? String(metadata['namespace'] ?? 'default') : undefined;
        if ((await objects.read(definition, namespace, metadata['name'])) !== undefined) continue;
        if (namespace !== undefined) metadata['namespace'] = namespace;
        definition.defaults?.(copy);
        validateObject(definition, copy, undefined);
        try {
          await objects.create(definition, namespace, copy);
        } catch (error) {
          if (!(error instanceof ApiError && error.code === 'AlreadyExists')) throw error;
        }
      }
    },
    async ensureSystemNamespaces() {
      for (const name of SYSTEM_NAMESPACES) {
        if ((await objects.read(namespaces, undefined, name)) !== undefined) continue;
        const object = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
        namespaces.defaults?.(object);
        try {
          await objects.create(namespaces, undefined, object);
        } catch (error) {
          if (!(error instanceof ApiError && error.code === 'AlreadyExists')) throw error;
        }
      }
    },
  };
}
