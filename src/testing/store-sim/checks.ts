// The end-of-run checks of the store simulator, each returning the first problem found (or
// undefined): the reference history is whole, every replica converged to the same state as the
// reference history, no acknowledged write was lost or applied twice, every watch is complete, and
// the client history is linearizable ('unknown' from the checker counts as a failure).
import { checkHistory } from '../linearizability/check.js';
import type { History } from '../linearizability/history.js';
import { describeEvent, type ApplyLog, type HistoryEvent } from './apply-log.js';
import type { AckedWrite } from './client.js';
import type { ReplicaSet } from './replicas.js';
import type { SimWatcher } from './watcher.js';

export function checkReferenceHistory(log: ApplyLog): string | undefined {
  const missing = log.missingRevisions();
  if (missing.length > 0) return `revisions ${missing.slice(0, 5).join(', ')} were never applied by any replica (max ${log.maxRevision})`;
  return undefined;
}

/** The key -> value state the reference history ends in. */
export function referenceState(log: ApplyLog): Map<string, string> {
  const state = new Map<string, string>();
  for (const event of log.allEvents()) {
    if (event.type === 'PUT') state.set(event.key, event.value);
    else state.delete(event.key);
  }
  return state;
}

export function checkConvergence(replicas: ReplicaSet, log: ApplyLog): string | undefined {
  const expected = referenceState(log);
  const expectedText = describeState(expected);
  for (const id of replicas.ids) {
    const node = replicas.node(id);
    if (node === undefined) return `replica ${id} is down at the end`;
    if (node.machine.revision !== log.maxRevision) return `replica ${id} ended at revision ${node.machine.revision}, the history at ${log.maxRevision}`;
    const state = replicas.finalState(id);
    const text = state === undefined ? 'down' : describeState(state);
    if (text !== expectedText) return `replica ${id} ended with {${text}}, the history with {${expectedText}}`;
  }
  return undefined;
}

function describeState(state: ReadonlyMap<string, string>): string {
  return [...state.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

/** Each acknowledged write that changed the store is in the history at its revision; no value is written twice. */
export function checkAcknowledgedWrites(acked: readonly AckedWrite[], log: ApplyLog): string | undefined {
  for (const write of acked) {
    if (!write.changed) continue;
    const events = log.eventsByRevision.get(write.revision) ?? [];
    const input = write.input;
    const found = events.some((event) =>
      input.kind === 'delete' ? event.type === 'DELETE' && event.key === input.key : input.kind !== 'get' && event.type === 'PUT' && event.key === input.key && event.value === input.value,
    );
    if (!found) {
      return `client ${write.clientId}'s acknowledged ${input.kind} of ${input.key} at revision ${write.revision} is not in the history (there: ${events.map(describeEvent).join(', ') || 'nothing'})`;
    }
  }
  const writtenAt = new Map<string, number>();
  for (const event of log.allEvents()) {
    if (event.type !== 'PUT') continue;
    const earlier = writtenAt.get(event.value);
    if (earlier !== undefined) return `value ${event.value} was written at revision ${earlier} and again at ${event.revision} (a write applied twice)`;
    writtenAt.set(event.value, event.revision);
  }
  return undefined;
}

export function expectedWatchEvents(log: ApplyLog, prefix: string): HistoryEvent[] {
  return log.allEvents().filter((event) => event.key.startsWith(prefix));
}

/** A watcher saw exactly the reference history's events under its prefix, in order. */
export function checkWatcher(watcher: SimWatcher, log: ApplyLog): string | undefined {
  if (watcher.problem !== undefined) return watcher.problem;
  const expected = expectedWatchEvents(log, watcher.prefix).map(describeWatched);
  const got = watcher.received.map(describeWatched);
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    if (expected[i] !== got[i]) {
      return `watcher ${watcher.id} (${watcher.prefix}, ${watcher.attaches} watches): event #${i} is ${got[i] ?? 'missing'}, the history has ${expected[i] ?? 'nothing'} (${got.length} received, ${expected.length} expected)`;
    }
  }
  return undefined;
}

function describeWatched(event: HistoryEvent): string {
  return `${event.revision} ${event.type} ${event.key}${event.type === 'PUT' ? `=${event.value}` : ''}`;
}

export function checkLinearizable(history: History, timeoutMs: number): string | undefined {
  const result = checkHistory(history, { timeoutMs });
  if (result.ok === true) return undefined;
  if (result.ok === 'unknown') return `linearizability undecided (counted as a failure): ${result.reason}`;
  return `not linearizable on key ${result.key}: ${result.explanation}`;
}
