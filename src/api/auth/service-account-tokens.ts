// Service account tokens, as kube-apiserver's TokenRequest issues them: a JWT (jwt.ts) naming the
// issuer, the audiences, iat/nbf/exp, and under "kubernetes.io" the namespace, the ServiceAccount
// (name, uid) and the Pod or Secret it is bound to, if any. Authenticating one checks the signature,
// the issuer, exp and nbf against the injected clock, that an audience is accepted, and that the
// ServiceAccount (and bound object) still exists with the same uid; the user is
// system:serviceaccount:<ns>:<name> in system:serviceaccounts, system:serviceaccounts:<ns> and
// system:authenticated. Anything wrong with the token is `rejected` (401), never anonymous, never an
// exception; only a failing lookup (the store is down) throws.

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../actors/clock.js';
import type { AuthenticationResult, UserInfo } from '../auth-types.js';
import { withAuthenticatedGroup } from './authenticator.js';
import { JwtSigner, JwtVerifier, looksLikeJwt, type JwtClaims, type SigningKeyPair } from './jwt.js';

/** kube-apiserver's default --service-account-issuer in kubeadm clusters, and kplane's audience. */
export const DEFAULT_TOKEN_ISSUER = 'https://kubernetes.default.svc';
export const DEFAULT_API_AUDIENCES: readonly string[] = ['https://kubernetes.default.svc'];
export const SERVICE_ACCOUNT_USER_PREFIX = 'system:serviceaccount:';
export const SERVICE_ACCOUNTS_GROUP = 'system:serviceaccounts';
/** The extra keys Kubernetes sets for a pod-bound token and for every token's id. */
export const EXTRA_POD_NAME = 'authentication.kubernetes.io/pod-name';
export const EXTRA_POD_UID = 'authentication.kubernetes.io/pod-uid';
export const EXTRA_CREDENTIAL_ID = 'authentication.kubernetes.io/credential-id';

export type BoundObjectKind = 'Pod' | 'Secret';

export interface ObjectIdentity {
  readonly name: string;
  readonly uid: string;
}

/** Reads the uid of a live object (undefined when it does not exist or is being deleted). */
export type LiveObjectLookup = (kind: 'ServiceAccount' | BoundObjectKind, namespace: string, name: string) => Promise<string | undefined>;

export interface TokenGrant {
  readonly namespace: string;
  readonly serviceAccount: ObjectIdentity;
  readonly audiences: readonly string[];
  readonly expirationSeconds: number;
  readonly boundObject?: { readonly kind: BoundObjectKind } & ObjectIdentity;
}

export interface IssuedToken {
  readonly token: string;
  /** RFC 3339, second precision. */
  readonly expirationTimestamp: string;
}

export type TokenAuthentication = (AuthenticationResult & { readonly kind: 'rejected' }) | { readonly kind: 'authenticated'; readonly user: UserInfo; readonly audiences: readonly string[] };

export interface ServiceAccountTokensOptions {
  readonly keys: SigningKeyPair;
  readonly clock: Clock;
  readonly lookup: LiveObjectLookup;
  readonly issuer?: string;
  /** The audiences this API server accepts (and gives tokens by default). */
  readonly audiences?: readonly string[];
}

function rfc3339(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function stringClaim(object: unknown, field: string): string | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const value = (object as Record<string, unknown>)[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function identityClaim(object: unknown): ObjectIdentity | undefined {
  const name = stringClaim(object, 'name');
  const uid = stringClaim(object, 'uid');
  return name === undefined || uid === undefined ? undefined : { name, uid };
}

/** The audiences of the `aud` claim (a string or an array of strings). */
function audiencesOf(claims: JwtClaims): string[] | undefined {
  const aud = claims['aud'];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((entry): entry is string => typeof entry === 'string')) return aud;
  return undefined;
}

const rejected = (reason: string): TokenAuthentication => ({ kind: 'rejected', reason });

/** What a token with a good signature and claims says about its owner, before the lookups. */
interface ClaimedIdentity {
  readonly namespace: string;
  readonly serviceAccount: ObjectIdentity;
  readonly bound: readonly ({ readonly kind: BoundObjectKind } & ObjectIdentity)[];
  readonly audiences: readonly string[];
  readonly tokenId?: string;
}

export class ServiceAccountTokens {
  readonly issuer: string;
  readonly audiences: readonly string[];
  private readonly signer: JwtSigner;
  private readonly verifier: JwtVerifier;

  constructor(private readonly options: ServiceAccountTokensOptions) {
    this.issuer = options.issuer ?? DEFAULT_TOKEN_ISSUER;
    this.audiences = options.audiences ?? DEFAULT_API_AUDIENCES;
    this.signer = new JwtSigner(options.keys);
    this.verifier = new JwtVerifier([options.keys.publicKey]);
  }

  /** Could this bearer token be one of ours (worth a signature check)? */
  static mayBeServiceAccountToken(token: string): boolean {
    return looksLikeJwt(token);
  }

  issue(grant: TokenGrant): IssuedToken {
    const now = Math.floor(this.options.clock.now() / 1000);
    const exp = now + grant.expirationSeconds;
    const bound = grant.boundObject;
    const kubernetes: Record<string, unknown> = {
      namespace: grant.namespace,
      serviceaccount: { name: grant.serviceAccount.name, uid: grant.serviceAccount.uid },
      ...(bound === undefined ? {} : { [bound.kind === 'Pod' ? 'pod' : 'secret']: { name: bound.name, uid: bound.uid } }),
    };
    const token = this.signer.sign({
      aud: [...grant.audiences],
      exp,
      iat: now,
      iss: this.issuer,
      // A credential id (Kubernetes' jti): unguessable, so from the system's CSPRNG, not the seeded Random.
      jti: randomUUID(),
      'kubernetes.io': kubernetes,
      nbf: now,
      sub: `${SERVICE_ACCOUNT_USER_PREFIX}${grant.namespace}:${grant.serviceAccount.name}`,
    });
    return { token, expirationTimestamp: rfc3339(exp) };
  }

  /**
   * Authenticates a bearer token for `wanted` audiences (default: this server's). The answer's
   * audiences are those of the token that were wanted. A lookup that fails (the store is down)
   * throws: that is the server's trouble (500), not a bad credential.
   */
  async authenticate(token: string, wanted: readonly string[] = this.audiences): Promise<TokenAuthentication> {
    let claimed: ClaimedIdentity | TokenAuthentication;
    try {
      claimed = this.readClaims(token, wanted);
    } catch {
      claimed = rejected('invalid service account token');
    }
    if ('kind' in claimed) return claimed;
    const { namespace, serviceAccount, bound } = claimed;
    if ((await this.options.lookup('ServiceAccount', namespace, serviceAccount.name)) !== serviceAccount.uid) {
      return rejected(`service account ${namespace}/${serviceAccount.name} no longer exists`);
    }
    for (const object of bound) {
      if ((await this.options.lookup(object.kind, namespace, object.name)) !== object.uid) {
        return rejected(`the ${object.kind.toLowerCase()} ${namespace}/${object.name} the token is bound to no longer exists`);
      }
    }
    const pod = bound.find((object) => object.kind === 'Pod');
    const extra: Record<string, string[]> = {
      ...(pod === undefined ? {} : { [EXTRA_POD_NAME]: [pod.name], [EXTRA_POD_UID]: [pod.uid] }),
      ...(claimed.tokenId === undefined ? {} : { [EXTRA_CREDENTIAL_ID]: [`JTI=${claimed.tokenId}`] }),
    };
    const user = withAuthenticatedGroup({
      name: `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${serviceAccount.name}`,
      uid: serviceAccount.uid,
      groups: [SERVICE_ACCOUNTS_GROUP, `${SERVICE_ACCOUNTS_GROUP}:${namespace}`],
      ...(Object.keys(extra).length === 0 ? {} : { extra }),
    });
    return { kind: 'authenticated', user, audiences: claimed.audiences };
  }

  /** Everything that needs no lookup: signature, issuer, times, audiences, the claimed identity. */
  private readClaims(token: string, wanted: readonly string[]): ClaimedIdentity | TokenAuthentication {
    const verified = this.verifier.verify(token);
    if ('problem' in verified) return rejected(verified.problem);
    const { claims } = verified;
    if (claims['iss'] !== this.issuer) return rejected('the token was issued by another issuer');
    const nowSeconds = this.options.clock.now() / 1000;
    const exp = claims['exp'];
    const nbf = claims['nbf'];
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return rejected('the token has no expiry');
    if (nowSeconds >= exp) return rejected('the token has expired');
    if (nbf !== undefined && (typeof nbf !== 'number' || nowSeconds < nbf)) return rejected('the token is not valid yet');
    const tokenAudiences = audiencesOf(claims);
    if (tokenAudiences === undefined) return rejected('the token has no audience');
    const audiences = tokenAudiences.filter((audience) => wanted.includes(audience));
    if (audiences.length === 0) return rejected('the token audiences are not accepted');

    const kubernetes = claims['kubernetes.io'];
    if (typeof kubernetes !== 'object' || kubernetes === null || Array.isArray(kubernetes)) return rejected('the token names no service account');
    const scope = kubernetes as Record<string, unknown>;
    const namespace = stringClaim(scope, 'namespace');
    const serviceAccount = identityClaim(scope['serviceaccount']);
    if (namespace === undefined || serviceAccount === undefined) return rejected('the token names no service account');
    if (claims['sub'] !== `${SERVICE_ACCOUNT_USER_PREFIX}${namespace}:${serviceAccount.name}`) return rejected('the token subject does not match its service account');
    const bound: Array<{ readonly kind: BoundObjectKind } & ObjectIdentity> = [];
    for (const [kind, field] of [['Pod', 'pod'], ['Secret', 'secret']] as const) {
      if (scope[field] === undefined) continue;
      const identity = identityClaim(scope[field]);
      if (identity === undefined) return rejected('the token binding is malformed');
      bound.push({ kind, ...identity });
    }
    const jti = claims['jti'];
    return { namespace, serviceAccount, bound, audiences, ...(typeof jti === 'string' && jti !== '' ? { tokenId: jti } : {}) };
  }
}
