// The reconcile shape every controller follows (controller-runtime's): reconcile(key) reads the current
// state from the informers' caches, compares it with the desired state, acts through the API, writes
// status last (with observedGeneration), and returns "done" or "requeue after"; a throw is retried with
// backoff. A Controller also says which informers it needs and which keys their events enqueue.

import type { SharedInformerFactory } from './informer-factory.js';

export type ReconcileResult = { readonly kind: 'done' } | { readonly kind: 'requeue-after'; readonly delayMs: number };

export const DONE: ReconcileResult = { kind: 'done' };

export function requeueAfter(delayMs: number): ReconcileResult {
  return { kind: 'requeue-after', delayMs: Math.max(1, Math.ceil(delayMs)) };
}

/** The earlier of two results (done is "never"). */
export function earliest(a: ReconcileResult, b: ReconcileResult): ReconcileResult {
  if (a.kind === 'done') return b;
  if (b.kind === 'done') return a;
  return a.delayMs <= b.delayMs ? a : b;
}

export interface Controller {
  readonly name: string;
  /**
   * Registers event handlers on the factory's informers; `enqueue` adds a key to this controller's queue.
   * Returns a function that removes them.
   */
  setup(factory: SharedInformerFactory, enqueue: (key: string) => void): () => void;
  reconcile(key: string): Promise<ReconcileResult>;
}
