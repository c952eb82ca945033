// The errors of Raft's durable storage layer (WAL, snapshot files, the glue that opens them).
// Each has a stable `code` and a `retryable` flag. Corruption is never retryable: the replica must not
// start on bad data, and the message names the file and byte offset so an operator can act on it.

export type StorageErrorCode =
  | 'WAL_CORRUPT'
  | 'WAL_CLOSED'
  | 'WAL_FAILED'
  | 'WAL_OVERLOADED'
  | 'SNAPSHOT_CORRUPT'
  | 'SNAPSHOT_BEHIND_WAL'
  | 'CRASH_POINT';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly retryable: boolean;
  constructor(code: StorageErrorCode, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

/** A WAL record failed its checks somewhere other than the torn tail: refuse to start. */
export class WalCorruptError extends StorageError {
  readonly file: string;
  readonly offset: number;
  constructor(file: string, offset: number, reason: string) {
    super('WAL_CORRUPT', `WAL corrupt in ${file} at byte offset ${offset}: ${reason}`, false);
    this.file = file;
    this.offset = offset;
  }
}

/** The WAL was closed; appends after close are a bug in the caller. */
export class WalClosedError extends StorageError {
  constructor() {
    super('WAL_CLOSED', 'WAL is closed', false);
  }
}

/** A write or sync failed; the WAL refuses further writes (what reached disk is unknown until reopen). */
export class WalFailedError extends StorageError {
  constructor(cause: unknown) {
    super('WAL_FAILED', `WAL write failed; reopen to recover: ${cause instanceof Error ? cause.message : String(cause)}`, false, { cause });
  }
}

/** More bytes are queued than MAX_PENDING_BYTES: the caller must wait for earlier appends first. */
export class WalOverloadedError extends StorageError {
  constructor(pendingBytes: number, limitBytes: number) {
    super('WAL_OVERLOADED', `WAL has ${pendingBytes} bytes queued, limit ${limitBytes}; wait for earlier appends`, true);
  }
}

export class SnapshotCorruptError extends StorageError {
  readonly file: string;
  constructor(file: string, reason: string) {
    super('SNAPSHOT_CORRUPT', `snapshot file ${file} is corrupt: ${reason}`, false);
    this.file = file;
  }
}

/** The WAL says a snapshot at `walIndex` was taken, but no snapshot file that recent is readable. */
export class SnapshotBehindWalError extends StorageError {
  constructor(walIndex: number, snapshotIndex: number) {
    super(
      'SNAPSHOT_BEHIND_WAL',
      `WAL records a snapshot at index ${walIndex} but the newest readable snapshot file is at index ${snapshotIndex}; entries in between are gone`,
      false,
    );
  }
}

/** Thrown by an armed crash point (tests only): the process "dies" here. */
export class CrashPointError extends StorageError {
  readonly point: string;
  constructor(point: string) {
    super('CRASH_POINT', `crash point ${point} reached`, false);
    this.point = point;
  }
}
