// The errors of the store's state machine. Each has a stable `code` and a `retryable` flag.
// Inside apply() errors are never thrown: they become deterministic error results (ErrorResult),
// so every replica records the same outcome and a retried write gets the same cached answer.
// The classes are thrown by the local read API (range at a compacted revision, watch setup) and by
// the encode/propose-time checks; `toStoreError` turns an ErrorResult back into a class instance.

export type StoreErrorCode =
  | 'COMPACTED'
  | 'FUTURE_REVISION'
  | 'REQUEST_TOO_LARGE'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  | 'NO_SPACE'
  | 'KEY_NOT_FOUND'
  | 'LEASE_NOT_FOUND'
  | 'LEASE_EXISTS'
  | 'INVALID_TTL'
  | 'INVALID_REQUEST'
  | 'BAD_COMMAND'
  | 'STALE_SEQUENCE'
  | 'WATCH_NOT_FOUND'
  /** Client side: no leader answered in time; nothing was applied. */
  | 'UNAVAILABLE'
  /** Client side: no answer in time; the write may or may not have applied. */
  | 'TIMEOUT'
  /** Replica side: this replica is not the leader (the answer names the leader it knows, if any). */
  | 'NOT_LEADER'
  /** A membership change is still being applied (one at a time): retry. */
  | 'CONF_CHANGE_PENDING'
  /** A learner is not caught up enough to be promoted yet: retry. */
  | 'NOT_CAUGHT_UP';

export class StoreError extends Error {
  readonly code: StoreErrorCode;
  readonly retryable: boolean;
  constructor(code: StoreErrorCode, message: string, retryable: boolean) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

/** The revision asked for is below the compaction revision: its history is gone. */
export class CompactedError extends StoreError {
  readonly compactRevision: number;
  constructor(revision: number, compactRevision: number) {
    super('COMPACTED', `revision ${revision} is compacted (compact revision ${compactRevision})`, false);
    this.compactRevision = compactRevision;
  }
}

export class FutureRevisionError extends StoreError {
  readonly currentRevision: number;
  constructor(revision: number, currentRevision: number) {
    super('FUTURE_REVISION', `revision ${revision} is in the future (current ${currentRevision})`, false);
    this.currentRevision = currentRevision;
  }
}

export class RequestTooLargeError extends StoreError {
  constructor(sizeBytes: number, maxBytes: number) {
    super('REQUEST_TOO_LARGE', `request is ${sizeBytes} bytes, the limit is ${maxBytes}`, false);
  }
}

/** A bad command from outside (garbage bytes, wrong shape): never applied. */
export class BadCommandError extends StoreError {
  constructor(reason: string) {
    super('BAD_COMMAND', `bad command: ${reason}`, false);
  }
}

export class WatchNotFoundError extends StoreError {
  constructor(watchId: number) {
    super('WATCH_NOT_FOUND', `no watch ${watchId}`, false);
  }
}

/** Codes that an apply() may answer with (as data, see ErrorResult in commands.ts). */
export type ApplyErrorCode = Exclude<StoreErrorCode, 'WATCH_NOT_FOUND' | 'UNAVAILABLE' | 'TIMEOUT' | 'NOT_LEADER'>;

/** No leader could be reached in time; the request was not applied. Retry. */
export class UnavailableError extends StoreError {
  constructor(reason: string) {
    super('UNAVAILABLE', `store unavailable: ${reason}`, true);
  }
}

/** The request got no answer in time: it may or may not have applied. Retry with the same session. */
export class StoreTimeoutError extends StoreError {
  constructor(reason: string) {
    super('TIMEOUT', `store timeout: ${reason}`, true);
  }
}

/**
 * This replica is not (or stopped being) the leader. `leader` is the replica id it believes leads,
 * 0 if none. A write refused this way may still commit if leadership was lost after proposing it:
 * retry under the same client session.
 */
export class NotLeaderError extends StoreError {
  readonly leader: number;
  constructor(leader: number, reason = 'not the leader') {
    super('NOT_LEADER', `${reason}${leader === 0 ? ' (no leader known)' : ` (leader is replica ${leader})`}`, true);
    this.leader = leader;
  }
}

const RETRYABLE: ReadonlySet<StoreErrorCode> = new Set<StoreErrorCode>(['NO_SPACE', 'UNAVAILABLE', 'TIMEOUT', 'NOT_LEADER', 'CONF_CHANGE_PENDING', 'NOT_CAUGHT_UP']);

export function isRetryable(code: StoreErrorCode): boolean {
  return RETRYABLE.has(code);
}

/** Rebuild a class instance from an error result's code and message. */
export function toStoreError(code: StoreErrorCode, message: string): StoreError {
  return new StoreError(code, message, isRetryable(code));
}
