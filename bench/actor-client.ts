// The actor half of the benchmark client: local tells, remote asks and remote pipelined tells,
// each measured with a fresh actor system (remote ones over a dial-only WsTransport).
import type { Logger } from 'pino';
import { systemClock } from '../src/actors/clock.js';
import { createActorSystem, type ActorRef, type ActorSystem, type Behavior } from '../src/actors/index.js';
import { Prng } from '../src/actors/random.js';
import { WsTransport } from '../src/actors/ws-transport.js';
import { BENCH_PROTOCOL, COUNTER_MAILBOX_CAPACITY, type BenchActorMessage } from './actor-protocol.js';
import { SENDER_BUFFERED_BYTES_MAX } from './raw-ws.js';

type Measure = Promise<{ count: number; elapsedMs: number }>;
const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Local tells in flight at most (the counter's mailbox is bounded; beyond it tells would be dropped). */
const LOCAL_WINDOW = 50_000;

export async function localTells(log: Logger, count: number): Measure {
  const system = createActorSystem({ node: 'bench-local', clock: systemClock, random: new Prng(1), log });
  let counted = 0;
  const counter: Behavior<BenchActorMessage, void> = {
    start: () => undefined,
    receive: () => {
      counted++;
    },
  };
  const ref = system.spawn(counter, { name: 'counter', mailboxCapacity: COUNTER_MAILBOX_CAPACITY });
  const started = performance.now();
  for (let seq = 0; seq < count; seq++) {
    while (seq - counted >= LOCAL_WINDOW) await yieldToLoop();
    system.tell(ref, { type: 'bench.tell', seq, payload: '' });
  }
  while (counted < count) await yieldToLoop();
  const elapsedMs = performance.now() - started;
  await system.terminate();
  return { count, elapsedMs };
}

async function remoteSystem(target: string, secret: string, log: Logger): Promise<{ system: ActorSystem; transport: WsTransport }> {
  const transport = new WsTransport({ node: 'bench-client', incarnation: `client-${process.pid}-${Date.now()}`, secret, log, clock: systemClock });
  const system = createActorSystem({ node: transport.local.node, incarnation: transport.local.incarnation, clock: systemClock, random: new Prng(2), log, transport, protocol: BENCH_PROTOCOL });
  // Warm the connection up with one ask so the handshake is not measured.
  await system.ask<BenchActorMessage, BenchActorMessage>(system.refFor(target, '/user/echo'), (replyTo) => ({ type: 'bench.request', seq: -1, payload: '', replyTo }), 5_000);
  return { system, transport };
}

export async function remoteAsks(target: string, secret: string, log: Logger, payload: string, durationMs: number): Measure {
  const { system, transport } = await remoteSystem(target, secret, log);
  const echo = system.refFor<BenchActorMessage>(target, '/user/echo');
  const started = performance.now();
  let count = 0;
  while (performance.now() - started < durationMs) {
    const reply = await system.ask<BenchActorMessage, BenchActorMessage>(echo, (replyTo) => ({ type: 'bench.request', seq: count, payload, replyTo }), 5_000);
    if (reply.type !== 'bench.reply' || reply.seq !== count) throw new Error(`unexpected reply ${JSON.stringify(reply)}`);
    count++;
  }
  const elapsedMs = performance.now() - started;
  await system.terminate();
  await transport.close();
  return { count, elapsedMs };
}

export async function remotePipelined(target: string, secret: string, log: Logger, payload: string, count: number): Measure {
  const { system, transport } = await remoteSystem(target, secret, log);
  const counter = system.refFor<BenchActorMessage>(target, '/user/counter');
  let done: ((count: number) => void) | undefined;
  const reporter: Behavior<BenchActorMessage, void> = {
    start: () => undefined,
    receive: (_ctx, _state, message) => {
      if (message.type === 'bench.counted') done?.(message.count);
    },
  };
  const replyTo: ActorRef<BenchActorMessage> = system.spawn(reporter, { name: 'reporter' });
  const counted = new Promise<number>((resolve) => (done = resolve));
  system.tell(counter, { type: 'bench.expect', count, replyTo });
  const started = performance.now();
  for (let seq = 0; seq < count; seq++) {
    while (transport.bufferedBytes(target) > SENDER_BUFFERED_BYTES_MAX) await yieldToLoop();
    system.tell(counter, { type: 'bench.tell', seq, payload });
  }
  const total = await counted;
  const elapsedMs = performance.now() - started;
  if (total !== count) throw new Error(`counted ${total} of ${count}`);
  await system.terminate();
  await transport.close();
  return { count, elapsedMs };
}
