// The HTTPS server's per-user watch limit: past maxWatchesPerUser a user's next watch gets 429 with
// Retry-After, another user still gets one, and a watch that ends gives its place back.
import test from 'ava';
import { request as httpsRequest } from 'node:https';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { startApiServer } from '../../src/api/server.js';
import { systemClock } from '../../src/actors/clock.js';
import { LocalStore } from '../../src/store/local-store.js';
import { ADMIN, ruleAuthorizer, testPki, tokenAuthenticator } from './api-helpers.js';

const ADMIN_TOKEN = 'admin-token';
const BOB_TOKEN = 'bob-token';
const WATCH_PATH = '/api/v1/namespaces/default/configmaps?watch=true';

interface OpenWatch {
  readonly request: ClientRequest;
  readonly response: IncomingMessage;
}

/** Start a watch and resolve once the server has answered with its status line. */
function openWatch(url: string, token: string): Promise<OpenWatch> {
  const target = new URL(WATCH_PATH, url);
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      { hostname: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'GET', ca: testPki().cert, headers: { authorization: `Bearer ${token}` } },
      (response) => resolve({ request, response }),
    );
    request.on('error', reject);
    request.end();
  });
}

function close(watch: OpenWatch): void {
  watch.response.resume();
  watch.request.destroy();
}

test('watches are bounded per user: 429 past the limit, other users unaffected, a closed watch frees its place', async (t) => {
  const limit = 3;
  const pki = testPki();
  const server = await startApiServer({
    store: new LocalStore(systemClock),
    tls: { key: pki.key, cert: pki.cert, ca: pki.cert },
    host: '127.0.0.1',
    port: 0,
    authenticator: tokenAuthenticator({ [ADMIN_TOKEN]: ADMIN, [BOB_TOKEN]: { name: 'bob', groups: ['system:masters', 'system:authenticated'] } }),
    authorizer: ruleAuthorizer(),
    limits: { maxWatchesPerUser: limit },
    bookmarkIntervalMs: 100,
  });
  const open: OpenWatch[] = [];
  t.teardown(async () => {
    for (const watch of open) close(watch);
    await server.close();
  });

  for (let index = 0; index < limit; index++) {
    const watch = await openWatch(server.url, ADMIN_TOKEN);
    open.push(watch);
    t.is(watch.response.statusCode, 200, `watch ${index + 1} of ${limit}`);
  }
  const refused = await openWatch(server.url, ADMIN_TOKEN);
  open.push(refused);
  t.is(refused.response.statusCode, 429);
  t.is(refused.response.headers['retry-after'], '1');

  const bobs = await openWatch(server.url, BOB_TOKEN);
  open.push(bobs);
  t.is(bobs.response.statusCode, 200, 'another user still gets a watch');

  const first = open[0];
  if (first === undefined) throw new Error('no first watch');
  close(first);
  // The server releases the place when it sees the connection close; poll for it (an outcome, not a speed).
  let reopened: OpenWatch | undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    const watch = await openWatch(server.url, ADMIN_TOKEN);
    open.push(watch);
    if (watch.response.statusCode === 200) {
      reopened = watch;
      break;
    }
    close(watch);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  t.is(reopened?.response.statusCode, 200, 'a new watch works once one has been closed');
});
