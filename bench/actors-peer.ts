// The peer process of the actor benchmark (bench/actors.ts starts it): hosts, side by side, the raw
// ws server, the transport-only counter and an actor system with an echo actor and a counting actor,
// so that every figure is measured between the same two processes. Prints one JSON line
// `{"type":"ready",...}` on stdout with the addresses; logs go to stderr.
import { pino } from 'pino';
import { startActorPeer } from './actor-peer-system.js';
import { startRawServer } from './raw-ws.js';
import { startTransportCounter } from './transport-counter.js';

const secret = process.env['KPLANE_BENCH_SECRET'];
if (secret === undefined) {
  process.stderr.write('KPLANE_BENCH_SECRET is required\n');
  process.exit(2);
}
const log = pino({ level: 'warn' }, pino.destination(2));
const raw = await startRawServer('127.0.0.1');
const transport = await startTransportCounter(secret, log);
const actorNode = await startActorPeer(secret, log);
process.stdout.write(`${JSON.stringify({ type: 'ready', rawPort: raw.port, transportNode: transport.local.node, actorNode })}\n`);
process.on('SIGTERM', () => process.exit(0));
