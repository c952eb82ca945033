// The shape of a recorded client history, as the linearizability checker reads it.
// Tests that drive a store (in the simulator or against real replica processes) record one
// Operation per client call: when it was invoked, when it returned (if it did), what it asked and
// what it got. Times are any monotonic clock's milliseconds (virtual or real), the same for all
// clients of one history. An operation with no `returnedAtMs` timed out or its client died: it may
// or may not have taken effect, and the checker must treat it as possibly applied at any point
// after its invocation (or never).
//
// The model is a key-value register per key, which is enough to check the store's writes and
// linearizable reads: the checker partitions a history by key and checks each key on its own.

export type OperationInput =
  /** Read a key; output.value is its value or null if absent. */
  | { readonly kind: 'get'; readonly key: string }
  /** Write a key (unconditionally). */
  | { readonly kind: 'put'; readonly key: string; readonly value: string }
  /** Delete a key. */
  | { readonly kind: 'delete'; readonly key: string }
  /** Write `value` if the key's value is `expected` (null: the key is absent); output.ok says if it did. */
  | { readonly kind: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string };

export type OperationOutput =
  | { readonly kind: 'get'; readonly value: string | null }
  | { readonly kind: 'put' }
  | { readonly kind: 'delete' }
  | { readonly kind: 'cas'; readonly ok: boolean };

export interface Operation {
  /** Which client issued it (a client has at most one operation in flight). */
  readonly clientId: number;
  readonly input: OperationInput;
  readonly invokedAtMs: number;
  /** Absent: no answer (timeout, crash): possibly applied. */
  readonly returnedAtMs?: number;
  /** Absent exactly when returnedAtMs is absent. A definite failure (not applied) is not recorded. */
  readonly output?: OperationOutput;
}

export type History = readonly Operation[];
