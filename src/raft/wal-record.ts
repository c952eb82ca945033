// The WAL's record framing and payload encodings (a small fixed binary layout, chosen for speed).
// Frame (little-endian), 12-byte header then payload:
//   0 u32 payload length   4 u8 record type   5 u8 reserved (0)   6 u16 header check = crc32c(bytes 0..6) & 0xffff
//   8 u32 crc = crc32c(bytes 0..8 ++ payload) seeded with the previous record's crc (the chain)
// The header check lets the reader tell a corrupted length (refuse) from a record cut short by a crash
// (truncate). Numbers up to 2^53 are stored as u64 (two u32 halves). Pure: no I/O. See docs/raft-storage.md.
import { crc32c } from './crc32c.js';
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta } from './types.js';

export const RECORD_HEADER_BYTES = 12;
/** Larger lengths are corruption, not data: bounds what one record (one entry) may hold. */
export const MAX_RECORD_PAYLOAD_BYTES = 64 * 1024 * 1024;
export const SEGMENT_MAGIC = 0x4c57504b; // "KPWL" little-endian
export const SEGMENT_FORMAT_VERSION = 1;

export const enum RecordType {
  SegmentHeader = 1,
  Entry = 2,
  HardState = 3,
  SnapshotMarker = 4,
}

export function isRecordType(value: number): value is RecordType {
  return value >= RecordType.SegmentHeader && value <= RecordType.SnapshotMarker;
}

export interface SegmentHeader {
  readonly sequence: number;
  readonly firstIndex: number;
  /** The crc of the previous segment's last record: the seed of this segment's chain. */
  readonly chainSeed: number;
}

/** A record ready to frame: its type and encoded payload. */
export interface PendingRecord {
  readonly type: RecordType;
  readonly payload: Uint8Array;
}

export function headerCheck(frame: Uint8Array, offset: number): number {
  return crc32c(frame, 0, offset, offset + 6) & 0xffff;
}

/**
 * Frames `records` into `out` starting at `offset` with the chain seeded by `seed`; returns the crc of
 * the last record (the next seed). `out` must have room for framedBytes(records).
 */
export function frameRecords(records: readonly PendingRecord[], out: Uint8Array, offset: number, seed: number): number {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let crc = seed;
  let at = offset;
  for (const record of records) {
    view.setUint32(at, record.payload.length, true);
    out[at + 4] = record.type;
    out[at + 5] = 0;
    view.setUint16(at + 6, headerCheck(out, at), true);
    out.set(record.payload, at + RECORD_HEADER_BYTES);
    crc = crc32c(out, crc, at, at + 8);
    crc = crc32c(out, crc, at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + record.payload.length);
    view.setUint32(at + 8, crc, true);
    at += RECORD_HEADER_BYTES + record.payload.length;
  }
  return crc;
}

export function framedBytes(records: readonly PendingRecord[]): number {
  let total = 0;
  for (const record of records) total += RECORD_HEADER_BYTES + record.payload.length;
  return total;
}

// ---- u64 helpers (safe integers only) ----

function setU64(view: DataView, at: number, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`invariant: ${value} is not a non-negative safe integer`);
  view.setUint32(at, value % 0x1_0000_0000, true);
  view.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 0x1_0000_0000;
}

/** Thrown by decoders on a payload that does not fit its type; the WAL turns it into WalCorruptError. */
export class PayloadError extends Error {}

function need(payload: Uint8Array, bytes: number, what: string): DataView {
  if (payload.length < bytes) throw new PayloadError(`${what} payload is ${payload.length} bytes, needs ${bytes}`);
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
}

// ---- entries ----

const ENTRY_FIXED_BYTES = 17;

export function encodeEntry(entry: Entry): Uint8Array {
  const payload = new Uint8Array(ENTRY_FIXED_BYTES + entry.data.length);
  const view = new DataView(payload.buffer);
  setU64(view, 0, entry.index);
  setU64(view, 8, entry.term);
  payload[16] = entry.type;
  payload.set(entry.data, ENTRY_FIXED_BYTES);
  return payload;
}

export function decodeEntry(payload: Uint8Array): Entry {
  const view = need(payload, ENTRY_FIXED_BYTES, 'entry');
  const type = payload[16] as number;
  if (type !== 0 && type !== 1) throw new PayloadError(`unknown entry type ${type}`);
  return {
    index: getU64(view, 0),
    term: getU64(view, 8),
    type: type as EntryType,
    // A copy, so the entry does not pin the whole segment buffer read at recovery.
    data: payload.slice(ENTRY_FIXED_BYTES),
  };
}

// ---- hard state ----

const HARD_STATE_BYTES = 24;

export function encodeHardState(state: HardState): Uint8Array {
  const payload = new Uint8Array(HARD_STATE_BYTES);
  const view = new DataView(payload.buffer);
  setU64(view, 0, state.term);
  setU64(view, 8, state.vote);
  setU64(view, 16, state.commit);
  return payload;
}

export function decodeHardState(payload: Uint8Array): HardState {
  const view = need(payload, HARD_STATE_BYTES, 'hard state');
  return { term: getU64(view, 0), vote: getU64(view, 8), commit: getU64(view, 16) };
}

// ---- snapshot meta (the WAL's snapshot marker, and the snapshot file's meta) ----

function confLists(conf: ConfState): readonly (readonly number[])[] {
  return [conf.voters, conf.learners, conf.votersOutgoing, conf.learnersNext];
}

export function encodeSnapshotMeta(meta: SnapshotMeta): Uint8Array {
  const lists = confLists(meta.conf);
  let bytes = 16;
  for (const list of lists) bytes += 4 + 8 * list.length;
  const payload = new Uint8Array(bytes);
  const view = new DataView(payload.buffer);
  setU64(view, 0, meta.index);
  setU64(view, 8, meta.term);
  let at = 16;
  for (const list of lists) {
    view.setUint32(at, list.length, true);
    at += 4;
    for (const id of list) {
      setU64(view, at, id);
      at += 8;
    }
  }
  return payload;
}

export function decodeSnapshotMeta(payload: Uint8Array): SnapshotMeta {
  const view = need(payload, 16, 'snapshot meta');
  const lists: number[][] = [];
  let at = 16;
  for (let list = 0; list < 4; list++) {
    if (at + 4 > payload.length) throw new PayloadError('snapshot meta: configuration cut short');
    const count = view.getUint32(at, true);
    at += 4;
    if (at + count * 8 > payload.length) throw new PayloadError('snapshot meta: configuration list cut short');
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(getU64(view, at));
      at += 8;
    }
    lists.push(ids);
  }
  if (at !== payload.length) throw new PayloadError('snapshot meta: trailing bytes');
  const [voters, learners, votersOutgoing, learnersNext] = lists as [number[], number[], number[], number[]];
  return { index: getU64(view, 0), term: getU64(view, 8), conf: { voters, learners, votersOutgoing, learnersNext } };
}

// ---- segment header ----

const SEGMENT_HEADER_BYTES = 25;

export function encodeSegmentHeader(header: SegmentHeader): Uint8Array {
  const payload = new Uint8Array(SEGMENT_HEADER_BYTES);
  const view = new DataView(payload.buffer);
  view.setUint32(0, SEGMENT_MAGIC, true);
  payload[4] = SEGMENT_FORMAT_VERSION;
  setU64(view, 5, header.sequence);
  setU64(view, 13, header.firstIndex);
  view.setUint32(21, header.chainSeed, true);
  return payload;
}

export function decodeSegmentHeader(payload: Uint8Array): SegmentHeader {
  const view = need(payload, SEGMENT_HEADER_BYTES, 'segment header');
  if (view.getUint32(0, true) !== SEGMENT_MAGIC) throw new PayloadError('segment header: bad magic');
  if (payload[4] !== SEGMENT_FORMAT_VERSION) throw new PayloadError(`segment header: unknown format version ${payload[4]}`);
  return { sequence: getU64(view, 5), firstIndex: getU64(view, 13), chainSeed: view.getUint32(21, true) };
}
