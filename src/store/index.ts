// The store's public surface: the MVCC state machine, its commands and encoding, the watch hub,
// leases, compaction policy and errors. See docs/store.md for the model.

export * from './commands.js';
export * from './errors.js';
export { StateMachine, type StateMachineOptions, type TimeToLive } from './state-machine.js';
export { WatchHub, WATCHER_MAX_PENDING_EVENTS, WATCH_BATCH_EVENTS, WATCH_REPLAY_SCAN_EVENTS, MAX_WATCHERS } from './watch-hub.js';
export type { WatchRequest, WatchEvent, WatchBatch, WatchCancel, WatchCancelReason } from './watch-hub.js';
export { LEASE_CHECKPOINT_INTERVAL_MS, MAX_LEASE_TTL_SECONDS, MAX_LEASES } from './leases.js';
export { MAX_CLIENT_SESSIONS, SESSION_IDLE_EXPIRY_MS } from './sessions.js';
export { DEFAULT_RETENTION, COMPACTION_KEYS_PER_APPLY, MIN_COMPACTION_REVISIONS, compactionTarget, type RetentionPolicy } from './compaction.js';
export { SnapshotFormatError } from './snapshot.js';
