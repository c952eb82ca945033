// CronJob schedules: examples (steps, names, weekday 7, the day-of-month/day-of-week OR rule, macros,
// time zones across daylight-saving changes, refused schedules and zones) and fast-check properties over
// generated schedules, checked against a matcher written here from the generated structure: next(t) > t,
// next(t) matches, and no matching minute lies between t and next(t).

import test from 'ava';
import fc from 'fast-check';
import { latestScheduleBetween, MINUTE_MS, nextScheduleAfter, parseSchedule, scheduledTimesBetween, scheduleError, scheduleMatches, timeZoneError } from '../../src/controllers/cron-schedule.js';

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());
const next = (schedule: string, after: string, timeZone?: string): string | undefined => iso(nextScheduleAfter(parseSchedule(schedule), at(after), timeZone));

test('steps, lists, ranges and names', (t) => {
  t.is(next('*/15 * * * *', '2025-01-01T10:07:30Z'), '2025-01-01T10:15:00.000Z');
  t.is(next('*/15 * * * *', '2025-01-01T10:45:00Z'), '2025-01-01T11:00:00.000Z', 'strictly after');
  t.is(next('5,35 * * * *', '2025-01-01T10:06:00Z'), '2025-01-01T10:35:00.000Z');
  t.is(next('1-10/3 * * * *', '2025-01-01T10:05:00Z'), '2025-01-01T10:07:00.000Z');
  t.is(next('50/5 * * * *', '2025-01-01T10:56:00Z'), '2025-01-01T11:50:00.000Z', 'N/step means N-max/step');
  t.is(next('0 9 * * MON-FRI', '2025-01-03T10:00:00Z'), '2025-01-06T09:00:00.000Z', 'Friday after 9 → Monday');
  t.is(next('0 0 1 jun,Dec ?', '2025-01-01T00:00:00Z'), '2025-06-01T00:00:00.000Z');
  t.is(next('0 0 * * 7', '2025-01-01T00:00:00Z'), '2025-01-05T00:00:00.000Z', '7 is Sunday');
  t.is(next('0 0 * * 5-7', '2025-01-04T12:00:00Z'), '2025-01-05T00:00:00.000Z', 'a range through 7');
  t.is(next('0 0 29 2 *', '2025-01-01T00:00:00Z'), '2028-02-29T00:00:00.000Z');
  t.is(next('0 0 30 2 *', '2025-01-01T00:00:00Z'), undefined, 'never');
});

test('day of month and day of week: either when both are restricted, both when one is *', (t) => {
  // 2025-06-13 is a Friday; 2025-06-06 is a Friday before it.
  t.is(next('0 0 13 * 5', '2025-06-01T00:00:00Z'), '2025-06-06T00:00:00.000Z', 'OR: the first Friday');
  t.is(next('0 0 13 * *', '2025-06-01T00:00:00Z'), '2025-06-13T00:00:00.000Z');
  t.is(next('0 0 * * 5', '2025-06-07T00:00:00Z'), '2025-06-13T00:00:00.000Z');
  t.is(next('0 0 */1 * 5', '2025-06-01T00:00:00Z'), '2025-06-06T00:00:00.000Z', '*/1 is unrestricted: AND');
  t.is(next('0 0 */2 * 1', '2025-06-01T00:00:00Z'), '2025-06-02T00:00:00.000Z', '*/2 is a restriction: OR (Monday 2nd)');
  t.is(next('0 0 */2 * 1', '2025-06-02T00:00:00Z'), '2025-06-03T00:00:00.000Z', 'OR: the 3rd is odd');
});

test('macros', (t) => {
  t.is(next('@yearly', '2025-03-01T00:00:00Z'), '2026-01-01T00:00:00.000Z');
  t.is(next('@annually', '2025-03-01T00:00:00Z'), '2026-01-01T00:00:00.000Z');
  t.is(next('@monthly', '2025-03-01T00:00:00Z'), '2025-04-01T00:00:00.000Z');
  t.is(next('@weekly', '2025-03-01T00:00:00Z'), '2025-03-02T00:00:00.000Z');
  t.is(next('@daily', '2025-03-01T00:00:00Z'), '2025-03-02T00:00:00.000Z');
  t.is(next('@midnight', '2025-03-01T10:00:00Z'), '2025-03-02T00:00:00.000Z');
  t.is(next('@hourly', '2025-03-01T10:00:00Z'), '2025-03-01T11:00:00.000Z');
});

test('refused schedules say why', (t) => {
  t.regex(scheduleError('* * * *') ?? '', /expected exactly 5 fields, found 4/);
  t.regex(scheduleError('* * * * * *') ?? '', /expected exactly 5 fields, found 6/);
  t.regex(scheduleError('60 * * * *') ?? '', /minute range \(60\) above maximum \(59\)/);
  t.regex(scheduleError('* * 0 * *') ?? '', /day of month range \(0\) below minimum \(1\)/);
  t.regex(scheduleError('5-1 * * * *') ?? '', /beyond end of range/);
  t.regex(scheduleError('*/0 * * * *') ?? '', /should be a positive number/);
  t.regex(scheduleError('* * * FOO *') ?? '', /failed to parse month "FOO"/);
  t.regex(scheduleError('1,,2 * * * *') ?? '', /empty item/);
  t.regex(scheduleError('@every 5m') ?? '', /unrecognized descriptor/);
  t.is(scheduleError('TZ=UTC 0 * * * *'), 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  t.is(scheduleError('CRON_TZ=Europe/Paris 0 * * * *'), 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  t.regex(scheduleError('') ?? '', /empty/);
  t.is(scheduleError(' 0  9 * * mon '), undefined, 'extra spaces are fine');
});

test('time zones: wall-clock time, a skipped hour never runs, a repeated one runs twice', (t) => {
  t.is(next('0 9 * * *', '2025-01-10T00:00:00Z', 'America/New_York'), '2025-01-10T14:00:00.000Z', 'EST');
  t.is(next('0 9 * * *', '2025-07-10T00:00:00Z', 'America/New_York'), '2025-07-10T13:00:00.000Z', 'EDT');
  t.is(next('0 9 * * *', '2025-07-10T00:00:00Z', 'Asia/Kolkata'), '2025-07-10T03:30:00.000Z', 'half-hour offset');
  // 2025-03-09: 02:00 EST jumps to 03:00 EDT in New York: 02:30 does not exist that day.
  t.is(next('30 2 * * *', '2025-03-09T05:00:00Z', 'America/New_York'), '2025-03-10T06:30:00.000Z');
  // 2025-11-02: 02:00 EDT goes back to 01:00 EST: 01:30 happens twice.
  t.is(next('30 1 * * *', '2025-11-02T04:00:00Z', 'America/New_York'), '2025-11-02T05:30:00.000Z');
  t.is(next('30 1 * * *', '2025-11-02T05:30:00Z', 'America/New_York'), '2025-11-02T06:30:00.000Z');
  t.is(next('30 1 * * *', '2025-11-02T06:30:00Z', 'America/New_York'), '2025-11-03T06:30:00.000Z');
  t.is(next('0 0 * * *', '2025-01-01T12:00:00Z', 'UTC'), '2025-01-02T00:00:00.000Z');
  t.is(timeZoneError('Europe/Paris'), undefined);
  t.is(timeZoneError('Mars/Olympus_Mons'), 'unknown time zone Mars/Olympus_Mons');
  t.is(timeZoneError('../etc/passwd x'), 'unknown time zone ../etc/passwd x');
  t.regex(timeZoneError('Local') ?? '', /explicit time zone/);
});

test('scheduledTimesBetween lists the runs in a window, counting one past the limit', (t) => {
  const schedule = parseSchedule('*/10 * * * *');
  const runs = scheduledTimesBetween(schedule, at('2025-01-01T00:00:00Z'), at('2025-01-01T01:00:00Z'), 100);
  t.deepEqual(runs.map((run) => iso(run)), ['10', '20', '30', '40', '50'].map((minute) => `2025-01-01T00:${minute}:00.000Z`).concat('2025-01-01T01:00:00.000Z'));
  t.is(scheduledTimesBetween(schedule, at('2025-01-01T00:00:00Z'), at('2025-01-02T00:00:00Z'), 3).length, 4);
});

test('latestScheduleBetween finds the last run before a time, however far back the window starts', (t) => {
  const everyMinute = parseSchedule('* * * * *');
  t.is(iso(latestScheduleBetween(everyMinute, at('2020-01-01T00:00:00Z'), at('2025-01-01T10:07:30Z'))), '2025-01-01T10:07:00.000Z');
  t.is(iso(latestScheduleBetween(everyMinute, at('2025-01-01T10:07:00Z'), at('2025-01-01T10:07:30Z'))), undefined, 'the start is excluded');
  t.is(iso(latestScheduleBetween(parseSchedule('0 0 1 1 *'), at('2000-01-01T00:00:00Z'), at('2025-06-01T00:00:00Z'))), '2025-01-01T00:00:00.000Z');
  t.is(iso(latestScheduleBetween(parseSchedule('0 0 1 1 *'), at('2025-02-01T00:00:00Z'), at('2025-06-01T00:00:00Z'))), undefined);
  t.is(iso(latestScheduleBetween(parseSchedule('0 9 * * *'), at('2025-01-01T00:00:00Z'), at('2025-07-10T12:00:00Z'), 'America/New_York')), '2025-07-09T13:00:00.000Z', '08:00 EDT: yesterday 09:00');
});

// ---- properties against a reference matcher built from the generated structure --------------

interface GeneratedField {
  readonly text: string;
  readonly values: ReadonlySet<number>;
  readonly unrestricted: boolean;
}

function rangeValues(start: number, end: number, step: number): number[] {
  const values: number[] = [];
  for (let value = start; value <= end; value += step) values.push(value);
  return values;
}

function fieldArbitrary(min: number, max: number, names?: readonly string[]): fc.Arbitrary<GeneratedField> {
  const number = fc.integer({ min, max });
  const written = (value: number): fc.Arbitrary<string> => {
    const nameIndex = max === 12 ? value - 1 : value;
    const name = names?.[nameIndex];
    return name === undefined ? fc.constant(String(value)) : fc.constantFrom(String(value), name, name.toUpperCase());
  };
  const item: fc.Arbitrary<GeneratedField> = fc.oneof(
    fc.constant({ text: '*', values: new Set(rangeValues(min, Math.min(max, max === 7 ? 6 : max), 1)), unrestricted: true }),
    fc.integer({ min: 2, max: max - min + 1 }).map((step) => ({ text: `*/${step}`, values: new Set(rangeValues(min, max === 7 ? 6 : max, step)), unrestricted: false })),
    number.chain((value) => written(value).map((text) => ({ text, values: new Set([value]), unrestricted: false }))),
    fc
      .tuple(number, number, fc.integer({ min: 1, max: 5 }))
      .chain(([a, b, step]) =>
        fc.tuple(written(Math.min(a, b)), written(Math.max(a, b))).map(([low, high]) => ({
          text: `${low}-${high}${step === 1 ? '' : `/${step}`}`,
          values: new Set(rangeValues(Math.min(a, b), Math.max(a, b), step)),
          unrestricted: false,
        })),
      ),
  );
  return fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => ({
    text: items.map((entry) => entry.text).join(','),
    values: new Set(items.flatMap((entry) => [...entry.values])),
    unrestricted: items.some((entry) => entry.unrestricted),
  }));
}

interface GeneratedSchedule {
  readonly text: string;
  matches(fields: WallFields): boolean;
}

interface WallFields {
  readonly minute: number;
  readonly hour: number;
  readonly day: number;
  readonly month: number;
  readonly weekday: number;
}

const scheduleArbitrary: fc.Arbitrary<GeneratedSchedule> = fc
  .tuple(
    fieldArbitrary(0, 59),
    fieldArbitrary(0, 23),
    fieldArbitrary(1, 31),
    fieldArbitrary(1, 12, ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']),
    fieldArbitrary(0, 7, ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']),
  )
  .map(([minute, hour, day, month, weekday]) => ({
    text: [minute, hour, day, month, weekday].map((field) => field.text).join(' '),
    matches(fields: WallFields): boolean {
      const dayMatch = day.values.has(fields.day);
      const weekdayMatch = weekday.values.has(fields.weekday) || (fields.weekday === 0 && weekday.values.has(7));
      const days = day.unrestricted || weekday.unrestricted ? dayMatch && weekdayMatch : dayMatch || weekdayMatch;
      return minute.values.has(fields.minute) && hour.values.has(fields.hour) && month.values.has(fields.month) && days;
    },
  }));

const ZONES = [undefined, 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kolkata'] as const;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** Wall-clock fields of an instant, by Intl directly (independent of the module's arithmetic). */
const referenceFormatters = new Map<string, Intl.DateTimeFormat>();
function wallFields(instantMs: number, timeZone: string | undefined): WallFields {
  const zone = timeZone ?? 'UTC';
  let formatter = referenceFormatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', weekday: 'short' });
    referenceFormatters.set(zone, formatter);
  }
  const parts = formatter.formatToParts(new Date(instantMs));
  const part = (type: string): string => parts.find((entry) => entry.type === type)?.value ?? '';
  return { minute: Number(part('minute')), hour: Number(part('hour')), day: Number(part('day')), month: Number(part('month')), weekday: WEEKDAYS.indexOf(part('weekday')) };
}

const instantArbitrary = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2040, 0, 1) });
/** Minute-by-minute scans are done only over gaps this short. */
const SCAN_LIMIT_MS = 3 * 24 * 3_600_000;

test('property: next(t) is after t, on a whole minute, and matches the schedule', (t) => {
  fc.assert(
    fc.property(scheduleArbitrary, instantArbitrary, fc.constantFrom(...ZONES), (schedule, after, zone) => {
      const parsed = parseSchedule(schedule.text);
      const found = nextScheduleAfter(parsed, after, zone);
      if (found === undefined) return true; // e.g. only Feb 30; checked below for frequent schedules
      return found > after && found % MINUTE_MS === 0 && schedule.matches(wallFields(found, zone)) && scheduleMatches(parsed, found, zone);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('property: no matching minute is skipped between t and next(t)', (t) => {
  // Frequent schedules (every day of every month) so the gaps are short enough to scan.
  const frequent = scheduleArbitrary.filter((schedule) => schedule.text.split(' ').slice(2).every((field) => field === '*'));
  fc.assert(
    fc.property(frequent, instantArbitrary, fc.constantFrom(...ZONES), (schedule, after, zone) => {
      const found = nextScheduleAfter(parseSchedule(schedule.text), after, zone);
      if (found === undefined || found - after > SCAN_LIMIT_MS) return false;
      for (let minute = Math.floor(after / MINUTE_MS) * MINUTE_MS + MINUTE_MS; minute < found; minute += MINUTE_MS) {
        if (schedule.matches(wallFields(minute, zone))) return false;
      }
      return true;
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test('property: around daylight-saving changes, every matching minute is found in order', (t) => {
  // Scan two days around each 2025 change in New York and Lord Howe (a 30-minute change) minute by minute.
  const windows: [string, string][] = [
    ['America/New_York', '2025-03-08T12:00:00Z'],
    ['America/New_York', '2025-11-01T12:00:00Z'],
    ['Australia/Lord_Howe', '2025-04-05T00:00:00Z'],
    ['Australia/Lord_Howe', '2025-10-04T00:00:00Z'],
  ];
  const frequent = scheduleArbitrary.filter((schedule) => schedule.text.split(' ').slice(2).every((field) => field === '*'));
  fc.assert(
    fc.property(frequent, fc.constantFrom(...windows), (schedule, [zone, start]) => {
      const parsed = parseSchedule(schedule.text);
      const from = at(start);
      const until = from + 2 * 24 * 3_600_000;
      const expected: number[] = [];
      for (let minute = from + MINUTE_MS; minute <= until; minute += MINUTE_MS) if (schedule.matches(wallFields(minute, zone))) expected.push(minute);
      const actual = scheduledTimesBetween(parsed, from, until, 10_000, zone);
      return JSON.stringify(actual) === JSON.stringify(expected);
    }),
    { numRuns: 20 },
  );
  t.pass();
});
