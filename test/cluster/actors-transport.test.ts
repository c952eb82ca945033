// WsTransport between real OS processes over loopback: echo through a peer process, reconnection
// after the peer is SIGKILLed and restarted on the same port (new incarnation), and a peer process
// that survives a wrong secret and garbage frames and keeps serving good peers.
import test from 'ava';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { systemClock } from '../../src/actors/clock.js';
import type { NodeAddress, NodeId } from '../../src/actors/transport.js';
import { parseNodeId, WsTransport } from '../../src/actors/ws-transport.js';
import { spawnPeer, type PeerProcess } from '../fixtures/peer-process.js';

const SECRET = 'cluster-test-secret-0123456789';

interface Local {
  readonly transport: WsTransport;
  readonly frames: string[];
  readonly ups: NodeAddress[];
  readonly downs: NodeId[];
}

function localTransport(secret = SECRET): Local {
  const transport = new WsTransport({
    node: 'tester',
    incarnation: `tester-${Date.now()}`,
    secret,
    log: pino({ level: 'silent' }),
    clock: systemClock,
    reconnectBackoffMinMs: 20,
    reconnectBackoffMaxMs: 200,
  });
  const local: Local = { transport, frames: [], ups: [], downs: [] };
  transport.bind({
    onFrame: (_from, frame) => local.frames.push(Buffer.from(frame).toString('utf8')),
    onPeerUp: (peer) => local.ups.push(peer),
    onPeerDown: (peer) => local.downs.push(peer),
  });
  return local;
}

async function waitFor(condition: () => boolean, timeoutMs = 8_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return condition();
}

function portOf(node: NodeId): number {
  return parseNodeId(node)?.endpoint?.port ?? 0;
}

const alive = (peer: PeerProcess): boolean => peer.child.exitCode === null && peer.child.signalCode === null;

test('frames go to a peer process and come back; after SIGKILL and a restart on the same port the transport reconnects', async (t) => {
  const first = await spawnPeer('transport', { KPLANE_PEER_SECRET: SECRET });
  t.teardown(() => first.kill());
  const local = localTransport();
  t.teardown(() => local.transport.close());

  local.transport.send(first.node, Buffer.from('one'));
  t.true(await waitFor(() => local.frames.includes('echo:one')), first.stderr.join(''));
  t.deepEqual(local.ups, [{ node: first.node, incarnation: first.incarnation }]);

  await first.kill();
  t.true(await waitFor(() => local.downs.includes(first.node)), 'peer down after SIGKILL');

  const second = await spawnPeer('transport', { KPLANE_PEER_SECRET: SECRET, KPLANE_PEER_PORT: String(portOf(first.node)) });
  t.teardown(() => second.kill());
  t.is(second.node, first.node);
  t.not(second.incarnation, first.incarnation);
  const back = await waitFor(() => {
    if (!local.frames.includes('echo:two')) local.transport.send(second.node, Buffer.from('two'));
    return local.frames.includes('echo:two');
  });
  t.true(back, second.stderr.join(''));
  t.deepEqual(local.ups.at(-1), { node: second.node, incarnation: second.incarnation });
});

test('a peer process refuses a wrong secret and garbage, keeps running and still serves a good peer', async (t) => {
  const peer = await spawnPeer('transport', { KPLANE_PEER_SECRET: SECRET });
  t.teardown(() => peer.kill());

  const intruder = localTransport('not-the-cluster-secret-at-all');
  t.teardown(() => intruder.transport.close());
  intruder.transport.send(peer.node, Buffer.from('intrusion'));
  t.true(await waitFor(() => intruder.downs.length > 0));
  t.deepEqual(intruder.ups, []);
  t.deepEqual(intruder.frames, []);

  const codes: number[] = [];
  const endpoint = parseNodeId(peer.node)?.endpoint;
  for (const garbage of [Buffer.from([0xff, 0x00, 0x13]), Buffer.from('{"type":"kplane.hello"'), Buffer.alloc(200_000, 1)]) {
    const socket = new WebSocket(`ws://127.0.0.1:${endpoint?.port ?? 0}/`, { perMessageDeflate: false });
    socket.on('error', () => undefined);
    const code = await new Promise<number>((resolve) => {
      socket.once('open', () => socket.send(garbage));
      socket.once('close', (closeCode) => resolve(closeCode));
    });
    codes.push(code);
  }
  t.deepEqual(codes, [1008, 1008, 1008]);
  t.true(alive(peer), 'the peer process is still running');

  const good = localTransport();
  t.teardown(() => good.transport.close());
  good.transport.send(peer.node, Buffer.from('hello'));
  t.true(await waitFor(() => good.frames.includes('echo:hello')), peer.stderr.join(''));
  t.regex(peer.stderr.join(''), /connection rejected/);
});
