// CronJob schedules: a parser for the standard 5-field cron syntax (minute hour day-of-month month
// day-of-week) and "the next scheduled time after t", in UTC or in an IANA time zone. Pure code: no clock.
//
// Syntax (what Kubernetes accepts through robfig/cron's standard parser): `*` and `?`, lists (`1,5`),
// ranges (`1-5`), steps (`*/15`, `1-10/2`, and `5/10` meaning `5-max/10`), month names JAN–DEC and weekday
// names SUN–SAT (any case), weekday 7 = Sunday, and the macros @yearly @annually @monthly @weekly @daily
// @midnight @hourly. When both day fields are restricted a day matches if either does (classic cron's
// OR rule); when either is `*` or `?` (not `*/n` with n > 1) both must match. `CRON_TZ=`/`TZ=` prefixes
// are refused as Kubernetes refuses them: the CronJob's `spec.timeZone` says the zone instead.
//
// Time zones: a scheduled time is an instant whose local wall-clock minute (computed with Intl) matches.
// A wall time that does not exist (the hour skipped when clocks go forward) never runs; one that exists
// twice (clocks going back) runs twice.

export const MINUTE_MS = 60_000;
/** How far ahead `nextScheduleAfter` looks before saying "never" (Feb 29 on a Monday needs up to 28 years). */
export const SEARCH_LIMIT_YEARS = 30;
/** Larger than any backward clock change (daylight saving is 1 h, 30 min on Lord Howe Island). */
const OFFSET_DROP_WINDOW_MS = 3 * 3_600_000;

export class CronScheduleError extends Error {
  readonly code = 'InvalidCronSchedule';
  override readonly name = 'CronScheduleError';
}

/** A parsed schedule: the allowed values of each field. */
export interface CronSchedule {
  readonly source: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  /** 1–12. */
  readonly months: ReadonlySet<number>;
  /** 0–6, Sunday = 0. */
  readonly daysOfWeek: ReadonlySet<number>;
  /** True when day-of-month or day-of-week is unrestricted (`*`, `?`): then both must match, else either. */
  readonly dayFieldsAnd: boolean;
}

interface FieldBounds {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const FIELDS: readonly FieldBounds[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  // 7 is Sunday as well; folded to 0 after parsing.
  { name: 'day of week', min: 0, max: 7, names: WEEKDAY_NAMES },
];

const MACROS: ReadonlyMap<string, string> = new Map([
  ['@yearly', '0 0 1 1 *'],
  ['@annually', '0 0 1 1 *'],
  ['@monthly', '0 0 1 * *'],
  ['@weekly', '0 0 * * 0'],
  ['@daily', '0 0 * * *'],
  ['@midnight', '0 0 * * *'],
  ['@hourly', '0 * * * *'],
]);

interface ParsedField {
  readonly values: Set<number>;
  /** The field was `*` or `?` (with no step above 1). */
  readonly unrestricted: boolean;
}

function parseNumber(text: string, bounds: FieldBounds): number {
  const nameIndex = bounds.names?.indexOf(text.toLowerCase()) ?? -1;
  if (nameIndex >= 0) return bounds.name === 'month' ? nameIndex + 1 : nameIndex;
  if (!/^\d+$/.test(text)) throw new CronScheduleError(`failed to parse ${bounds.name} "${text}": not a number${bounds.names === undefined ? '' : ' or a name'}`);
  return Number.parseInt(text, 10);
}

function parseRange(part: string, bounds: FieldBounds): ParsedField {
  const [rangeText = '', stepText, extra] = part.split('/');
  if (extra !== undefined) throw new CronScheduleError(`too many slashes in ${bounds.name} "${part}"`);
  const [lowText = '', highText, more] = rangeText.split('-');
  if (more !== undefined) throw new CronScheduleError(`too many hyphens in ${bounds.name} "${part}"`);
  let start: number;
  let end: number;
  let unrestricted = false;
  if (lowText === '*' || lowText === '?') {
    if (highText !== undefined) throw new CronScheduleError(`${bounds.name} "${part}": "${lowText}" cannot start a range`);
    start = bounds.min;
    end = bounds.name === 'day of week' ? 6 : bounds.max;
    unrestricted = true;
  } else {
    start = parseNumber(lowText, bounds);
    end = highText === undefined ? start : parseNumber(highText, bounds);
  }
  let step = 1;
  if (stepText !== undefined) {
    if (!/^\d+$/.test(stepText) || Number.parseInt(stepText, 10) <= 0) throw new CronScheduleError(`step of ${bounds.name} "${part}" should be a positive number`);
    step = Number.parseInt(stepText, 10);
    // "N/step" means "N-max/step".
    if (highText === undefined && !unrestricted) end = bounds.max;
    if (step > 1) unrestricted = false;
  }
  if (start < bounds.min) throw new CronScheduleError(`beginning of ${bounds.name} range (${start}) below minimum (${bounds.min}): "${part}"`);
  if (end > bounds.max) throw new CronScheduleError(`end of ${bounds.name} range (${end}) above maximum (${bounds.max}): "${part}"`);
  if (start > end) throw new CronScheduleError(`beginning of ${bounds.name} range (${start}) beyond end of range (${end}): "${part}"`);
  const values = new Set<number>();
  for (let value = start; value <= end; value += step) values.add(value);
  return { values, unrestricted };
}

function parseField(text: string, bounds: FieldBounds): ParsedField {
  const values = new Set<number>();
  let unrestricted = false;
  for (const part of text.split(',')) {
    if (part === '') throw new CronScheduleError(`empty item in ${bounds.name} "${text}"`);
    const parsed = parseRange(part, bounds);
    for (const value of parsed.values) values.add(value);
    unrestricted ||= parsed.unrestricted;
  }
  return { values, unrestricted };
}

/** Parses a schedule; throws CronScheduleError with a message fit for an API validation error. */
export function parseSchedule(source: string): CronSchedule {
  const trimmed = source.trim();
  if (trimmed === '') throw new CronScheduleError('empty spec string');
  if (/^(CRON_)?TZ=/.test(trimmed) || trimmed.includes('TZ')) throw new CronScheduleError('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
  let expression = trimmed;
  if (trimmed.startsWith('@')) {
    const macro = MACROS.get(trimmed.toLowerCase());
    if (macro === undefined) throw new CronScheduleError(`unrecognized descriptor: ${trimmed}`);
    expression = macro;
  }
  const texts = expression.split(/\s+/);
  if (texts.length !== FIELDS.length) throw new CronScheduleError(`expected exactly 5 fields, found ${texts.length}: [${texts.join(' ')}]`);
  const [minute, hour, dayOfMonth, month, dayOfWeek] = FIELDS.map((bounds, index) => parseField(texts[index] ?? '', bounds)) as [ParsedField, ParsedField, ParsedField, ParsedField, ParsedField];
  const daysOfWeek = new Set([...dayOfWeek.values].map((day) => day % 7));
  return {
    source,
    minutes: minute.values,
    hours: hour.values,
    daysOfMonth: dayOfMonth.values,
    months: month.values,
    daysOfWeek,
    dayFieldsAnd: dayOfMonth.unrestricted || dayOfWeek.unrestricted,
  };
}

// ---- time zones ---------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Why a `spec.timeZone` is refused, or undefined when it names an IANA zone. */
export function timeZoneError(timeZone: string): string | undefined {
  if (timeZone.toLowerCase() === 'local') return 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones';
  if (timeZone === '' || !/^[A-Za-z0-9_+\-/]+$/.test(timeZone)) return `unknown time zone ${timeZone}`;
  try {
    formatterFor(timeZone);
    return undefined;
  } catch {
    return `unknown time zone ${timeZone}`;
  }
}

const isUtc = (timeZone: string | undefined): boolean => timeZone === undefined || timeZone === 'UTC' || timeZone === 'Etc/UTC';

/** The zone's local wall-clock time at `instantMs`, written as if it were a UTC time (ms). */
export function wallTimeMs(instantMs: number, timeZone: string | undefined): number {
  if (isUtc(timeZone)) return instantMs;
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timeZone ?? 'UTC').formatToParts(new Date(instantMs))) parts[part.type] = part.value;
  const wall = new Date(0);
  wall.setUTCFullYear(Number(parts['year']), Number(parts['month']) - 1, Number(parts['day']));
  wall.setUTCHours(Number(parts['hour']), Number(parts['minute']), Number(parts['second']), new Date(instantMs).getUTCMilliseconds());
  return wall.getTime();
}

// ---- matching and "next" -----------------------------------------------------------------------

function dayMatches(schedule: CronSchedule, wall: Date): boolean {
  const dayOfMonth = schedule.daysOfMonth.has(wall.getUTCDate());
  const dayOfWeek = schedule.daysOfWeek.has(wall.getUTCDay());
  return schedule.dayFieldsAnd ? dayOfMonth && dayOfWeek : dayOfMonth || dayOfWeek;
}

/** Does this wall-clock minute (as a UTC time) match the schedule? */
function wallMatches(schedule: CronSchedule, wallMs: number): boolean {
  const wall = new Date(wallMs);
  return schedule.months.has(wall.getUTCMonth() + 1) && dayMatches(schedule, wall) && schedule.hours.has(wall.getUTCHours()) && schedule.minutes.has(wall.getUTCMinutes());
}

/** Is `instantMs` (any time within a minute) a scheduled minute in this zone? */
export function scheduleMatches(schedule: CronSchedule, instantMs: number, timeZone?: string): boolean {
  return wallMatches(schedule, Math.floor(wallTimeMs(instantMs, timeZone) / MINUTE_MS) * MINUTE_MS);
}

/** The first matching wall minute strictly after `wallMs`, or undefined within the search limit. */
function nextWallMinute(schedule: CronSchedule, wallMs: number, limitMs: number): number | undefined {
  let at = Math.floor(wallMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  while (at <= limitMs) {
    const wall = new Date(at);
    const year = wall.getUTCFullYear();
    const month = wall.getUTCMonth();
    const day = wall.getUTCDate();
    const hour = wall.getUTCHours();
    if (!schedule.months.has(month + 1)) at = Date.UTC(year, month + 1, 1);
    else if (!dayMatches(schedule, wall)) at = Date.UTC(year, month, day + 1);
    else if (!schedule.hours.has(hour)) at = Date.UTC(year, month, day, hour + 1);
    else if (!schedule.minutes.has(wall.getUTCMinutes())) at += MINUTE_MS;
    else return at;
  }
  return undefined;
}

/**
 * The first scheduled instant strictly after `afterMs` (at a whole minute), or undefined when the
 * schedule never matches within SEARCH_LIMIT_YEARS (`0 0 30 2 *`). `timeZone` must have passed
 * timeZoneError; absent means UTC.
 */
export function nextScheduleAfter(schedule: CronSchedule, afterMs: number, timeZone?: string): number | undefined {
  const limitMs = afterMs + SEARCH_LIMIT_YEARS * 366 * 24 * 3_600_000;
  if (isUtc(timeZone)) return nextWallMinute(schedule, afterMs, limitMs);
  // A wall time repeated when clocks go back soon after `afterMs` may lie before wall(after): an instant
  // u > after with wall(u) < wall(after) needs the offset to drop by more than u - after, so only a drop
  // within the next few hours matters; search back by it.
  const wallAfter = wallTimeMs(afterMs, timeZone);
  const soon = afterMs + OFFSET_DROP_WINDOW_MS;
  const offsetDropMs = wallAfter - afterMs - (wallTimeMs(soon, timeZone) - soon);
  const lookBackMs = Math.max(0, offsetDropMs);
  let wall: number | undefined = wallAfter - lookBackMs;
  let best: number | undefined;
  // Wall order is not instant order within a repeated hour: once an instant is found at wall w, walls up
  // to w + lookBack may still give an earlier instant.
  let stopAtWallMs = Number.POSITIVE_INFINITY;
  for (;;) {
    wall = nextWallMinute(schedule, wall, Math.min(limitMs, stopAtWallMs));
    if (wall === undefined) return best;
    // The instants with this wall time: under the offset a day before and a day after (a transition between).
    for (const probe of [wall - 86_400_000, wall + 86_400_000]) {
      const instant: number = wall - (wallTimeMs(probe, timeZone) - probe);
      if (instant > afterMs && Math.floor(wallTimeMs(instant, timeZone) / MINUTE_MS) * MINUTE_MS === wall && (best === undefined || instant < best)) best = instant;
    }
    if (best !== undefined && stopAtWallMs === Number.POSITIVE_INFINITY) {
      if (lookBackMs === 0) return best;
      stopAtWallMs = wall + lookBackMs;
    }
  }
}

/**
 * The scheduled instants in (afterMs, untilMs], oldest first, at most `limit` of them (the count is
 * exact up to limit + 1 so callers can tell "more than limit").
 */
export function scheduledTimesBetween(schedule: CronSchedule, afterMs: number, untilMs: number, limit: number, timeZone?: string): number[] {
  const times: number[] = [];
  let at = afterMs;
  while (times.length <= limit) {
    const next = nextScheduleAfter(schedule, at, timeZone);
    if (next === undefined || next > untilMs) break;
    times.push(next);
    at = next;
  }
  return times;
}

/** Windows tried, shortest first, when looking for the latest run before a time (each is walked run by run). */
const LOOK_BACK_WINDOWS_MS = [3_600_000, 86_400_000, 32 * 86_400_000, 367 * 86_400_000, SEARCH_LIMIT_YEARS * 366 * 86_400_000];

/**
 * The latest scheduled instant in (afterMs, untilMs], or undefined. Walks forward from the shortest
 * look-back window that holds a run, so a frequent schedule far behind costs no more than a recent one.
 */
export function latestScheduleBetween(schedule: CronSchedule, afterMs: number, untilMs: number, timeZone?: string): number | undefined {
  for (const windowMs of LOOK_BACK_WINDOWS_MS) {
    const fromMs = Math.max(afterMs, untilMs - windowMs);
    let latest: number | undefined;
    for (let at = nextScheduleAfter(schedule, fromMs, timeZone); at !== undefined && at <= untilMs; at = nextScheduleAfter(schedule, at, timeZone)) latest = at;
    if (latest !== undefined || fromMs === afterMs) return latest;
  }
  return undefined;
}

/** Why a schedule is refused (the API's validation message), or undefined when it is valid. */
export function scheduleError(source: string): string | undefined {
  try {
    parseSchedule(source);
    return undefined;
  } catch (error) {
    if (error instanceof CronScheduleError) return error.message;
    throw error;
  }
}
