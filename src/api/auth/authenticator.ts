// Who is asking: a verified client certificate (CN = user, O = groups), else a bearer token from the
// static token file, else nobody (anonymous). Wrong credentials are rejected (401), never downgraded
// to anonymous. As in Kubernetes, every authenticated user also gets the group system:authenticated.
// Tokens are looked up by their SHA-256 digest in a map of the known tokens' digests: one hash and one
// map lookup per request (it was a constant-time comparison against every known token). The lookup's
// timing can only tell how much of a *digest* matches, and an attacker cannot choose a digest's bytes,
// so it says nothing about how much of a token has been guessed (Kubernetes' token file authenticator
// looks the raw token up in a map).

import { hash } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import type { AuthenticationResult, Authenticator, Credentials, UserInfo } from '../auth-types.js';
import type { StaticToken } from './token-file.js';

export const AUTHENTICATED_GROUP = 'system:authenticated';
/** The extended key usage a client certificate must allow when it lists any (RFC 5280 id-kp-clientAuth). */
const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2';

export interface AuthenticatorOptions {
  /** The static bearer tokens (token-file.ts). */
  readonly tokens: readonly StaticToken[];
  /** Accept client certificates (default true; the TLS layer has checked them against the cluster CA). */
  readonly clientCertificates?: boolean;
}

/** The map key of a token: its SHA-256 digest, base64. */
function digestOf(token: string): string {
  return hash('sha256', token, 'base64');
}

/** Adds system:authenticated (once), as Kubernetes' AuthenticatedGroupAdder does. */
export function withAuthenticatedGroup(user: UserInfo): UserInfo {
  const groups = [...new Set(user.groups)];
  if (!groups.includes(AUTHENTICATED_GROUP)) groups.push(AUTHENTICATED_GROUP);
  return { ...user, groups };
}

function fieldValues(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function userFromCertificate(certificate: PeerCertificate): AuthenticationResult {
  const names = fieldValues(certificate.subject?.CN as string | string[] | undefined);
  const name = names[0];
  if (name === undefined || name === '' || names.length > 1) return { kind: 'rejected', reason: 'the client certificate must have exactly one non-empty common name' };
  const usages = certificate.ext_key_usage;
  if (usages !== undefined && usages.length > 0 && !usages.includes(CLIENT_AUTH_OID)) {
    return { kind: 'rejected', reason: 'the client certificate is not valid for client authentication' };
  }
  const groups = fieldValues(certificate.subject?.O as string | string[] | undefined).filter((group) => group !== '');
  return { kind: 'authenticated', user: withAuthenticatedGroup({ name, groups }) };
}

/** The token in `Authorization: Bearer <token>`, or a reason the header is unusable. */
function bearerToken(header: string): { readonly token: string } | { readonly problem: string } {
  const space = header.indexOf(' ');
  if (space === -1 || header.slice(0, space).toLowerCase() !== 'bearer') return { problem: 'unsupported authorization scheme (only Bearer tokens)' };
  const token = header.slice(space + 1).trim();
  if (token === '' || /\s/.test(token)) return { problem: 'invalid bearer token' };
  return { token };
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const usersByDigest = new Map<string, UserInfo>();
  // The first line of a token wins, as before.
  for (const entry of options.tokens) {
    const digest = digestOf(entry.token);
    if (!usersByDigest.has(digest)) usersByDigest.set(digest, withAuthenticatedGroup(entry.user));
  }
  const acceptCertificates = options.clientCertificates ?? true;

  function userForToken(token: string): UserInfo | undefined {
    return usersByDigest.get(digestOf(token));
  }

  return {
    authenticate(credentials: Credentials): AuthenticationResult {
      if (credentials.clientCertificate !== undefined && acceptCertificates) return userFromCertificate(credentials.clientCertificate);
      const header = credentials.headers.authorization;
      if (header === undefined) return { kind: 'anonymous' };
      const parsed = bearerToken(header);
      if ('problem' in parsed) return { kind: 'rejected', reason: parsed.problem };
      const user = userForToken(parsed.token);
      return user === undefined ? { kind: 'rejected', reason: 'invalid bearer token' } : { kind: 'authenticated', user };
    },
  };
}
