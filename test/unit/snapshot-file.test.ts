// Snapshot files: atomic write and load, keeping the newest SNAPSHOTS_KEPT, refusing a file that fails
// its CRC (falling back to an older one), temp-file cleanup, crash points around the rename, and the
// DurableStorage glue that reconciles snapshot files with the WAL on open.
import test from 'ava';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ArmedCrashPoints } from '../../src/raft/crash-points.js';
import { DurableStorage, restoreMemoryLogStorage } from '../../src/raft/durable-storage.js';
import { SNAPSHOTS_KEPT, loadNewestSnapshot, snapshotFileName, writeSnapshotFile } from '../../src/raft/snapshot-file.js';
import { CrashPointError, SnapshotBehindWalError, SnapshotCorruptError } from '../../src/raft/storage-errors.js';
import type { Entry, Snapshot } from '../../src/raft/types.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kplane-snap-'));
  dirs.push(dir);
  return dir;
}

test.after.always(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const conf = { voters: [1, 2, 3], learners: [], votersOutgoing: [], learnersNext: [7] };

function snapshot(index: number, term: number, text = `state@${index}`): Snapshot {
  return { meta: { index, term, conf }, data: new TextEncoder().encode(text) };
}

function entry(index: number, term: number): Entry {
  return { index, term, type: 0, data: new TextEncoder().encode(`e${index}`) };
}

test('a written snapshot loads back identically', async (t) => {
  const dir = await tempDir();
  t.is(await loadNewestSnapshot(dir, { log }), undefined);
  const written = snapshot(42, 3);
  const path = await writeSnapshotFile(dir, written, { log });
  t.is(path, join(dir, snapshotFileName(42, 3)));
  const loaded = await loadNewestSnapshot(dir, { log });
  t.deepEqual(loaded?.snapshot, written);
  t.is(loaded?.file, path);
});

test(`only the newest ${SNAPSHOTS_KEPT} snapshot files are kept`, async (t) => {
  const dir = await tempDir();
  for (const index of [10, 20, 30, 40]) await writeSnapshotFile(dir, snapshot(index, 1), { log });
  const names = (await readdir(dir)).sort();
  t.deepEqual(names, [snapshotFileName(30, 1), snapshotFileName(40, 1)]);
  t.is((await loadNewestSnapshot(dir, { log }))?.snapshot.meta.index, 40);
});

test('a snapshot failing its CRC is refused, naming the file, and an older one is used', async (t) => {
  const dir = await tempDir();
  await writeSnapshotFile(dir, snapshot(10, 1), { log });
  const newest = await writeSnapshotFile(dir, snapshot(20, 2), { log });
  const bytes = new Uint8Array(await readFile(newest));
  bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0x40;
  await writeFile(newest, bytes);
  const loaded = await loadNewestSnapshot(dir, { log });
  t.is(loaded?.snapshot.meta.index, 10);
  // With no older file to fall back to, the error names the file.
  await rm(join(dir, snapshotFileName(10, 1)));
  const error = await t.throwsAsync(loadNewestSnapshot(dir, { log }), { instanceOf: SnapshotCorruptError });
  t.is(error?.code, 'SNAPSHOT_CORRUPT');
  t.is(error?.file, newest);
  t.true(error?.message.includes(newest));
  t.regex(error?.message ?? '', /crc mismatch/);
});

test('a truncated snapshot file is refused', async (t) => {
  const dir = await tempDir();
  const path = await writeSnapshotFile(dir, snapshot(5, 1, 'x'.repeat(100)), { log });
  const bytes = await readFile(path);
  await writeFile(path, bytes.subarray(0, bytes.length - 10));
  await t.throwsAsync(loadNewestSnapshot(dir, { log }), { instanceOf: SnapshotCorruptError, message: /length fields/ });
});

test('crash before the rename: the old snapshot stays current and the temp file is cleaned up', async (t) => {
  const dir = await tempDir();
  const crashPoints = new ArmedCrashPoints();
  await writeSnapshotFile(dir, snapshot(10, 1), { log, crashPoints });
  crashPoints.arm('snapshot.before-rename');
  await t.throwsAsync(writeSnapshotFile(dir, snapshot(20, 1), { log, crashPoints }), { instanceOf: CrashPointError });
  t.true((await readdir(dir)).some((name) => name.endsWith('.tmp')));
  const loaded = await loadNewestSnapshot(dir, { log });
  t.is(loaded?.snapshot.meta.index, 10);
  t.false((await readdir(dir)).some((name) => name.endsWith('.tmp')));
});

test('crash after the rename: the new snapshot is current', async (t) => {
  const dir = await tempDir();
  const crashPoints = new ArmedCrashPoints();
  await writeSnapshotFile(dir, snapshot(10, 1), { log, crashPoints });
  crashPoints.arm('snapshot.after-rename');
  await t.throwsAsync(writeSnapshotFile(dir, snapshot(20, 1), { log, crashPoints }), { instanceOf: CrashPointError });
  t.is((await loadNewestSnapshot(dir, { log }))?.snapshot.meta.index, 20);
});

test('durable storage: state survives reopen, and a snapshot releases old segments', async (t) => {
  const dir = await tempDir();
  const first = await DurableStorage.open(dir, { log, maxSegmentBytes: 300 });
  t.deepEqual(first.state.hardState, { term: 0, vote: 0, commit: 0 });
  for (let index = 1; index <= 40; index++) await first.storage.persist([entry(index, 2)], { term: 2, vote: 1, commit: index });
  const segmentsBefore = first.storage.stats().segments;
  await first.storage.saveSnapshot(snapshot(30, 2));
  t.true(first.storage.stats().segments < segmentsBefore);
  await first.storage.close();
  const second = await DurableStorage.open(dir, { log });
  t.deepEqual(second.state.snapshot, snapshot(30, 2));
  t.deepEqual(second.state.entries.map((e) => e.index), [31, 32, 33, 34, 35, 36, 37, 38, 39, 40]);
  t.deepEqual(second.state.hardState, { term: 2, vote: 1, commit: 40 });
  await second.storage.close();
});

test('durable storage: a crash between the snapshot file and its WAL marker still opens consistently', async (t) => {
  const dir = await tempDir();
  const first = await DurableStorage.open(dir, { log });
  for (let index = 1; index <= 10; index++) await first.storage.persist([entry(index, 1)]);
  await first.storage.close();
  // The snapshot file landed but the WAL marker did not.
  await writeSnapshotFile(join(dir, 'snap'), snapshot(6, 1), { log });
  const second = await DurableStorage.open(dir, { log });
  t.deepEqual(second.state.entries.map((e) => e.index), [7, 8, 9, 10]);
  t.is(second.state.hardState.commit, 6);
  await second.storage.close();
});

test('durable storage: a WAL marker newer than every readable snapshot file refuses to open', async (t) => {
  const dir = await tempDir();
  const first = await DurableStorage.open(dir, { log });
  for (let index = 1; index <= 10; index++) await first.storage.persist([entry(index, 1)]);
  await first.storage.saveSnapshot(snapshot(8, 1));
  await first.storage.close();
  await rm(join(dir, 'snap', snapshotFileName(8, 1)));
  await t.throwsAsync(DurableStorage.open(dir, { log }), { instanceOf: SnapshotBehindWalError });
});

test('durable storage: the recovered state rebuilds the in-memory log the core reads', async (t) => {
  const dir = await tempDir();
  const first = await DurableStorage.open(dir, { log });
  for (let index = 1; index <= 12; index++) await first.storage.persist([entry(index, 1)], { term: 1, vote: 2, commit: index });
  await first.storage.saveSnapshot(snapshot(9, 1));
  await first.storage.close();
  const second = await DurableStorage.open(dir, { log });
  const memory = restoreMemoryLogStorage(second.state, { voters: [1], learners: [], votersOutgoing: [], learnersNext: [] });
  t.is(memory.firstIndex(), 10);
  t.is(memory.lastIndex(), 12);
  t.is(memory.term(9), 1);
  t.deepEqual(memory.initialState(), { hardState: { term: 1, vote: 2, commit: 12 }, conf });
  t.deepEqual(memory.snapshot(), snapshot(9, 1));
  await second.storage.close();
});
