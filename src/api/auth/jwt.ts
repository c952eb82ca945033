// Compact JSON Web Tokens signed with ES256 (ECDSA P-256, SHA-256; RFC 7515/7518) on node:crypto:
// the service-account key pair (PEM, as `kplane up` keeps it in pki/sa.key and pki/sa.pub), signing a
// claims object, and checking a token's form and signature. What the claims mean (expiry, audience,
// the service account) is service-account-tokens.ts's business. Every malformed input is a `problem`,
// never an exception.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

export const JWT_ALGORITHM = 'ES256';
/** Longest token looked at (bounded work on garbage; real service-account tokens are ~1 KiB). */
export const MAX_TOKEN_CHARS = 16 * 1024;

export interface SigningKeyPair {
  /** PEM (PKCS#8) private key. */
  readonly privateKey: string;
  /** PEM (SPKI) public key. */
  readonly publicKey: string;
}

export type JwtClaims = { readonly [claim: string]: unknown };

export type JwtVerification = { readonly claims: JwtClaims } | { readonly problem: string };

/** A fresh P-256 key pair. */
export function generateSigningKeyPair(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Whether a key pair's PEM parses as a P-256 pair whose halves belong together. */
export function isUsableKeyPair(pair: SigningKeyPair): boolean {
  try {
    const privateKey = createPrivateKey(pair.privateKey);
    const publicKey = createPublicKey(pair.publicKey);
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false;
    const probe = Buffer.from('kplane');
    return verify('sha256', probe, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sign('sha256', probe, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
  } catch {
    return false;
  }
}

/** The key id: a digest of the public key (as kube-apiserver derives its `kid`). */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
}

function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

export class JwtSigner {
  private readonly privateKey: KeyObject;
  private readonly keyId: string;

  constructor(pair: SigningKeyPair) {
    this.privateKey = createPrivateKey(pair.privateKey);
    this.keyId = keyIdOf(createPublicKey(pair.publicKey));
  }

  sign(claims: JwtClaims): string {
    const signingInput = `${encodeSegment({ alg: JWT_ALGORITHM, kid: this.keyId })}.${encodeSegment(claims)}`;
    const signature = sign('sha256', Buffer.from(signingInput), { key: this.privateKey, dsaEncoding: 'ieee-p1363' });
    return `${signingInput}.${signature.toString('base64url')}`;
  }
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

/** Does the text have a JWT's shape (three base64url segments)? Cheap; says nothing of validity. */
export function looksLikeJwt(token: string): boolean {
  const parts = token.split('.');
  return token.length <= MAX_TOKEN_CHARS && parts.length === 3 && parts.every((part) => SEGMENT.test(part));
}

function decodeJsonSegment(segment: string): JwtClaims | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JwtClaims) : undefined;
  } catch {
    return undefined;
  }
}

export class JwtVerifier {
  private readonly publicKeys: readonly KeyObject[];

  constructor(publicKeys: readonly string[]) {
    this.publicKeys = publicKeys.map((pem) => createPublicKey(pem));
  }

  /** The claims of a token whose signature one of the public keys verifies. */
  verify(token: string): JwtVerification {
    if (!looksLikeJwt(token)) return { problem: 'not a JSON web token' };
    const segments = token.split('.');
    // Canonical base64url only: otherwise the unused low bits of a last character would give one
    // token several spellings that all verify.
    if (!segments.every((segment) => Buffer.from(segment, 'base64url').toString('base64url') === segment)) return { problem: 'the token is not canonical base64url' };
    const [headerSegment = '', claimsSegment = '', signatureSegment = ''] = segments;
    const header = decodeJsonSegment(headerSegment);
    if (header === undefined) return { problem: 'the token header is not a JSON object' };
    if (header['alg'] !== JWT_ALGORITHM) return { problem: `the token is not signed with ${JWT_ALGORITHM}` };
    const signature = Buffer.from(signatureSegment, 'base64url');
    // P-256 signatures in IEEE P1363 form are exactly 64 bytes.
    if (signature.length !== 64) return { problem: 'the token signature is malformed' };
    const signingInput = Buffer.from(`${headerSegment}.${claimsSegment}`);
    const verified = this.publicKeys.some((key) => {
      try {
        return verify('sha256', signingInput, { key, dsaEncoding: 'ieee-p1363' }, signature);
      } catch {
        return false;
      }
    });
    if (!verified) return { problem: 'the token signature does not verify' };
    const claims = decodeJsonSegment(claimsSegment);
    return claims === undefined ? { problem: 'the token claims are not a JSON object' } : { claims };
  }
}
