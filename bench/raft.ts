// `npm run bench:raft`: what the Raft core costs beside the disk. Three figures from one run:
//   (a) core_commits_per_s: proposals committed per second by a 3-node cluster of RaftNode in one
//       process with a no-op in-memory network and no disk: the core's own ceiling;
//   (b) wal_commits_per_s: the same cluster, each node persisting every Ready through its own real WAL
//       (src/raft/wal.ts, group commit) before sending or advancing: the fsync-bound figure;
//   (c) raw_fsyncs_per_s: a small write + fdatasync in a loop on the same disk, for ~2 s;
//   (d) wal_appends_per_s: one WAL alone, WAL_WRITERS concurrent writers each awaiting one-entry
//       appends: what group commit does without the core (also measured when the core is unavailable).
// Target (issue 4 §4): (a) >= 10x (c), so the disk, not the core, is the limit.
// Progress on stderr, a table on stdout, and ONE JSON line at the end. Data dir: $KPLANE_BENCH_DIR or os.tmpdir().
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { Prng } from '../src/actors/random.js';
import { RaftNode } from '../src/raft/core.js';
import type { RaftConfig, Ready } from '../src/raft/core.js';
import { MemoryLogStorage } from '../src/raft/memory-storage.js';
import type { Message } from '../src/raft/messages.js';
import type { ConfState, ReplicaId } from '../src/raft/types.js';
import { Wal } from '../src/raft/wal.js';

const REPLICAS: readonly ReplicaId[] = [1, 2, 3];
const PROPOSAL_BYTES = 128;
/** Proposals the bench keeps uncommitted at the leader (a driver's admission window). */
const PROPOSAL_WINDOW = 8192;
/** Proposals handed to the leader per driver iteration (how a driver drains its request queue). */
const PROPOSAL_BATCH = 1024;
const CORE_DURATION_MS = 3_000;
const WAL_DURATION_MS = 4_000;
const RAW_FSYNC_DURATION_MS = 2_000;
const WAL_APPEND_DURATION_MS = 2_000;
/** Concurrent appenders in (d), each with one append in flight (like many clients behind one driver). */
const WAL_WRITERS = 256;
const WARMUP_MS = 500;
const ELECTION_ROUNDS_LIMIT = 1_000;

const progress = (line: string): void => {
  process.stderr.write(`[bench:raft] ${line}\n`);
};

const conf: ConfState = { voters: [...REPLICAS], learners: [], votersOutgoing: [], learnersNext: [] };
const proposal = new Uint8Array(PROPOSAL_BYTES).fill(7);

interface BenchNode {
  readonly id: ReplicaId;
  readonly raft: RaftNode;
  readonly storage: MemoryLogStorage;
  inbox: Message[];
  leader: boolean;
  proposed: number;
  committed: number;
  wake: (() => void) | undefined;
}

function makeNode(id: ReplicaId): BenchNode {
  const storage = new MemoryLogStorage(conf);
  const config: RaftConfig = {
    id,
    storage,
    random: new Prng(id),
    electionTicks: 10,
    heartbeatTicks: 1,
    maxEntriesPerAppendBytes: 1024 * 1024,
    maxInflightAppends: 256,
    maxInflightBytes: 64 * 1024 * 1024,
    preVote: true,
    checkQuorum: false,
    readOnly: 'safe',
    snapshotChunkBytes: 1024 * 1024,
  };
  return { id, raft: new RaftNode(config), storage, inbox: [], leader: false, proposed: 0, committed: 0, wake: undefined };
}

function route(nodes: Map<ReplicaId, BenchNode>, messages: readonly Message[]): void {
  for (const message of messages) {
    const target = nodes.get(message.to);
    if (target === undefined) continue;
    target.inbox.push(message);
    const wake = target.wake;
    target.wake = undefined;
    wake?.();
  }
}

/** Hands the leader proposals up to the window; a proposal refused (not leader, flow control) stops the batch. */
function topUp(node: BenchNode): void {
  if (!node.leader) return;
  const room = Math.min(PROPOSAL_BATCH, PROPOSAL_WINDOW - (node.proposed - node.committed));
  for (let i = 0; i < room; i++) {
    if (!node.raft.propose(proposal).ok) return;
    node.proposed++;
  }
}

function stepInbox(node: BenchNode): void {
  const inbox = node.inbox;
  node.inbox = [];
  for (const message of inbox) node.raft.step(message);
}

/** Everything after persistence: memory log, messages, counting commits, advance. */
function finishReady(nodes: Map<ReplicaId, BenchNode>, node: BenchNode, ready: Ready): void {
  if (ready.snapshot !== undefined) node.storage.applySnapshot(ready.snapshot);
  node.storage.append(ready.entries);
  if (ready.hardState !== undefined) node.storage.setHardState(ready.hardState);
  if (ready.softState !== undefined) node.leader = ready.softState.role === 'leader';
  route(nodes, ready.messages);
  if (node.leader) {
    for (const entry of ready.committedEntries) if (entry.data.length > 0) node.committed++;
  }
  node.raft.advance(ready);
}

function makeCluster(): Map<ReplicaId, BenchNode> {
  return new Map(REPLICAS.map((id) => [id, makeNode(id)] as const));
}

interface Rate {
  readonly commits: number;
  readonly elapsedMs: number;
  readonly perSecond: number;
}

/** (a) Synchronous pump, no disk: every node steps its inbox and handles one Ready per round. */
function benchCore(): Rate {
  const nodes = makeCluster();
  const leader = nodes.get(1) as BenchNode;
  leader.raft.campaign();
  const pump = (): void => {
    for (const node of nodes.values()) {
      stepInbox(node);
      if (node.raft.hasReady()) finishReady(nodes, node, node.raft.ready());
    }
  };
  for (let round = 0; round < ELECTION_ROUNDS_LIMIT && !leader.leader; round++) pump();
  if (!leader.leader) throw new Error(`no leader after ${ELECTION_ROUNDS_LIMIT} rounds`);
  const run = (durationMs: number): Rate => {
    const startCommits = leader.committed;
    const start = performance.now();
    let now = start;
    let rounds = 0;
    while (now - start < durationMs) {
      topUp(leader);
      pump();
      if (++rounds % 16 === 0) now = performance.now();
    }
    const elapsedMs = performance.now() - start;
    const commits = leader.committed - startCommits;
    return { commits, elapsedMs, perSecond: (commits / elapsedMs) * 1000 };
  };
  run(WARMUP_MS);
  return run(CORE_DURATION_MS);
}

/** (b) One async driver loop per node: step inbox, take a Ready, persist it through the WAL, then send and advance. */
async function benchWal(baseDir: string): Promise<Rate & { fsyncs: number }> {
  const log = pino({ level: 'silent' });
  const nodes = makeCluster();
  const wals = new Map<ReplicaId, Wal>();
  for (const id of REPLICAS) wals.set(id, (await Wal.open(join(baseDir, `wal-${id}`), { log })).wal);
  const leader = nodes.get(1) as BenchNode;
  let stopped = false;
  let failure: unknown;
  const loop = async (node: BenchNode): Promise<void> => {
    const wal = wals.get(node.id) as Wal;
    while (!stopped) {
      stepInbox(node);
      topUp(node);
      if (!node.raft.hasReady()) {
        await new Promise<void>((resolve) => {
          node.wake = resolve;
          if (node.inbox.length > 0 || stopped) resolve();
        });
        continue;
      }
      const ready = node.raft.ready();
      if (ready.entries.length > 0 || ready.hardState !== undefined) await wal.append(ready.entries, ready.hardState);
      finishReady(nodes, node, ready);
      // Let other nodes' loops and fsync completions run between Readies.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  };
  leader.raft.campaign();
  const loops = [...nodes.values()].map((node) =>
    loop(node).catch((error: unknown) => {
      failure = error;
      stopped = true;
      for (const other of nodes.values()) other.wake?.();
    }),
  );
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const deadline = performance.now() + 5_000;
  while (!leader.leader && failure === undefined && performance.now() < deadline) await sleep(5);
  if (!leader.leader && failure === undefined) failure = new Error('no leader within 5 s');
  let result: Rate = { commits: 0, elapsedMs: 0, perSecond: 0 };
  let fsyncs = 0;
  if (failure === undefined) {
    await sleep(WARMUP_MS);
    const fsyncsBefore = [...wals.values()].reduce((sum, wal) => sum + wal.stats().fsyncs, 0);
    const startCommits = leader.committed;
    const start = performance.now();
    await sleep(WAL_DURATION_MS);
    const elapsedMs = performance.now() - start;
    const commits = leader.committed - startCommits;
    fsyncs = [...wals.values()].reduce((sum, wal) => sum + wal.stats().fsyncs, 0) - fsyncsBefore;
    result = { commits, elapsedMs, perSecond: (commits / elapsedMs) * 1000 };
  }
  stopped = true;
  for (const node of nodes.values()) node.wake?.();
  await Promise.all(loops);
  for (const wal of wals.values()) await wal.close();
  if (failure !== undefined) throw failure;
  return { ...result, fsyncs };
}

/** (c) The disk's own rate: append 64 bytes + fdatasync, in a loop. */
async function benchRawFsync(baseDir: string): Promise<{ fsyncs: number; elapsedMs: number; perSecond: number }> {
  const file = await open(join(baseDir, 'raw-fsync.bin'), 'w');
  const record = Buffer.alloc(64, 1);
  let position = 0;
  let fsyncs = 0;
  const start = performance.now();
  try {
    while (performance.now() - start < RAW_FSYNC_DURATION_MS) {
      await file.write(record, 0, record.length, position);
      position += record.length;
      await file.datasync();
      fsyncs++;
    }
  } finally {
    await file.close();
  }
  const elapsedMs = performance.now() - start;
  return { fsyncs, elapsedMs, perSecond: (fsyncs / elapsedMs) * 1000 };
}

/** (d) Group commit alone: WAL_WRITERS loops each appending one entry and awaiting it. */
async function benchWalAppends(baseDir: string): Promise<{ appends: number; fsyncs: number; elapsedMs: number; perSecond: number }> {
  const { wal } = await Wal.open(join(baseDir, 'wal-appends'), { log: pino({ level: 'silent' }) });
  let nextIndex = 1;
  const start = performance.now();
  const writer = async (): Promise<void> => {
    while (performance.now() - start < WAL_APPEND_DURATION_MS) {
      const index = nextIndex++;
      await wal.append([{ index, term: 1, type: 0, data: proposal }]);
    }
  };
  await Promise.all(Array.from({ length: WAL_WRITERS }, writer));
  const elapsedMs = performance.now() - start;
  const { appends, fsyncs } = wal.stats();
  await wal.close();
  return { appends, fsyncs, elapsedMs, perSecond: (appends / elapsedMs) * 1000 };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const round = (value: number | null): number | null => (value === null ? null : Math.round(value));
const ratio = (a: number | null, b: number | null): number | null => (a === null || b === null || b === 0 ? null : Math.round((a / b) * 10) / 10);

async function main(): Promise<void> {
  const baseDir = await mkdtemp(join(process.env['KPLANE_BENCH_DIR'] ?? tmpdir(), 'kplane-bench-raft-'));
  try {
    progress(`data dir ${baseDir}`);
    progress(`raw fsync: write 64 B + fdatasync for ${RAW_FSYNC_DURATION_MS} ms`);
    const raw = await benchRawFsync(baseDir);
    progress(`raw fsync: ${Math.round(raw.perSecond)}/s (${raw.fsyncs} in ${raw.elapsedMs.toFixed(0)} ms)`);

    progress(`wal appends: ${WAL_WRITERS} concurrent writers on one WAL for ${WAL_APPEND_DURATION_MS} ms`);
    const appends = await benchWalAppends(baseDir);
    progress(`wal appends: ${Math.round(appends.perSecond)}/s (${appends.appends} appends, ${appends.fsyncs} fsyncs)`);

    let core: Rate | undefined;
    let coreError: string | undefined;
    progress(`core: 3 nodes, no-op network, no disk, ${CORE_DURATION_MS} ms`);
    try {
      core = benchCore();
      progress(`core: ${Math.round(core.perSecond)} commits/s (${core.commits} in ${core.elapsedMs.toFixed(0)} ms)`);
    } catch (error) {
      coreError = `core unavailable: ${describe(error)}`;
      progress(coreError);
    }

    let wal: (Rate & { fsyncs: number }) | undefined;
    let walError: string | undefined;
    if (coreError === undefined) {
      progress(`wal: 3 nodes, each persisting through its own WAL, ${WAL_DURATION_MS} ms`);
      try {
        wal = await benchWal(baseDir);
        progress(`wal: ${Math.round(wal.perSecond)} commits/s (${wal.commits} in ${wal.elapsedMs.toFixed(0)} ms, ${wal.fsyncs} fsyncs over 3 WALs)`);
      } catch (error) {
        walError = `wal bench failed: ${describe(error)}`;
        progress(walError);
      }
    } else {
      walError = coreError;
    }

    const coreRate = core?.perSecond ?? null;
    const walRate = wal?.perSecond ?? null;
    const rows: [string, string][] = [
      ['raw fsyncs/s (64 B write + fdatasync)', Math.round(raw.perSecond).toLocaleString('en-US')],
      ['core commits/s (3 nodes, no disk)', coreRate === null ? coreError ?? 'n/a' : Math.round(coreRate).toLocaleString('en-US')],
      ['WAL commits/s (3 nodes, real WALs)', walRate === null ? walError ?? 'n/a' : Math.round(walRate).toLocaleString('en-US')],
      [`WAL appends/s (${WAL_WRITERS} writers, group commit)`, Math.round(appends.perSecond).toLocaleString('en-US')],
      ['appends per fsync (group commit, no core)', (appends.appends / Math.max(1, appends.fsyncs)).toFixed(1)],
      ['core / raw fsync', String(ratio(coreRate, raw.perSecond) ?? 'n/a')],
      ['WAL commits / raw fsync', String(ratio(walRate, raw.perSecond) ?? 'n/a')],
      ['commits per WAL fsync (group commit)', wal === undefined || wal.fsyncs === 0 ? 'n/a' : (wal.commits / (wal.fsyncs / REPLICAS.length)).toFixed(1)],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    process.stdout.write(`\nRaft benchmark (proposal ${PROPOSAL_BYTES} B, window ${PROPOSAL_WINDOW}, batch ${PROPOSAL_BATCH})\n`);
    for (const [label, value] of rows) process.stdout.write(`  ${label.padEnd(width)}  ${value}\n`);
    const target = coreRate === null ? 'unknown (core unavailable)' : coreRate >= 10 * raw.perSecond ? 'met' : 'NOT met';
    process.stdout.write(`  target core >= 10x raw fsync: ${target}\n\n`);
    const json: Record<string, number | string | null> = {
      core_commits_per_s: round(coreRate),
      wal_commits_per_s: round(walRate),
      raw_fsyncs_per_s: round(raw.perSecond),
      ratio_core_vs_fsync: ratio(coreRate, raw.perSecond),
      ratio_wal_commits_vs_fsync: ratio(walRate, raw.perSecond),
      wal_appends_per_s: round(appends.perSecond),
      ratio_wal_appends_vs_fsync: ratio(appends.perSecond, raw.perSecond),
    };
    if (coreError !== undefined) json['error'] = coreError;
    else if (walError !== undefined) json['error'] = walError;
    process.stdout.write(`${JSON.stringify(json)}\n`);
  } finally {
    await rm(baseDir, { recursive: true, force: true });
  }
}

await main();
