// A bounded FIFO mailbox. Overflow behaviour: `push` refuses the message (returns false) and the
// caller sends it to dead letters. The queue is an array with a moving head, compacted now and then,
// so push and shift are O(1) amortised without a linked list.

/** How many consumed slots may pile up at the front before the array is compacted. */
const COMPACT_THRESHOLD = 1024;

export class Mailbox<T> {
  private items: T[] = [];
  private head = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`mailbox capacity must be a positive integer, got ${capacity}`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** False when full (the message was not queued). */
  push(item: T): boolean {
    if (this.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    (this.items as Array<T | undefined>)[this.head] = undefined;
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_THRESHOLD && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the mailbox, returning what was in it (for dead letters on stop). */
  drain(): T[] {
    const rest = this.items.slice(this.head);
    this.items = [];
    this.head = 0;
    return rest;
  }
}
