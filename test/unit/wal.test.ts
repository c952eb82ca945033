// The WAL: round trips across reopen, group commit, unsynced appends, torn tails (truncated and reported), mid-log
// corruption (refused, naming file and offset), segment rollover and release, the conflicting-suffix
// and snapshot-marker replay rules, and named crash points.
import test from 'ava';
import fc from 'fast-check';
import { appendFile, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ArmedCrashPoints } from '../../src/raft/crash-points.js';
import { CrashPointError, WalClosedError, WalCorruptError } from '../../src/raft/storage-errors.js';
import type { Entry, HardState, SnapshotMeta } from '../../src/raft/types.js';
import { Wal } from '../../src/raft/wal.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kplane-wal-'));
  dirs.push(dir);
  return dir;
}

test.after.always(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function entry(index: number, term: number, text = `entry-${index}`): Entry {
  return { index, term, type: 0, data: new TextEncoder().encode(text) };
}

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let index = from; index <= to; index++) out.push(entry(index, term));
  return out;
}

function summary(list: readonly Entry[]): string[] {
  return list.map((e) => `${e.index}/${e.term}/${new TextDecoder().decode(e.data)}`);
}

const conf = { voters: [1, 2, 3], learners: [4], votersOutgoing: [], learnersNext: [] };

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.wal')).sort();
}

/** Start offsets of every record in a segment (by walking the length fields). */
function recordStarts(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const starts: number[] = [];
  for (let at = 0; at + 12 <= bytes.length; at += 12 + view.getUint32(at, true)) starts.push(at);
  return starts;
}

test('entries and hard state round trip across reopen', async (t) => {
  const dir = await tempDir();
  const first = await Wal.open(dir, { log });
  t.deepEqual(first.recovered.entries, []);
  t.is(first.recovered.hardState, undefined);
  const hardState: HardState = { term: 3, vote: 2, commit: 7 };
  await first.wal.append(entries(1, 5, 1));
  await first.wal.append([entry(6, 3, ''), { index: 7, term: 3, type: 1, data: new Uint8Array([0, 255, 7]) }], hardState);
  await first.wal.close();
  const second = await Wal.open(dir, { log });
  t.deepEqual(second.recovered.hardState, hardState);
  t.deepEqual(second.recovered.entries, [...entries(1, 5, 1), entry(6, 3, ''), { index: 7, term: 3, type: 1, data: new Uint8Array([0, 255, 7]) }]);
  t.is(second.recovered.tornTailTruncated, undefined);
  // Appends continue the same chain after reopen.
  await second.wal.append([entry(8, 3)]);
  await second.wal.close();
  const third = await Wal.open(dir, { log });
  t.is(third.recovered.entries.length, 8);
  await third.wal.close();
});

test('group commit: concurrent appends all resolve and share fewer fsyncs than appends', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log });
  const appends = 300;
  const done: Promise<void>[] = [];
  for (let index = 1; index <= appends; index++) {
    done.push(wal.append([entry(index, 1)], { term: 1, vote: 1, commit: Math.max(0, index - 1) }));
  }
  await Promise.all(done);
  const stats = wal.stats();
  t.is(stats.appends, appends);
  t.true(stats.fsyncs < appends, `fsyncs ${stats.fsyncs} should be fewer than appends ${appends}`);
  t.true(stats.fsyncs >= 1);
  await wal.close();
  const { wal: reopened, recovered } = await Wal.open(dir, { log });
  t.is(recovered.entries.length, appends);
  t.deepEqual(recovered.hardState, { term: 1, vote: 1, commit: appends - 1 });
  await reopened.close();
});

test('an unsynced append (a commit-only hard state) is written without an fsync, synced by the next append or a segment change', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log, maxSegmentBytes: 400 });
  await wal.append(entries(1, 3, 1), { term: 1, vote: 1, commit: 0 });
  const fsyncsBefore = wal.stats().fsyncs;
  await wal.append([], { term: 1, vote: 1, commit: 3 }, { sync: false });
  t.is(wal.stats().fsyncs, fsyncsBefore, 'a commit-only hard state costs no fsync');
  await wal.append([entry(4, 1)]);
  t.is(wal.stats().fsyncs, fsyncsBefore + 1);
  // An unsynced tail is synced before a new segment chains from it.
  let index = 5;
  const segmentsBefore = wal.stats().segments;
  while (wal.stats().segments === segmentsBefore) {
    const fsyncs = wal.stats().fsyncs;
    await wal.append([], { term: 1, vote: 1, commit: index - 1 }, { sync: false });
    await wal.append([entry(index, 1)]);
    if (wal.stats().segments === segmentsBefore) t.is(wal.stats().fsyncs, fsyncs + 1);
    else t.true(wal.stats().fsyncs >= fsyncs + 3, 'the new segment and its directory are synced, then the batch');
    index++;
  }
  await wal.append([], { term: 1, vote: 1, commit: index - 1 }, { sync: false });
  await wal.close();
  const { wal: reopened, recovered } = await Wal.open(dir, { log });
  t.deepEqual(summary(recovered.entries), summary(entries(1, index - 1, 1)));
  t.deepEqual(recovered.hardState, { term: 1, vote: 1, commit: index - 1 }, 'close syncs the last unsynced hard state');
  t.is(recovered.tornTailTruncated, undefined);
  await reopened.close();
});

/** A one-segment WAL with `count` entries written one append each (each with a hard state). */
async function buildWal(count: number): Promise<{ dir: string; file: string; bytes: Uint8Array }> {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log });
  for (let index = 1; index <= count; index++) await wal.append([entry(index, 1, 'x'.repeat(index % 7))], { term: 1, vote: 0, commit: index - 1 });
  await wal.close();
  const [name] = await segmentFiles(dir);
  const file = join(dir, name as string);
  return { dir, file, bytes: new Uint8Array(await readFile(file)) };
}

test('a torn tail of any length is truncated, reported, and keeps every complete record', async (t) => {
  const { bytes } = await buildWal(12);
  const starts = recordStarts(bytes);
  const headerEnd = starts[1] as number;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: bytes.length - headerEnd }), async (cut) => {
      const dir = await tempDir();
      const name = '0000000000000001-0000000000000001.wal';
      const kept = bytes.length - cut;
      await writeFile(join(dir, name), bytes.subarray(0, kept));
      const { wal, recovered } = await Wal.open(dir, { log });
      // Records wholly before the cut survive: entries are records 1,3,5,... (entry then hard state).
      const completeRecords = starts.filter((start, i) => (starts[i + 1] ?? bytes.length) <= kept && start >= headerEnd).length;
      const expectedEntries = Math.ceil(completeRecords / 2);
      const onBoundary = starts.includes(kept) || kept === bytes.length;
      const ok =
        recovered.entries.length === expectedEntries &&
        recovered.entries.every((e, i) => e.index === i + 1) &&
        (onBoundary ? recovered.tornTailTruncated === undefined : recovered.tornTailTruncated?.offset === Math.max(...starts.filter((s) => s <= kept)));
      // The WAL stays usable: append after truncation and reopen.
      await wal.append([entry(expectedEntries + 1, 2)]);
      await wal.close();
      const again = await Wal.open(dir, { log });
      await again.wal.close();
      return ok && again.recovered.entries.length === expectedEntries + 1 && again.recovered.tornTailTruncated === undefined;
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test('a zero-filled tail (as after a crash with the file size extended) is truncated', async (t) => {
  const { dir, file } = await buildWal(5);
  await appendFile(file, new Uint8Array(4096));
  const { wal, recovered } = await Wal.open(dir, { log });
  t.is(recovered.entries.length, 5);
  t.is(recovered.tornTailTruncated?.bytes, 4096);
  await wal.close();
});

test('a flipped byte in any record but the last is WAL_CORRUPT naming the file and record offset', async (t) => {
  const { bytes } = await buildWal(8);
  const starts = recordStarts(bytes);
  const lastStart = starts[starts.length - 1] as number;
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: lastStart - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
      const dir = await tempDir();
      const name = '0000000000000001-0000000000000001.wal';
      const damaged = bytes.slice();
      damaged[at] = (damaged[at] as number) ^ xor;
      await writeFile(join(dir, name), damaged);
      const error = await t.throwsAsync(Wal.open(dir, { log }), { instanceOf: WalCorruptError });
      const recordStart = Math.max(...starts.filter((s) => s <= at));
      return (
        error !== undefined &&
        error.code === 'WAL_CORRUPT' &&
        error.retryable === false &&
        error.offset === recordStart &&
        error.message.includes(join(dir, name)) &&
        error.message.includes(`offset ${recordStart}`)
      );
    }),
    { numRuns: 60 },
  );
});

test('damage at the end of a segment that is not the last one is corruption, not a torn tail', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log, maxSegmentBytes: 300 });
  for (let index = 1; index <= 30; index++) await wal.append([entry(index, 1)]);
  await wal.close();
  const files = await segmentFiles(dir);
  t.true(files.length >= 3);
  const firstFile = join(dir, files[0] as string);
  const size = (await readFile(firstFile)).length;
  await truncate(firstFile, size - 3);
  const error = await t.throwsAsync(Wal.open(dir, { log }), { instanceOf: WalCorruptError });
  t.is(error?.file, firstFile);
});

test('a missing middle segment is corruption', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log, maxSegmentBytes: 300 });
  for (let index = 1; index <= 30; index++) await wal.append([entry(index, 1)]);
  await wal.close();
  const files = await segmentFiles(dir);
  await rm(join(dir, files[1] as string));
  await t.throwsAsync(Wal.open(dir, { log }), { instanceOf: WalCorruptError, message: /segment is missing/ });
});

test('segments roll over at the size bound; releaseTo drops only segments wholly below a durable snapshot', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log, maxSegmentBytes: 400 });
  // The hard state is written once, at the start: it must survive its segment's removal.
  await wal.append(entries(1, 1, 1), { term: 1, vote: 3, commit: 1 });
  for (let index = 2; index <= 100; index++) await wal.append([entry(index, 1)]);
  const before = await segmentFiles(dir);
  t.true(before.length > 5, `expected several segments, got ${before.length}`);
  t.is(wal.stats().segments, before.length);
  await t.throwsAsync(wal.releaseTo(60), { message: /without a durable snapshot marker/ });
  const meta: SnapshotMeta = { index: 60, term: 1, conf };
  await wal.saveSnapshotMarker(meta);
  const removed = await wal.releaseTo(60);
  t.true(removed > 0);
  const after = await segmentFiles(dir);
  t.is(after.length, before.length - removed);
  // Every removed segment started at or below 60 and the first kept one starts at or below 61.
  const firstKept = Number.parseInt((after[0] as string).split('-')[1] as string, 16);
  t.true(firstKept <= 61);
  await wal.close();
  const { wal: reopened, recovered } = await Wal.open(dir, { log });
  t.deepEqual(recovered.snapshotMarker, meta);
  t.deepEqual(summary(recovered.entries), summary(entries(61, 100, 1)));
  t.deepEqual(recovered.hardState, { term: 1, vote: 3, commit: 1 });
  await reopened.close();
});

test('rewriting an index replaces it and drops the later suffix (also across segments)', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log, maxSegmentBytes: 250 });
  await wal.append(entries(1, 10, 1));
  await wal.append(entries(6, 8, 2));
  for (let index = 9; index <= 12; index++) await wal.append([entry(index, 2)]);
  await wal.append([entry(11, 3, 'again')]);
  await wal.close();
  const { wal: reopened, recovered } = await Wal.open(dir, { log });
  t.deepEqual(summary(recovered.entries), summary([...entries(1, 5, 1), ...entries(6, 10, 2), entry(11, 3, 'again')]));
  t.true((await segmentFiles(dir)).length > 1);
  await reopened.close();
});

test('an entry below the first kept index restarts the log; a gap is corruption', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log });
  await wal.append(entries(1, 3, 1));
  await wal.append([entry(5, 1)]);
  await wal.close();
  await t.throwsAsync(Wal.open(dir, { log }), { instanceOf: WalCorruptError, message: /gap/ });
});

test('a snapshot marker keeps the suffix only when the log holds its index and term', async (t) => {
  const cases: { marker: SnapshotMeta; expected: Entry[] }[] = [
    { marker: { index: 5, term: 1, conf }, expected: entries(6, 10, 1) },
    { marker: { index: 5, term: 9, conf }, expected: [] },
    { marker: { index: 20, term: 4, conf }, expected: [] },
    { marker: { index: 10, term: 1, conf }, expected: [] },
  ];
  for (const { marker, expected } of cases) {
    const dir = await tempDir();
    const { wal } = await Wal.open(dir, { log });
    await wal.append(entries(1, 10, 1));
    await wal.saveSnapshotMarker(marker);
    await wal.close();
    const reopened = await Wal.open(dir, { log });
    t.deepEqual(summary(reopened.recovered.entries), summary(expected), `marker ${marker.index}/${marker.term}`);
    t.deepEqual(reopened.recovered.snapshotMarker, marker);
    // Entries appended after the marker follow it.
    await reopened.wal.append([entry(marker.index + (expected.length > 0 ? expected.length : 0) + 1, 9)]);
    await reopened.wal.close();
    const again = await Wal.open(dir, { log });
    t.is(again.recovered.entries.length, expected.length + 1);
    await again.wal.close();
  }
});

test('crash after write, before sync: acknowledged appends survive, the WAL refuses further writes', async (t) => {
  const dir = await tempDir();
  const crashPoints = new ArmedCrashPoints();
  const { wal } = await Wal.open(dir, { log, crashPoints });
  await wal.append(entries(1, 5, 1), { term: 1, vote: 1, commit: 4 });
  const [name] = await segmentFiles(dir);
  const acknowledgedBytes = (await readFile(join(dir, name as string))).length;
  crashPoints.arm('wal.after-write-before-sync');
  await t.throwsAsync(wal.append(entries(6, 9, 1), { term: 1, vote: 1, commit: 5 }), { instanceOf: CrashPointError });
  await t.throwsAsync(wal.append([entry(10, 1)]), { instanceOf: CrashPointError });
  await wal.close();
  // The machine lost part of the unsynced write: keep only some of its bytes.
  const file = join(dir, name as string);
  const written = (await readFile(file)).length;
  await truncate(file, acknowledgedBytes + Math.floor((written - acknowledgedBytes) / 2));
  const { wal: reopened, recovered } = await Wal.open(dir, { log });
  t.true(recovered.entries.length >= 5);
  t.deepEqual(summary(recovered.entries.slice(0, 5)), summary(entries(1, 5, 1)));
  t.not(recovered.tornTailTruncated, undefined);
  await reopened.close();
});

test('crash after sync: the synced append is on disk even though its caller never heard back', async (t) => {
  const dir = await tempDir();
  const crashPoints = new ArmedCrashPoints();
  const { wal } = await Wal.open(dir, { log, crashPoints });
  await wal.append(entries(1, 2, 1));
  crashPoints.arm('wal.after-sync');
  await t.throwsAsync(wal.append(entries(3, 4, 1)), { instanceOf: CrashPointError });
  await wal.close();
  const { wal: reopened, recovered } = await Wal.open(dir, { log });
  t.deepEqual(summary(recovered.entries), summary(entries(1, 4, 1)));
  await reopened.close();
});

test('crash right after a new segment is created: reopen continues in it', async (t) => {
  const dir = await tempDir();
  const crashPoints = new ArmedCrashPoints();
  const { wal } = await Wal.open(dir, { log, crashPoints, maxSegmentBytes: 200 });
  crashPoints.arm('wal.after-segment-create');
  let acknowledged = 0;
  try {
    for (let index = 1; index <= 20; index++) {
      await wal.append([entry(index, 1)], { term: 1, vote: 2, commit: index });
      acknowledged = index;
    }
  } catch (error) {
    t.true(error instanceof CrashPointError);
  }
  await wal.close();
  t.true(acknowledged > 0 && acknowledged < 20);
  const { wal: reopened, recovered } = await Wal.open(dir, { log, maxSegmentBytes: 200 });
  t.is(recovered.entries.length, acknowledged);
  t.deepEqual(recovered.hardState, { term: 1, vote: 2, commit: acknowledged });
  await reopened.append([entry(acknowledged + 1, 1)]);
  await reopened.close();
  const again = await Wal.open(dir, { log });
  t.is(again.recovered.entries.length, acknowledged + 1);
  await again.wal.close();
});

test('crash before removing released segments leaves a readable log', async (t) => {
  const dir = await tempDir();
  const crashPoints = new ArmedCrashPoints();
  const { wal } = await Wal.open(dir, { log, crashPoints, maxSegmentBytes: 300 });
  for (let index = 1; index <= 30; index++) await wal.append([entry(index, 1)]);
  await wal.saveSnapshotMarker({ index: 20, term: 1, conf });
  crashPoints.arm('wal.before-segment-remove');
  await t.throwsAsync(wal.releaseTo(20), { instanceOf: CrashPointError });
  await wal.close();
  const { wal: reopened, recovered } = await Wal.open(dir, { log });
  t.deepEqual(summary(recovered.entries), summary(entries(21, 30, 1)));
  await reopened.close();
});

test('append after close is refused', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log });
  await wal.close();
  await t.throwsAsync(wal.append([entry(1, 1)]), { instanceOf: WalClosedError });
});

test('an empty last segment (crash right after creating it) is removed; an empty earlier one is corruption', async (t) => {
  const dir = await tempDir();
  const { wal } = await Wal.open(dir, { log });
  await wal.append(entries(1, 3, 1));
  await wal.close();
  await writeFile(join(dir, '0000000000000002-0000000000000004.wal'), new Uint8Array(0));
  const reopened = await Wal.open(dir, { log });
  t.is(reopened.recovered.entries.length, 3);
  t.is(reopened.recovered.tornTailTruncated?.bytes, 0);
  await reopened.wal.append([entry(4, 1)]);
  await reopened.wal.close();
  t.deepEqual(await segmentFiles(dir), ['0000000000000001-0000000000000001.wal', '0000000000000002-0000000000000004.wal']);
  t.is((await Wal.open(dir, { log }).then(async (r) => (await r.wal.close(), r.recovered.entries.length))), 4);
  // Now make the first segment empty: it is not the last one.
  await writeFile(join(dir, '0000000000000001-0000000000000001.wal'), new Uint8Array(0));
  await t.throwsAsync(Wal.open(dir, { log }), { instanceOf: WalCorruptError, message: /no header record/ });
});

test('generated append/overwrite/reopen sequences recover exactly the log the in-memory model holds', async (t) => {
  // Model: the log a Raft follower keeps (append truncates the conflicting suffix), as plain arrays.
  const operation = fc.record({ back: fc.nat({ max: 6 }), count: fc.integer({ min: 1, max: 5 }), newTerm: fc.boolean(), reopen: fc.boolean() });
  await fc.assert(
    fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 15 }), async (operations) => {
      const dir = await tempDir();
      let { wal } = await Wal.open(dir, { log, maxSegmentBytes: 256 });
      let model: Entry[] = [];
      let term = 1;
      for (const { back, count, newTerm, reopen } of operations) {
        const from = Math.max(1, model.length + 1 - back);
        if (newTerm || from <= model.length) term++;
        const batch = entries(from, from + count - 1, term);
        model = [...model.slice(0, from - 1), ...batch];
        await wal.append(batch, { term, vote: 1, commit: 0 });
        if (reopen) {
          await wal.close();
          const reopened = await Wal.open(dir, { log, maxSegmentBytes: 256 });
          wal = reopened.wal;
          if (summary(reopened.recovered.entries).join() !== summary(model).join()) return false;
        }
      }
      await wal.close();
      const { wal: last, recovered } = await Wal.open(dir, { log });
      await last.close();
      return summary(recovered.entries).join() === summary(model).join() && recovered.hardState?.term === term;
    }),
    { numRuns: 40 },
  );
  t.pass();
});
