// Kubernetes resource quantities ("100m", "1Gi", "2", "1e3", "500Mi") parsed exactly, as a rational
// number held in BigInts, then rounded up to whole millis (cpu) or whole units (bytes, pods) the way
// kube-apiserver's Quantity.MilliValue() / Value() do. Pure: the scheduler and the binding's
// allocation check both use it, so they agree on every request to the last milli.

export class QuantityError extends Error {
  readonly code = 'QUANTITY_INVALID';
  readonly retryable = false;
  constructor(readonly text: string) {
    super(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got ${JSON.stringify(text)}`);
    this.name = 'QuantityError';
  }
}

/** An exact quantity: numerator / denominator, denominator > 0. */
export interface ExactQuantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** Longest quantity text accepted (Kubernetes bounds quantities too; this keeps BigInt work small). */
export const MAX_QUANTITY_LENGTH = 64;
/** Largest decimal exponent accepted in the `e` form (Kubernetes' int64 range needs far less). */
const MAX_EXPONENT = 30;

const BINARY_SUFFIX: Readonly<Record<string, bigint>> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};
/** Decimal SI suffixes as powers of ten. */
const DECIMAL_SUFFIX: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export function parseQuantity(text: string): ExactQuantity {
  if (text.length === 0 || text.length > MAX_QUANTITY_LENGTH) throw new QuantityError(text);
  const match = QUANTITY.exec(text);
  if (match === null) throw new QuantityError(text);
  const [, sign = '', number = '', suffix, exponentText] = match;
  const [whole = '', fraction = ''] = number.split('.');
  let numerator = BigInt((whole === '' ? '0' : whole) + fraction);
  let denominator = 10n ** BigInt(fraction.length);
  let exponent = 0;
  if (exponentText !== undefined) {
    exponent = Number(exponentText);
    if (Math.abs(exponent) > MAX_EXPONENT) throw new QuantityError(text);
  } else if (suffix !== undefined) {
    const binary = BINARY_SUFFIX[suffix];
    if (binary !== undefined) numerator *= binary;
    else exponent = DECIMAL_SUFFIX[suffix] ?? 0;
  }
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  if (sign === '-') numerator = -numerator;
  return { numerator, denominator };
}

function ceilDivide(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator > 0n ? quotient + 1n : quotient;
}

function toSafeNumber(value: bigint, text: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new QuantityError(text);
  return Number(value);
}

/** The quantity in thousandths, rounded up: "100m" → 100, "2" → 2000, "1u" → 1. */
export function parseMillis(text: string): number {
  const { numerator, denominator } = parseQuantity(text);
  return toSafeNumber(ceilDivide(numerator * 1000n, denominator), text);
}

/** The quantity in whole units, rounded up: "1Gi" → 1073741824, "1.5k" → 1500, "100m" → 1. */
export function parseUnits(text: string): number {
  const { numerator, denominator } = parseQuantity(text);
  return toSafeNumber(ceilDivide(numerator, denominator), text);
}

/** A quantity field as found in a spec: a string, or a plain number (YAML `cpu: 2`). */
export function quantityText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** Millis as canonical text: "1500m" → "1500m", 2000 → "2". */
export function formatMillis(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Bytes as canonical text with the largest exact binary suffix: 1073741824 → "1Gi". */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0';
  let value = BigInt(bytes);
  for (const suffix of ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei']) {
    if (value % 1024n !== 0n || suffix === 'Ei') return `${value}${suffix}`;
    value /= 1024n;
  }
  return String(bytes);
}
