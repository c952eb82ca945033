// Disk faults for the chaos scenarios: damage the tail of a store replica's write-ahead log while the
// replica is not running (or is stopped with SIGSTOP and about to be killed), the way a crash in the
// middle of a write leaves it. Both faults touch only the last record of the last segment, so the
// WAL's recovery must classify them as a torn tail (truncate and go on), never as corruption
// (docs/raft-storage.md, "Recovery: torn tail versus corruption").
import { readdirSync, statSync, truncateSync, openSync, readSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

const SEGMENT_NAME = /^[0-9a-f]{16}-[0-9a-f]{16}\.wal$/;
/** Every WAL record is at least its 12-byte header plus a payload; cutting fewer bytes stays inside the last one. */
export const DEFAULT_TEAR_BYTES = 7;

export interface WalDamage {
  readonly file: string;
  readonly sizeBefore: number;
  readonly sizeAfter: number;
  readonly description: string;
}

/** The newest segment file of the WAL under a replica's data dir (`<data>/wal/`). */
export function lastWalSegment(dataDir: string): string {
  const walDir = join(dataDir, 'wal');
  const segments = readdirSync(walDir).filter((name) => SEGMENT_NAME.test(name)).sort();
  const last = segments.at(-1);
  if (last === undefined) throw new Error(`no WAL segment in ${walDir}`);
  return join(walDir, last);
}

/** Cuts `bytes` off the end of the last segment: the last record is left half-written. */
export function tearWalTail(dataDir: string, bytes = DEFAULT_TEAR_BYTES): WalDamage {
  const file = lastWalSegment(dataDir);
  const sizeBefore = statSync(file).size;
  const sizeAfter = Math.max(0, sizeBefore - bytes);
  truncateSync(file, sizeAfter);
  return { file, sizeBefore, sizeAfter, description: `tore ${sizeBefore - sizeAfter} bytes off the tail of ${file}` };
}

/** Flips the bits of the last byte of the last segment: the last record fails its CRC at the end of the file. */
export function corruptWalTail(dataDir: string): WalDamage {
  const file = lastWalSegment(dataDir);
  const size = statSync(file).size;
  if (size === 0) throw new Error(`${file} is empty`);
  const fd = openSync(file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, size - 1);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    writeSync(fd, byte, 0, 1, size - 1);
  } finally {
    closeSync(fd);
  }
  return { file, sizeBefore: size, sizeAfter: size, description: `flipped the last byte of ${file}` };
}
