// The request/response shapes of the transport-free pipeline: `handle(request) → response` works the
// same whether the request came over HTTPS (server.ts) or, later, over the actor transport.

import type { Authorizer, AuthorizationDecision, RequestAttributes, UserInfo } from '../auth-types.js';
import type { Clock } from '../../actors/clock.js';
import type { Registry } from '../registry/index.js';
import type { JsonObject, ResourceDefinition } from '../registry/types.js';
import type { ObjectStore } from '../storage/object-store.js';
import type { RunningWatch, WatchSink } from '../storage/watch.js';
import type { NamespaceCache } from '../storage/namespace-cache.js';
import type { WatchCaches } from '../storage/watch-cache.js';
import type { PrefixCache } from '../storage/prefix-cache.js';
import type { ServiceAccountTokens, TokenAuthentication } from '../auth/service-account-tokens.js';

export interface ApiRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The path without the query string, not percent-decoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case header names. */
  readonly headers: { readonly [name: string]: string | undefined };
  readonly body?: Uint8Array;
  /** Authenticated (or anonymous) user. */
  readonly user: UserInfo;
}

export type ApiResponse =
  | { readonly status: number; readonly headers?: Record<string, string>; readonly body: unknown }
  /** Text; with `follow` (pods/log?follow=true) the transport sends `text` first, then streams until the sink ends or the client leaves. */
  | { readonly status: number; readonly headers?: Record<string, string>; readonly text: string; readonly follow?: (sink: TextSink) => RunningWatch }
  /** A watch: the transport calls start with its sink and stop() when the client goes away. */
  | { readonly status: number; readonly headers?: Record<string, string>; readonly watch: (sink: WatchSink) => Promise<RunningWatch> };

/** Where a followed text response goes (server.ts writes it to the HTTP response as it comes). */
export interface TextSink {
  write(text: string): void;
  /** The stream is over; the transport ends the response. */
  end(): void;
}

/** Admission after validation (node restriction from auth/node-restriction.ts plugs in here). */
export type AdmissionCheck = (
  attributes: RequestAttributes,
  objects: { readonly oldObject?: JsonObject; readonly newObject?: JsonObject },
) => AuthorizationDecision;

/**
 * Issue 7's hook: convert an object or a list to a meta.k8s.io Table when the client asks for one
 * (Accept `application/json;as=Table;v=v1;g=meta.k8s.io`). Undefined: answer the plain object.
 */
export type TableConverter = (definition: ResourceDefinition, objectOrList: JsonObject, options: TableOptions) => JsonObject | undefined;

export interface TableOptions {
  /** The request's includeObject (None, Metadata — the default — or Object). */
  readonly includeObject?: string;
  /** The server's time, for AGE cells. */
  readonly nowMs: number;
  /** False: leave out columnDefinitions (watch events after the first). */
  readonly withColumns?: boolean;
}

export interface HandlerContext {
  readonly registry: Registry;
  readonly objects: ObjectStore;
  readonly authorizer: Authorizer;
  readonly admission: readonly AdmissionCheck[];
  readonly clock: Clock;
  readonly bookmarkIntervalMs: number;
  readonly tableConverter?: TableConverter;
  /** Shared store watches per resource; absent: one store watch per HTTP watch. */
  readonly watchCaches?: WatchCaches;
  /** Namespaces for lifecycle admission (absent: every namespaced create reads its namespace from the store). */
  readonly namespaceCache?: NamespaceCache;
  /** host:port for discovery's serverAddressByClientCIDRs. */
  readonly serverAddress: string;
  /** ResourceQuotas and PriorityClasses for admission (absent: admission reads the store each time). */
  readonly admissionCaches?: AdmissionCaches;
  /** Issues and checks service account tokens (serviceaccounts/token); absent: that subresource answers 500. */
  readonly serviceAccountTokens?: ServiceAccountTokens;
  /** This server's bearer-token authentication for given audiences (none: its own), for tokenreviews. */
  readonly authenticateToken?: (token: string, audiences: readonly string[]) => Promise<TokenAuthentication>;
}

export interface AdmissionCaches {
  readonly quotas: PrefixCache;
  readonly priorityClasses: PrefixCache;
}
