// The actor layer's errors: each class has a stable `code` and a `retryable` flag, and there is one
// conversion to and from the wire form ({ code, message, retryable }) so that an error can travel
// inside a reply message and come back as the same class.

export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

export abstract class ActorError extends Error {
  abstract readonly code: string;
  abstract readonly retryable: boolean;
}

/** An ask got no reply within its timeout. The request may or may not have been processed. */
export class AskTimeoutError extends ActorError {
  readonly code = 'ASK_TIMEOUT';
  readonly retryable = true;
  override readonly name = 'AskTimeoutError';
}

/** The target's mailbox was full: the message went to dead letters. */
export class MailboxFullError extends ActorError {
  readonly code = 'MAILBOX_FULL';
  readonly retryable = true;
  override readonly name = 'MailboxFullError';
}

/** The target actor (or the whole system) is stopped or was never there. */
export class ActorStoppedError extends ActorError {
  readonly code = 'ACTOR_STOPPED';
  readonly retryable = false;
  override readonly name = 'ActorStoppedError';
}

/** A peer sent something that is not a valid frame or message: the peer is disconnected. */
export class ProtocolError extends ActorError {
  readonly code = 'PROTOCOL_ERROR';
  readonly retryable = false;
  override readonly name = 'ProtocolError';
}

/** A frame would exceed MAX_FRAME_BYTES (thrown to the sender on encode, ProtocolError on decode). */
export class FrameTooLargeError extends ActorError {
  readonly code = 'FRAME_TOO_LARGE';
  readonly retryable = false;
  override readonly name = 'FrameTooLargeError';
}

/** A message could not be encoded (not CBOR-encodable, or not an object with a string type). */
export class MessageEncodeError extends ActorError {
  readonly code = 'MESSAGE_ENCODE';
  readonly retryable = false;
  override readonly name = 'MessageEncodeError';
}

/** A supervisor saw more than maxRestarts restarts within withinMs and failed itself. */
export class RestartIntensityError extends ActorError {
  readonly code = 'RESTART_INTENSITY';
  readonly retryable = false;
  override readonly name = 'RestartIntensityError';
}

/** Invalid spawn options or names (a programming error at the call site). */
export class ActorConfigError extends ActorError {
  readonly code = 'ACTOR_CONFIG';
  readonly retryable = false;
  override readonly name = 'ActorConfigError';
}

/** An error that came over the wire with a code this process does not know. */
export class RemoteError extends ActorError {
  readonly retryable: boolean;
  readonly code: string;
  override readonly name = 'RemoteError';
  constructor(code: string, message: string, retryable: boolean) {
    super(message);
    this.code = code;
    this.retryable = retryable;
  }
}

const KNOWN: Record<string, new (message: string) => ActorError> = {
  ASK_TIMEOUT: AskTimeoutError,
  MAILBOX_FULL: MailboxFullError,
  ACTOR_STOPPED: ActorStoppedError,
  PROTOCOL_ERROR: ProtocolError,
  FRAME_TOO_LARGE: FrameTooLargeError,
  MESSAGE_ENCODE: MessageEncodeError,
  RESTART_INTENSITY: RestartIntensityError,
  ACTOR_CONFIG: ActorConfigError,
};

/** The wire form of any thrown value (non-ActorErrors become INTERNAL, not retryable). */
export function toWireError(error: unknown): WireError {
  if (error instanceof ActorError) return { code: error.code, message: error.message, retryable: error.retryable };
  if (error instanceof Error) return { code: 'INTERNAL', message: error.message, retryable: false };
  return { code: 'INTERNAL', message: String(error), retryable: false };
}

/** Rebuilds an error from its wire form; garbage becomes a RemoteError with code INVALID_ERROR. */
export function fromWireError(wire: unknown): ActorError {
  if (typeof wire !== 'object' || wire === null) return new RemoteError('INVALID_ERROR', 'malformed wire error', false);
  const { code, message, retryable } = wire as { code?: unknown; message?: unknown; retryable?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string' || typeof retryable !== 'boolean') {
    return new RemoteError('INVALID_ERROR', 'malformed wire error', false);
  }
  const known = Object.hasOwn(KNOWN, code) ? KNOWN[code] : undefined;
  return known !== undefined ? new known(message) : new RemoteError(code, message, retryable);
}
