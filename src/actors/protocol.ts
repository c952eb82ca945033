// MessageProtocol: which message `type`s a system accepts from remote peers, with optional validators.
// Anything else arriving over the wire disconnects the sender (see remoting.ts). Replies to asks
// (messages to /temp refs) are accepted for any type, but must still be objects.

export type MessageValidator = (message: unknown) => boolean;

export interface MessageProtocol {
  /** The accepted remote message types. */
  readonly types: readonly string[];
  /** Optional per-type validators; a validator that returns false (or throws) rejects the message. */
  readonly validators?: Readonly<Record<string, MessageValidator>>;
}

/** A compiled protocol for fast checks on the receive path. */
export class ProtocolChecker {
  private readonly accepted: Map<string, MessageValidator | undefined>;

  constructor(protocol: MessageProtocol | undefined) {
    this.accepted = new Map();
    for (const type of protocol?.types ?? []) {
      if (typeof type !== 'string' || type.length === 0) throw new TypeError('MessageProtocol.types must be non-empty strings');
      this.accepted.set(type, undefined);
    }
    for (const [type, validator] of Object.entries(protocol?.validators ?? {})) {
      if (!this.accepted.has(type)) throw new TypeError(`MessageProtocol.validators.${type} names a type missing from types`);
      this.accepted.set(type, validator);
    }
  }

  /** Why a remote message is refused, or undefined when it is accepted. Never throws. */
  refusal(message: Readonly<Record<string, unknown>>): string | undefined {
    const type = message['type'];
    if (typeof type !== 'string') return 'message without a string type';
    if (!this.accepted.has(type)) return `message type not in protocol: ${type.slice(0, 100)}`;
    const validator = this.accepted.get(type);
    if (validator === undefined) return undefined;
    try {
      return validator(message) ? undefined : `message failed validation: ${type}`;
    } catch {
      return `message validator threw: ${type}`;
    }
  }
}
