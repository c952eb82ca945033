// WsTransport over real sockets on 127.0.0.1 (port 0): the handshake, FIFO, one connection per pair,
// reconnection to a new incarnation, and rejection of wrong secrets, garbage and oversized frames.
import test from 'ava';
import fc from 'fast-check';
import { connect } from 'node:net';
import { pino } from 'pino';
import { WebSocketServer } from 'ws';
import { systemClock } from '../../src/actors/clock.js';
import { acceptorProof, challengeMessage, newNonce, parseHello, welcomeMessage } from '../../src/actors/handshake.js';
import type { NodeAddress, NodeId } from '../../src/actors/transport.js';
import { CloseCode, encodeBatch, splitBatch, WsTransport, type WsTransportOptions } from '../../src/actors/ws-transport.js';
import { rawAuthenticated, rawConnect } from '../fixtures/raw-ws-client.js';

const SECRET = 'test-cluster-secret-0123456789';
const silent = pino({ level: 'silent' });
let incarnationCounter = 0;

interface Probe {
  readonly transport: WsTransport;
  readonly frames: Array<{ from: NodeAddress; frame: Buffer }>;
  readonly ups: NodeAddress[];
  readonly downs: Array<{ peer: NodeId; reason: string }>;
}

async function startProbe(
  name: string,
  overrides: Partial<WsTransportOptions> = {},
  listen: { host: string; port: number } | null = { host: '127.0.0.1', port: 0 },
): Promise<Probe> {
  const base: WsTransportOptions = {
    node: name,
    incarnation: `${name}-inc-${++incarnationCounter}`,
    secret: SECRET,
    log: silent,
    clock: systemClock,
    reconnectBackoffMinMs: 20,
    reconnectBackoffMaxMs: 200,
  };
  const transport = new WsTransport({ ...base, ...(listen === null ? {} : { listen }), ...overrides });
  const probe: Probe = { transport, frames: [], ups: [], downs: [] };
  transport.bind({
    onFrame: (from, frame) => probe.frames.push({ from, frame: Buffer.from(frame) }),
    onPeerUp: (peer) => probe.ups.push(peer),
    onPeerDown: (peer, reason) => probe.downs.push({ peer, reason }),
  });
  await transport.start();
  return probe;
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return condition();
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const text = (frame: Buffer): string => frame.toString('utf8');
const bytes = (value: string): Uint8Array => Buffer.from(value, 'utf8');

test('two transports exchange frames both ways over one connection', async (t) => {
  const a = await startProbe('alpha');
  const b = await startProbe('beta');
  t.teardown(() => Promise.all([a.transport.close(), b.transport.close()]));
  t.regex(a.transport.local.node, /^alpha@127\.0\.0\.1:\d+$/);

  a.transport.send(b.transport.local.node, bytes('hello from a'));
  t.true(await waitFor(() => b.frames.length === 1));
  b.transport.send(a.transport.local.node, bytes('hello from b'));
  t.true(await waitFor(() => a.frames.length === 1));

  t.deepEqual(b.frames.map((entry) => [entry.from, text(entry.frame)]), [[a.transport.local, 'hello from a']]);
  t.deepEqual(a.frames.map((entry) => [entry.from, text(entry.frame)]), [[b.transport.local, 'hello from b']]);
  t.deepEqual(a.ups, [b.transport.local]);
  t.deepEqual(b.ups, [a.transport.local]);
  t.is(a.transport.stats.connectionsDialled, 1);
  t.is(b.transport.stats.connectionsDialled, 0, 'the reply used the inbound connection');
  t.is(b.transport.stats.connectionsAccepted, 1);
});

test('10,000 frames arrive complete and in send order', async (t) => {
  const a = await startProbe('alpha');
  const b = await startProbe('beta');
  t.teardown(() => Promise.all([a.transport.close(), b.transport.close()]));
  const count = 10_000;
  for (let i = 0; i < count; i++) {
    const frame = Buffer.alloc(4);
    frame.writeUInt32BE(i);
    a.transport.send(b.transport.local.node, frame); // the first ones wait in the pending queue
  }
  t.true(await waitFor(() => b.frames.length >= count, 10_000));
  t.is(b.frames.length, count);
  const outOfOrder = b.frames.findIndex((entry, index) => entry.frame.readUInt32BE(0) !== index);
  t.is(outOfOrder, -1);
  t.is(a.transport.stats.framesDroppedQueueFull + a.transport.stats.framesDroppedBackpressure, 0);
  t.true(a.transport.stats.batchesSent <= count / 10, `frames sent in one turn share writes (${a.transport.stats.batchesSent} batches)`);
});

test('raw TCP garbage instead of an HTTP upgrade is cut off and the transport keeps serving', async (t) => {
  const b = await startProbe('beta');
  t.teardown(() => b.transport.close());
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 4096 }), async (garbage) => {
      const socket = connect(b.transport.port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.write(Buffer.concat([Buffer.from([0x00]), garbage]));
      socket.end();
      await new Promise((resolve) => socket.once('close', resolve));
      return true;
    }),
    { numRuns: 20 },
  );
  const a = await startProbe('alpha');
  t.teardown(() => a.transport.close());
  a.transport.send(b.transport.local.node, bytes('after garbage'));
  t.true(await waitFor(() => b.frames.length === 1));
  t.deepEqual(b.ups, [a.transport.local]);
});

test('a wrong secret is refused on both sides: no peer up, no frame delivered', async (t) => {
  const a = await startProbe('alpha', { secret: 'another-secret-entirely-0123' });
  const b = await startProbe('beta');
  t.teardown(() => Promise.all([a.transport.close(), b.transport.close()]));
  a.transport.send(b.transport.local.node, bytes('must not arrive'));
  t.true(await waitFor(() => a.downs.length >= 1 && b.transport.stats.handshakesRejected >= 1));
  await sleep(100);
  t.deepEqual(a.ups, []);
  t.deepEqual(b.ups, []);
  t.deepEqual(b.frames, []);
  t.regex(a.downs[0]?.reason ?? '', /1008/);
  // B, dialling A with the right secret for B but wrong for A, is refused too.
  b.transport.send(a.transport.local.node, bytes('must not arrive either'));
  t.true(await waitFor(() => b.downs.length >= 1));
  t.deepEqual(a.frames, []);
  t.deepEqual(a.ups, []);
});

test('a dialler refuses an acceptor that cannot prove the secret', async (t) => {
  // A fake listener that sends a valid-looking challenge and a forged welcome.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const port = (server.address() as { port: number }).port;
  const fakeNode = `fake@127.0.0.1:${port}`;
  const closes: number[] = [];
  server.on('connection', (socket) => {
    socket.on('close', (code) => closes.push(code));
    socket.send(challengeMessage(newNonce()));
    socket.once('message', (data: Buffer) => {
      const hello = parseHello(data.toString('utf8'));
      socket.send(welcomeMessage({ from: fakeNode, incarnation: 'fake-1', proof: acceptorProof(Buffer.from('wrong-secret-wrong-secret'), hello?.nonce ?? '', newNonce(), fakeNode, 'fake-1', hello?.from ?? '') }));
      socket.send(Buffer.from('a frame the dialler must not deliver'));
    });
  });
  const a = await startProbe('alpha');
  t.teardown(async () => {
    await a.transport.close();
    await new Promise((resolve) => server.close(resolve));
  });
  a.transport.send(fakeNode, bytes('x'));
  t.true(await waitFor(() => closes.length >= 1 && a.downs.length >= 1));
  t.is(closes[0], CloseCode.policyViolation);
  t.deepEqual(a.ups, []);
  t.deepEqual(a.frames, []);
});

test('garbage before the handshake closes the connection; the transport still serves a good peer', async (t) => {
  const b = await startProbe('beta', { maxFrameBytes: 64 * 1024 });
  t.teardown(() => b.transport.close());
  const garbage = fc.oneof(
    fc.uint8Array({ minLength: 0, maxLength: 2048 }).map((value) => ({ binary: true, value: Buffer.from(value) })),
    fc.string({ maxLength: 2048 }).map((value) => ({ binary: false, value: Buffer.from(value) })),
    fc.constantFrom(
      '{"type":"kplane.hello","version":1}',
      '{"type":"kplane.hello","version":1,"from":"x","incarnation":"i","to":"y","nonce":"00","proof":"00"}',
      'null',
      '[]',
      '{"type":"kplane.welcome"}',
    ).map((value) => ({ binary: false, value: Buffer.from(value) })),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(garbage, { minLength: 1, maxLength: 3 }), async (messages) => {
      const client = await rawConnect(b.transport.local.node);
      for (const message of messages) client.socket.send(message.value, { binary: message.binary });
      const code = await client.closed;
      return code === CloseCode.policyViolation || code === CloseCode.tooBig;
    }),
    { numRuns: 25 },
  );
  t.deepEqual(b.frames, []);
  t.deepEqual(b.ups, []);
  t.true(b.transport.stats.handshakesRejected >= 25);

  const a = await startProbe('alpha');
  t.teardown(() => a.transport.close());
  a.transport.send(b.transport.local.node, bytes('still served'));
  t.true(await waitFor(() => b.frames.length === 1));
  t.is(text(b.frames[0]?.frame ?? Buffer.alloc(0)), 'still served');
});

test('after the handshake, batches of frames are passed up as opaque bytes and a text frame closes the connection', async (t) => {
  const b = await startProbe('beta');
  t.teardown(() => b.transport.close());
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 512 }), { minLength: 1, maxLength: 5 }), fc.string({ minLength: 1, maxLength: 64 }), async (frames, junk) => {
      const before = b.frames.length;
      const client = await rawAuthenticated(b.transport.local.node, 'raw', SECRET);
      if (!client.welcome) return false;
      client.socket.send(encodeBatch(frames), { binary: true });
      client.socket.send(junk);
      const code = await client.closed;
      const delivered = b.frames.slice(before).map((entry) => entry.frame);
      return code === CloseCode.unsupportedData && delivered.length === frames.length && delivered.every((frame, index) => frame.equals(Buffer.from(frames[index] ?? [])));
    }),
    { numRuns: 15 },
  );
  t.pass();
});

test('after the handshake, random binary messages are either well-formed batches or close the connection with nothing delivered', async (t) => {
  const b = await startProbe('beta');
  t.teardown(() => b.transport.close());
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 600 }), async (message) => {
      const before = b.frames.length;
      const client = await rawAuthenticated(b.transport.local.node, 'raw', SECRET);
      if (!client.welcome) return false;
      client.socket.send(Buffer.from(message), { binary: true });
      const expected = splitBatch(Buffer.from(message));
      if (expected !== undefined) {
        const arrived = await waitFor(() => b.frames.length === before + expected.length, 2_000);
        client.socket.close();
        return arrived;
      }
      const code = await client.closed;
      return code === CloseCode.policyViolation && b.frames.length === before;
    }),
    { numRuns: 25 },
  );
  t.pass();
});

test('an oversized frame closes the connection with 1009 and is not delivered', async (t) => {
  const b = await startProbe('beta', { maxFrameBytes: 64 * 1024 });
  t.teardown(() => b.transport.close());
  const client = await rawAuthenticated(b.transport.local.node, 'raw', SECRET);
  t.true(client.welcome);
  client.socket.send(Buffer.alloc(64 * 1024 + 1, 7));
  t.is(await client.closed, CloseCode.tooBig);
  t.deepEqual(b.frames, []);
  // Before the handshake the limit is much smaller (HANDSHAKE_MESSAGE_MAX_BYTES).
  const early = await rawConnect(b.transport.local.node);
  early.socket.send('x'.repeat(2048));
  t.is(await early.closed, CloseCode.policyViolation);
});

test('a silent connection is closed when the handshake times out', async (t) => {
  const b = await startProbe('beta', { handshakeTimeoutMs: 150 });
  t.teardown(() => b.transport.close());
  const client = await rawConnect(b.transport.local.node);
  const started = Date.now();
  t.is(await client.closed, CloseCode.policyViolation);
  t.true(Date.now() - started >= 100);
});

test('simultaneous dials settle on exactly one connection, and frames flow both ways in order', async (t) => {
  let duplicates = 0;
  for (let round = 0; round < 5; round++) {
    const a = await startProbe(`alpha${round}`);
    const b = await startProbe(`beta${round}`);
    const count = 200;
    for (let i = 0; i < count; i++) {
      a.transport.send(b.transport.local.node, bytes(`a${i}`));
      b.transport.send(a.transport.local.node, bytes(`b${i}`));
    }
    const settled = await waitFor(() => a.frames.length === count && b.frames.length === count);
    await sleep(50);
    t.true(settled, `round ${round}: all frames arrived`);
    t.deepEqual(a.frames.map((entry) => text(entry.frame)), Array.from({ length: count }, (_, i) => `b${i}`));
    t.deepEqual(b.frames.map((entry) => text(entry.frame)), Array.from({ length: count }, (_, i) => `a${i}`));
    t.is(a.transport.openConnections, 1, `round ${round}: one connection on a`);
    t.is(b.transport.openConnections, 1, `round ${round}: one connection on b`);
    t.is(a.ups.length, 1);
    t.is(b.ups.length, 1);
    duplicates += a.transport.stats.duplicatesClosed + b.transport.stats.duplicatesClosed;
    await Promise.all([a.transport.close(), b.transport.close()]);
  }
  // Both dialled in the same turn, so the race really happened and a duplicate was closed.
  t.true(duplicates >= 5, `duplicates closed: ${duplicates}`);
});

test('after the peer restarts on the same port with a new incarnation, the transport reconnects', async (t) => {
  const a = await startProbe('alpha');
  const b1 = await startProbe('beta');
  const port = b1.transport.port;
  const betaNode = b1.transport.local.node;
  t.teardown(() => a.transport.close());
  a.transport.send(betaNode, bytes('one'));
  t.true(await waitFor(() => b1.frames.length === 1));
  await b1.transport.close();
  t.true(await waitFor(() => a.downs.some((down) => down.peer === betaNode)));

  const b2 = await startProbe('beta', { incarnation: 'beta-second-life' }, { host: '127.0.0.1', port });
  t.teardown(() => b2.transport.close());
  t.is(b2.transport.local.node, betaNode);
  // Frames sent while the peer was away may be dropped (at-most-once); keep sending until one lands.
  const arrived = await waitFor(() => {
    if (b2.frames.length === 0) a.transport.send(betaNode, bytes('two'));
    return b2.frames.length > 0;
  });
  t.true(arrived);
  t.is(text(b2.frames[0]?.frame ?? Buffer.alloc(0)), 'two');
  t.deepEqual(a.ups.map((up) => up.incarnation), [b1.transport.local.incarnation, 'beta-second-life']);
});

test('a dial-only node is answered over its own connection and is unreachable once it is gone', async (t) => {
  const b = await startProbe('beta');
  const c = await startProbe('client', {}, null);
  t.teardown(() => b.transport.close());
  t.is(c.transport.local.node, 'client');
  c.transport.send(b.transport.local.node, bytes('ping'));
  t.true(await waitFor(() => b.frames.length === 1));
  b.transport.send('client', bytes('pong'));
  t.true(await waitFor(() => c.frames.length === 1));
  t.is(text(c.frames[0]?.frame ?? Buffer.alloc(0)), 'pong');
  await c.transport.close();
  t.true(await waitFor(() => b.downs.some((down) => down.peer === 'client')));
  b.transport.send('client', bytes('lost'));
  t.true(await waitFor(() => b.transport.stats.framesDroppedUnreachable === 1));
  t.true(await waitFor(() => b.downs.some((down) => /not dialable/.test(down.reason))));
});

test('configuration errors are refused when the transport is built', (t) => {
  const base = { incarnation: 'i', log: silent, clock: systemClock };
  t.throws(() => new WsTransport({ ...base, node: 'bad id!', secret: SECRET }), { message: /node/ });
  t.throws(() => new WsTransport({ ...base, node: 'short', secret: 'tiny' }), { message: /secret/ });
  t.throws(() => new WsTransport({ ...base, node: 'x@127.0.0.1:4000', secret: SECRET }), { message: /listen/ });
});
