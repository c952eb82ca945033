// createAuthenticator: bearer tokens from the token file, verified client certificates (CN = user,
// O = groups), anonymous when there are no credentials, rejection of wrong ones; every authenticated
// user gets system:authenticated.
import test from 'ava';
import type { PeerCertificate } from 'node:tls';
import { createAuthenticator } from '../../src/api/auth/authenticator.js';
import { parseTokenFile } from '../../src/api/auth/token-file.js';

const tokens = parseTokenFile('admintoken,admin,1,system:masters\nbobtoken,bob,2\ncarol-token,carol,3,"dev,system:authenticated"\n');
const authenticator = createAuthenticator({ tokens });

function certificate(subject: Record<string, string | string[]>, extKeyUsage?: string[]): PeerCertificate {
  return { subject, ...(extKeyUsage === undefined ? {} : { ext_key_usage: extKeyUsage }) } as unknown as PeerCertificate;
}

test('a known bearer token authenticates its user, with system:authenticated added once', (t) => {
  t.deepEqual(authenticator.authenticate({ headers: { authorization: 'Bearer admintoken' } }), {
    kind: 'authenticated',
    user: { name: 'admin', uid: '1', groups: ['system:masters', 'system:authenticated'] },
  });
  t.deepEqual(authenticator.authenticate({ headers: { authorization: 'bearer bobtoken' } }), { kind: 'authenticated', user: { name: 'bob', uid: '2', groups: ['system:authenticated'] } });
  t.deepEqual(authenticator.authenticate({ headers: { authorization: 'Bearer carol-token' } }), {
    kind: 'authenticated',
    user: { name: 'carol', uid: '3', groups: ['dev', 'system:authenticated'] },
  });
});

test('wrong or malformed tokens are rejected, not treated as anonymous', (t) => {
  for (const header of ['Bearer nope', 'Bearer admintoke', 'Bearer admintokenx', 'Bearer ', 'Bearer', 'Basic YWRtaW46YWRtaW4=', 'admintoken', 'Bearer admin token']) {
    const result = authenticator.authenticate({ headers: { authorization: header } });
    t.is(result.kind, 'rejected', header);
  }
  t.deepEqual(createAuthenticator({ tokens: [] }).authenticate({ headers: { authorization: 'Bearer admintoken' } }), { kind: 'rejected', reason: 'invalid bearer token' });
});

test('no credentials at all is anonymous', (t) => {
  t.deepEqual(authenticator.authenticate({ headers: {} }), { kind: 'anonymous' });
});

test('a verified client certificate gives CN as the user and O as the groups', (t) => {
  t.deepEqual(authenticator.authenticate({ headers: {}, clientCertificate: certificate({ CN: 'system:node:n1', O: 'system:nodes' }, ['1.3.6.1.5.5.7.3.2']) }), {
    kind: 'authenticated',
    user: { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] },
  });
  t.deepEqual(authenticator.authenticate({ headers: {}, clientCertificate: certificate({ CN: 'jane', O: ['a', 'b'] }) }), {
    kind: 'authenticated',
    user: { name: 'jane', groups: ['a', 'b', 'system:authenticated'] },
  });
  // The certificate wins over a token (as Kubernetes' x509 authenticator runs first).
  const both = authenticator.authenticate({ headers: { authorization: 'Bearer admintoken' }, clientCertificate: certificate({ CN: 'jane' }) });
  t.deepEqual(both, { kind: 'authenticated', user: { name: 'jane', groups: ['system:authenticated'] } });
});

test('a certificate without a common name, or only for servers, is rejected', (t) => {
  t.is(authenticator.authenticate({ headers: {}, clientCertificate: certificate({ O: 'system:masters' }) }).kind, 'rejected');
  t.is(authenticator.authenticate({ headers: {}, clientCertificate: certificate({ CN: ['a', 'b'] }) }).kind, 'rejected');
  t.is(authenticator.authenticate({ headers: {}, clientCertificate: certificate({ CN: 'web' }, ['1.3.6.1.5.5.7.3.1']) }).kind, 'rejected');
});

test('with client certificates turned off, the token decides', (t) => {
  const tokenOnly = createAuthenticator({ tokens, clientCertificates: false });
  t.deepEqual(tokenOnly.authenticate({ headers: {}, clientCertificate: certificate({ CN: 'jane' }) }), { kind: 'anonymous' });
  t.is(tokenOnly.authenticate({ headers: { authorization: 'Bearer bobtoken' }, clientCertificate: certificate({ CN: 'jane' }) }).kind, 'authenticated');
});
