// The raw `ws` baseline of the actor benchmark: the same CBOR payloads the actors exchange, sent over
// a bare WebSocket with no envelope, mailbox or handshake. Both sides live here: the server half runs
// in the peer process (bench/actors-peer.ts), the client half in the benchmark process (bench/actors.ts).
//
// Wire (CBOR objects): bench.request -> bench.reply (round trips); bench.expect{count} then count
// bench.tell messages -> bench.counted{count} once the server has decoded them all (pipelined).
import { decode, encode } from 'cbor-x';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** Beyond this many bytes waiting in the socket, the sender yields to the event loop (same as the actor path). */
export const SENDER_BUFFERED_BYTES_MAX = 4 * 1024 * 1024;

export interface BenchMessage {
  readonly type: string;
  readonly seq?: number;
  readonly count?: number;
  readonly payload?: string;
}

/** Starts the raw echo/count server; resolves with its port. */
export async function startRawServer(host: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = new WebSocketServer({ host, port: 0, perMessageDeflate: false, maxPayload: 4 * 1024 * 1024 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  server.on('connection', (socket) => {
    let expected = 0;
    let counted = 0;
    socket.on('message', (data: Buffer) => {
      const message = decode(data) as BenchMessage;
      switch (message.type) {
        case 'bench.request':
          socket.send(encode({ type: 'bench.reply', seq: message.seq, payload: message.payload }));
          return;
        case 'bench.expect':
          expected = message.count ?? 0;
          counted = 0;
          return;
        case 'bench.tell':
          counted++;
          if (counted === expected) socket.send(encode({ type: 'bench.counted', count: counted }));
          return;
      }
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class RawClient {
  private waiter: ((message: BenchMessage) => void) | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const waiter = this.waiter;
      this.waiter = undefined;
      waiter?.(decode(data) as BenchMessage);
    });
  }

  static async connect(host: string, port: number): Promise<RawClient> {
    const socket = new WebSocket(`ws://${host}:${port}/`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  private next(): Promise<BenchMessage> {
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Sequential request/response round trips; returns how many completed in `durationMs`. */
  async roundTrips(payload: string, durationMs: number): Promise<{ count: number; elapsedMs: number }> {
    const started = performance.now();
    let count = 0;
    while (performance.now() - started < durationMs) {
      const reply = this.next();
      this.socket.send(encode({ type: 'bench.request', seq: count, payload }));
      const message = await reply;
      if (message.type !== 'bench.reply' || message.seq !== count) throw new Error(`unexpected reply ${JSON.stringify(message)}`);
      count++;
    }
    return { count, elapsedMs: performance.now() - started };
  }

  /** Sends `count` one-way messages as fast as the socket takes them; done when the server counted all. */
  async pipelined(payload: string, count: number): Promise<{ count: number; elapsedMs: number }> {
    this.socket.send(encode({ type: 'bench.expect', count }));
    const counted = this.next();
    const started = performance.now();
    for (let seq = 0; seq < count; seq++) {
      while (this.socket.bufferedAmount > SENDER_BUFFERED_BYTES_MAX) await yieldToLoop();
      this.socket.send(encode({ type: 'bench.tell', seq, payload }));
    }
    const message = await counted;
    if (message.type !== 'bench.counted' || message.count !== count) throw new Error(`unexpected ${JSON.stringify(message)}`);
    return { count, elapsedMs: performance.now() - started };
  }

  close(): void {
    this.socket.close();
  }
}
