// A manual smoke server for trying kubectl against the API server (not a test): prints a kubeconfig path.
import { writeFileSync } from 'node:fs';
import { startApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer, testPki, tokenAuthenticator } from './api-helpers.js';

const pki = testPki();
const server = await startApiServer({
  store: new LocalStore(systemClock),
  tls: { key: pki.key, cert: pki.cert },
  host: '127.0.0.1',
  port: Number(process.argv[2] ?? '0'),
  authenticator: tokenAuthenticator({ t0k3n: ADMIN }),
  authorizer: ruleAuthorizer(),
});
const dir = process.argv[3] ?? '/tmp';
writeFileSync(
  `${dir}/kubeconfig`,
  `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${server.url}\n    certificate-authority-data: ${Buffer.from(pki.cert).toString('base64')}\nusers:\n- name: u\n  user:\n    token: t0k3n\ncontexts:\n- name: c\n  context: {cluster: c, user: u}\ncurrent-context: c\n`,
);
process.stdout.write(`${server.url}\n`);
setInterval(() => undefined, 1 << 30);
