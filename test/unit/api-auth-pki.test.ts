// The cluster PKI: certificates verify against the CA, the serving certificate names the loopback
// hosts, identities are CN/O, keys are 0600, a second start reuses everything, a new extra host
// reissues only the serving certificate, and the admin kubeconfig loads in client-node.
import test from 'ava';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { certificateHosts, ensureClusterPki, verifiedBy, writeAdminKubeconfig, PkiError } from '../../src/cluster/pki.js';

const clusterDir = (): string => mkdtempSync(join(tmpdir(), 'kplane-pki-'));

test('first start: CA, serving and client certificates that verify, with the right names and usages', (t) => {
  const dir = clusterDir();
  const pki = ensureClusterPki(dir);
  const ca = new X509Certificate(pki.caCert);
  t.true(ca.ca);
  const serving = new X509Certificate(pki.apiServer.cert);
  t.true(serving.verify(ca.publicKey));
  t.true(serving.checkIssued(ca));
  t.is(serving.subjectAltName, 'IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:localhost');
  t.true(serving.checkIP('127.0.0.1') !== undefined && serving.checkHost('localhost') !== undefined);
  t.deepEqual(serving.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  t.false(serving.ca);
  const identities: Array<[string, string]> = [
    [pki.admin.cert, 'O=system:masters\nCN=admin'],
    [pki.controllerManager.cert, 'CN=system:kube-controller-manager'],
    [pki.scheduler.cert, 'CN=system:kube-scheduler'],
    [pki.nodeCertificate('n1').cert, 'O=system:nodes\nCN=system:node:n1'],
    [pki.issueClientCertificate('jane', ['dev', 'ops']).cert, 'O=dev\nO=ops\nCN=jane'],
  ];
  for (const [pem, subject] of identities) {
    const cert = new X509Certificate(pem);
    t.is(cert.subject, subject);
    t.true(cert.verify(ca.publicKey), subject);
    t.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], subject);
    t.true(verifiedBy(pki.caCert, pem));
  }
  // The key on disk is the certificate's key.
  t.true(new X509Certificate(pki.admin.cert).checkPrivateKey(createPrivateKey(pki.admin.key)));
  for (const file of ['ca.key', 'apiserver.key', 'admin.key', 'kube-scheduler.key', 'kube-controller-manager.key', 'nodes/n1.key']) {
    t.is(statSync(join(dir, 'pki', file)).mode & 0o777, 0o600, file);
  }
  rmSync(dir, { recursive: true });
});

test('a second start reuses every file; a new extra host reissues only the serving certificate', (t) => {
  const dir = clusterDir();
  const first = ensureClusterPki(dir);
  const node = first.nodeCertificate('n1');
  const second = ensureClusterPki(dir);
  t.is(second.caCert, first.caCert);
  t.is(second.apiServer.cert, first.apiServer.cert);
  t.is(second.admin.key, first.admin.key);
  t.is(second.nodeCertificate('n1').cert, node.cert);
  const third = ensureClusterPki(dir, { extraHosts: ['kplane.example', '10.1.2.3'] });
  t.is(third.caCert, first.caCert);
  t.is(third.admin.cert, first.admin.cert);
  t.not(third.apiServer.cert, first.apiServer.cert);
  t.deepEqual(certificateHosts(third.apiServer.cert).slice(2), ['localhost', 'kplane.example', '10.1.2.3']);
  t.is(ensureClusterPki(dir, { extraHosts: ['10.1.2.3'] }).apiServer.cert, third.apiServer.cert, 'a subset of the hosts keeps the certificate');
  rmSync(dir, { recursive: true });
});

test('a certificate not signed by the current CA is reissued; bad node names are refused', (t) => {
  const dir = clusterDir();
  const first = ensureClusterPki(dir);
  rmSync(join(dir, 'pki', 'ca.crt'));
  const second = ensureClusterPki(dir);
  t.not(second.caCert, first.caCert);
  t.true(verifiedBy(second.caCert, second.admin.cert));
  t.false(verifiedBy(second.caCert, first.admin.cert));
  t.throws(() => second.nodeCertificate('../etc'), { instanceOf: PkiError });
  t.throws(() => second.nodeCertificate('N1'), { instanceOf: PkiError });
  t.throws(() => ensureClusterPki(dir, { extraHosts: ['bad host'] }), { instanceOf: PkiError });
  rmSync(dir, { recursive: true });
});

test('the admin kubeconfig embeds the CA and client credentials, 0600, and client-node loads it', (t) => {
  const dir = clusterDir();
  const pki = ensureClusterPki(dir);
  const path = join(dir, 'kubeconfig');
  writeAdminKubeconfig(path, { server: 'https://127.0.0.1:6443', ca: pki.caCert, cert: pki.admin.cert, key: pki.admin.key });
  t.is(statSync(path).mode & 0o777, 0o600);
  const document = parseYaml(readFileSync(path, 'utf8')) as { clusters: Array<{ cluster: Record<string, string> }> };
  t.is(Buffer.from(document.clusters[0]?.cluster['certificate-authority-data'] ?? '', 'base64').toString(), pki.caCert);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  t.is(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  t.is(Buffer.from(kc.getCurrentUser()?.certData ?? '', 'base64').toString(), pki.admin.cert);
  t.is(Buffer.from(kc.getCurrentUser()?.keyData ?? '', 'base64').toString(), pki.admin.key);
  rmSync(dir, { recursive: true });
});

test('the service account key pair: made once in pki/ (sa.key 0600, sa.pub), reused, and remade when broken', (t) => {
  const dir = clusterDir();
  try {
    const first = ensureClusterPki(dir);
    const keyPath = join(dir, 'pki', 'sa.key');
    t.is(statSync(keyPath).mode & 0o777, 0o600);
    t.is(readFileSync(join(dir, 'pki', 'sa.pub'), 'utf8'), first.serviceAccountKeys.publicKey);
    t.is(createPrivateKey(first.serviceAccountKeys.privateKey).asymmetricKeyType, 'ec');
    // Every API server of the cluster loads the same pair.
    t.deepEqual(ensureClusterPki(dir).serviceAccountKeys, first.serviceAccountKeys);
    writeFileSync(keyPath, 'garbage');
    const remade = ensureClusterPki(dir).serviceAccountKeys;
    t.not(remade.privateKey, first.serviceAccountKeys.privateKey);
    t.is(readFileSync(keyPath, 'utf8'), remade.privateKey);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
