// The errors of the Raft consensus core. Each has a stable `code` and a `retryable` flag.
// Remote input never throws out of RaftNode.step (bad messages are dropped and counted);
// these errors are for local misuse (a driver bug) and for broken invariants, which throw loudly.

export type RaftErrorCode =
  | 'LOG_COMPACTED'
  | 'LOG_UNAVAILABLE'
  | 'SNAPSHOT_OUT_OF_DATE'
  | 'INVALID_CONF_CHANGE'
  | 'INVARIANT'
  | 'DRIVER_MISUSE';

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  readonly retryable: boolean;
  constructor(code: RaftErrorCode, message: string, retryable: boolean) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

/** The requested index is before the first index still in the log (it was compacted into a snapshot). */
export class LogCompactedError extends RaftError {
  constructor(index: number, firstIndex: number) {
    super('LOG_COMPACTED', `index ${index} is compacted (first index ${firstIndex})`, false);
  }
}

/** The requested index is after the last index in the log. */
export class LogUnavailableError extends RaftError {
  constructor(index: number, lastIndex: number) {
    super('LOG_UNAVAILABLE', `index ${index} is beyond the last index ${lastIndex}`, false);
  }
}

/** A snapshot older than the one storage already holds. */
export class SnapshotOutOfDateError extends RaftError {
  constructor(index: number, current: number) {
    super('SNAPSHOT_OUT_OF_DATE', `snapshot at ${index} is not newer than ${current}`, false);
  }
}

export class InvalidConfChangeError extends RaftError {
  constructor(reason: string) {
    super('INVALID_CONF_CHANGE', `invalid membership change: ${reason}`, false);
  }
}

/** A broken invariant: a bug; the replica must stop rather than continue on bad state. */
export class RaftInvariantError extends RaftError {
  constructor(message: string) {
    super('INVARIANT', `raft invariant violated: ${message}`, false);
  }
}

/** The driver called the core out of order (e.g. ready() twice without advance()). */
export class RaftDriverMisuseError extends RaftError {
  constructor(message: string) {
    super('DRIVER_MISUSE', message, false);
  }
}

export function invariant(condition: boolean, message: string): asserts condition {
  if (!condition) throw new RaftInvariantError(message);
}
