// WsTransport's TLS mode: peers with a certificate of the cluster CA talk without a shared secret;
// a certificate from another CA, or a plain ws client, never gets a frame through.
// Certificates are made with the openssl CLI; without it the tests are skipped (and say so).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { systemClock } from '../../src/actors/clock.js';
import type { NodeAddress } from '../../src/actors/transport.js';
import { WsTransport } from '../../src/actors/ws-transport.js';

interface Pem {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

function opensslAvailable(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A CA and one certificate it issued, as PEM strings. */
function makeAuthority(dir: string, label: string): Pem {
  const file = (name: string): string => join(dir, `${label}-${name}`);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  execFileSync('openssl', ['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.crt'), '-subj', `/CN=${label}-ca`, '-days', '2'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', ...ec, '-keyout', file('node.key'), '-out', file('node.csr'), '-subj', `/CN=${label}-node`], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', file('node.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('node.crt'), '-days', '2'], { stdio: 'ignore' });
  return { ca: readFileSync(file('ca.crt'), 'utf8'), cert: readFileSync(file('node.crt'), 'utf8'), key: readFileSync(file('node.key'), 'utf8') };
}

const hasOpenssl = opensslAvailable();
if (!hasOpenssl) console.warn('ws-transport-tls: skipped, the openssl CLI is not installed (needed to make test certificates)');
const tlsTest = hasOpenssl ? test : test.skip;

interface Probe {
  readonly transport: WsTransport;
  readonly frames: string[];
  readonly ups: NodeAddress[];
  readonly downs: string[];
}

async function probe(name: string, tls: Pem, listen: boolean): Promise<Probe> {
  const transport = new WsTransport({
    node: name,
    incarnation: `${name}-1`,
    tls,
    ...(listen ? { listen: { host: '127.0.0.1', port: 0 } } : {}),
    log: pino({ level: 'silent' }),
    clock: systemClock,
    reconnectBackoffMinMs: 20,
    reconnectBackoffMaxMs: 200,
  });
  const result: Probe = { transport, frames: [], ups: [], downs: [] };
  transport.bind({
    onFrame: (_from, frame) => result.frames.push(Buffer.from(frame).toString('utf8')),
    onPeerUp: (peer) => result.ups.push(peer),
    onPeerDown: (peer) => result.downs.push(peer),
  });
  await transport.start();
  return result;
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return condition();
}

tlsTest('TLS peers of the cluster CA talk; another CA and plain ws are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cluster = makeAuthority(dir, 'cluster');
  const rogue = makeAuthority(dir, 'rogue');

  const server = await probe('server', cluster, true);
  const client = await probe('client', cluster, false);
  t.teardown(() => Promise.all([server.transport.close(), client.transport.close()]));
  client.transport.send(server.transport.local.node, Buffer.from('over tls'));
  t.true(await waitFor(() => server.frames.length === 1));
  server.transport.send('client', Buffer.from('back'));
  t.true(await waitFor(() => client.frames.length === 1));
  t.deepEqual([server.frames, client.frames], [['over tls'], ['back']]);

  // A certificate of another CA (the intruder also trusts the cluster CA, so only its own cert is wrong).
  const intruder = await probe('intruder', { ...rogue, ca: cluster.ca }, false);
  t.teardown(() => intruder.transport.close());
  intruder.transport.send(server.transport.local.node, Buffer.from('must not arrive'));
  t.true(await waitFor(() => intruder.downs.length > 0));
  t.deepEqual(intruder.ups, []);

  // A plain ws client cannot even upgrade.
  const plain = new WebSocket(`ws://127.0.0.1:${server.transport.port}/`);
  const failed = await new Promise<boolean>((resolve) => {
    plain.once('open', () => resolve(false));
    plain.once('error', () => resolve(true));
    plain.once('close', () => resolve(true));
  });
  t.true(failed);
  t.deepEqual(server.frames, ['over tls']);
  t.deepEqual(server.ups.map((up) => up.node), ['client']);
});
