// Everything startApiServer needs for security, from the cluster directory in one call: the PKI
// (TLS serving certificate and CA), the token file authenticator, the RBAC authorizer with the cache
// rbac-sync keeps current, the bootstrap policy and node restriction. Made at first start, reused
// after. The launcher spreads `serverOptions` into startApiServer's options and writes the admin
// kubeconfig once it knows the server's URL.

import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../../actors/clock.js';
import { ensureClusterPki, writeAdminKubeconfig, type ClusterPki } from '../../cluster/pki.js';
import type { Authenticator } from '../auth-types.js';
import type { AdmissionCheck } from '../handlers/types.js';
import type { JsonObject } from '../registry/types.js';
import { createAuthenticator } from './authenticator.js';
import type { SigningKeyPair } from './jwt.js';
import { bootstrapPolicy } from './bootstrap-policy.js';
import { nodeRestriction } from './node-restriction.js';
import { createRbacAuthorizer, type RbacAuthorizer, type RbacCache } from './rbac.js';
import { ensureTokenFile, type ClusterTokens } from './token-file.js';

export const KUBECONFIG_FILE = 'kubeconfig';

export interface SecurityServerOptions {
  readonly tls: { readonly key: string; readonly cert: string; readonly ca: string };
  readonly authenticator: Authenticator;
  readonly authorizer: RbacAuthorizer;
  readonly rbacCache: RbacCache;
  readonly bootstrapObjects: readonly JsonObject[];
  readonly admission: readonly AdmissionCheck[];
  readonly serviceAccountKeys: SigningKeyPair;
}

export interface ClusterSecurity {
  readonly pki: ClusterPki;
  readonly tokens: ClusterTokens;
  /** Spread into startApiServer's options. */
  readonly serverOptions: SecurityServerOptions;
  /** Writes `<dir>/kubeconfig` (admin client certificate, 0600) for a server URL; returns its path. */
  writeKubeconfig(serverUrl: string): string;
}

export function clusterSecurity(dir: string, options: { readonly log?: Logger; readonly extraHosts?: readonly string[]; readonly clock?: Clock } = {}): ClusterSecurity {
  const pki = ensureClusterPki(dir, options);
  const tokens = ensureTokenFile(dir);
  const { authorizer, cache } = createRbacAuthorizer();
  return {
    pki,
    tokens,
    serverOptions: {
      tls: { key: pki.apiServer.key, cert: pki.apiServer.cert, ca: pki.caCert },
      authenticator: createAuthenticator({ tokens: tokens.tokens }),
      authorizer,
      rbacCache: cache,
      bootstrapObjects: bootstrapPolicy(),
      admission: [nodeRestriction],
      serviceAccountKeys: pki.serviceAccountKeys,
    },
    writeKubeconfig(serverUrl) {
      const path = join(dir, KUBECONFIG_FILE);
      writeAdminKubeconfig(path, { server: serverUrl, ca: pki.caCert, cert: pki.admin.cert, key: pki.admin.key });
      return path;
    },
  };
}
