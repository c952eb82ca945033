// The actor half of the benchmark peer: an actor system on its own WsTransport hosting
//   /user/echo     answers bench.request { seq, payload, replyTo } with bench.reply { seq, payload }
//   /user/counter  counts bench.tell; after bench.expect { count, replyTo } it reports bench.counted
import type { Logger } from 'pino';
import { systemClock } from '../src/actors/clock.js';
import { createActorSystem, type ActorRef, type Behavior } from '../src/actors/index.js';
import { Prng } from '../src/actors/random.js';
import { WsTransport } from '../src/actors/ws-transport.js';
import { BENCH_PROTOCOL, COUNTER_MAILBOX_CAPACITY, type BenchActorMessage } from './actor-protocol.js';

const echo: Behavior<BenchActorMessage, void> = {
  start: () => undefined,
  receive: (ctx, _state, message) => {
    if (message.type === 'bench.request') ctx.tell(message.replyTo, { type: 'bench.reply', seq: message.seq, payload: message.payload });
  },
};

interface CounterState {
  expected: number;
  counted: number;
  replyTo: ActorRef<BenchActorMessage> | undefined;
}

const counter: Behavior<BenchActorMessage, CounterState> = {
  start: () => ({ expected: 0, counted: 0, replyTo: undefined }),
  receive: (ctx, state, message) => {
    if (message.type === 'bench.expect') return { expected: message.count, counted: 0, replyTo: message.replyTo };
    if (message.type === 'bench.tell') {
      state.counted++;
      if (state.counted === state.expected && state.replyTo !== undefined) ctx.tell(state.replyTo, { type: 'bench.counted', count: state.counted });
    }
    return state;
  },
};

export async function startActorPeer(secret: string, log: Logger): Promise<string> {
  const transport = new WsTransport({ node: 'bench-actors', incarnation: `actors-${process.pid}`, listen: { host: '127.0.0.1', port: 0 }, secret, log, clock: systemClock });
  await transport.start();
  const system = createActorSystem({ node: transport.local.node, incarnation: transport.local.incarnation, clock: systemClock, random: new Prng(1), log, transport, protocol: BENCH_PROTOCOL });
  system.spawn(echo, { name: 'echo' });
  system.spawn(counter, { name: 'counter', mailboxCapacity: COUNTER_MAILBOX_CAPACITY });
  return transport.local.node;
}
