// The errors of the linearizability checker. A malformed recorded history (a return before its
// invocation, an output of the wrong kind, an output with no return time) is a bug in the test's
// recorder, not a property of the system under test, so the checker refuses it loudly instead of
// guessing what was meant.

export type LinearizabilityErrorCode = 'INVALID_HISTORY';

export class LinearizabilityError extends Error {
  readonly code: LinearizabilityErrorCode;
  readonly retryable: boolean;
  constructor(code: LinearizabilityErrorCode, message: string, retryable: boolean) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
  }
}

/** The history cannot be read: `index` is the offending operation's position in the input. */
export class InvalidHistoryError extends LinearizabilityError {
  readonly index: number;
  constructor(index: number, message: string) {
    super('INVALID_HISTORY', `operation ${index}: ${message}`, false);
    this.index = index;
  }
}
