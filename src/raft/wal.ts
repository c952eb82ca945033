// The write-ahead log: a directory of segment files holding Raft entries, hard state and snapshot
// markers, each record framed with a CRC32C chained from the previous record (src/raft/wal-record.ts).
// The driver appends through `append`, which resolves only after the bytes are fdatasync'd; appends that
// arrive while a write+sync is in flight share the next one (group commit: where throughput comes from).
// An append with `sync: false` (a hard state whose commit index alone changed: etcd-raft's !MustSync)
// resolves once written; the next synced append or a segment change syncs it, and losing it in a
// crash only loses the tail of the log (a commit index the replica learns again from its leader).
// On open, the log is replayed: a torn tail is truncated and reported, corruption anywhere else refuses
// to open (WalCorruptError naming file and offset). Format and rules: docs/raft-storage.md.
import { open, readdir, readFile, unlink, mkdir } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { noCrashPoints } from './crash-points.js';
import type { CrashPoints } from './crash-points.js';
import { CrashPointError, WalClosedError, WalCorruptError, WalFailedError, WalOverloadedError } from './storage-errors.js';
import type { Entry, HardState, SnapshotMeta } from './types.js';
import {
  MAX_RECORD_PAYLOAD_BYTES,
  PayloadError,
  RECORD_HEADER_BYTES,
  RecordType,
  decodeEntry,
  decodeHardState,
  decodeSegmentHeader,
  decodeSnapshotMeta,
  encodeEntry,
  encodeHardState,
  encodeSegmentHeader,
  encodeSnapshotMeta,
  frameRecords,
  framedBytes,
  headerCheck,
  isRecordType,
} from './wal-record.js';
import type { SegmentHeader } from './wal-record.js';
import { crc32c } from './crc32c.js';

/** A segment past this size is closed and a new one started before the next write (a soft bound: one batch may overshoot it). */
export const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Bound on bytes queued but not yet written; beyond it `append` rejects with WalOverloadedError (retryable). */
export const MAX_PENDING_BYTES = 256 * 1024 * 1024;

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentFileName(sequence: number, firstIndex: number): string {
  return `${sequence.toString(16).padStart(16, '0')}-${firstIndex.toString(16).padStart(16, '0')}.wal`;
}

export interface WalOptions {
  readonly log: Logger;
  readonly crashPoints?: CrashPoints;
  /** Override of MAX_SEGMENT_BYTES (tests use small segments to exercise rollover). */
  readonly maxSegmentBytes?: number;
}

export interface TornTail {
  readonly file: string;
  readonly offset: number;
  readonly bytes: number;
}

export interface WalRecovered {
  readonly hardState: HardState | undefined;
  /** Entries after the latest snapshot marker (or all, if there is none), contiguous. */
  readonly entries: Entry[];
  readonly snapshotMarker: SnapshotMeta | undefined;
  readonly tornTailTruncated: TornTail | undefined;
}

export interface WalStats {
  readonly appends: number;
  readonly writes: number;
  readonly fsyncs: number;
  readonly segments: number;
}

interface SegmentInfo {
  readonly sequence: number;
  readonly firstIndex: number;
  readonly name: string;
  /** Highest entry index written in this segment; 0 if none. */
  maxEntryIndex: number;
}

interface QueuedRecord {
  readonly type: RecordType;
  readonly payload: Uint8Array;
  readonly entryIndex?: number;
  readonly hardState?: HardState;
  readonly marker?: SnapshotMeta;
}

interface Waiter {
  resolve(): void;
  reject(error: Error): void;
}

export class Wal {
  private readonly dir: string;
  private readonly log: Logger;
  private readonly crashPoints: CrashPoints;
  private readonly maxSegmentBytes: number;
  private readonly segments: SegmentInfo[];
  private file: FileHandle;
  private fileBytes: number;
  /** Bytes of the current segment's header, hard-state and marker copies: a segment this size holds no entries. */
  private fileStartBytes: number;
  private chainCrc: number;
  private writtenHardState: HardState | undefined;
  private writtenMarker: SnapshotMeta | undefined;
  private pending: QueuedRecord[] = [];
  private pendingBytes = 0;
  /** Some queued append wants to be synced (the batch is fdatasync'd). */
  private pendingNeedsSync = false;
  /** Bytes were written to the current segment since its last fdatasync. */
  private unsynced = false;
  private waiters: Waiter[] = [];
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private appendCount = 0;
  private writeCount = 0;
  private fsyncCount = 0;

  private constructor(dir: string, options: WalOptions, state: OpenState) {
    this.dir = dir;
    this.log = options.log;
    this.crashPoints = options.crashPoints ?? noCrashPoints;
    this.maxSegmentBytes = options.maxSegmentBytes ?? MAX_SEGMENT_BYTES;
    this.segments = state.segments;
    this.file = state.file;
    this.fileBytes = state.fileBytes;
    this.fileStartBytes = state.fileStartBytes;
    this.chainCrc = state.chainCrc;
    this.writtenHardState = state.hardState;
    this.writtenMarker = state.marker;
  }

  /** Opens (creating if needed) the WAL in `dir` and replays it. */
  static async open(dir: string, options: WalOptions): Promise<{ wal: Wal; recovered: WalRecovered }> {
    await mkdir(dir, { recursive: true });
    const crashPoints = options.crashPoints ?? noCrashPoints;
    const names = (await readdir(dir)).filter((name) => SEGMENT_NAME.test(name)).sort();
    const replay = new Replay();
    const segments: SegmentInfo[] = [];
    let chainCrc = 0;
    let lastBytes = 0;
    let lastStartBytes = 0;
    let tornTailTruncated: TornTail | undefined;
    let removedLast: { sequence: number } | undefined;
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const isLast = i === names.length - 1;
      const path = join(dir, name);
      const match = SEGMENT_NAME.exec(name) as RegExpExecArray;
      const sequence = Number.parseInt(match[1] as string, 16);
      const firstIndex = Number.parseInt(match[2] as string, 16);
      const previous = segments[segments.length - 1];
      if (previous !== undefined && sequence !== previous.sequence + 1) {
        throw new WalCorruptError(path, 0, `segment sequence ${sequence} does not follow ${previous.sequence} (a segment is missing)`);
      }
      const bytes = new Uint8Array(await readFile(path));
      const scanned = scanSegment(path, bytes, isLast, replay);
      if (scanned.header === undefined) {
        // Only the last segment can get here (a torn header): it holds nothing acknowledged. Remove it.
        tornTailTruncated = { file: path, offset: 0, bytes: bytes.length };
        options.log.warn({ file: path, bytes: bytes.length }, 'WAL: removing last segment with a torn header');
        await unlink(path);
        await syncDir(dir);
        removedLast = { sequence };
        break;
      }
      if (scanned.header.sequence !== sequence || scanned.header.firstIndex !== firstIndex) {
        throw new WalCorruptError(path, 0, 'segment header does not match the file name');
      }
      if (previous !== undefined && scanned.header.chainSeed !== chainCrc) {
        throw new WalCorruptError(path, 0, 'segment chain seed does not match the previous segment\'s last record');
      }
      chainCrc = scanned.lastCrc;
      lastBytes = scanned.validBytes;
      lastStartBytes = scanned.startBytes;
      segments.push({ sequence, firstIndex, name, maxEntryIndex: scanned.maxEntryIndex });
      if (scanned.torn !== undefined) {
        tornTailTruncated = { file: path, offset: scanned.torn.offset, bytes: scanned.torn.bytes };
        options.log.warn({ file: path, offset: scanned.torn.offset, bytes: scanned.torn.bytes, reason: scanned.torn.reason }, 'WAL: truncating torn tail');
        const handle = await open(path, 'r+');
        try {
          await handle.truncate(scanned.torn.offset);
          await handle.sync();
        } finally {
          await handle.close();
        }
      }
    }
    const recovered = replay.finish(segments[0] === undefined ? dir : join(dir, segments[0].name));
    let file: FileHandle;
    const last = segments[segments.length - 1];
    if (last === undefined || removedLast !== undefined) {
      const sequence = removedLast?.sequence ?? 1;
      const created = await createSegment(dir, crashPoints, {
        sequence,
        firstIndex: replay.lastIndex() + 1,
        chainSeed: chainCrc,
      }, recovered.hardState, recovered.snapshotMarker);
      segments.push({ sequence, firstIndex: replay.lastIndex() + 1, name: created.name, maxEntryIndex: 0 });
      file = created.file;
      chainCrc = created.chainCrc;
      lastBytes = created.bytes;
      lastStartBytes = created.bytes;
    } else {
      file = await open(join(dir, last.name), 'r+');
    }
    const wal = new Wal(dir, options, {
      segments,
      file,
      fileBytes: lastBytes,
      fileStartBytes: lastStartBytes,
      chainCrc,
      hardState: recovered.hardState,
      marker: recovered.snapshotMarker,
    });
    return { wal, recovered: { ...recovered, tornTailTruncated } };
  }

  /**
   * Queues `entries` (and `hardState`, written after them) and resolves once they are fdatasync'd
   * (with `sync: false`: once written; only for what may be lost in a crash, see the header).
   * Entries whose index is <= the last written index replace that suffix (see docs/raft-storage.md).
   */
  append(entries: readonly Entry[], hardState?: HardState, options: { readonly sync?: boolean } = {}): Promise<void> {
    const records: QueuedRecord[] = [];
    for (const entry of entries) records.push({ type: RecordType.Entry, payload: encodeEntry(entry), entryIndex: entry.index });
    if (hardState !== undefined) records.push({ type: RecordType.HardState, payload: encodeHardState(hardState), hardState });
    return this.enqueue(records, options.sync ?? true);
  }

  /** Records that a snapshot at `meta` is durable (write the snapshot file first). */
  saveSnapshotMarker(meta: SnapshotMeta): Promise<void> {
    return this.enqueue([{ type: RecordType.SnapshotMarker, payload: encodeSnapshotMeta(meta), marker: meta }]);
  }

  /**
   * Removes whole segments (never the current one) whose entries are all at or below `index`.
   * A snapshot marker at or beyond `index` must already be durable: without it the replay would lose entries.
   */
  async releaseTo(index: number): Promise<number> {
    this.assertWritable();
    if (this.writtenMarker === undefined || this.writtenMarker.index < index) {
      throw new Error(`invariant: releaseTo(${index}) without a durable snapshot marker at or beyond it`);
    }
    let removable = 0;
    while (removable < this.segments.length - 1 && (this.segments[removable] as SegmentInfo).maxEntryIndex <= index) removable++;
    if (removable === 0) return 0;
    this.crashPoints.reach('wal.before-segment-remove');
    for (const segment of this.segments.splice(0, removable)) {
      await unlink(join(this.dir, segment.name));
    }
    await syncDir(this.dir);
    return removable;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    if (this.unsynced && this.failure === undefined) await this.file.datasync();
    await this.file.close();
  }

  stats(): WalStats {
    return { appends: this.appendCount, writes: this.writeCount, fsyncs: this.fsyncCount, segments: this.segments.length };
  }

  private assertWritable(): void {
    if (this.closed) throw new WalClosedError();
    if (this.failure !== undefined) throw this.failure;
  }

  private enqueue(records: QueuedRecord[], sync = true): Promise<void> {
    try {
      this.assertWritable();
    } catch (error) {
      return Promise.reject(error as Error);
    }
    const bytes = framedBytes(records);
    if (this.pendingBytes + bytes > MAX_PENDING_BYTES && this.pending.length > 0) {
      return Promise.reject(new WalOverloadedError(this.pendingBytes + bytes, MAX_PENDING_BYTES));
    }
    this.appendCount++;
    for (const record of records) this.pending.push(record);
    this.pendingBytes += bytes;
    this.pendingNeedsSync ||= sync;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.flushing === undefined) this.flushing = this.flushLoop();
    return done;
  }

  /** Writes and syncs everything queued, batch after batch, until the queue is empty. */
  private async flushLoop(): Promise<void> {
    // Let appends made in the same tick join the first batch.
    await Promise.resolve();
    try {
      while (this.pending.length > 0) {
        const records = this.pending;
        const waiters = this.waiters;
        const sync = this.pendingNeedsSync;
        this.pending = [];
        this.waiters = [];
        this.pendingBytes = 0;
        this.pendingNeedsSync = false;
        try {
          await this.writeBatch(records, sync);
        } catch (error) {
          this.failure = error instanceof CrashPointError ? error : new WalFailedError(error);
          for (const waiter of [...waiters, ...this.waiters]) waiter.reject(this.failure);
          this.waiters = [];
          this.pending = [];
          return;
        }
        for (const waiter of waiters) waiter.resolve();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBatch(records: readonly QueuedRecord[], sync: boolean): Promise<void> {
    const bytes = framedBytes(records);
    if (this.fileBytes + bytes > this.maxSegmentBytes && this.fileBytes > this.fileStartBytes) {
      const firstEntry = records.find((record) => record.entryIndex !== undefined);
      const lastIndex = Math.max(...this.segments.map((segment) => segment.maxEntryIndex), this.writtenMarker?.index ?? 0);
      await this.startSegment(firstEntry?.entryIndex ?? lastIndex + 1);
    }
    const buffer = Buffer.allocUnsafe(bytes);
    const crc = frameRecords(records, buffer, 0, this.chainCrc);
    let written = 0;
    while (written < bytes) {
      const { bytesWritten } = await this.file.write(buffer, written, bytes - written, this.fileBytes + written);
      written += bytesWritten;
    }
    this.writeCount++;
    if (sync) {
      this.crashPoints.reach('wal.after-write-before-sync');
      await this.file.datasync();
      this.fsyncCount++;
      this.unsynced = false;
      this.crashPoints.reach('wal.after-sync');
    } else {
      this.unsynced = true;
    }
    this.fileBytes += bytes;
    this.chainCrc = crc;
    const segment = this.segments[this.segments.length - 1] as SegmentInfo;
    for (const record of records) {
      if (record.entryIndex !== undefined) segment.maxEntryIndex = Math.max(segment.maxEntryIndex, record.entryIndex);
      if (record.hardState !== undefined) this.writtenHardState = record.hardState;
      if (record.marker !== undefined && (this.writtenMarker === undefined || record.marker.index >= this.writtenMarker.index)) {
        this.writtenMarker = record.marker;
      }
    }
  }

  private async startSegment(firstIndex: number): Promise<void> {
    const previous = this.segments[this.segments.length - 1] as SegmentInfo;
    const sequence = previous.sequence + 1;
    // The next segment chains from this one's last record: an unsynced tail here must not be lost
    // under a durable segment after it (that would be a tear in the middle of the log).
    if (this.unsynced) {
      await this.file.datasync();
      this.fsyncCount++;
      this.unsynced = false;
    }
    const created = await createSegment(this.dir, this.crashPoints, { sequence, firstIndex, chainSeed: this.chainCrc }, this.writtenHardState, this.writtenMarker);
    this.fsyncCount += 2;
    await this.file.close();
    this.file = created.file;
    this.fileBytes = created.bytes;
    this.fileStartBytes = created.bytes;
    this.chainCrc = created.chainCrc;
    this.segments.push({ sequence, firstIndex, name: created.name, maxEntryIndex: 0 });
    this.log.debug({ segment: created.name }, 'WAL: started segment');
  }
}

interface OpenState {
  readonly segments: SegmentInfo[];
  readonly file: FileHandle;
  readonly fileBytes: number;
  readonly fileStartBytes: number;
  readonly chainCrc: number;
  readonly hardState: HardState | undefined;
  readonly marker: SnapshotMeta | undefined;
}

/**
 * Creates a segment holding its header and copies of the current hard state and snapshot marker, so
 * that older segments can be removed without losing them; syncs the file and the directory.
 */
async function createSegment(
  dir: string,
  crashPoints: CrashPoints,
  header: SegmentHeader,
  hardState: HardState | undefined,
  marker: SnapshotMeta | undefined,
): Promise<{ file: FileHandle; name: string; bytes: number; chainCrc: number }> {
  const name = segmentFileName(header.sequence, header.firstIndex);
  const records = [{ type: RecordType.SegmentHeader, payload: encodeSegmentHeader(header) }];
  if (hardState !== undefined) records.push({ type: RecordType.HardState, payload: encodeHardState(hardState) });
  if (marker !== undefined) records.push({ type: RecordType.SnapshotMarker, payload: encodeSnapshotMeta(marker) });
  const bytes = framedBytes(records);
  const buffer = Buffer.allocUnsafe(bytes);
  const chainCrc = frameRecords(records, buffer, 0, header.chainSeed);
  const file = await open(join(dir, name), 'wx+');
  try {
    await file.write(buffer, 0, bytes, 0);
    await file.datasync();
    await syncDir(dir);
    crashPoints.reach('wal.after-segment-create');
  } catch (error) {
    await file.close();
    throw error;
  }
  return { file, name, bytes, chainCrc };
}

export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface ScannedSegment {
  readonly header: SegmentHeader | undefined;
  readonly lastCrc: number;
  readonly validBytes: number;
  readonly startBytes: number;
  readonly maxEntryIndex: number;
  readonly torn: { offset: number; bytes: number; reason: string } | undefined;
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/**
 * Checks every record of one segment and feeds it to `replay`. A failing record is a torn tail only in
 * the last segment and only if nothing but zeros follows it, or it is itself cut short by the end of the
 * file (or its crc fails and it ends exactly at the end of the file); anything else is corruption.
 */
function scanSegment(path: string, bytes: Uint8Array, isLast: boolean, replay: Replay): ScannedSegment {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let crc = 0;
  let header: SegmentHeader | undefined;
  let startBytes = 0;
  let maxEntryIndex = 0;
  let seenEntry = false;
  const fail = (reason: string, tornCandidate: boolean): ScannedSegment => {
    if (isLast && tornCandidate) {
      return { header, lastCrc: crc, validBytes: at, startBytes, maxEntryIndex, torn: { offset: at, bytes: bytes.length - at, reason } };
    }
    throw new WalCorruptError(path, at, reason);
  };
  while (at < bytes.length) {
    const remaining = bytes.length - at;
    if (remaining < RECORD_HEADER_BYTES) return fail('record header cut short by the end of the file', true);
    const length = view.getUint32(at, true);
    const type = bytes[at + 4] as number;
    if (view.getUint16(at + 6, true) !== headerCheck(bytes, at) || bytes[at + 5] !== 0 || !isRecordType(type) || length > MAX_RECORD_PAYLOAD_BYTES) {
      return fail('bad record header (length or type)', allZero(bytes, at));
    }
    const end = at + RECORD_HEADER_BYTES + length;
    if (end > bytes.length) return fail('record cut short by the end of the file', true);
    const payload = bytes.subarray(at + RECORD_HEADER_BYTES, end);
    let seed = crc;
    if (header === undefined) {
      if (type !== RecordType.SegmentHeader) return fail('segment does not start with a header record', false);
      try {
        seed = decodeSegmentHeader(payload).chainSeed;
      } catch (error) {
        return fail((error as Error).message, end === bytes.length);
      }
    }
    const expected = crc32c(payload, crc32c(bytes, seed, at, at + 8));
    if (view.getUint32(at + 8, true) !== expected) return fail('crc mismatch', end === bytes.length || allZero(bytes, end));
    try {
      switch (type) {
        case RecordType.SegmentHeader:
          if (header !== undefined) throw new PayloadError('second segment header in one segment');
          header = decodeSegmentHeader(payload);
          break;
        case RecordType.Entry: {
          const entry = decodeEntry(payload);
          replay.applyEntry(entry, path, at);
          maxEntryIndex = Math.max(maxEntryIndex, entry.index);
          seenEntry = true;
          break;
        }
        case RecordType.HardState:
          replay.applyHardState(decodeHardState(payload));
          break;
        case RecordType.SnapshotMarker:
          replay.applyMarker(decodeSnapshotMeta(payload));
          break;
      }
    } catch (error) {
      if (error instanceof PayloadError) throw new WalCorruptError(path, at, error.message);
      throw error;
    }
    crc = expected;
    at = end;
    if (!seenEntry) startBytes = at;
  }
  // An empty file (a crash right after creating it): a torn tail if last, corruption otherwise.
  if (header === undefined) return fail('segment has no header record', true);
  return { header, lastCrc: crc, validBytes: at, startBytes, maxEntryIndex, torn: undefined };
}

/**
 * Rebuilds the log from records in write order. Rules (docs/raft-storage.md):
 * - an entry at index i <= last replaces entry i and drops everything after it (a conflicting suffix);
 *   an entry below the first kept index restarts the list; a gap after the last index is corruption;
 * - a snapshot marker at (s, t) keeps the entries after s only if the log holds (s, t) (or starts at s+1),
 *   else drops them all (the log disagreed with the snapshot); older markers than the latest are ignored;
 * - the last hard state wins.
 */
class Replay {
  private entries: Entry[] = [];
  private marker: SnapshotMeta | undefined;
  private hardState: HardState | undefined;

  applyEntry(entry: Entry, path: string, offset: number): void {
    const first = this.entries[0]?.index;
    if (first === undefined || entry.index < first) {
      this.entries = [entry];
      return;
    }
    const last = first + this.entries.length - 1;
    if (entry.index > last + 1) throw new WalCorruptError(path, offset, `entry index ${entry.index} leaves a gap after ${last}`);
    this.entries.length = entry.index - first;
    const previous = this.entries[this.entries.length - 1];
    if (previous !== undefined && previous.term > entry.term) {
      throw new WalCorruptError(path, offset, `entry ${entry.index} has term ${entry.term} below the previous entry's ${previous.term}`);
    }
    this.entries.push(entry);
  }

  applyHardState(state: HardState): void {
    this.hardState = state;
  }

  applyMarker(meta: SnapshotMeta): void {
    if (this.marker !== undefined && meta.index < this.marker.index) return;
    this.marker = meta;
    this.entries = retainAfterSnapshot(this.entries, meta);
  }

  lastIndex(): number {
    const last = this.entries[this.entries.length - 1];
    return last?.index ?? this.marker?.index ?? 0;
  }

  finish(firstFile: string): Omit<WalRecovered, 'tornTailTruncated'> {
    const first = this.entries[0];
    if (this.marker !== undefined && first !== undefined && first.index !== this.marker.index + 1) {
      throw new WalCorruptError(firstFile, 0, `entries start at ${first.index} but the snapshot marker is at ${this.marker.index}`);
    }
    return { hardState: this.hardState, entries: this.entries, snapshotMarker: this.marker };
  }
}

/** The entries of `entries` that follow a snapshot at `meta`, or none if the log disagrees with it. */
export function retainAfterSnapshot(entries: Entry[], meta: SnapshotMeta): Entry[] {
  const first = entries[0]?.index;
  if (first === undefined) return entries;
  const last = first + entries.length - 1;
  if (meta.index === first - 1) return entries;
  if (meta.index < first - 1) return entries;
  if (meta.index > last) return [];
  const atSnapshot = entries[meta.index - first] as Entry;
  return atSnapshot.term === meta.term ? entries.slice(meta.index - first + 1) : [];
}
