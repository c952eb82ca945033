// The cluster's PKI: one certificate authority made at first start (in `<cluster dir>/pki/`) and the
// certificates it signs: the API server's serving certificate (SANs 127.0.0.1, ::1, localhost and any
// extra hosts) and client certificates whose subject is the identity Kubernetes reads from them
// (CN = user name, O = groups) for the admin and each component; node agents get theirs on demand,
// one per node name. Keys are RSA 2048 made by node:crypto (Node's TLS and kubectl accept them);
// node-forge builds and signs the X.509 certificates. Later starts reuse what is on disk: a leaf
// certificate is only issued again when it is missing, expired, not signed by the CA, or (for the
// serving certificate) lacks a wanted host. Keys are written 0600, atomically.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import forge from 'node-forge';
import type { Logger } from 'pino';
import { stringify as toYaml } from 'yaml';
import { systemClock, type Clock } from '../actors/clock.js';
import { NODES_GROUP, NODE_USER_PREFIX } from '../api/auth/node-restriction.js';
import { SUPERUSER_GROUP } from '../api/auth/rbac.js';
import { generateSigningKeyPair, isUsableKeyPair, type SigningKeyPair } from '../api/auth/jwt.js';

export const PKI_DIR = 'pki';
/** The hosts every serving certificate names (issue 6: the API server on loopback). */
export const DEFAULT_SERVING_HOSTS: readonly string[] = ['127.0.0.1', '::1', 'localhost'];
export const CA_VALIDITY_DAYS = 3650;
/** Leaf certificates (kubeadm's figure: a year). */
export const LEAF_VALIDITY_DAYS = 365;
/** notBefore is set this far in the past so that a peer with a slightly late clock accepts it. */
export const CLOCK_SKEW_ALLOWANCE_MS = 5 * 60_000;
const RSA_MODULUS_BITS = 2048;
const DAY_MS = 24 * 3600_000;

/** The identities Kubernetes gives its components (CN = user, O = groups). */
export const ADMIN_USER = 'admin';
export const CONTROLLER_MANAGER_USER = 'system:kube-controller-manager';
export const SCHEDULER_USER = 'system:kube-scheduler';

export interface KeyAndCertificate {
  /** PEM (PKCS#1 RSA private key). */
  readonly key: string;
  /** PEM. */
  readonly cert: string;
}

export interface ClusterPki {
  readonly dir: string;
  /** The CA certificate (PEM), for clients (kubeconfig `certificate-authority-data`) and the server's `ca`. */
  readonly caCert: string;
  readonly apiServer: KeyAndCertificate;
  readonly admin: KeyAndCertificate;
  readonly controllerManager: KeyAndCertificate;
  readonly scheduler: KeyAndCertificate;
  /** The key pair service account tokens are signed with (pki/sa.key, pki/sa.pub: ECDSA P-256), the same for every API server. */
  readonly serviceAccountKeys: SigningKeyPair;
  /** A node agent's client certificate (CN system:node:<name>, O system:nodes), issued once and kept in pki/nodes/. */
  nodeCertificate(nodeName: string): KeyAndCertificate;
  /** A fresh client certificate signed by the CA, not written anywhere (tests, short-lived tools). */
  issueClientCertificate(user: string, groups: readonly string[]): KeyAndCertificate;
}

export interface PkiOptions {
  readonly log?: Logger;
  /** Host names or addresses the serving certificate must name besides the defaults. */
  readonly extraHosts?: readonly string[];
  readonly clock?: Clock;
  /** The CA's common name (default "kplane-ca"). */
  readonly caName?: string;
}

export class PkiError extends Error {
  readonly code = 'PKI_INVALID';
  readonly retryable = false;
  constructor(message: string) {
    super(message);
    this.name = 'PkiError';
  }
}

interface Authority {
  readonly key: forge.pki.rsa.PrivateKey;
  readonly cert: forge.pki.Certificate;
  readonly pem: string;
}

interface LeafRequest {
  readonly commonName: string;
  readonly organizations: readonly string[];
  readonly usage: 'server' | 'client';
  readonly hosts?: readonly string[];
}

function writeAtomically(path: string, contents: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, contents, { mode });
  chmodSync(temporary, mode);
  renameSync(temporary, path);
}

function newRsaKey(): { readonly pem: string; readonly publicKey: forge.pki.rsa.PublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: RSA_MODULUS_BITS });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  return { pem, publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()) as forge.pki.rsa.PublicKey };
}

/** A positive 128-bit serial number (hex), random as RFC 5280 advises. */
function serialNumber(): string {
  return `01${randomBytes(15).toString('hex')}`;
}

function subjectOf(commonName: string, organizations: readonly string[]): forge.pki.CertificateField[] {
  return [...organizations.map((value) => ({ name: 'organizationName', value })), { name: 'commonName', value: commonName }];
}

function altNames(hosts: readonly string[]): Array<{ type: number; ip?: string; value?: string }> {
  return hosts.map((host) => (isIP(host) === 0 ? { type: 2, value: host } : { type: 7, ip: host }));
}

function createAuthority(commonName: string, clock: Clock): { readonly keyPem: string; readonly certPem: string } {
  const key = newRsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(clock.now() - CLOCK_SKEW_ALLOWANCE_MS);
  cert.validity.notAfter = new Date(clock.now() + CA_VALIDITY_DAYS * DAY_MS);
  const subject = subjectOf(commonName, []);
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(key.pem), forge.md.sha256.create());
  return { keyPem: key.pem, certPem: forge.pki.certificateToPem(cert) };
}

function issue(authority: Authority, request: LeafRequest, clock: Clock): KeyAndCertificate {
  if (request.commonName === '') throw new PkiError('a certificate needs a non-empty common name');
  const key = newRsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = key.publicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(clock.now() - CLOCK_SKEW_ALLOWANCE_MS);
  const notAfter = Math.min(clock.now() + LEAF_VALIDITY_DAYS * DAY_MS, authority.cert.validity.notAfter.getTime());
  cert.validity.notAfter = new Date(notAfter);
  cert.setSubject(subjectOf(request.commonName, request.organizations));
  cert.setIssuer(authority.cert.subject.attributes);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    request.usage === 'server' ? { name: 'extKeyUsage', serverAuth: true } : { name: 'extKeyUsage', clientAuth: true },
    { name: 'authorityKeyIdentifier', keyIdentifier: authority.cert.generateSubjectKeyIdentifier().getBytes() },
  ];
  if (request.hosts !== undefined && request.hosts.length > 0) extensions.push({ name: 'subjectAltName', altNames: altNames(request.hosts) });
  cert.setExtensions(extensions);
  cert.sign(authority.key, forge.md.sha256.create());
  return { key: key.pem, cert: forge.pki.certificateToPem(cert) };
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

/** The hosts a certificate's subjectAltName names (DNS names and IP addresses, as written). */
export function certificateHosts(certPem: string): string[] {
  const cert = forge.pki.certificateFromPem(certPem);
  const extension = cert.getExtension('subjectAltName') as { altNames?: Array<{ type: number; ip?: string; value?: string }> } | null;
  const hosts: string[] = [];
  for (const name of extension?.altNames ?? []) {
    if (name.type === 7 && name.ip !== undefined) hosts.push(name.ip);
    else if (name.type === 2 && name.value !== undefined) hosts.push(name.value);
  }
  return hosts;
}

/** Normalises an IPv6 address the way node-forge prints it back (for comparing SANs). */
function sameHost(a: string, b: string): boolean {
  if (isIP(a) === 6 && isIP(b) === 6) return expandIpv6(a) === expandIpv6(b);
  return a.toLowerCase() === b.toLowerCase();
}

function expandIpv6(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const headParts = head === '' ? [] : head.split(':');
  const tailParts = address.includes('::') ? (tail === '' ? [] : tail.split(':')) : [];
  const missing = 8 - headParts.length - tailParts.length;
  return [...headParts, ...Array<string>(Math.max(0, missing)).fill('0'), ...tailParts].map((part) => parseInt(part, 16).toString(16)).join(':');
}

/** True when the leaf is signed by the authority, valid now, and names every wanted host. */
function leafIsUsable(authority: Authority, leaf: KeyAndCertificate, now: number, hosts: readonly string[] | undefined): boolean {
  try {
    const cert = forge.pki.certificateFromPem(leaf.cert);
    if (!authority.cert.verify(cert)) return false;
    if (cert.validity.notAfter.getTime() <= now || cert.validity.notBefore.getTime() > now) return false;
    // The key on disk must be the certificate's key.
    const publicKey = cert.publicKey as forge.pki.rsa.PublicKey;
    const privateKey = forge.pki.privateKeyFromPem(leaf.key);
    if (publicKey.n.compareTo(privateKey.n) !== 0) return false;
    if (hosts !== undefined) {
      const present = certificateHosts(leaf.cert);
      if (!hosts.every((host) => present.some((have) => sameHost(have, host)))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes the CA and certificates under `<dir>/pki/` at first start and reuses them afterwards.
 * `dir` is the cluster directory (ClusterDir.root).
 */
export function ensureClusterPki(dir: string, options: PkiOptions = {}): ClusterPki {
  const clock = options.clock ?? systemClock;
  const log = options.log;
  const pkiDir = join(dir, PKI_DIR);
  mkdirSync(pkiDir, { recursive: true, mode: 0o700 });
  const caCertPath = join(pkiDir, 'ca.crt');
  const caKeyPath = join(pkiDir, 'ca.key');

  let caCertPem = readIfExists(caCertPath);
  let caKeyPem = readIfExists(caKeyPath);
  if (caCertPem === undefined || caKeyPem === undefined) {
    const made = createAuthority(options.caName ?? 'kplane-ca', clock);
    caCertPem = made.certPem;
    caKeyPem = made.keyPem;
    writeAtomically(caKeyPath, caKeyPem, 0o600);
    writeAtomically(caCertPath, caCertPem, 0o644);
    log?.info({ path: caCertPath }, 'cluster CA created');
  }
  let authority: Authority;
  try {
    authority = { key: forge.pki.privateKeyFromPem(caKeyPem), cert: forge.pki.certificateFromPem(caCertPem), pem: caCertPem };
  } catch (error) {
    throw new PkiError(`the cluster CA in ${pkiDir} cannot be read (${error instanceof Error ? error.message : String(error)}); remove ca.crt and ca.key to make a new one`);
  }
  if (authority.cert.validity.notAfter.getTime() <= clock.now()) {
    throw new PkiError(`the cluster CA in ${pkiDir} expired on ${authority.cert.validity.notAfter.toISOString()}`);
  }

  const ensureLeaf = (file: string, request: LeafRequest): KeyAndCertificate => {
    const keyPath = join(pkiDir, `${file}.key`);
    const certPath = join(pkiDir, `${file}.crt`);
    const key = readIfExists(keyPath);
    const cert = readIfExists(certPath);
    if (key !== undefined && cert !== undefined && leafIsUsable(authority, { key, cert }, clock.now(), request.hosts)) return { key, cert };
    const made = issue(authority, request, clock);
    writeAtomically(keyPath, made.key, 0o600);
    writeAtomically(certPath, made.cert, 0o644);
    log?.info({ path: certPath, user: request.commonName }, key === undefined ? 'certificate issued' : 'certificate reissued');
    return made;
  };

  const servingHosts = [...DEFAULT_SERVING_HOSTS];
  for (const host of options.extraHosts ?? []) {
    if (host.trim() === '' || /\s/.test(host)) throw new PkiError(`extra host ${JSON.stringify(host)} is not a host name or address`);
    if (!servingHosts.some((have) => sameHost(have, host))) servingHosts.push(host);
  }
  const apiServer = ensureLeaf('apiserver', { commonName: 'kube-apiserver', organizations: [], usage: 'server', hosts: servingHosts });
  const admin = ensureLeaf('admin', { commonName: ADMIN_USER, organizations: [SUPERUSER_GROUP], usage: 'client' });
  const controllerManager = ensureLeaf('kube-controller-manager', { commonName: CONTROLLER_MANAGER_USER, organizations: [], usage: 'client' });
  const scheduler = ensureLeaf('kube-scheduler', { commonName: SCHEDULER_USER, organizations: [], usage: 'client' });

  const serviceAccountKeys = ensureServiceAccountKeys(pkiDir, log);

  return {
    dir: pkiDir,
    caCert: caCertPem,
    serviceAccountKeys,
    apiServer,
    admin,
    controllerManager,
    scheduler,
    nodeCertificate(nodeName) {
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName) || nodeName.length > 253) {
        throw new PkiError(`node name ${JSON.stringify(nodeName)} is not a DNS-1123 subdomain`);
      }
      return ensureLeaf(join('nodes', nodeName), { commonName: `${NODE_USER_PREFIX}${nodeName}`, organizations: [NODES_GROUP], usage: 'client' });
    },
    issueClientCertificate(user, groups) {
      return issue(authority, { commonName: user, organizations: groups, usage: 'client' }, clock);
    },
  };
}

/** pki/sa.key and pki/sa.pub, made when missing or unusable (a half-written or mismatched pair). */
function ensureServiceAccountKeys(pkiDir: string, log: Logger | undefined): SigningKeyPair {
  const keyPath = join(pkiDir, 'sa.key');
  const publicPath = join(pkiDir, 'sa.pub');
  const privateKey = readIfExists(keyPath);
  const publicKey = readIfExists(publicPath);
  if (privateKey !== undefined && publicKey !== undefined && isUsableKeyPair({ privateKey, publicKey })) return { privateKey, publicKey };
  const made = generateSigningKeyPair();
  writeAtomically(keyPath, made.privateKey, 0o600);
  writeAtomically(publicPath, made.publicKey, 0o644);
  log?.info({ path: keyPath }, 'service account key pair created');
  return made;
}

/** True when `certPem` was signed by `caPem` (a check for tests and for `kplane status`). */
export function verifiedBy(caPem: string, certPem: string): boolean {
  try {
    return forge.pki.certificateFromPem(caPem).verify(forge.pki.certificateFromPem(certPem));
  } catch {
    return false;
  }
}

export interface KubeconfigCredentials {
  /** https://host:port */
  readonly server: string;
  /** The CA certificate (PEM). */
  readonly ca: string;
  /** The client certificate and key (PEM). */
  readonly cert: string;
  readonly key: string;
  /** The cluster's name in the file (default "kplane"). */
  readonly clusterName?: string;
  /** The user's name in the file (default "kplane-admin"). */
  readonly userName?: string;
}

/** The kubeconfig document (embedded base64 data, as kubectl and client-node read it). */
export function adminKubeconfig(credentials: KubeconfigCredentials): string {
  const cluster = credentials.clusterName ?? 'kplane';
  const user = credentials.userName ?? 'kplane-admin';
  const context = `${user}@${cluster}`;
  const base64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: credentials.server, 'certificate-authority-data': base64(credentials.ca) } }],
    users: [{ name: user, user: { 'client-certificate-data': base64(credentials.cert), 'client-key-data': base64(credentials.key) } }],
    contexts: [{ name: context, context: { cluster, user } }],
    'current-context': context,
    preferences: {},
  });
}

/** Writes the admin kubeconfig (0600: it holds a private key). */
export function writeAdminKubeconfig(path: string, credentials: KubeconfigCredentials): void {
  writeAtomically(path, adminKubeconfig(credentials), 0o600);
}
