// The client session table: exactly-once application of retried writes. A write command carries
// { clientId, sequence }; the table keeps, per client, the last applied sequence and its result.
// Only results that changed something are recorded (an error result changed nothing, so its retry
// simply runs again). A retry with the same sequence gets the cached result without applying again; an older sequence
// (the client has moved on) gets STALE_SEQUENCE, also without applying. Bounded: at most
// MAX_CLIENT_SESSIONS clients (least recently used evicted) and a session idle for SESSION_IDLE_EXPIRY_MS
// (measured in command-carried time) is dropped. A client whose session was dropped is treated as new:
// clients must not retry a write after that long. The table (order included) is part of the snapshot.

import type { ApplyResult } from './commands.js';

export const MAX_CLIENT_SESSIONS = 10_000;
export const SESSION_IDLE_EXPIRY_MS = 10 * 60 * 1000;

export interface Session {
  readonly clientId: string;
  lastSequence: number;
  lastResult: ApplyResult;
  lastSeenMs: number;
}

export class SessionTable {
  /** Map order is least- to most-recently used. */
  private readonly sessions = new Map<string, Session>();
  constructor(
    private readonly maxSessions = MAX_CLIENT_SESSIONS,
    private readonly idleExpiryMs = SESSION_IDLE_EXPIRY_MS,
  ) {}

  /** A cached answer for this (clientId, sequence) if it was applied before. */
  lookup(clientId: string, sequence: number): { readonly duplicate: true; readonly result: ApplyResult | undefined } | undefined {
    const session = this.sessions.get(clientId);
    if (session === undefined || sequence > session.lastSequence) return undefined;
    return { duplicate: true, result: sequence === session.lastSequence ? session.lastResult : undefined };
  }

  record(clientId: string, sequence: number, result: ApplyResult, nowMs: number): void {
    const existing = this.sessions.get(clientId);
    if (existing !== undefined) this.sessions.delete(clientId);
    this.sessions.set(clientId, { clientId, lastSequence: sequence, lastResult: result, lastSeenMs: nowMs });
    while (this.sessions.size > this.maxSessions) this.evictOldest();
  }

  /** Drop sessions idle since before nowMs - expiry (from the LRU end; O(expired)). */
  expire(nowMs: number): void {
    for (const session of this.sessions.values()) {
      if (session.lastSeenMs + this.idleExpiryMs >= nowMs) return;
      this.sessions.delete(session.clientId);
    }
  }

  private evictOldest(): void {
    const first = this.sessions.keys().next();
    if (first.done !== true) this.sessions.delete(first.value);
  }

  size(): number {
    return this.sessions.size;
  }
  all(): Session[] {
    return [...this.sessions.values()];
  }
  load(sessions: readonly Session[]): void {
    this.sessions.clear();
    for (const session of sessions) this.sessions.set(session.clientId, session);
  }
}
