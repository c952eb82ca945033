// When each line of a container's log was written, for `kubectl logs --timestamps`, `--since` and
// `--since-time`. A process node's containers write straight into their log file (so they outlive an
// agent restart), so nobody stamps lines as they are written. Instead the agent looks at each running
// container's log every LOG_TIMES_POLL_MS and records, in a file beside the log (`<n>.log.times`, one
// "<end offset> <ms>" line per completed log line), the time at which it first saw each line
// complete. The times are therefore late by at most the poll interval, and lines written while no
// agent ran get the time the next agent saw them.

import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** How often a process node records the times of new log lines. */
export const LOG_TIMES_POLL_MS = 250;
/** Most bytes scanned per look (a container writing faster is caught up over several looks). */
const SCAN_MAX_BYTES = 4 * 1024 * 1024;

export function timesPathOf(logPath: string): string {
  return `${logPath}.times`;
}

/** Records the times of one log file's lines as they complete. */
export class LogLineRecorder {
  private scanned: number;

  constructor(private readonly logPath: string) {
    // Resume after the last line already recorded (an agent restart keeps the index).
    const times = readLineTimes(timesPathOf(logPath));
    this.scanned = times.ends.length === 0 ? 0 : (times.ends[times.ends.length - 1] ?? -1) + 1;
  }

  /** Records `nowMs` for every line completed since the last look. */
  observe(nowMs: number): void {
    let fd: number;
    try {
      fd = openSync(this.logPath, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= this.scanned) return;
      const length = Math.min(size - this.scanned, SCAN_MAX_BYTES);
      const buffer = new Uint8Array(length);
      const read = readSync(fd, buffer, 0, length, this.scanned);
      let entries = '';
      let lastEnd = -1;
      for (let index = 0; index < read; index++) {
        if (buffer[index] !== 0x0a) continue;
        lastEnd = this.scanned + index;
        entries += `${lastEnd} ${nowMs}\n`;
      }
      if (lastEnd < 0) {
        // A line still being written; one longer than a whole scan is skipped over (its newline,
        // when it comes, is recorded), so that the scan never stalls on it.
        if (read === SCAN_MAX_BYTES) this.scanned += read;
        return;
      }
      appendFileSync(timesPathOf(this.logPath), entries);
      this.scanned = lastEnd + 1;
    } finally {
      closeSync(fd);
    }
  }
}

/** The recorded lines of a log: their end offsets (of the newline) and times, both ascending. */
export interface LineTimes {
  readonly ends: readonly number[];
  readonly times: readonly number[];
}

interface CachedTimes {
  /** Bytes of the times file parsed so far (up to its last complete entry). */
  bytes: number;
  readonly ends: number[];
  readonly times: number[];
}

/** Parsed times files, by path: a read parses only what was appended since the last one. */
const parsedTimes = new Map<string, CachedTimes>();
/** Times files kept parsed (the oldest is forgotten past it). */
const PARSED_TIMES_MAX = 256;

export function readLineTimes(path: string): LineTimes {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    parsedTimes.delete(path);
    return { ends: [], times: [] };
  }
  try {
    const size = fstatSync(fd).size;
    let cached = parsedTimes.get(path);
    if (cached === undefined || size < cached.bytes) cached = { bytes: 0, ends: [], times: [] };
    parsedTimes.delete(path);
    parsedTimes.set(path, cached);
    if (parsedTimes.size > PARSED_TIMES_MAX) {
      const oldest = parsedTimes.keys().next().value;
      if (oldest !== undefined) parsedTimes.delete(oldest);
    }
    while (cached.bytes < size) {
      const length = Math.min(size - cached.bytes, SCAN_MAX_BYTES);
      const buffer = new Uint8Array(length);
      const read = readSync(fd, buffer, 0, length, cached.bytes);
      const lastNewline = buffer.subarray(0, read).lastIndexOf(0x0a);
      if (lastNewline < 0) break; // a torn last entry: parsed once it is complete
      for (const line of new TextDecoder().decode(buffer.subarray(0, lastNewline)).split('\n')) {
        const [end, time] = line.split(' ').map(Number);
        if (end === undefined || time === undefined || !Number.isSafeInteger(end) || !Number.isFinite(time)) continue;
        if (cached.ends.length > 0 && end <= (cached.ends[cached.ends.length - 1] ?? -1)) continue; // a repeated entry
        cached.ends.push(end);
        cached.times.push(time);
      }
      cached.bytes += lastNewline + 1;
    }
    return { ends: cached.ends, times: cached.times };
  } finally {
    closeSync(fd);
  }
}

/** The time of the line whose newline is at `endOffset`, or undefined when it was not recorded. */
export function timeOfLine(times: LineTimes, endOffset: number): number | undefined {
  let low = 0;
  let high = times.ends.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const end = times.ends[middle] ?? 0;
    if (end === endOffset) return times.times[middle];
    if (end < endOffset) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

/** RFC 3339 with nanoseconds, as the kubelet prefixes lines for `--timestamps`. */
export function logTimestamp(ms: number): string {
  const iso = new Date(Math.floor(ms)).toISOString(); // 2026-11-30T05:00:00.123Z
  return `${iso.slice(0, 23)}000000Z`;
}

export interface StampOptions {
  /** Prefix each line with its time. */
  readonly timestamps: boolean;
  /** Leave out lines written before this time. */
  readonly sinceMs?: number;
}

/**
 * Rewrites `data` (the bytes of a log starting at file offset `start`) line by line: drops lines older
 * than `sinceMs` and prefixes the others with their time. A line without a recorded time (not seen by
 * the recorder yet) gets `nowMs`. Only complete lines are rewritten unless `final`; `consumed` says how
 * many bytes of `data` that covered, so a follow continues from `start + consumed`.
 */
export function stampLines(data: Uint8Array, start: number, times: LineTimes, nowMs: number, options: StampOptions, final: boolean): { readonly data: Uint8Array; readonly consumed: number } {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let lineStart = 0;
  let consumed = 0;
  const emit = (from: number, to: number, timeMs: number): void => {
    if (options.sinceMs !== undefined && timeMs < options.sinceMs) return;
    if (options.timestamps) parts.push(encoder.encode(`${logTimestamp(timeMs)} `));
    parts.push(data.subarray(from, to));
  };
  for (let index = 0; index < data.length; index++) {
    if (data[index] !== 0x0a) continue;
    emit(lineStart, index + 1, timeOfLine(times, start + index) ?? nowMs);
    lineStart = index + 1;
    consumed = lineStart;
  }
  if (final && lineStart < data.length) {
    emit(lineStart, data.length, nowMs);
    consumed = data.length;
  }
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return { data: out, consumed };
}
