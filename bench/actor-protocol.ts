// The benchmark's actor messages (same CBOR payload fields as the raw ws baseline in raw-ws.ts).
import type { ActorRef } from '../src/actors/index.js';

export type BenchActorMessage =
  | { readonly type: 'bench.request'; readonly seq: number; readonly payload: string; readonly replyTo: ActorRef<BenchActorMessage> }
  | { readonly type: 'bench.reply'; readonly seq: number; readonly payload: string }
  | { readonly type: 'bench.expect'; readonly count: number; readonly replyTo: ActorRef<BenchActorMessage> }
  | { readonly type: 'bench.tell'; readonly seq: number; readonly payload: string }
  | { readonly type: 'bench.counted'; readonly count: number };

/** The counter may receive a whole socket read's worth of tells before it runs: room for all of them. */
export const COUNTER_MAILBOX_CAPACITY = 1_000_000;

// ADAPT to A's MessageProtocol shape (src/actors/index.ts): the message types remote peers may send.
export const BENCH_PROTOCOL = { types: ['bench.request', 'bench.reply', 'bench.expect', 'bench.tell', 'bench.counted'] };
