// Client sessions for exactly-once retried writes, as "lanes".
//
// The state machine's session table (sessions.ts) keeps ONE result per client id and refuses a
// sequence lower than the last applied one (STALE_SEQUENCE). So two writes in flight under the same
// client id could defeat each other: if sequence 6 applies before a retry of 5, the retry is refused
// and the caller cannot learn 5's outcome. Our choice: a client instance owns several session ids
// (`<clientId>.<lane>`), and a lane carries at most ONE write at a time. A write takes a free lane,
// uses its next sequence for every attempt (first try and all retries), and gives the lane back when
// it settles. Each lane's sequences therefore increase and never overlap, and a retry of the lane's
// current write always gets either a fresh apply or the cached result. Lanes are created on demand up
// to `maxLanes` (the client's write concurrency); further writes wait for a lane, in order.
// A lane released after an unknown outcome (TIMEOUT) moves on to the next sequence: if the old
// write is still in some leader's pipeline it either applied before (fine: "may have applied") or is
// refused as stale afterwards.

import type { ClientSession } from '../commands.js';

export interface Lane {
  readonly clientId: string;
  /** The last sequence handed out on this lane. */
  sequence: number;
}

export class SessionLanes {
  private readonly free: Lane[] = [];
  private readonly waiting: Array<(lane: Lane) => void> = [];
  private created = 0;

  constructor(
    private readonly clientId: string,
    private readonly maxLanes: number,
  ) {
    if (!(Number.isSafeInteger(maxLanes) && maxLanes >= 1)) throw new RangeError(`maxLanes must be a positive integer, got ${maxLanes}`);
  }

  /** A lane for one write, waiting (FIFO) while all lanes are busy. */
  acquire(): Promise<Lane> {
    const lane = this.free.pop();
    if (lane !== undefined) return Promise.resolve(lane);
    if (this.created < this.maxLanes) {
      this.created += 1;
      return Promise.resolve({ clientId: `${this.clientId}.${this.created}`, sequence: 0 });
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The session of the lane's next write: call once per write, reuse it for its retries. */
  static next(lane: Lane): ClientSession {
    lane.sequence += 1;
    return { clientId: lane.clientId, sequence: lane.sequence };
  }

  release(lane: Lane): void {
    const next = this.waiting.shift();
    if (next !== undefined) next(lane);
    else this.free.push(lane);
  }

  /** Lanes created so far (= session-table entries this client uses). */
  get laneCount(): number {
    return this.created;
  }
}
