// The contract between the API server's request pipeline (server.ts, rest/) and its security layer
// (auth/): who is asking (authentication), and may they (authorization). Kept in its own module so
// that both halves can be built and tested apart.

import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate } from 'node:tls';

export interface UserInfo {
  readonly name: string;
  readonly groups: readonly string[];
  /** A unique id of the user, when the credential names one (token file uid, service account uid). */
  readonly uid?: string;
  /** What else the authenticator knows (a service account token's pod, its credential id). */
  readonly extra?: { readonly [key: string]: readonly string[] };
}

/** What the authenticator sees of a request. */
export interface Credentials {
  readonly headers: IncomingHttpHeaders;
  /** The verified client certificate (the TLS layer checked it against the cluster CA), if any. */
  readonly clientCertificate?: PeerCertificate;
}

export type AuthenticationResult =
  | { readonly kind: 'authenticated'; readonly user: UserInfo }
  /** No credentials at all: the user is system:anonymous (allowed only on the public paths). */
  | { readonly kind: 'anonymous' }
  /** Credentials were given and are wrong: 401 with this reason. */
  | { readonly kind: 'rejected'; readonly reason: string };

export interface Authenticator {
  authenticate(credentials: Credentials): AuthenticationResult;
}

/** Kubernetes' authorization attributes. */
export type RequestAttributes =
  | {
      readonly kind: 'resource';
      readonly user: UserInfo;
      /** get, list, watch, create, update, patch, delete, deletecollection (and bind, escalate, impersonate…). */
      readonly verb: string;
      /** '' for the core group. */
      readonly apiGroup: string;
      readonly apiVersion: string;
      readonly resource: string;
      readonly subresource?: string;
      /** Absent for cluster-scoped resources and for lists across all namespaces. */
      readonly namespace?: string;
      readonly name?: string;
    }
  | {
      readonly kind: 'nonResource';
      readonly user: UserInfo;
      /** get, post, put, delete… (lower-case HTTP method) */
      readonly verb: string;
      readonly path: string;
    };

export interface AuthorizationDecision {
  readonly allowed: boolean;
  /** Why: for a denial, the text of the 403 Status message. */
  readonly reason: string;
}

export interface Authorizer {
  authorize(attributes: RequestAttributes): AuthorizationDecision;
}

/**
 * Where objects live in the store: one key per object, its value the object's JSON (UTF-8).
 * Namespaced: /registry/<resource>/<namespace>/<name>; cluster-scoped: /registry/<resource>/<name>.
 * <resource> is the plural resource name, qualified with its group for non-core groups
 * (e.g. /registry/deployments.apps/default/web, /registry/clusterroles.rbac.authorization.k8s.io/admin).
 */
export function storeKey(resource: string, apiGroup: string, namespace: string | undefined, name: string): string {
  const qualified = apiGroup === '' ? resource : `${resource}.${apiGroup}`;
  return namespace === undefined ? `/registry/${qualified}/${name}` : `/registry/${qualified}/${namespace}/${name}`;
}

/** The key prefix of every object of a resource (in one namespace if given). */
export function storePrefix(resource: string, apiGroup: string, namespace?: string): string {
  const qualified = apiGroup === '' ? resource : `${resource}.${apiGroup}`;
  return namespace === undefined ? `/registry/${qualified}/` : `/registry/${qualified}/${namespace}/`;
}
