// Per-line log times: the recorder notes when lines complete (and resumes after a restart), the index
// survives torn or garbage entries, and stamping drops old lines, prefixes RFC 3339 times and keeps a
// follow on whole lines.

import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import fc from 'fast-check';
import { LogLineRecorder, logTimestamp, readLineTimes, stampLines, timeOfLine, timesPathOf } from '../../src/node-agent/log-times.js';
import { LOG_READ_MAX_BYTES, readLogFile } from '../../src/node-agent/logs.js';

const text = (data: Uint8Array): string => new TextDecoder().decode(data);
const bytes = (value: string): Uint8Array => new TextEncoder().encode(value);

test('the recorder times each line when it completes, never a line still being written, and resumes after a restart', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-log-times-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, '0.log');
  const recorder = new LogLineRecorder(log);
  recorder.observe(1_000); // no file yet: nothing
  writeFileSync(log, 'one\ntw');
  recorder.observe(2_000);
  appendFileSync(log, 'o\nthree\n');
  recorder.observe(3_000);
  t.deepEqual(readLineTimes(timesPathOf(log)), { ends: [3, 7, 13], times: [2_000, 3_000, 3_000] });
  // A new agent resumes after the last recorded line.
  appendFileSync(log, 'four\n');
  new LogLineRecorder(log).observe(4_000);
  t.deepEqual(readLineTimes(timesPathOf(log)).times, [2_000, 3_000, 3_000, 4_000]);
  // Torn and garbage entries are skipped.
  appendFileSync(timesPathOf(log), 'garbage\n5 9\n40');
  t.deepEqual(readLineTimes(timesPathOf(log)).ends, [3, 7, 13, 18]);
  t.is(timeOfLine(readLineTimes(timesPathOf(log)), 7), 3_000);
  t.is(timeOfLine(readLineTimes(timesPathOf(log)), 8), undefined);
});

test('stamping: RFC 3339 with nanoseconds, since drops older lines, a partial line waits unless final', (t) => {
  const times = { ends: [1, 3], times: [Date.parse('2026-11-30T05:00:00.123Z'), Date.parse('2026-11-30T05:00:01Z')] };
  const now = Date.parse('2026-11-30T05:00:02Z');
  t.is(logTimestamp(times.times[0] ?? 0), '2026-11-30T05:00:00.123000000Z');
  const stamped = stampLines(bytes('a\nb\nc'), 0, times, now, { timestamps: true }, false);
  t.is(text(stamped.data), '2026-11-30T05:00:00.123000000Z a\n2026-11-30T05:00:01.000000000Z b\n');
  t.is(stamped.consumed, 4, 'the partial line "c" is left for the next read');
  const final = stampLines(bytes('a\nb\nc'), 0, times, now, { timestamps: false, sinceMs: times.times[1] ?? 0 }, true);
  t.is(text(final.data), 'b\nc', 'since keeps b (at the bound) and the unrecorded c (stamped now)');
  t.is(final.consumed, 5);
  // Offsets are the file's: a read starting mid-file finds its lines' times.
  t.is(text(stampLines(bytes('b\n'), 2, times, now, { timestamps: true }, false).data), '2026-11-30T05:00:01.000000000Z b\n');
});

test('generated: stamping without a since keeps every complete line, in order, and consumes whole lines', (t) => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z ]{0,8}$/), { maxLength: 12 }), fc.boolean(), (lines, final) => {
      const raw = lines.join('\n');
      const stamped = stampLines(bytes(raw), 0, { ends: [], times: [] }, 0, { timestamps: true }, final);
      const out = text(stamped.data).split('\n').filter((line, index, all) => index < all.length - 1 || line !== '');
      // Complete lines, and with `final` the unfinished last one too (an empty last piece is no line).
      const complete = final ? raw.split('\n').filter((line, index, all) => index < all.length - 1 || line !== '') : raw.split('\n').slice(0, -1);
      return out.length === complete.length && out.every((line, index) => line === `1970-01-01T00:00:00.000000000Z ${complete[index] ?? ''}`) && stamped.consumed <= raw.length;
    }),
    { seed: 9, numRuns: 300 },
  );
  t.pass();
});

test('a line longer than a whole read or scan never stalls a follow or the recorder', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kplane-log-times-long-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, '0.log');
  const long = 'x'.repeat(LOG_READ_MAX_BYTES + 10);
  writeFileSync(log, `${long}\nshort\n`);
  const request = { namespace: 'ns', pod: 'p', previous: false, timestamps: true, offset: 0 };
  const first = readLogFile(log, request, false, 1_000);
  t.is(first.nextOffset, LOG_READ_MAX_BYTES, 'the first piece of the long line goes out');
  const second = readLogFile(log, { ...request, offset: first.nextOffset }, false, 2_000);
  t.is(second.nextOffset, long.length + 'short'.length + 2);
  t.regex(text(second.data), /Z x{10}\n.*Z short\n$/s);
  // The recorder skips over a line longer than its scan and records the lines after it.
  const recorder = new LogLineRecorder(log);
  for (let look = 0; look < 3; look++) recorder.observe(3_000 + look);
  t.deepEqual(readLineTimes(timesPathOf(log)).ends, [long.length, long.length + 6]);
});
