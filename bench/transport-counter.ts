// The transport-only figure of the actor benchmark (a diagnostic between raw ws and full actors):
// the same CBOR payloads through WsTransport (handshake, batching, backpressure) with no remoting,
// envelope or mailbox. The server half runs in the peer process, the client half in the benchmark.
import { decode, encode } from 'cbor-x';
import type { Logger } from 'pino';
import { systemClock } from '../src/actors/clock.js';
import type { NodeId } from '../src/actors/transport.js';
import { WsTransport } from '../src/actors/ws-transport.js';
import { SENDER_BUFFERED_BYTES_MAX, type BenchMessage } from './raw-ws.js';

export async function startTransportCounter(secret: string, log: Logger): Promise<WsTransport> {
  const transport = new WsTransport({
    node: 'bench-transport',
    incarnation: `transport-${process.pid}`,
    listen: { host: '127.0.0.1', port: 0 },
    secret,
    log,
    clock: systemClock,
  });
  let expected = 0;
  let counted = 0;
  transport.bind({
    onFrame: (from, frame) => {
      const message = decode(frame) as BenchMessage;
      if (message.type === 'bench.request') {
        transport.send(from.node, encode({ type: 'bench.reply', seq: message.seq, payload: message.payload }));
      } else if (message.type === 'bench.expect') {
        expected = message.count ?? 0;
        counted = 0;
      } else if (message.type === 'bench.tell') {
        counted++;
        if (counted === expected) transport.send(from.node, encode({ type: 'bench.counted', count: counted }));
      }
    },
    onPeerUp: () => undefined,
    onPeerDown: () => undefined,
  });
  await transport.start();
  return transport;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Sequential request/response round trips through a fresh dial-only transport for `durationMs`. */
export async function transportRoundTrips(target: NodeId, secret: string, log: Logger, payload: string, durationMs: number): Promise<{ count: number; elapsedMs: number }> {
  const transport = new WsTransport({ node: 'bench-client', incarnation: `client-${process.pid}`, secret, log, clock: systemClock });
  let onReply: ((message: BenchMessage) => void) | undefined;
  transport.bind({
    onFrame: (_from, frame) => onReply?.(decode(frame) as BenchMessage),
    onPeerUp: () => undefined,
    onPeerDown: () => undefined,
  });
  const roundTrip = (seq: number): Promise<BenchMessage> => {
    const reply = new Promise<BenchMessage>((resolve) => (onReply = resolve));
    transport.send(target, encode({ type: 'bench.request', seq, payload }));
    return reply;
  };
  try {
    await roundTrip(-1); // connect and authenticate outside the measurement
    const started = performance.now();
    let count = 0;
    while (performance.now() - started < durationMs) {
      const reply = await roundTrip(count);
      if (reply.seq !== count) throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
      count++;
    }
    return { count, elapsedMs: performance.now() - started };
  } finally {
    await transport.close();
  }
}

/** Sends `count` tells through a fresh dial-only transport; resolves once the peer counted them all. */
export async function transportPipelined(target: NodeId, secret: string, log: Logger, payload: string, count: number): Promise<{ count: number; elapsedMs: number }> {
  const transport = new WsTransport({ node: 'bench-client', incarnation: `client-${process.pid}`, secret, log, clock: systemClock });
  let onCounted: ((message: BenchMessage) => void) | undefined;
  transport.bind({
    onFrame: (_from, frame) => onCounted?.(decode(frame) as BenchMessage),
    onPeerUp: () => undefined,
    onPeerDown: () => undefined,
  });
  try {
    transport.send(target, encode({ type: 'bench.expect', count }));
    while (!transport.isConnected(target)) await new Promise((resolve) => setTimeout(resolve, 5));
    const counted = new Promise<BenchMessage>((resolve) => (onCounted = resolve));
    const started = performance.now();
    for (let seq = 0; seq < count; seq++) {
      while (transport.bufferedBytes(target) > SENDER_BUFFERED_BYTES_MAX) await yieldToLoop();
      transport.send(target, encode({ type: 'bench.tell', seq, payload }));
    }
    const message = await counted;
    if (message.count !== count) throw new Error(`unexpected ${JSON.stringify(message)}`);
    return { count, elapsedMs: performance.now() - started };
  } finally {
    await transport.close();
  }
}
