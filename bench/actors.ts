// `npm run bench:actors`: what the actor runtime costs, measured against raw `ws` between the same two
// OS processes with the same CBOR payloads. Figures:
//   - local tells/s: one process, tell to a counting actor;
//   - remote ask round trips/s (sequential) and remote pipelined tells/s (until the receiver counted all);
//   - raw ws request/response round trips/s and raw pipelined messages/s (one ws message each);
//   - transport-only round trips/s and pipelined frames/s: WsTransport alone, to show where the cost sits.
// Prints progress on stderr, a table on stdout, and ends with ONE line holding a JSON object.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { localTells, remoteAsks, remotePipelined } from './actor-client.js';
import { RawClient } from './raw-ws.js';
import { transportPipelined, transportRoundTrips } from './transport-counter.js';

const SECRET = 'kplane-bench-secret-not-for-production';
const PAYLOAD = 'x'.repeat(32);
const LOCAL_TELLS = 1_000_000;
const PIPELINED_MESSAGES = 200_000;
const ROUND_TRIP_DURATION_MS = 2_000;
const ROUNDS = 3; // each pipelined/round-trip figure is the best of this many runs (warm JIT, no outliers)

const progress = (line: string): void => {
  process.stderr.write(`[bench:actors] ${line}\n`);
};

interface Ready {
  readonly rawPort: number;
  readonly transportNode: string;
  readonly actorNode: string;
}

async function startPeer(): Promise<{ ready: Ready; stop(): void }> {
  const entry = fileURLToPath(new URL('./actors-peer.js', import.meta.url));
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, KPLANE_BENCH_SECRET: SECRET },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', stop);
  const ready = await new Promise<Ready>((resolve, reject) => {
    let buffered = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const line = buffered.split('\n').find((candidate) => candidate.startsWith('{'));
      if (line !== undefined) resolve(JSON.parse(line) as Ready);
    });
    child.once('exit', (code) => reject(new Error(`benchmark peer exited (${code}) before it was ready`)));
  });
  return { ready, stop };
}

async function best(label: string, run: () => Promise<{ count: number; elapsedMs: number }>): Promise<number> {
  let bestRate = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const { count, elapsedMs } = await run();
    const rate = (count / elapsedMs) * 1000;
    progress(`${label}: round ${round}/${ROUNDS}: ${Math.round(rate).toLocaleString('en-US')}/s (${count} in ${elapsedMs.toFixed(0)} ms)`);
    bestRate = Math.max(bestRate, rate);
  }
  return Math.round(bestRate);
}

const log = pino({ level: 'warn' }, pino.destination(2));
progress(`node ${process.version}, payload ${PAYLOAD.length} bytes, best of ${ROUNDS} rounds`);

const localTellsPerS = await best('local tells', () => localTells(log, LOCAL_TELLS));

progress('starting the peer process');
const peer = await startPeer();
try {
  const raw = await RawClient.connect('127.0.0.1', peer.ready.rawPort);
  const rawRoundTripsPerS = await best('raw ws round trips', () => raw.roundTrips(PAYLOAD, ROUND_TRIP_DURATION_MS));
  const rawPipelinedPerS = await best('raw ws pipelined', () => raw.pipelined(PAYLOAD, PIPELINED_MESSAGES));
  raw.close();

  const transportRoundTripsPerS = await best('transport round trips', () =>
    transportRoundTrips(peer.ready.transportNode, SECRET, log, PAYLOAD, ROUND_TRIP_DURATION_MS),
  );
  const transportPipelinedPerS = await best('transport pipelined', () =>
    transportPipelined(peer.ready.transportNode, SECRET, log, PAYLOAD, PIPELINED_MESSAGES),
  );

  const remoteAskPerS = await best('remote asks', () => remoteAsks(peer.ready.actorNode, SECRET, log, PAYLOAD, ROUND_TRIP_DURATION_MS));
  const remotePipelinedPerS = await best('remote pipelined tells', () =>
    remotePipelined(peer.ready.actorNode, SECRET, log, PAYLOAD, PIPELINED_MESSAGES),
  );

  const figures = {
    local_tells_per_s: localTellsPerS,
    remote_ask_round_trips_per_s: remoteAskPerS,
    remote_pipelined_tells_per_s: remotePipelinedPerS,
    raw_ws_round_trips_per_s: rawRoundTripsPerS,
    raw_ws_pipelined_msgs_per_s: rawPipelinedPerS,
    transport_round_trips_per_s: transportRoundTripsPerS,
    transport_pipelined_frames_per_s: transportPipelinedPerS,
    ratio_remote_vs_raw_ws: Number((remotePipelinedPerS / rawPipelinedPerS).toFixed(3)),
    ratio_ask_vs_raw_rtt: Number((remoteAskPerS / rawRoundTripsPerS).toFixed(3)),
    ratio_transport_vs_raw_ws: Number((transportPipelinedPerS / rawPipelinedPerS).toFixed(3)),
    payload_bytes: PAYLOAD.length,
    pipelined_messages: PIPELINED_MESSAGES,
  };
  const rows: Array<[string, string]> = [
    ['local tells/s (one process)', localTellsPerS.toLocaleString('en-US')],
    ['remote ask round trips/s (sequential)', remoteAskPerS.toLocaleString('en-US')],
    ['raw ws round trips/s (sequential)', rawRoundTripsPerS.toLocaleString('en-US')],
    ['remote pipelined tells/s', remotePipelinedPerS.toLocaleString('en-US')],
    ['raw ws pipelined msgs/s', rawPipelinedPerS.toLocaleString('en-US')],
    ['transport-only round trips/s (sequential)', transportRoundTripsPerS.toLocaleString('en-US')],
    ['transport-only pipelined frames/s', transportPipelinedPerS.toLocaleString('en-US')],
    ['ratio remote/raw ws (pipelined; target >= 0.5)', figures.ratio_remote_vs_raw_ws.toFixed(3)],
    ['ratio ask/raw ws (round trips)', figures.ratio_ask_vs_raw_rtt.toFixed(3)],
    ['ratio transport-only/raw ws (pipelined)', figures.ratio_transport_vs_raw_ws.toFixed(3)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  process.stdout.write(`\nkplane actor runtime benchmark (${PAYLOAD.length}-byte payload, ${PIPELINED_MESSAGES.toLocaleString('en-US')} pipelined messages)\n`);
  for (const [name, value] of rows) process.stdout.write(`  ${name.padEnd(width)}  ${value.padStart(12)}\n`);
  // NaN (a figure that could not be measured) becomes null in JSON.
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} finally {
  peer.stop();
}
process.exit(0);
