// The API server's whole authentication: the configured authenticator (client certificates, the
// token file), then this server's service account tokens for a bearer token it rejects. Also the
// same for a bare token and given audiences (tokenreviews), where static tokens are
// audience-agnostic (good for any audience this server accepts) and service account tokens carry
// theirs. And the lookup the tokens need: the uid of a live ServiceAccount, Pod or Secret.

import type { AuthenticationResult, Authenticator, Credentials } from '../auth-types.js';
import { pods, secrets, serviceaccounts } from '../registry/core.js';
import { metadataOf, type ObjectStore } from '../storage/object-store.js';
import { ServiceAccountTokens, type LiveObjectLookup, type TokenAuthentication } from './service-account-tokens.js';

export interface RequestAuthentication {
  /** Who is asking (server.ts calls this for every request). */
  authenticate(credentials: Credentials): Promise<AuthenticationResult>;
  /** A bearer token for `wanted` audiences (empty: this server's). */
  authenticateToken(token: string, wanted: readonly string[]): Promise<TokenAuthentication>;
}

/** The uid of a live object from the store; a pod being deleted no longer counts (as in Kubernetes). */
export function storeLookup(objects: ObjectStore): LiveObjectLookup {
  return async (kind, namespace, name) => {
    const definition = kind === 'ServiceAccount' ? serviceaccounts : kind === 'Pod' ? pods : secrets;
    const stored = await objects.read(definition, namespace, name);
    if (stored === undefined) return undefined;
    const metadata = metadataOf(stored.object);
    if (kind === 'Pod' && metadata['deletionTimestamp'] !== undefined && metadata['deletionTimestamp'] !== null) return undefined;
    return typeof metadata['uid'] === 'string' ? metadata['uid'] : undefined;
  };
}

const BEARER = /^bearer\s+(\S+)\s*$/i;

export function requestAuthentication(authenticator: Authenticator | undefined, tokens: ServiceAccountTokens): RequestAuthentication {
  return {
    async authenticate(credentials) {
      const first: AuthenticationResult = authenticator?.authenticate(credentials) ?? { kind: 'anonymous' };
      const header = credentials.headers.authorization;
      if (first.kind === 'authenticated' || credentials.clientCertificate !== undefined || header === undefined) return first;
      const token = BEARER.exec(header)?.[1];
      if (token === undefined || !ServiceAccountTokens.mayBeServiceAccountToken(token)) return first.kind === 'rejected' ? first : { kind: 'rejected', reason: 'invalid bearer token' };
      const outcome = await tokens.authenticate(token);
      return outcome.kind === 'authenticated' ? { kind: 'authenticated', user: outcome.user } : outcome;
    },
    async authenticateToken(token, wanted) {
      const audiences = wanted.length > 0 ? wanted : tokens.audiences;
      const outcome = authenticator?.authenticate({ headers: { authorization: `Bearer ${token}` } });
      if (outcome?.kind === 'authenticated') {
        const accepted = audiences.filter((audience) => tokens.audiences.includes(audience));
        if (accepted.length === 0) return { kind: 'rejected', reason: 'the token audiences are not accepted' };
        return { kind: 'authenticated', user: outcome.user, audiences: accepted };
      }
      if (ServiceAccountTokens.mayBeServiceAccountToken(token)) return tokens.authenticate(token, audiences);
      return { kind: 'rejected', reason: outcome?.kind === 'rejected' ? outcome.reason : 'invalid bearer token' };
    },
  };
}
