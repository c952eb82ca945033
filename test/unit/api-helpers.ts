// Test helpers for the API server tests: a token-map Authenticator, an allow-all / deny-list
// Authorizer, a self-signed TLS certificate (node:crypto keys + node-forge), and a pipeline backed
// by LocalStore; an HTTPS server with a client-node KubeConfig for it.

import { generateKeyPairSync } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import forge from 'node-forge';
import type { Authenticator, Authorizer, RequestAttributes, UserInfo } from '../../src/api/auth-types.js';
import type { ApiRequest, ApiResponse } from '../../src/api/handlers/types.js';
import { createApiHandler, type ApiHandler } from '../../src/api/pipeline.js';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';

export const ADMIN: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

export function tokenAuthenticator(tokens: Record<string, UserInfo>): Authenticator {
  return {
    authenticate({ headers, clientCertificate }) {
      if (clientCertificate !== undefined) {
        const organizations = clientCertificate.subject.O as string | string[] | undefined;
        const groups = organizations === undefined ? [] : Array.isArray(organizations) ? organizations : [organizations];
        return { kind: 'authenticated', user: { name: String(clientCertificate.subject.CN), groups } };
      }
      const header = headers.authorization;
      if (header === undefined) return { kind: 'anonymous' };
      const match = /^Bearer (\S+)$/.exec(header);
      const user = match === null ? undefined : tokens[match[1] ?? ''];
      return user === undefined ? { kind: 'rejected', reason: 'invalid bearer token' } : { kind: 'authenticated', user };
    },
  };
}

/** Allows everything except what `deny` says no to. */
export function ruleAuthorizer(deny: (attributes: RequestAttributes) => boolean = () => false): Authorizer {
  return {
    authorize(attributes) {
      return deny(attributes) ? { allowed: false, reason: '' } : { allowed: true, reason: '' };
    },
  };
}

export interface TestPki {
  readonly key: string;
  readonly cert: string;
}

/** A client certificate (CN = user, O = groups) signed by `issuer` (the test CA, or another one). */
export function clientCertificate(issuer: TestPki, user: string, groups: readonly string[]): TestPki {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = String(10 + Math.floor(Math.random() * 1000));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  cert.setSubject([{ name: 'commonName', value: user }, ...groups.map((group) => ({ name: 'organizationName', value: group }))]);
  cert.setIssuer(forge.pki.certificateFromPem(issuer.cert).subject.attributes);
  cert.setExtensions([{ name: 'extKeyUsage', clientAuth: true }]);
  cert.sign(forge.pki.privateKeyFromPem(issuer.key), forge.md.sha256.create());
  return { key: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(), cert: forge.pki.certificateToPem(cert) };
}

/** A second, unrelated self-signed CA (its client certificates must not be trusted). */
export function otherPki(): TestPki {
  const saved = cachedPki;
  cachedPki = undefined;
  const other = testPki();
  cachedPki = saved;
  return other;
}

let cachedPki: TestPki | undefined;

/** A self-signed serving certificate for 127.0.0.1 / localhost (made once per process). */
export function testPki(): TestPki {
  if (cachedPki !== undefined) return cachedPki;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 24 * 3600_000);
  const attrs = [{ name: 'commonName', value: 'kplane-test' }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  cachedPki = { key: keyPem, cert: forge.pki.certificateToPem(cert) };
  return cachedPki;
}

export interface TestApi {
  readonly handler: ApiHandler;
  readonly store: LocalStore;
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>, user?: UserInfo): Promise<ApiResponse & { body?: unknown }>;
}

export async function testApi(authorizer: Authorizer = ruleAuthorizer(), watchCache = true): Promise<TestApi> {
  const store = new LocalStore(systemClock);
  const handler = createApiHandler({ store, authorizer, bookmarkIntervalMs: 50, watchCache });
  await handler.ensureSystemNamespaces();
  return {
    handler,
    store,
    call(method, path, body, headers = {}, user = ADMIN) {
      const [pathname, search] = path.split('?');
      const encoded = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const request: ApiRequest = {
        method,
        path: pathname ?? '/',
        query: new URLSearchParams(search ?? ''),
        headers: { 'content-type': 'application/json', ...headers },
        user,
        ...(encoded === undefined ? {} : { body: new TextEncoder().encode(encoded) }),
      };
      return handler.handle(request) as Promise<ApiResponse & { body?: unknown }>;
    },
  };
}

/** A KubeConfig for @kubernetes/client-node: `token` against the HTTPS server at `url`, trusting `caPem`. */
export function kubeConfigFor(url: string, token: string, caPem: string = testPki().cert): k8s.KubeConfig {
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: url, caData: Buffer.from(caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
    currentContext: 'ctx',
  });
  return kubeConfig;
}

/** The HTTPS API server over an in-process store with one admin token, and a client-node KubeConfig for it. */
export async function startAdminApiServer(): Promise<{ readonly server: ApiServer; readonly kubeConfig: k8s.KubeConfig }> {
  const pki = testPki();
  const token = 'test-admin-token';
  const server = await startApiServer({
    store: new LocalStore(systemClock),
    tls: { key: pki.key, cert: pki.cert },
    host: '127.0.0.1',
    port: 0,
    authenticator: tokenAuthenticator({ [token]: ADMIN }),
    authorizer: ruleAuthorizer(),
  });
  return { server, kubeConfig: kubeConfigFor(server.url, token, pki.cert) };
}
