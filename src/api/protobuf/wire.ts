// A minimal protocol-buffers wire reader (no dependency): varints, length-delimited fields, fixed32
// and fixed64, read from a Uint8Array with every length checked against what is left. It knows
// nothing about messages: schemas.ts says what the field numbers mean and decode.ts walks them.
// Malformed input throws WireError, which the decoder turns into a 400 for the client.

/** The wire types protobuf uses (3 and 4, the deprecated groups, are refused). */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;
export type WireTypeValue = (typeof WireType)[keyof typeof WireType];

/** A varint is at most 10 bytes (64 bits, 7 per byte). */
const MAX_VARINT_BYTES = 10;
/** Field numbers are 29 bits. */
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

export class WireError extends Error {
  readonly code = 'PROTOBUF_WIRE';
  constructor(message: string) {
    super(message);
    this.name = 'WireError';
  }
}

/** One field as read off the wire; the value's meaning depends on the schema. */
export type WireField =
  | { readonly number: number; readonly wireType: 0; readonly value: bigint }
  | { readonly number: number; readonly wireType: 1; readonly value: Uint8Array }
  | { readonly number: number; readonly wireType: 2; readonly value: Uint8Array }
  | { readonly number: number; readonly wireType: 5; readonly value: Uint8Array };

export class WireReader {
  private position = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.position >= this.bytes.length;
  }

  /** An unsigned varint as a 64-bit bigint. */
  readVarint(): bigint {
    let result = 0n;
    for (let index = 0; index < MAX_VARINT_BYTES; index++) {
      const byte = this.bytes[this.position];
      if (byte === undefined) throw new WireError('truncated varint');
      this.position++;
      result |= BigInt(byte & 0x7f) << BigInt(7 * index);
      if ((byte & 0x80) === 0) return BigInt.asUintN(64, result);
    }
    throw new WireError('varint longer than 10 bytes');
  }

  readBytes(length: number): Uint8Array {
    if (length < 0 || this.position + length > this.bytes.length) throw new WireError(`field length ${length} runs past the end of the message`);
    const slice = this.bytes.subarray(this.position, this.position + length);
    this.position += length;
    return slice;
  }

  /** The next field (tag and value). */
  readField(): WireField {
    const tag = this.readVarint();
    const wireType = Number(tag & 7n);
    const number = Number(tag >> 3n);
    if (number < 1 || number > MAX_FIELD_NUMBER) throw new WireError(`invalid field number ${number}`);
    switch (wireType) {
      case WireType.varint:
        return { number, wireType, value: this.readVarint() };
      case WireType.fixed64:
        return { number, wireType, value: this.readBytes(8) };
      case WireType.lengthDelimited: {
        const length = this.readVarint();
        if (length > BigInt(this.bytes.length)) throw new WireError(`field length ${length} runs past the end of the message`);
        return { number, wireType, value: this.readBytes(Number(length)) };
      }
      case WireType.fixed32:
        return { number, wireType, value: this.readBytes(4) };
      default:
        throw new WireError(`unsupported wire type ${wireType} (field ${number})`);
    }
  }

  /** Every field of a message, in wire order. */
  static fields(bytes: Uint8Array): WireField[] {
    const reader = new WireReader(bytes);
    const fields: WireField[] = [];
    while (!reader.done) fields.push(reader.readField());
    return fields;
  }
}

/** A varint read as a signed 64-bit value (int32/int64 negatives are sign-extended to 10 bytes). */
export function signedOf(value: bigint): bigint {
  return BigInt.asIntN(64, value);
}

/** A bigint as a JSON-safe number, refusing what a double cannot hold exactly. */
export function safeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new WireError(`${what}: ${value} does not fit in a JSON number`);
  return Number(value);
}

// ---- writing (tests and tools build bodies with these; the server only reads) ------------------

export function encodeVarint(value: bigint | number): Uint8Array {
  let remaining = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    let byte = Number(remaining & 0x7fn);
    remaining >>= 7n;
    if (remaining !== 0n) byte |= 0x80;
    out.push(byte);
  } while (remaining !== 0n);
  return Uint8Array.from(out);
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function encodeTag(number: number, wireType: WireTypeValue): Uint8Array {
  return encodeVarint((BigInt(number) << 3n) | BigInt(wireType));
}

/** A length-delimited field: a string (UTF-8), bytes, or an encoded message. */
export function encodeLengthDelimited(number: number, value: string | Uint8Array): Uint8Array {
  const bytes = typeof value === 'string' ? new TextEncoder().encode(value) : value;
  return concatBytes([encodeTag(number, WireType.lengthDelimited), encodeVarint(bytes.length), bytes]);
}

export function encodeVarintField(number: number, value: bigint | number | boolean): Uint8Array {
  return concatBytes([encodeTag(number, WireType.varint), encodeVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value)]);
}
