// Snapshot files: one file per snapshot in a directory, written to a temporary file, fsynced, renamed
// atomically into place, then the directory fsynced; the newest readable one is loaded on start.
// File name: <index 16 hex>-<term 16 hex>.snap. Layout (little-endian), see docs/raft-storage.md:
//   0 u32 magic "KPSN"  4 u8 version  5..8 reserved  8 u32 meta length  12 u64 data length
//   20 u32 crc32c(bytes 0..20 ++ meta ++ data)  24 meta (wal-record's snapshot meta encoding)  then data
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { crc32c } from './crc32c.js';
import { noCrashPoints } from './crash-points.js';
import type { CrashPoints } from './crash-points.js';
import { SnapshotCorruptError } from './storage-errors.js';
import type { Snapshot } from './types.js';
import { PayloadError, decodeSnapshotMeta, encodeSnapshotMeta } from './wal-record.js';
import { syncDir } from './wal.js';

/** How many snapshot files are kept; older ones are removed after a new one is in place. */
export const SNAPSHOTS_KEPT = 2;
const SNAPSHOT_MAGIC = 0x4e53504b; // "KPSN" little-endian
const SNAPSHOT_FORMAT_VERSION = 1;
const SNAPSHOT_HEADER_BYTES = 24;
const SNAPSHOT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;
const TEMP_SUFFIX = '.tmp';

export interface SnapshotFileOptions {
  readonly log: Logger;
  readonly crashPoints?: CrashPoints;
}

export function snapshotFileName(index: number, term: number): string {
  return `${index.toString(16).padStart(16, '0')}-${term.toString(16).padStart(16, '0')}.snap`;
}

export function encodeSnapshotFile(snapshot: Snapshot): Buffer {
  const meta = encodeSnapshotMeta(snapshot.meta);
  const bytes = Buffer.allocUnsafe(SNAPSHOT_HEADER_BYTES + meta.length + snapshot.data.length);
  bytes.writeUInt32LE(SNAPSHOT_MAGIC, 0);
  bytes[4] = SNAPSHOT_FORMAT_VERSION;
  bytes.fill(0, 5, 8);
  bytes.writeUInt32LE(meta.length, 8);
  bytes.writeUInt32LE(snapshot.data.length % 0x1_0000_0000, 12);
  bytes.writeUInt32LE(Math.floor(snapshot.data.length / 0x1_0000_0000), 16);
  bytes.set(meta, SNAPSHOT_HEADER_BYTES);
  bytes.set(snapshot.data, SNAPSHOT_HEADER_BYTES + meta.length);
  const crc = crc32c(bytes, crc32c(bytes, 0, 0, 20), SNAPSHOT_HEADER_BYTES);
  bytes.writeUInt32LE(crc, 20);
  return bytes;
}

/** Decodes and checks a snapshot file's bytes; throws SnapshotCorruptError naming `file`. */
export function decodeSnapshotFile(file: string, bytes: Uint8Array): Snapshot {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length < SNAPSHOT_HEADER_BYTES) throw new SnapshotCorruptError(file, `${buffer.length} bytes is shorter than the header`);
  if (buffer.readUInt32LE(0) !== SNAPSHOT_MAGIC) throw new SnapshotCorruptError(file, 'bad magic');
  if (buffer[4] !== SNAPSHOT_FORMAT_VERSION) throw new SnapshotCorruptError(file, `unknown format version ${buffer[4]}`);
  const metaBytes = buffer.readUInt32LE(8);
  const dataBytes = buffer.readUInt32LE(12) + buffer.readUInt32LE(16) * 0x1_0000_0000;
  if (SNAPSHOT_HEADER_BYTES + metaBytes + dataBytes !== buffer.length) {
    throw new SnapshotCorruptError(file, `length fields say ${SNAPSHOT_HEADER_BYTES + metaBytes + dataBytes} bytes, file has ${buffer.length}`);
  }
  const crc = crc32c(buffer, crc32c(buffer, 0, 0, 20), SNAPSHOT_HEADER_BYTES);
  if (crc !== buffer.readUInt32LE(20)) throw new SnapshotCorruptError(file, 'crc mismatch');
  try {
    const meta = decodeSnapshotMeta(buffer.subarray(SNAPSHOT_HEADER_BYTES, SNAPSHOT_HEADER_BYTES + metaBytes));
    return { meta, data: new Uint8Array(buffer.subarray(SNAPSHOT_HEADER_BYTES + metaBytes)) };
  } catch (error) {
    if (error instanceof PayloadError) throw new SnapshotCorruptError(file, error.message);
    throw error;
  }
}

/** Writes `snapshot` atomically into `dir` and removes all but the newest SNAPSHOTS_KEPT files. Returns the path. */
export async function writeSnapshotFile(dir: string, snapshot: Snapshot, options: SnapshotFileOptions): Promise<string> {
  const crashPoints = options.crashPoints ?? noCrashPoints;
  await mkdir(dir, { recursive: true });
  const name = snapshotFileName(snapshot.meta.index, snapshot.meta.term);
  const path = join(dir, name);
  const temp = path + TEMP_SUFFIX;
  const bytes = encodeSnapshotFile(snapshot);
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  crashPoints.reach('snapshot.before-rename');
  await rename(temp, path);
  await syncDir(dir);
  crashPoints.reach('snapshot.after-rename');
  const names = await listSnapshots(dir);
  const old = names.slice(0, Math.max(0, names.length - SNAPSHOTS_KEPT));
  for (const stale of old) await unlink(join(dir, stale));
  if (old.length > 0) await syncDir(dir);
  return path;
}

/** Snapshot file names in `dir`, oldest first (by index, then term). */
async function listSnapshots(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => SNAPSHOT_NAME.test(name)).sort();
}

export interface LoadedSnapshot {
  readonly snapshot: Snapshot;
  readonly file: string;
}

/**
 * Loads the newest snapshot file that passes its checks, removing leftover temporary files. A corrupt
 * file is logged and skipped in favour of an older one; if no file is readable but some exist, the
 * newest one's error is thrown. Resolves undefined when there are none.
 */
export async function loadNewestSnapshot(dir: string, options: SnapshotFileOptions): Promise<LoadedSnapshot | undefined> {
  await mkdir(dir, { recursive: true });
  const all = await readdir(dir);
  const temps = all.filter((name) => name.endsWith(TEMP_SUFFIX));
  for (const temp of temps) {
    options.log.warn({ file: join(dir, temp) }, 'snapshot: removing leftover temporary file');
    await unlink(join(dir, temp));
  }
  if (temps.length > 0) await syncDir(dir);
  const names = await listSnapshots(dir);
  let firstError: SnapshotCorruptError | undefined;
  for (let i = names.length - 1; i >= 0; i--) {
    const file = join(dir, names[i] as string);
    try {
      const snapshot = decodeSnapshotFile(file, new Uint8Array(await readFile(file)));
      const match = SNAPSHOT_NAME.exec(names[i] as string) as RegExpExecArray;
      if (Number.parseInt(match[1] as string, 16) !== snapshot.meta.index || Number.parseInt(match[2] as string, 16) !== snapshot.meta.term) {
        throw new SnapshotCorruptError(file, 'index/term inside do not match the file name');
      }
      return { snapshot, file };
    } catch (error) {
      if (!(error instanceof SnapshotCorruptError)) throw error;
      options.log.error({ err: error, file }, 'snapshot: refusing corrupt snapshot file, trying an older one');
      firstError ??= error;
    }
  }
  if (firstError !== undefined) throw firstError;
  return undefined;
}
